"""Cohorts through their services: bulk adding existing and new people, invites that join the
cohort on redemption, repeating a paste, one cohort per course, and the audit trail."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from lms.errors import ApplicationError, ErrorCode
from progress.cohorts.services import (
    cohort_create,
    cohort_member_remove,
    cohort_members_add,
    cohort_update,
)
from progress.models import Cohort, CohortMembership, Enrollment, Invite, InviteRedemption
from progress.services import enrollment_create, invite_redeem

pytestmark = pytest.mark.django_db

SPRING = dt.date(2026, 3, 2)


@pytest.fixture
def course():
    return CourseFactory(title="Salsa basics", slug="salsa-basics")


@pytest.fixture
def cohort(course, staff_user):
    return cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)


def _members(cohort: Cohort) -> list[str]:
    return sorted(
        CohortMembership.objects.filter(cohort=cohort).values_list("user__email", flat=True)
    )


def _add(staff_user, cohort, text, capture):
    with capture(execute=True):
        return cohort_members_add(
            actor=staff_user, cohort=cohort, text_or_emails=text, ip_address="203.0.113.7"
        )


# --- Creating and editing -------------------------------------------------------------------


def test_a_cohort_cannot_end_before_it_starts_nor_share_a_name_in_its_course(
    course, cohort, staff_user
):
    with pytest.raises(ValidationError) as raised:
        cohort_create(
            actor=staff_user,
            course=course,
            name="Summer",
            starts_on=SPRING,
            ends_on=SPRING - dt.timedelta(days=1),
        )
    assert raised.value.messages == ["A cohort cannot end before it starts."]

    with pytest.raises(ValidationError) as raised:
        cohort_create(actor=staff_user, course=course, name=" Spring ", starts_on=SPRING)
    assert raised.value.messages == ["This course already has a cohort with this name."]

    # The same name in another course is another cohort.
    other = cohort_create(actor=staff_user, course=CourseFactory(), name="Spring", starts_on=SPRING)
    assert other.name == "Spring"

    updated = cohort_update(cohort=cohort, name="Spring 2026", ends_on=dt.date(2026, 6, 30))
    updated.refresh_from_db()
    assert (updated.name, updated.starts_on, updated.ends_on) == (
        "Spring 2026",
        SPRING,
        dt.date(2026, 6, 30),
    )
    with pytest.raises(ValidationError):
        cohort_update(cohort=cohort, starts_on=dt.date(2026, 7, 1))


# --- Adding people ----------------------------------------------------------------------------


def test_existing_accounts_are_enrolled_at_once_and_the_rest_are_invited_by_email(
    cohort, course, staff_user, django_capture_on_commit_callbacks
):
    ana = UserFactory(email="ana@example.com", verified_email=True)
    bo = UserFactory(email="bo@example.com", verified_email=True)
    enrollment_create(user=bo, course=course, source=Enrollment.Source.SELF)
    # An account whose address is not verified could be anyone's claim: it is invited.
    UserFactory(email="unverified@example.com")

    result = _add(
        staff_user,
        cohort,
        "Ana <ANA@example.com>, bo@example.com; newcomer@example.com\n"
        "unverified@example.com, not-an-address@, Newcomer@Example.com",
        django_capture_on_commit_callbacks,
    )

    assert result.added == ["ana@example.com", "bo@example.com"]
    assert result.enrolled == ["ana@example.com"]  # Bo was enrolled already
    assert result.invited == ["newcomer@example.com", "unverified@example.com"]
    assert result.rejected == ["not-an-address@"]
    assert (result.already_members, result.already_invited, result.in_other_cohort) == ([], [], {})
    assert _members(cohort) == ["ana@example.com", "bo@example.com"]
    enrollment = Enrollment.objects.get(user=ana, course=course)
    assert (enrollment.source, enrollment.is_active) == ("staff", True)
    assert Enrollment.objects.get(user=bo, course=course).source == "self"

    invites = Invite.objects.order_by("email")
    assert [
        (i.email, i.course, i.cohort, i.role, i.max_uses, i.open_to_anyone) for i in invites
    ] == [
        ("newcomer@example.com", course, cohort, "learner", 1, False),
        ("unverified@example.com", course, cohort, "learner", 1, False),
    ]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "newcomer@example.com",
        "unverified@example.com",
    ]
    assert all("Salsa basics" in message.subject for message in mail.outbox)


def test_adding_the_same_people_twice_changes_nothing_and_sends_no_second_email(
    cohort, staff_user, django_capture_on_commit_callbacks
):
    UserFactory(email="ana@example.com", verified_email=True)
    paste = "ana@example.com, newcomer@example.com"
    _add(staff_user, cohort, paste, django_capture_on_commit_callbacks)
    rows = (CohortMembership.objects.count(), Enrollment.objects.count(), Invite.objects.count())
    assert len(mail.outbox) == 1

    again = _add(staff_user, cohort, paste.upper(), django_capture_on_commit_callbacks)

    assert (again.added, again.enrolled, again.invited) == ([], [], [])
    assert again.already_members == ["ana@example.com"]
    assert again.already_invited == ["newcomer@example.com"]
    assert not again.changed
    assert (
        CohortMembership.objects.count(),
        Enrollment.objects.count(),
        Invite.objects.count(),
    ) == rows
    assert len(mail.outbox) == 1


def test_signing_up_and_redeeming_the_invite_enrolls_into_the_cohort(
    cohort, course, staff_user, django_capture_on_commit_callbacks
):
    _add(staff_user, cohort, "newcomer@example.com", django_capture_on_commit_callbacks)
    invite = Invite.objects.get()
    assert invite.code in mail.outbox[0].body

    newcomer = UserFactory(email="newcomer@example.com", verified_email=True)  # signs up
    redemption = invite_redeem(code=invite.code.lower(), user=newcomer)

    assert redemption.enrollment.course == course
    assert Enrollment.objects.get(user=newcomer, course=course).source == "invite"
    assert _members(cohort) == ["newcomer@example.com"]
    details = AuditLog.objects.get(action="invite.redeemed").details
    assert (details["cohort"], details["cohort_joined"]) == (cohort.pk, True)

    # Pasting them again now finds the account in the cohort: nothing more is sent.
    again = _add(staff_user, cohort, "newcomer@example.com", django_capture_on_commit_callbacks)
    assert again.already_members == ["newcomer@example.com"]
    assert len(mail.outbox) == 1


def test_a_cohort_invite_is_only_for_its_address(
    cohort, staff_user, django_capture_on_commit_callbacks
):
    _add(staff_user, cohort, "newcomer@example.com", django_capture_on_commit_callbacks)
    stranger = UserFactory(email="stranger@example.com", verified_email=True)

    with pytest.raises(ApplicationError) as raised:
        invite_redeem(code=Invite.objects.get().code, user=stranger)

    assert raised.value.code == ErrorCode.INVITE_NOT_FOR_YOU
    assert _members(cohort) == []


def test_a_learner_in_another_cohort_of_the_course_is_reported_not_moved(
    cohort, course, staff_user, django_capture_on_commit_callbacks
):
    autumn = cohort_create(actor=staff_user, course=course, name="Autumn", starts_on=SPRING)
    UserFactory(email="ana@example.com", verified_email=True)
    _add(
        staff_user,
        autumn,
        "ana@example.com, invited@example.com",
        django_capture_on_commit_callbacks,
    )

    result = _add(
        staff_user,
        cohort,
        "ana@example.com invited@example.com",
        django_capture_on_commit_callbacks,
    )

    assert result.in_other_cohort == {"ana@example.com": autumn, "invited@example.com": autumn}
    assert (result.added, result.invited) == ([], [])
    assert _members(cohort) == []
    assert _members(autumn) == ["ana@example.com"]
    assert Invite.objects.filter(email="invited@example.com").count() == 1
    assert len(mail.outbox) == 1


def test_redeeming_an_invite_keeps_a_cohort_the_learner_joined_meanwhile(
    cohort, course, staff_user, django_capture_on_commit_callbacks
):
    _add(staff_user, cohort, "late@example.com", django_capture_on_commit_callbacks)
    late = UserFactory(email="late@example.com", verified_email=True)
    autumn = cohort_create(actor=staff_user, course=course, name="Autumn", starts_on=SPRING)
    _add(staff_user, autumn, "late@example.com", django_capture_on_commit_callbacks)

    invite_redeem(code=Invite.objects.get(cohort=cohort).code, user=late)

    assert _members(autumn) == ["late@example.com"]
    assert _members(cohort) == []
    assert InviteRedemption.objects.filter(user=late).count() == 1
    details = AuditLog.objects.get(action="invite.redeemed").details
    assert details["cohort_joined"] is False


def test_a_learner_may_be_in_cohorts_of_different_courses(
    cohort, staff_user, django_capture_on_commit_callbacks
):
    bachata = CourseFactory(title="Bachata")
    evening = cohort_create(actor=staff_user, course=bachata, name="Evening", starts_on=SPRING)
    ana = UserFactory(email="ana@example.com", verified_email=True)

    first = _add(staff_user, cohort, "ana@example.com", django_capture_on_commit_callbacks)
    second = _add(staff_user, evening, "ana@example.com", django_capture_on_commit_callbacks)

    assert first.added == second.added == ["ana@example.com"]
    assert sorted(
        CohortMembership.objects.filter(user=ana).values_list("cohort__name", flat=True)
    ) == ["Evening", "Spring"]
    assert Enrollment.objects.filter(user=ana).count() == 2


def test_each_paste_is_audited_once_with_its_counts(
    cohort, staff_user, django_capture_on_commit_callbacks
):
    UserFactory(email="ana@example.com", verified_email=True)

    _add(
        staff_user,
        cohort,
        "ana@example.com new1@example.com new2@example.com oops@",
        django_capture_on_commit_callbacks,
    )

    entry = AuditLog.objects.get(action="progress.cohort_members_added")
    assert (entry.actor, entry.target_type, entry.target_id, entry.ip_address) == (
        staff_user,
        "progress.cohort",
        str(cohort.pk),
        "203.0.113.7",
    )
    assert entry.details == {
        "cohort": cohort.pk,
        "course": "salsa-basics",
        "added": 1,
        "enrolled": 1,
        "invited": 2,
        "already_members": 0,
        "already_invited": 0,
        "in_other_cohort": 0,
        "rejected": 1,
    }


def test_a_paste_too_large_or_into_an_archived_course_writes_nothing(
    cohort, course, staff_user, settings, django_capture_on_commit_callbacks
):
    settings.LMS_COHORT_BULK_MAX = 2
    with pytest.raises(ApplicationError) as raised:
        _add(staff_user, cohort, "a@x.org b@x.org c@x.org", django_capture_on_commit_callbacks)
    assert raised.value.code == ErrorCode.COHORT_ADD_TOO_MANY

    Course.objects.filter(pk=course.pk).update(status=Course.Status.ARCHIVED)
    with pytest.raises(ApplicationError) as raised:
        _add(staff_user, cohort, "a@x.org", django_capture_on_commit_callbacks)
    assert raised.value.code == ErrorCode.COHORT_COURSE_CLOSED

    assert not Invite.objects.exists()
    assert not AuditLog.objects.filter(action="progress.cohort_members_added").exists()
    assert mail.outbox == []


def test_removing_a_member_keeps_their_enrollment_and_lets_them_be_added_again(
    cohort, course, staff_user, django_capture_on_commit_callbacks
):
    ana = UserFactory(email="ana@example.com", verified_email=True)
    _add(staff_user, cohort, "ana@example.com", django_capture_on_commit_callbacks)

    assert cohort_member_remove(actor=staff_user, cohort=cohort, user=ana) is True
    assert cohort_member_remove(actor=staff_user, cohort=cohort, user=ana) is False

    assert _members(cohort) == []
    assert Enrollment.objects.get(user=ana, course=course).is_active
    again = _add(staff_user, cohort, "ana@example.com", django_capture_on_commit_callbacks)
    assert (again.added, again.enrolled) == (["ana@example.com"], [])
