"""Issue 17, Must show 1: every surface obeys the same structure rules (`catalog.access`).

A matrix of rule x learner state x surface: the lesson page (HTML), the lesson API, the
playback API, an attachment download, the complete POST and an offline sync batch. For each
case, every surface answers the same thing: open (success), LOCKED_PREREQUISITE or
LOCKED_UNTIL (403; the page is the 403 locked page naming what to complete), a tier lock
(UPGRADE_REQUIRED, or LOGIN_REQUIRED for a visitor), or a hidden lesson (404 /
LESSON_NOT_FOUND). Each case builds a course of a few rows, so the whole matrix stays fast.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.structure_services import section_unlock_early
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.models import StoredFile
from media.tests.conftest import s3, s3_server  # noqa: F401  (the loopback S3 fixtures)
from progress.services.enrollments import enrollment_create
from progress.services.learning import lesson_complete

pytestmark = pytest.mark.django_db

OPEN = "open"
PREREQUISITE = "LOCKED_PREREQUISITE"
UNTIL = "LOCKED_UNTIL"
UPGRADE = "UPGRADE_REQUIRED"
LOGIN = "LOGIN_REQUIRED"
HIDDEN = "LESSON_NOT_FOUND"
SURFACES = ("page", "lesson_api", "playback", "download", "complete", "sync")
# A visitor cannot complete or sync: those surfaces answer "sign in" in their own way.
SIGNED_OUT_SURFACES = ("page", "lesson_api", "playback", "download")


@dataclass
class Case:
    """One course with a first section ("Basics") and the lesson under test ("Turns", in
    the section "Next"), and who asks."""

    course: Course
    target: Lesson
    user: object  # a User, or None for a visitor
    file: StoredFile


def _course(**kwargs) -> tuple[Course, Lesson, Lesson]:
    course = CourseFactory(**kwargs)
    basics = SectionFactory(course=course, title="Basics", order=0)
    following = SectionFactory(course=course, title="Next", order=1)
    first = LessonFactory(section=basics, title="Steps", slug="steps", order=0)
    target = LessonFactory(section=following, title="Turns", slug="turns", order=0)
    return course, first, target


def _attach(bucket, lesson: Lesson) -> StoredFile:
    file = StoredFile(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title="Handout.pdf",
        content_type="application/pdf",
        size=3,
        status=StoredFile.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    file.key = f"attachments/{file.id}.pdf"
    file.save()
    bucket["client"].put_object(Bucket=bucket["bucket"], Key=file.key, Body=b"pdf")
    lesson.attachments.add(file)
    return file


def _learner(course: Course):
    learner = UserFactory()
    enrollment_create(user=learner, course=course, source="self")
    return learner


# Each case: (rule, learner state) -> how to build it, and what every surface must answer.
def _prerequisite_unmet(bucket):
    course, _first, target = _course()
    target.section.prerequisites.add(course.sections.get(title="Basics"))
    return Case(course, target, _learner(course), _attach(bucket, target)), PREREQUISITE


def _prerequisite_met(bucket):
    course, first, target = _course()
    target.section.prerequisites.add(first.section)
    learner = _learner(course)
    lesson_complete(user=learner, lesson=first)
    return Case(course, target, learner, _attach(bucket, target)), OPEN


def _prerequisite_unlocked_early(bucket):
    course, first, target = _course()
    target.section.prerequisites.add(first.section)
    learner = _learner(course)
    section_unlock_early(actor=UserFactory(is_staff=True), section=target.section, user=learner)
    return Case(course, target, learner, _attach(bucket, target)), OPEN


def _prerequisite_staff(bucket):
    course, first, target = _course()
    target.section.prerequisites.add(first.section)
    return Case(course, target, UserFactory(is_staff=True), _attach(bucket, target)), OPEN


def _prerequisite_instructor(bucket):
    instructor = UserFactory()
    course, first, target = _course(instructors=[instructor])
    target.section.prerequisites.add(first.section)
    return Case(course, target, instructor, _attach(bucket, target)), OPEN


def _sequential_unmet(bucket):
    course, _first, target = _course(progression=Course.Progression.SECTIONS)
    return Case(course, target, _learner(course), _attach(bucket, target)), PREREQUISITE


def _sequential_lessons_unmet(bucket):
    course, first, _target = _course(progression=Course.Progression.LESSONS)
    second = LessonFactory(section=first.section, title="Rhythm", slug="rhythm", order=1)
    return Case(course, second, _learner(course), _attach(bucket, second)), PREREQUISITE


def _release_future(bucket):
    course, _first, target = _course()
    target.section.release_at = timezone.now() + timedelta(days=2)
    target.section.save()
    return Case(course, target, _learner(course), _attach(bucket, target)), UNTIL


def _release_past(bucket):
    course, _first, target = _course()
    target.section.release_at = timezone.now() - timedelta(minutes=1)
    target.section.save()
    return Case(course, target, _learner(course), _attach(bucket, target)), OPEN


def _release_after_enrolling(bucket):
    course, _first, target = _course()
    target.section.release_after_days = 3
    target.section.save()
    return Case(course, target, _learner(course), _attach(bucket, target)), UNTIL


def _hidden_section(bucket):
    course, _first, target = _course()
    target.section.is_hidden = True
    target.section.save()
    return Case(course, target, _learner(course), _attach(bucket, target)), HIDDEN


def _hidden_lesson(bucket):
    course, _first, target = _course()
    target.is_hidden = True
    target.save()
    return Case(course, target, _learner(course), _attach(bucket, target)), HIDDEN


def _hidden_staff(bucket):
    course, _first, target = _course()
    target.is_hidden = True
    target.save()
    return Case(course, target, UserFactory(is_staff=True), _attach(bucket, target)), OPEN


def _tier_without(bucket):
    tier = TierFactory()
    course, _first, target = _course(visibility=Course.Visibility.PAID, required_tier=tier)
    target.section.prerequisites.add(course.sections.get(title="Basics"))
    # The tier is decided first: the learner is told to upgrade, not to complete "Basics".
    return Case(course, target, UserFactory(), _attach(bucket, target)), UPGRADE


def _tier_with_prerequisite(bucket):
    tier = TierFactory()
    course, _first, target = _course(visibility=Course.Visibility.PAID, required_tier=tier)
    target.section.prerequisites.add(course.sections.get(title="Basics"))
    learner = UserFactory()
    tier_grant_create(user=learner, tier=tier, source=TierGrant.Source.STAFF)
    enrollment_create(user=learner, course=course, source="self")
    return Case(course, target, learner, _attach(bucket, target)), PREREQUISITE


def _visitor_members(bucket):
    course, _first, target = _course(visibility=Course.Visibility.MEMBERS)
    return Case(course, target, None, _attach(bucket, target)), LOGIN


def _visitor_release_future(bucket):
    course, _first, target = _course()
    target.section.release_at = timezone.now() + timedelta(days=2)
    target.section.save()
    return Case(course, target, None, _attach(bucket, target)), UNTIL


CASES = {
    "prerequisite-unmet": _prerequisite_unmet,
    "prerequisite-met": _prerequisite_met,
    "prerequisite-unlocked-early": _prerequisite_unlocked_early,
    "prerequisite-staff": _prerequisite_staff,
    "prerequisite-instructor": _prerequisite_instructor,
    "sequential-sections": _sequential_unmet,
    "sequential-lessons": _sequential_lessons_unmet,
    "release-future": _release_future,
    "release-past": _release_past,
    "release-days-after-enrolling": _release_after_enrolling,
    "hidden-section": _hidden_section,
    "hidden-lesson": _hidden_lesson,
    "hidden-staff": _hidden_staff,
    "tier-without-tier": _tier_without,
    "tier-then-prerequisite": _tier_with_prerequisite,
    "visitor-members-course": _visitor_members,
    "visitor-release-future": _visitor_release_future,
}


def _api_answer(response) -> str:
    """open, or the error code the API answered with."""
    if response.status_code == 200:
        return OPEN
    return response.json()["error"]["code"]


def _page_answer(response, *, expected: str) -> str:
    """The page as a learner meets it: open (200), hidden (404), or the locked page (403)
    saying why (what to complete; when it opens; the tier)."""
    if response.status_code == 200:
        return OPEN
    if response.status_code == 404:
        return HIDDEN
    assert response.status_code == 403
    return expected  # the 403 page's wording is checked in test_the_locked_page_says_why


def _answers(case: Case, expected: str) -> dict[str, str]:
    client = APIClient()
    if case.user is not None:
        client.force_login(case.user)
    lesson = case.target
    answers = {
        "page": _page_answer(client.get(lesson.get_absolute_url()), expected=expected),
        "lesson_api": _api_answer(client.get(f"/api/v1/lessons/{lesson.pk}/")),
        "playback": _api_answer(client.get(f"/api/v1/lessons/{lesson.pk}/playback/")),
        "download": _api_answer(
            client.get(f"/api/v1/lessons/{lesson.pk}/attachments/{case.file.pk}/")
        ),
    }
    if case.user is None:
        return answers
    answers["complete"] = _api_answer(client.post(f"/api/v1/lessons/{lesson.pk}/complete/"))
    event = {
        "id": str(uuid.uuid4()),
        "type": "complete",
        "lesson": str(lesson.pk),
        "occurred_at": timezone.now().isoformat(),
    }
    sync = client.post("/api/v1/progress/sync/", {"events": [event]}, format="json")
    assert sync.status_code == 200
    result = sync.json()["results"][0]
    answers["sync"] = OPEN if result["status"] == "applied" else result["code"]
    return answers


@pytest.mark.parametrize("name", list(CASES))
def test_every_surface_gives_the_same_answer(name, s3):  # noqa: F811
    case, expected = CASES[name](s3)

    answers = _answers(case, expected)

    surfaces = SURFACES if case.user is not None else SIGNED_OUT_SURFACES
    assert answers == {surface: expected for surface in surfaces}


def test_a_structure_lock_carries_what_to_complete_and_when_it_opens(s3):  # noqa: F811
    case, _expected = _prerequisite_unmet(s3)
    client = APIClient()
    client.force_login(case.user)

    refused = client.get(f"/api/v1/lessons/{case.target.pk}/").json()["error"]

    assert refused["code"] == PREREQUISITE
    assert refused["message"] == "Complete “Basics” first."

    later, _expected = _release_future(s3)
    opens_at = later.target.section.release_at
    client.force_login(later.user)
    for url in (
        f"/api/v1/lessons/{later.target.pk}/",
        f"/api/v1/lessons/{later.target.pk}/playback/",
        f"/api/v1/lessons/{later.target.pk}/attachments/{later.file.pk}/",
        f"/api/v1/lessons/{later.target.pk}/complete/",
    ):
        method = client.post if url.endswith("complete/") else client.get
        error = method(url).json()["error"]
        assert error["code"] == UNTIL
        assert error["retry_at"] is not None
        assert abs((_parse(error["retry_at"]) - opens_at).total_seconds()) < 1


def test_the_locked_page_says_why(client, s3):  # noqa: F811
    case, _expected = _prerequisite_unmet(s3)
    client.force_login(case.user)

    response = client.get(case.target.get_absolute_url())

    assert response.status_code == 403
    assert "Basics" in response.content.decode()
    assert "Step one" not in response.content.decode()  # none of the lesson's notes


def _parse(value: str):
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value)


def test_quizzes_of_locked_lessons_are_refused_and_hidden_ones_not_found():
    course, _first, target = _course(progression=Course.Progression.SECTIONS)
    Lesson.objects.filter(pk=target.pk).update(kind=Lesson.Kind.QUIZ)
    hidden = LessonFactory(section=target.section, kind=Lesson.Kind.QUIZ, is_hidden=True, order=1)
    client = APIClient()
    client.force_login(_learner(course))

    for url in (
        f"/api/v1/lessons/{target.pk}/quiz/",
        f"/api/v1/lessons/{target.pk}/quiz/attempts/",
    ):
        method = client.post if url.endswith("attempts/") else client.get
        response = (
            method(url, {"answers": {}}, format="json") if method == client.post else method(url)
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == PREREQUISITE
    assert client.get(f"/api/v1/lessons/{hidden.pk}/quiz/").json()["error"]["code"] == HIDDEN
