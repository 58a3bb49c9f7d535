"""A learner deletes their account: warned, re-authenticated, everything erased or
anonymised in one transaction, signed out everywhere, a confirmation emailed to the address
they had; their progress still counts, anonymously, and the address can sign up again."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLog, User
from accounts.tests.factories import UserFactory
from accounts.tests.personal_data_world import PASSWORD, learner_with_data
from analytics.models import DataExport, Event
from analytics.selectors import course_funnel, period_last
from analytics.services.exports import data_export_request
from billing.tests.factories import SubscriptionFactory
from community.models import Reply, Thread
from notifications.models import Notification
from progress.models import Certificate, Enrollment, LessonProgress
from progress.selectors import course_learner_count

pytestmark = pytest.mark.django_db

DELETE = "/profile/delete/"
API = "/api/v1/me/deletion/"


@pytest.fixture
def ana():
    return learner_with_data(email="ana@example.com", name="Ana Lovelace")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _delete(client: Client, *, email="ana@example.com", password=PASSWORD, capture):
    with capture(execute=True):
        return client.post(DELETE, {"confirm_email": email, "password": password})


def test_the_page_warns_and_says_what_happens_to_each_part(ana):
    page = _signed_in(ana.user).get(DELETE)
    assert page.status_code == 200
    assert "This cannot be undone." in page.text
    assert "shown as written by “Deleted learner”" in page.text  # community's decision
    assert "accounting records" in page.text  # billing's
    assert 'name="password"' in page.text and 'name="confirm_email"' in page.text


def test_deleting_erases_the_person_keeps_the_numbers_and_emails_the_old_address(
    ana, django_capture_on_commit_callbacks
):
    other_device = _signed_in(ana.user)
    client = _signed_in(ana.user)
    period = period_last(7)
    funnel_before = course_funnel(course_id=ana.course.pk, period=period)
    avatar_files = [ana.user.avatar.name, ana.user.avatar_thumbnail.name]
    data_export_request(user=ana.user)

    response = _delete(client, capture=django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:deleted")
    assert "Your account is deleted" in client.get(response["Location"]).text
    # The confirmation, to the address the account had (the only email of this test).
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]
    assert "account is deleted" in mail.outbox[0].subject
    assert mail.outbox[0].alternatives[0][1] == "text/html"

    tombstone = User.objects.get(pk=ana.user.pk)
    assert tombstone.deleted_at is not None
    assert tombstone.email.endswith("@deleted.invalid")
    assert (tombstone.display_name, tombstone.bio, tombstone.avatar.name) == ("", "", "")
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert tombstone.public_name == str(tombstone) == "Deleted learner"
    assert not EmailAddress.objects.filter(user=tombstone).exists()
    assert not SocialAccount.objects.filter(user=tombstone).exists()
    assert not Notification.objects.filter(user=tombstone).exists()
    assert not DataExport.objects.filter(user=tombstone).exists()
    assert not any(default_storage.exists(name) for name in avatar_files)
    # What they typed is gone from their events; the events still count.
    search = Event.objects.get(user=tombstone, type="search")
    assert search.properties == {"results": 3}
    # Posts stay, by "Deleted learner".
    assert Thread.objects.get(pk=ana.thread.pk).author.public_name == "Deleted learner"
    assert Reply.objects.filter(pk=ana.reply.pk).exists()
    # Signed out here and on the other device.
    for device in (client, other_device):
        assert device.get("/profile/").status_code == 302
    # Audited, without the person in it.
    entry = AuditLog.objects.get(action=AuditLog.Action.ACCOUNT_DELETED)
    assert entry.target_id == str(tombstone.pk) and entry.target_repr == "Deleted learner"
    assert not AuditLog.objects.filter(actor_email="ana@example.com").exists()
    # The numbers the dashboards read are unchanged, and the learner is still counted.
    assert course_funnel(course_id=ana.course.pk, period=period) == funnel_before
    assert Enrollment.objects.filter(course=ana.course).count() == 1
    assert course_learner_count(course=ana.course) == 1
    assert LessonProgress.objects.filter(user=tombstone, status="completed").count() == 1
    # Certificates are deleted by default (LMS_CERTIFICATES_KEEP_ON_DELETION=false).
    assert not Certificate.objects.filter(code=ana.certificate.code).exists()
    assert Client().get(f"/certificates/{ana.certificate.code}/").status_code == 404


def test_a_deleted_account_cannot_sign_in_and_its_address_can_sign_up_again(
    ana, django_capture_on_commit_callbacks
):
    _delete(_signed_in(ana.user), capture=django_capture_on_commit_callbacks)
    client = Client()
    login = client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session

    signup = client.post(
        reverse("account_signup"),
        {
            "name": "Ana Again",
            "email": "ana@example.com",
            "password1": "a-brand-new-passphrase",
            "password2": "a-brand-new-passphrase",
        },
    )
    assert signup.status_code == 302
    newcomer = User.objects.get(email="ana@example.com")
    assert newcomer.pk != ana.user.pk and newcomer.deleted_at is None
    assert not Enrollment.objects.filter(user=newcomer).exists()  # a new person


def test_kept_certificates_stay_verifiable_without_the_name(
    ana, settings, django_capture_on_commit_callbacks
):
    settings.LMS_CERTIFICATES_KEEP_ON_DELETION = True
    _delete(_signed_in(ana.user), capture=django_capture_on_commit_callbacks)

    certificate = Certificate.objects.get(code=ana.certificate.code)
    assert certificate.learner_name == ""
    page = Client().get(f"/certificates/{certificate.code}/")
    assert page.status_code == 200
    assert "issued to a learner who has since deleted their account" in page.text
    assert certificate.course_title in page.text and "Verified" in page.text
    assert "Ana" not in page.text
    assert Client().get(f"/certificates/{certificate.code}/pdf/").status_code == 404


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("ana@example.com", "not-my-password", "password"), ("bob@example.com", PASSWORD, "email")],
)
def test_a_wrong_confirmation_deletes_nothing(
    ana, email, password, field, django_capture_on_commit_callbacks
):
    response = _delete(
        _signed_in(ana.user),
        email=email,
        password=password,
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 400
    expected = {"password": "This is not your password.", "email": "This is not your account"}
    assert expected[field] in response.text
    ana.user.refresh_from_db()
    assert ana.user.deleted_at is None and ana.user.email == "ana@example.com"
    assert mail.outbox == []


def test_the_last_superuser_cannot_delete_their_account(django_capture_on_commit_callbacks):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    page = _signed_in(admin).get(DELETE)
    assert "last superuser" in page.text and 'name="password"' not in page.text
    response = _delete(
        _signed_in(admin), email=admin.email, capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 409
    admin.refresh_from_db()
    assert admin.deleted_at is None

    UserFactory(email="second@example.com", is_staff=True, is_superuser=True)
    response = _delete(
        _signed_in(admin), email=admin.email, capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.deleted_at is not None and not admin.is_superuser and not admin.is_staff


def test_a_subscription_still_billed_must_be_cancelled_first(ana, api_client):
    SubscriptionFactory(customer__user=ana.user)
    api_client.force_authenticate(ana.user)
    response = api_client.post(
        API, {"confirm_email": "ana@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ACCOUNT_DELETION_BLOCKED"
    assert "cancel it in the billing portal" in response.json()["error"]["message"]
    ana.user.refresh_from_db()
    assert ana.user.deleted_at is None


def test_apps_delete_the_account_with_the_password(
    ana, api_client, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(ana.user)
    wrong = api_client.post(
        API, {"confirm_email": "ana@example.com", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"] == {"password": ["This is not your password."]}

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            API, {"confirm_email": "ana@example.com", "password": PASSWORD}, format="json"
        )
    assert response.status_code == 204
    assert User.objects.get(pk=ana.user.pk).deleted_at is not None
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_without_a_password_allauths_reauthentication_flow_decides(
    django_capture_on_commit_callbacks,
):
    google_only = UserFactory(email="g@example.com", password=None, verified_email=True)
    google_only.set_unusable_password()
    google_only.save()
    client = _signed_in(google_only)
    assert 'name="password"' not in client.get(DELETE).text

    # With two-factor authentication, allauth asks for a code first.
    totp = Authenticator.objects.create(
        user=google_only, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    asked = client.post(DELETE, {"confirm_email": "g@example.com"})
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("mfa_reauthenticate"))
    assert User.objects.get(pk=google_only.pk).deleted_at is None

    # Without one, allauth has no other factor to ask for: the typed address confirms.
    totp.delete()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(DELETE, {"confirm_email": "g@example.com"})
    assert done.status_code == 302
    assert User.objects.get(pk=google_only.pk).deleted_at is not None
