"""One-click unsubscribe: the signed link in every email works without signing in (GET asks,
POST applies, RFC 8058 one-click POST too); a tampered link is refused with a clear page."""

import json
import re

import pytest
from django.core import mail, signing
from django.test import Client

from accounts.tests.factories import UserFactory
from notifications.emails import unsubscribe_token
from notifications.kinds import Delivery
from notifications.models import NotificationPreference
from notifications.services import notification_send

pytestmark = pytest.mark.django_db


def _emailed_link(user, django_capture_on_commit_callbacks, *, kind="reply", source="reply:1"):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(user=user, kind=kind, title="Ana replied", source=source)
    header = mail.outbox[-1].extra_headers["List-Unsubscribe"]
    return header.strip("<>").removeprefix("http://127.0.0.1:8000")


def _preferences(user) -> dict[str, str]:
    return dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))


def test_the_link_from_the_email_asks_first_then_unsubscribes_without_signing_in(
    django_capture_on_commit_callbacks,
):
    learner = UserFactory()
    link = _emailed_link(learner, django_capture_on_commit_callbacks)
    browser = Client(enforce_csrf_checks=True)  # signed out, and CSRF checked as in real life

    confirm = browser.get(link)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Stop emails about “Replies to my posts”?" in page
    assert _preferences(learner) == {}  # a GET (a mail scanner's prefetch) changes nothing

    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    done = browser.post(action)

    assert done.status_code == 200
    assert "You will no longer get emails about “Replies to my posts”." in done.content.decode()
    assert _preferences(learner) == {"reply": Delivery.OFF}
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(user=learner, kind="reply", title="Bo replied", source="reply:2")
    assert len(mail.outbox) == 1  # the second reply is in-app only


def test_a_mail_clients_one_click_post_unsubscribes(django_capture_on_commit_callbacks):
    learner = UserFactory()
    link = _emailed_link(learner, django_capture_on_commit_callbacks, kind="announcement")

    response = Client(enforce_csrf_checks=True).post(
        link,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert _preferences(learner) == {"announcement": Delivery.OFF}


def test_the_digest_link_unsubscribes_from_every_notification_email(client):
    learner = UserFactory()
    link = f"/notifications/unsubscribe/{unsubscribe_token(user=learner, kind=None)}/"

    assert "Stop all notification emails" in client.get(link).content.decode()
    client.post(link)

    assert _preferences(learner) == {
        "reply": Delivery.OFF,
        "mention": Delivery.OFF,
        "announcement": Delivery.OFF,
        "certificate": Delivery.OFF,
        "section_released": Delivery.OFF,
        "project_review": Delivery.OFF,
    }


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_refused_with_a_clear_page_and_changes_nothing(client, method):
    learner, other = UserFactory(), UserFactory()
    token = unsubscribe_token(user=learner, kind="reply")
    payload, _, signature = token.rpartition(":")
    # Someone else's id with this link's signature.
    forged_data = json.dumps({"u": str(other.pk), "k": "reply"}, separators=(",", ":"))
    forged = f"{signing.b64_encode(forged_data.encode()).decode()}:{token.split(':', 1)[1]}"
    for bad in (forged, f"{payload}:{signature[:-2]}xx", "not-a-token", "a:b:c"):
        response = getattr(client, method)(f"/notifications/unsubscribe/{bad}/")
        assert response.status_code == 400, bad
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert NotificationPreference.objects.count() == 0


def test_a_link_signed_for_another_purpose_is_refused(client):
    learner = UserFactory()
    token = signing.dumps({"u": str(learner.pk), "k": "reply"})  # default salt, not ours
    response = client.post(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 400
    assert NotificationPreference.objects.count() == 0
