"""The bell on every page, the list (open one, mark all read) and the email preferences."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.kinds import Delivery
from notifications.models import Notification, NotificationPreference
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")
PREFERENCES = reverse("notifications:preferences")
# A signed-in page: session, user, the page's own queries and the bell's one COUNT.
LIST_PAGE_QUERY_BUDGET = 6
BELL_QUERIES = 1


def _bell(html: str) -> str:
    match = re.search(r'<a class="notification-bell[^"]*"[^>]*>(.*?)</a>', html, re.S)
    assert match, "no bell in the header"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).split()


def test_the_bell_shows_the_unread_count_on_every_page(client):
    learner = UserFactory()
    NotificationFactory.create_batch(3, user=learner)
    NotificationFactory(user=learner, read_at=timezone.now())
    NotificationFactory()  # someone else's
    client.force_login(learner)

    for url in ("/", "/courses/", "/pricing/", PREFERENCES):
        html = client.get(url).content.decode()
        assert " ".join(_bell(html)) == "Notifications, 3 unread 3", url
        assert f'href="{LIST}"' in html


def test_the_bell_says_none_unread_and_visitors_have_no_bell(client):
    learner = UserFactory()
    client.force_login(learner)
    assert " ".join(_bell(client.get("/").content.decode())) == "Notifications, none unread"

    client.logout()
    assert "notification-bell" not in client.get("/").content.decode()


def test_the_bell_costs_one_query_and_visitors_none(
    client, django_assert_num_queries, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    learner = UserFactory()
    client.force_login(learner)
    client.get("/pricing/")  # warm up (session, content types)

    def pricing_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/pricing/").status_code == 200
        return [query["sql"] for query in queries.captured_queries]

    before = pricing_queries()
    NotificationFactory.create_batch(50, user=learner)
    after = pricing_queries()
    bell = [sql for sql in after if "notifications_notification" in sql]
    assert len(bell) == BELL_QUERIES and "COUNT(" in bell[0]
    assert len(after) == len(before)

    client.logout()
    with CaptureQueriesContext(connection) as queries:
        client.get("/pricing/")
    assert not [q for q in queries.captured_queries if "notifications_" in q["sql"]]


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_page_stays_within_a_fixed_query_budget(
    client, django_assert_max_num_queries, count
):
    learner = UserFactory()
    actor = UserFactory(display_name="Ana")
    NotificationFactory.create_batch(count, user=learner, actor=actor)
    client.force_login(learner)

    with django_assert_max_num_queries(LIST_PAGE_QUERY_BUDGET):
        response = client.get(LIST)

    assert response.status_code == 200
    assert response.content.decode().count('class="notification notification--unread"') == min(
        count, 20
    )


def test_the_list_is_newest_first_paginated_and_mine_only(client):
    learner = UserFactory()
    now = timezone.now()
    for number in range(25):
        NotificationFactory(
            user=learner, title=f"Note {number}", created_at=now - timedelta(minutes=number)
        )
    NotificationFactory(title="Someone else's secret")
    client.force_login(learner)

    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()

    titles = re.findall(r'notification__title">([^<]+)<', first)
    assert titles == [f"Note {number}" for number in range(20)]
    assert re.findall(r'notification__title">([^<]+)<', second) == [
        f"Note {number}" for number in range(20, 25)
    ]
    assert "secret" not in first + second
    assert client.get(LIST, {"page": 9}).status_code == 404


def test_visitors_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client):
    learner = UserFactory()
    notification = NotificationFactory(user=learner, url="/courses/salsa/basics/#reply-9")
    client.force_login(learner)

    response = client.post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/courses/salsa/basics/#reply-9"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert " ".join(_bell(client.get("/").content.decode())) == "Notifications, none unread"


def test_opening_never_redirects_to_another_site(client):
    learner = UserFactory()
    notification = NotificationFactory(user=learner, url="https://evil.example/")
    client.force_login(learner)
    response = client.post(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == LIST


def test_opening_another_users_notification_is_404_and_changes_nothing(client):
    theirs = NotificationFactory()
    client.force_login(UserFactory())

    assert client.post(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 405
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_needs_the_csrf_token(client):
    from django.test import Client

    learner = UserFactory()
    notification = NotificationFactory(user=learner)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    assert strict.post(reverse("notifications:open", args=[notification.pk])).status_code == 403
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read(client):
    learner = UserFactory()
    NotificationFactory.create_batch(3, user=learner)
    other = NotificationFactory()
    client.force_login(learner)

    response = client.post(reverse("notifications:read_all"), follow=True)

    assert "All notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(user=learner, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_the_preferences_page_lists_each_emailed_kind_with_its_choice(client):
    learner = UserFactory()
    NotificationPreference.objects.create(user=learner, kind="reply", delivery=Delivery.WEEKLY)
    client.force_login(learner)

    html = client.get(PREFERENCES).content.decode()

    for label in ("Replies to my posts", "Mentions", "Course announcements", "Certificates"):
        assert f'<legend class="notification-prefs__label">{label}</legend>' in html
    assert "Payment problems" not in html  # never emailed: nothing to choose
    assert re.search(r'name="reply" value="weekly"[^>]*checked', html)
    assert re.search(r'name="mention" value="immediately"[^>]*checked', html)


def test_saving_preferences(client):
    learner = UserFactory()
    client.force_login(learner)
    form = {
        "reply": "daily",
        "mention": "off",
        "announcement": "weekly",
        "certificate": "off",
        "section_released": "daily",
        "project_review": "immediately",
    }

    response = client.post(PREFERENCES, form, follow=True)

    assert "Your email preferences are saved." in response.content.decode()
    stored = dict(
        NotificationPreference.objects.filter(user=learner).values_list("kind", "delivery")
    )
    assert stored == form


def test_an_invalid_choice_re_renders_with_400_and_saves_nothing(client):
    learner = UserFactory()
    client.force_login(learner)
    form = {"reply": "hourly", "mention": "off", "announcement": "weekly", "certificate": "off"}

    response = client.post(PREFERENCES, form)

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert NotificationPreference.objects.count() == 0
