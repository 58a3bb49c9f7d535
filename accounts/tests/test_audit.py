"""The audit log: staff sign-ins and role changes are written; the admin only reads it."""

import time
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.roles import Role
from accounts.services import audit_record, user_role_set
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOG_URL = reverse("admin:accounts_auditlog_changelist")
PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture(autouse=True)
def _mfa_not_required(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def with_role(role: Role, **kwargs) -> User:
    return user_role_set(user=UserFactory(**kwargs), role=role, actor=None)


def sign_in(client, email: str, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD}, **extra)


# --- Staff sign-ins ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.INSTRUCTOR])
def test_a_staff_or_instructor_sign_in_is_recorded_with_the_address(client, role):
    person = with_role(role, email="sam@example.com", verified_email=True)
    AuditLog.objects.all().delete()

    response = sign_in(client, "sam@example.com", REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 302
    entry = AuditLog.objects.get()
    assert (entry.action, entry.actor, entry.actor_email, entry.ip_address) == (
        "staff.login",
        person,
        "sam@example.com",
        "203.0.113.5",
    )
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(person.pk))
    assert entry.details == {"role": role.value, "methods": ["password"]}


def test_a_sign_in_with_an_authenticator_code_records_both_steps(client):
    staff = with_role(Role.STAFF, email="sam@example.com", verified_email=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    AuditLog.objects.all().delete()

    password_step = sign_in(client, "sam@example.com")
    assert not AuditLog.objects.exists()  # not signed in yet
    client.post(
        password_step["Location"],
        {"code": format_hotp_value(hotp_value(secret, int(time.time()) // 30))},
    )

    assert AuditLog.objects.get().details == {"role": "staff", "methods": ["password", "mfa"]}


def test_a_learner_sign_in_is_not_recorded(client):
    UserFactory(email="lea@example.com", verified_email=True)

    response = sign_in(client, "lea@example.com")

    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    assert not AuditLog.objects.exists()


def test_a_failed_staff_sign_in_is_not_a_sign_in(client):
    with_role(Role.STAFF, email="sam@example.com", verified_email=True)
    AuditLog.objects.all().delete()

    client.post(reverse("account_login"), {"login": "sam@example.com", "password": "wrong"})

    assert not AuditLog.objects.exists()


# --- The audit log in the admin ------------------------------------------------------------


@pytest.fixture
def staff_member():
    return with_role(Role.STAFF, email="sam@example.com")


@pytest.fixture
def staff_member_client(client, staff_member):
    client.force_login(staff_member)
    return client


@pytest.fixture
def entries(staff_member):
    """A role change by Sam yesterday and a sign-in by Ana now."""
    AuditLog.objects.all().delete()
    ana = UserFactory(email="ana@example.com", display_name="Ana")
    changed = audit_record(
        action=AuditLog.Action.ROLE_CHANGED,
        actor=staff_member,
        target=ana,
        ip_address="198.51.100.7",
        details={"from": "learner", "to": "instructor"},
    )
    AuditLog.objects.filter(pk=changed.pk).update(created_at=timezone.now() - timedelta(days=1))
    signed_in = audit_record(
        action=AuditLog.Action.STAFF_LOGIN, actor=ana, target=ana, ip_address="203.0.113.5"
    )
    changed.refresh_from_db()
    return changed, signed_in


def test_staff_read_the_log_newest_first_with_time_actor_action_target_and_address(
    staff_member_client, entries
):
    changed, signed_in = entries

    response = staff_member_client.get(LOG_URL)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [signed_in, changed]
    content = response.content.decode()
    assert '<td class="field-actor_email">sam@example.com</td>' in content
    assert '<td class="field-action">Role changed</td>' in content
    assert '<td class="field-target_display">Ana (accounts.user)</td>' in content
    assert '<td class="field-ip_address">198.51.100.7</td>' in content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action__exact": "role.changed"}, "role.changed"),
        ({"action__exact": "staff.login"}, "staff.login"),
        ({"q": "sam@example"}, "role.changed"),
        ({"q": "ana@example"}, "staff.login"),
    ],
)
def test_the_log_filters_by_action_and_searches_actor_emails(
    staff_member_client, entries, params, expected
):
    response = staff_member_client.get(LOG_URL, params)

    assert [entry.action for entry in response.context["cl"].result_list] == [expected]


def test_the_log_searches_targets_and_drills_down_by_date(staff_member_client, entries):
    changed, signed_in = entries
    day = changed.created_at

    by_target = staff_member_client.get(LOG_URL, {"q": "Ana"})
    by_day = staff_member_client.get(
        LOG_URL,
        {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day},
    )

    assert set(by_target.context["cl"].result_list) == {changed, signed_in}
    assert list(by_day.context["cl"].result_list) == [changed]


def test_an_entry_shows_its_details_pretty_printed(staff_member_client, entries):
    changed, _signed_in = entries

    response = staff_member_client.get(reverse("admin:accounts_auditlog_change", args=[changed.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    pretty = '{\n  "from": "learner",\n  "to": "instructor"\n}'.replace('"', "&quot;")
    assert f"<pre>{pretty}</pre>" in content
    assert 'name="_save"' not in content  # read only


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_nobody_adds_changes_or_deletes_entries(client, staff_member, entries, who):
    changed, _signed_in = entries
    client.force_login(
        staff_member if who == "staff" else User.objects.create_superuser("root@example.com", "pw")
    )
    change_url = reverse("admin:accounts_auditlog_change", args=[changed.pk])

    listing = client.get(LOG_URL)
    added = client.get(reverse("admin:accounts_auditlog_add"))
    edited = client.post(change_url, {"action": "staff.login", "actor_email": "x@example.com"})
    deleted = client.post(
        reverse("admin:accounts_auditlog_delete", args=[changed.pk]), {"post": "yes"}
    )
    bulk_deleted = client.post(
        LOG_URL, {"action": "delete_selected", "_selected_action": [str(changed.pk)]}
    )

    assert listing.context["action_form"] is None  # no bulk actions, "delete" included
    assert (added.status_code, edited.status_code, deleted.status_code) == (403, 403, 403)
    assert bulk_deleted.status_code in (200, 302)
    changed.refresh_from_db()
    assert (changed.action, changed.actor_email) == ("role.changed", "sam@example.com")
    assert AuditLog.objects.count() == 2


def test_an_instructor_given_the_view_permission_still_cannot_read_the_log(client, entries):
    instructor = with_role(Role.INSTRUCTOR)
    instructor.user_permissions.add(Permission.objects.get(codename="view_auditlog"))
    client.force_login(instructor)

    assert client.get(LOG_URL).status_code == 403
