"""Staff open a section early for one learner (`catalog.structure_services`): the rules are
lifted for that learner only, granting and revoking are idempotent and audited, only staff
and the course's instructors may, and the admin does it through the same services."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.access import Reason, lesson_access
from catalog.models import SectionUnlock
from catalog.structure_services import section_unlock_early, section_unlock_revoke
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.errors import AccessDeniedError, ErrorCode
from progress.tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

UNLOCKS_URL = reverse("admin:catalog_sectionunlock_changelist")
UNLOCK_ADD_URL = reverse("admin:catalog_sectionunlock_add")


@pytest.fixture
def scheduled():
    """A course whose second section opens in a week, with two enrolled learners."""
    course = CourseFactory(title="Salsa")
    LessonFactory(section=SectionFactory(course=course, order=0, title="Week 1"), order=0)
    later = SectionFactory(
        course=course, order=1, title="Week 2", release_at=timezone.now() + timedelta(days=7)
    )
    lesson = LessonFactory(section=later, order=0, slug="turns")
    ada = UserFactory(email="ada@example.com", display_name="Ada Lovelace")
    bo = UserFactory(email="bo@example.com", display_name="Bo Diddley")
    for learner in (ada, bo):
        EnrollmentFactory(user=learner, course=course)
    return later, lesson, ada, bo


def _reason(user, lesson) -> Reason:
    return lesson_access(user=user, course=lesson.course, lesson=lesson).reason


def _audit_rows() -> list[dict]:
    return list(
        AuditLog.objects.filter(action=AuditLog.Action.SECTION_UNLOCKED)
        .order_by("created_at")
        .values("actor_email", "target_id", "details")
    )


def test_an_early_unlock_opens_the_section_for_that_learner_only(scheduled, staff_user):
    section, lesson, ada, bo = scheduled
    assert _reason(ada, lesson) == Reason.LOCKED_UNTIL

    unlock = section_unlock_early(actor=staff_user, section=section, user=ada)

    assert (unlock.section, unlock.user, unlock.granted_by) == (section, ada, staff_user)
    assert _reason(ada, lesson) == Reason.PUBLIC
    assert _reason(bo, lesson) == Reason.LOCKED_UNTIL


def test_unlocking_twice_keeps_one_unlock_and_one_audit_row(scheduled, staff_user):
    section, _lesson, ada, _bo = scheduled

    first = section_unlock_early(actor=staff_user, section=section, user=ada)
    again = section_unlock_early(actor=staff_user, section=section, user=ada)

    assert first.pk == again.pk
    assert SectionUnlock.objects.count() == 1
    assert _audit_rows() == [
        {
            "actor_email": staff_user.email,
            "target_id": str(section.pk),
            "details": {
                "course": str(section.course_id),
                "section": str(section.pk),
                "learner": str(ada.pk),
                "learner_email": "ada@example.com",
                "unlocked": True,
            },
        }
    ]


def test_revoking_locks_it_again_by_the_rules_once(scheduled, staff_user):
    section, lesson, ada, _bo = scheduled
    section_unlock_early(actor=staff_user, section=section, user=ada)

    first = section_unlock_revoke(actor=staff_user, section=section, user=ada)
    again = section_unlock_revoke(actor=staff_user, section=section, user=ada)

    assert (first, again) == (True, False)
    assert _reason(ada, lesson) == Reason.LOCKED_UNTIL
    assert [row["details"]["unlocked"] for row in _audit_rows()] == [True, False]


def test_only_staff_and_the_courses_instructors_unlock(scheduled):
    section, _lesson, ada, bo = scheduled
    teacher = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    section.course.instructors.add(teacher)
    stranger = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)

    section_unlock_early(actor=teacher, section=section, user=ada)
    refusals = []
    for actor in (stranger, bo):
        with pytest.raises(AccessDeniedError) as refused:
            section_unlock_early(actor=actor, section=section, user=bo)
        refusals.append(refused.value.code)
    with pytest.raises(AccessDeniedError):
        section_unlock_revoke(actor=stranger, section=section, user=ada)

    assert refusals == [ErrorCode.PERMISSION_DENIED, ErrorCode.PERMISSION_DENIED]
    assert list(SectionUnlock.objects.values_list("user_id", flat=True)) == [ada.pk]


def test_staff_unlock_and_revoke_in_the_admin(scheduled, staff_client, staff_user):
    section, lesson, ada, _bo = scheduled
    form = staff_client.get(UNLOCK_ADD_URL).content.decode()

    added = staff_client.post(UNLOCK_ADD_URL, {"user": str(ada.pk), "section": str(section.pk)})
    listed = staff_client.get(UNLOCKS_URL).content.decode()
    unlock = SectionUnlock.objects.get()
    delete_url = reverse("admin:catalog_sectionunlock_delete", args=[unlock.pk])
    deleted = staff_client.post(delete_url, {"post": "yes"})

    assert 'data-field-name="user"' in form and 'data-field-name="section"' in form
    assert added.status_code == 302
    assert "Week 2" in listed and "Ada Lovelace" in listed
    assert unlock.granted_by == staff_user
    assert deleted.status_code == 302
    assert not SectionUnlock.objects.exists()
    assert _reason(ada, lesson) == Reason.LOCKED_UNTIL
    assert [(row["actor_email"], row["details"]["unlocked"]) for row in _audit_rows()] == [
        (staff_user.email, True),
        (staff_user.email, False),
    ]


def test_the_admin_answers_an_unlock_granted_already_on_the_form(scheduled, staff_client):
    section, _lesson, ada, _bo = scheduled
    staff_client.post(UNLOCK_ADD_URL, {"user": str(ada.pk), "section": str(section.pk)})

    again = staff_client.post(UNLOCK_ADD_URL, {"user": str(ada.pk), "section": str(section.pk)})

    assert again.status_code == 200
    assert "already exists" in str(again.context["adminform"].form.errors)
    assert SectionUnlock.objects.count() == 1
