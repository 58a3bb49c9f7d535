"""Invites through their services: create, redeem, revoke, and the audit trail they leave."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditLog
from accounts.roles import Role, user_role_get
from accounts.tests.factories import UserFactory
from billing.entitlements import user_active_tier_rank
from billing.models import TierGrant
from billing.tests.factories import TierFactory
from catalog.tests.factories import CourseFactory
from lms.errors import ApplicationError, ErrorCode
from progress.models import Enrollment, Invite, InviteRedemption
from progress.services import enrollment_create, invite_create, invite_redeem, invite_revoke
from progress.services.invites import INVITE_CODE_ALPHABET

pytestmark = pytest.mark.django_db

STAFF_IP = "203.0.113.7"
LEARNER_IP = "198.51.100.23"


def _invite(creator, **kwargs) -> Invite:
    return invite_create(created_by=creator, ip_address=STAFF_IP, **kwargs)


def _audit_rows(action: str) -> list[tuple]:
    return list(
        AuditLog.objects.filter(action=action)
        .order_by("created_at")
        .values_list("actor_id", "actor_email", "target_type", "target_id", "ip_address")
    )


def _expire(invite: Invite) -> None:
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


# --- Creating -------------------------------------------------------------------------------


def test_a_new_invite_gets_a_random_upper_case_code_and_an_audit_row(staff_user):
    first = _invite(staff_user, note="Spring cohort")
    second = _invite(staff_user)

    assert len(first.code) == 10
    assert set(first.code) <= set(INVITE_CODE_ALPHABET)
    assert first.code != second.code
    first.refresh_from_db()
    assert (first.role, first.max_uses, first.uses_count, first.created_by) == (
        "learner",
        1,
        0,
        staff_user,
    )
    entry = AuditLog.objects.get(action="invite.created", target_id=str(first.pk))
    assert (entry.actor, entry.actor_email, entry.ip_address, entry.target_type) == (
        staff_user,
        staff_user.email,
        STAFF_IP,
        "progress.invite",
    )
    assert entry.details == {
        "code": first.code,
        "role": "learner",
        "course": None,
        "tier": None,
        "tier_days": None,
        "expires_at": None,
        "max_uses": 1,
        "email": "",
        "open_to_anyone": True,
    }


def test_an_invite_needs_a_duration_for_its_tier(staff_user):
    with pytest.raises(ValidationError) as raised:
        _invite(staff_user, tier=TierFactory())

    assert raised.value.messages == [
        "A tier needs a duration of at least one day, and a duration needs a tier."
    ]
    assert not Invite.objects.exists()
    assert not AuditLog.objects.exists()


def test_an_invite_cannot_be_created_already_expired(staff_user):
    with pytest.raises(ValidationError) as raised:
        _invite(staff_user, expires_at=timezone.now() - timedelta(hours=1))

    assert raised.value.message_dict == {"expires_at": ["Choose a time in the future."]}


def test_an_invite_with_an_email_is_sent_after_commit(
    staff_user, rf, django_capture_on_commit_callbacks
):
    course = CourseFactory(title="Salsa basics")
    tier = TierFactory(name="Advanced", slug="advanced", rank=2)
    request = rf.get("/admin/")

    with django_capture_on_commit_callbacks(execute=True):
        invite = _invite(
            staff_user,
            course=course,
            tier=tier,
            tier_days=30,
            email="newcomer@example.com",
            request=request,
        )
        assert mail.outbox == []  # nothing leaves before the transaction commits

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    redeem_url = f"http://testserver/invites/redeem/?code={invite.code}"
    assert message.to == ["newcomer@example.com"]
    assert message.subject == "You're invited to Salsa basics at LMS School"
    assert redeem_url in message.body
    assert invite.code in message.body
    assert "Advanced membership for 30 days" in message.body
    html = message.alternatives[0][0]
    assert f'href="{redeem_url}"' in html.replace("&amp;", "&")
    assert message.alternatives[0][1] == "text/html"


def test_an_invite_without_an_email_sends_nothing(staff_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(staff_user)

    assert mail.outbox == []


# --- Redeeming ------------------------------------------------------------------------------


def test_redeeming_grants_the_role_the_course_and_the_tier(staff_user):
    learner = UserFactory(email="dancer@example.com")
    course = CourseFactory(slug="salsa", title="Salsa")
    tier = TierFactory(slug="advanced", name="Advanced", rank=2)
    invite = _invite(staff_user, role=Role.INSTRUCTOR, course=course, tier=tier, tier_days=30)
    before = timezone.now()

    redemption = invite_redeem(code=invite.code, user=learner, ip_address=LEARNER_IP)

    learner = type(learner).objects.get(pk=learner.pk)
    assert user_role_get(learner) == Role.INSTRUCTOR
    enrollment = Enrollment.objects.get(user=learner)
    assert (enrollment.course, enrollment.source) == (course, "invite")
    grant = TierGrant.objects.get(user=learner)
    assert (grant.tier, grant.source, grant.source_id) == (tier, "invite", str(invite.pk))
    assert before + timedelta(days=30) <= grant.expires_at <= timezone.now() + timedelta(days=30)
    assert user_active_tier_rank(user=learner) == 2
    invite.refresh_from_db()
    assert invite.uses_count == 1
    assert list(InviteRedemption.objects.values_list("invite", "user", "ip_address")) == [
        (invite.pk, learner.pk, LEARNER_IP)
    ]
    assert (redemption.enrollment, redemption.tier_grant) == (enrollment, grant)
    entry = AuditLog.objects.get(action="invite.redeemed")
    assert (entry.actor, entry.ip_address, entry.target_id) == (
        learner,
        LEARNER_IP,
        str(invite.pk),
    )
    assert entry.details == {
        "code": invite.code,
        "redemption": str(redemption.pk),
        "role": "instructor",
        "role_before": "learner",
        "role_changed": True,
        "course": "salsa",
        "tier": "advanced",
        "tier_expires_at": grant.expires_at.isoformat(),
        "uses_count": 1,
    }


def test_redeeming_never_lowers_a_role(staff_user):
    other_staff = UserFactory(is_staff=True, is_superuser=True)
    invite = _invite(staff_user, role=Role.LEARNER, course=CourseFactory())

    invite_redeem(code=invite.code, user=other_staff, ip_address=LEARNER_IP)

    other_staff.refresh_from_db()
    assert (other_staff.is_staff, other_staff.is_superuser) == (True, True)
    assert user_role_get(other_staff) == Role.STAFF
    assert Enrollment.objects.filter(user=other_staff).count() == 1
    entry = AuditLog.objects.get(action="invite.redeemed")
    assert (entry.details["role_before"], entry.details["role_changed"]) == ("staff", False)


def test_redeeming_keeps_an_existing_enrollment(staff_user, user):
    course = CourseFactory()
    existing = enrollment_create(user=user, course=course, source=Enrollment.Source.SELF)
    invite = _invite(staff_user, course=course)

    redemption = invite_redeem(code=invite.code, user=user)

    assert list(Enrollment.objects.filter(user=user)) == [existing]
    assert redemption.enrollment == existing
    assert existing.source == "self"


def test_codes_are_matched_whatever_their_case_and_surrounding_spaces(staff_user, user):
    invite = _invite(staff_user)

    redemption = invite_redeem(code=f"  {invite.code.lower()} \n", user=user)

    assert redemption.invite == invite


def test_a_multi_use_invite_serves_as_many_people_as_it_allows(staff_user):
    invite = _invite(staff_user, max_uses=2)
    first, second, third = UserFactory(), UserFactory(), UserFactory()

    invite_redeem(code=invite.code, user=first)
    invite_redeem(code=invite.code, user=second)
    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=invite.code, user=third)

    assert raised.value.code == ErrorCode.INVITE_USED_UP
    invite.refresh_from_db()
    assert invite.uses_count == 2
    assert set(InviteRedemption.objects.values_list("user", flat=True)) == {first.pk, second.pk}


@pytest.fixture
def failing_invite(staff_user):
    """Build an invite in each failing state; returns (code to type, user redeeming)."""

    def build(state: str) -> tuple[str, object]:
        learner = UserFactory()
        if state == "unknown":
            return "NOPE234567", learner
        invite = _invite(staff_user, max_uses=2 if state == "already_redeemed" else 1)
        if state == "expired":
            _expire(invite)
        elif state == "revoked":
            invite_revoke(invite=invite, actor=staff_user, ip_address=STAFF_IP)
        elif state == "used_up":
            invite_redeem(code=invite.code, user=UserFactory())
        elif state == "already_redeemed":
            invite_redeem(code=invite.code, user=learner)
        return invite.code, learner

    return build


FAILURES = [
    ("unknown", ErrorCode.INVITE_NOT_FOUND, "There is no invite with this code."),
    ("expired", ErrorCode.INVITE_EXPIRED, "This invite has expired."),
    ("revoked", ErrorCode.INVITE_REVOKED, "This invite has been revoked."),
    ("used_up", ErrorCode.INVITE_USED_UP, "This invite has already been used up."),
    (
        "already_redeemed",
        ErrorCode.INVITE_ALREADY_REDEEMED,
        "You have already redeemed this invite.",
    ),
]


@pytest.mark.parametrize(("state", "code", "message"), FAILURES)
def test_a_failed_redemption_says_why_and_changes_nothing(failing_invite, state, code, message):
    invite_code, learner = failing_invite(state)
    uses_before = list(Invite.objects.values_list("pk", "uses_count"))
    redemptions_before = InviteRedemption.objects.count()
    audit_before = AuditLog.objects.count()

    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=invite_code, user=learner, ip_address=LEARNER_IP)

    assert (raised.value.code, raised.value.message) == (code, message)
    assert list(Invite.objects.values_list("pk", "uses_count")) == uses_before
    assert InviteRedemption.objects.count() == redemptions_before
    assert AuditLog.objects.count() == audit_before


# --- Invites addressed to one email ----------------------------------------------------------


def _account(email: str):
    user = UserFactory(email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_an_invite_sent_to_one_email_is_refused_to_another_account(staff_user):
    invite = _invite(staff_user, email="maria@example.com")
    stranger = _account("joe@example.com")

    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=invite.code, user=stranger, ip_address=LEARNER_IP)

    assert (raised.value.code, raised.value.status, raised.value.message) == (
        ErrorCode.INVITE_NOT_FOR_YOU,
        403,
        "This invite was sent to another email address. Sign in with the account of that "
        "address (verified) to redeem it.",
    )
    invite.refresh_from_db()
    assert invite.uses_count == 0
    assert not InviteRedemption.objects.exists()
    assert not AuditLog.objects.filter(action=AuditLog.Action.INVITE_REDEEMED).exists()


def test_the_addressee_redeems_it_whatever_the_case_of_the_address(staff_user):
    invite = _invite(staff_user, email="Maria@Example.com")
    maria = _account("maria@EXAMPLE.com")

    redemption = invite_redeem(code=invite.code, user=maria)

    assert redemption.user == maria
    invite.refresh_from_db()
    assert invite.uses_count == 1


def test_a_secondary_verified_address_counts_but_an_unverified_one_does_not(staff_user):
    invite = _invite(staff_user, email="maria@example.com")
    # Anyone can add an address to their account; only a verified one proves it is theirs.
    claimer = _account("claim@example.com")
    EmailAddress.objects.create(user=claimer, email="maria@example.com", verified=False)
    maria = _account("maria.work@example.com")
    EmailAddress.objects.create(user=maria, email="maria@example.com", verified=True)

    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=invite.code, user=claimer)
    assert raised.value.code == ErrorCode.INVITE_NOT_FOR_YOU

    assert invite_redeem(code=invite.code, user=maria).user == maria


def test_staff_may_open_an_emailed_invite_to_anyone_with_the_code(staff_user):
    invite = _invite(staff_user, email="team-lead@example.com", open_to_anyone=True, max_uses=3)
    colleagues = [_account(f"colleague{n}@example.com") for n in range(3)]

    for colleague in colleagues:
        invite_redeem(code=invite.code, user=colleague)

    invite.refresh_from_db()
    assert invite.uses_count == 3


def test_an_invite_without_an_email_is_open_to_anyone(staff_user):
    invite = _invite(staff_user)

    assert invite.open_to_anyone is True
    assert invite_redeem(code=invite.code, user=UserFactory()).invite == invite


def test_an_invite_for_one_address_cannot_allow_several_uses(staff_user):
    with pytest.raises(ValidationError) as raised:
        _invite(staff_user, email="maria@example.com", max_uses=5)

    assert raised.value.message_dict == {
        "max_uses": [
            "An invite only for maria@example.com can be used once. Open it to anyone with "
            "the code to let it serve 5 people."
        ]
    }
    assert not Invite.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_existing_invites_keep_working_after_the_migration():
    call_command("migrate", "progress", "0003", verbosity=0)
    try:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        old = (
            MigrationExecutor(connection)
            .loader.project_state(("progress", "0003_progress_event_retries"))
            .apps.get_model("progress", "Invite")
        )
        rows = {
            "open": old.objects.create(code="OPEN234567"),
            "shared": old.objects.create(code="SHARE23456", email="lead@example.com", max_uses=5),
            "personal": old.objects.create(code="MINE234567", email="maria@example.com"),
        }
    finally:
        call_command("migrate", "progress", verbosity=0)

    flags = dict(Invite.objects.values_list("code", "open_to_anyone"))
    assert flags == {row.code: name != "personal" for name, row in rows.items()}
    assert invite_redeem(code="OPEN234567", user=UserFactory()).invite.code == "OPEN234567"
    assert invite_redeem(code="SHARE23456", user=UserFactory()).invite.code == "SHARE23456"
    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code="MINE234567", user=_account("joe@example.com"))
    assert raised.value.code == ErrorCode.INVITE_NOT_FOR_YOU
    assert invite_redeem(code="MINE234567", user=_account("maria@example.com")).user.email == (
        "maria@example.com"
    )


def test_a_revoked_invite_says_revoked_even_when_it_has_also_expired(staff_user, user):
    invite = _invite(staff_user)
    invite_revoke(invite=invite, actor=staff_user)
    _expire(invite)

    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=invite.code, user=user)

    assert raised.value.code == ErrorCode.INVITE_REVOKED


def test_an_empty_code_is_not_found(user):
    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code="   ", user=user)

    assert raised.value.code == ErrorCode.INVITE_NOT_FOUND


def test_the_database_refuses_more_uses_than_allowed(staff_user):
    from django.db import IntegrityError, transaction

    invite = _invite(staff_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        Invite.objects.filter(pk=invite.pk).update(uses_count=2)


# --- Revoking -------------------------------------------------------------------------------


def test_revoking_records_who_and_when_once(staff_user):
    invite = _invite(staff_user)
    other_staff = UserFactory(is_staff=True)

    invite_revoke(invite=invite, actor=other_staff, ip_address="192.0.2.1")
    invite_revoke(invite=invite, actor=staff_user, ip_address=STAFF_IP)

    invite.refresh_from_db()
    assert invite.revoked_by == other_staff
    assert invite.revoked_at is not None
    assert invite.status == Invite.Status.REVOKED
    assert _audit_rows("invite.revoked") == [
        (other_staff.pk, other_staff.email, "progress.invite", str(invite.pk), "192.0.2.1")
    ]


def test_every_action_on_an_invite_leaves_one_audit_row(staff_user, user):
    invite = _invite(staff_user, max_uses=2)
    invite_redeem(code=invite.code, user=user, ip_address=LEARNER_IP)
    invite_revoke(invite=invite, actor=staff_user, ip_address=STAFF_IP)

    target = ("progress.invite", str(invite.pk))
    assert _audit_rows("invite.created") == [(staff_user.pk, staff_user.email, *target, STAFF_IP)]
    assert _audit_rows("invite.redeemed") == [(user.pk, user.email, *target, LEARNER_IP)]
    assert _audit_rows("invite.revoked") == [(staff_user.pk, staff_user.email, *target, STAFF_IP)]


# --- Enrollments ----------------------------------------------------------------------------


def test_enrolling_twice_returns_the_first_enrollment(user):
    course = CourseFactory()

    first = enrollment_create(user=user, course=course, source=Enrollment.Source.SELF)
    second = enrollment_create(user=user, course=course, source=Enrollment.Source.STAFF)

    assert second == first
    assert list(Enrollment.objects.values_list("user", "course", "source")) == [
        (user.pk, course.pk, "self")
    ]
