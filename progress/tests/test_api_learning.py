"""The learning API: enrollment, join codes, progress, completion, heartbeats, the dashboard
and certificates, as a mobile app sees them; and that a learner only ever sees their own."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import Certificate, Enrollment, LearnerStats, LessonProgress, XPAward
from progress.services import ProgressEventIn, lesson_complete, progress_apply

pytestmark = pytest.mark.django_db

JOIN_URL = "/api/v1/courses/join/"
DASHBOARD_URL = "/api/v1/me/dashboard/"
MY_CERTIFICATES_URL = "/api/v1/me/certificates/"


def enrollment_url(slug: str) -> str:
    return reverse("progress-api:course-enrollment", kwargs={"slug": slug})


def progress_url(slug: str) -> str:
    return reverse("progress-api:course-progress", kwargs={"slug": slug})


def complete_url(lesson: Lesson | uuid.UUID) -> str:
    return reverse(
        "progress-api:lesson-complete", kwargs={"lesson_id": getattr(lesson, "pk", lesson)}
    )


def position_url(lesson: Lesson) -> str:
    return reverse("progress-api:lesson-position", kwargs={"lesson_id": lesson.pk})


def certificate_url(code: str) -> str:
    return reverse("progress-api:certificate-detail", kwargs={"code": code})


def iso(moment: datetime | None) -> str | None:
    """A datetime the way the API writes it (UTC, `Z` suffix)."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def course_of(*kinds: str, xp: int = 10, **course_kwargs) -> tuple[Course, list[Lesson]]:
    """A published course with one lesson per kind, in that order (videos last 60 s)."""
    course = CourseFactory(**course_kwargs)
    section = SectionFactory(course=course, order=1)
    lessons = [
        LessonFactory(
            section=section,
            kind=kind,
            order=index,
            slug=f"{kind}-{index}",
            title=f"{kind.title()} {index}",
            xp_value=xp,
            duration_seconds=60,
        )
        for index, kind in enumerate(kinds)
    ]
    return course, lessons


@pytest.fixture
def learner():
    return UserFactory(display_name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def api(api_client, learner):
    api_client.force_authenticate(learner)
    return api_client


def enrollment_body(enrollment: Enrollment) -> dict:
    enrollment.refresh_from_db()
    return {
        "course": {"slug": enrollment.course.slug, "title": enrollment.course.title},
        "source": enrollment.source,
        "enrolled_at": iso(enrollment.created_at),
        "completed_at": iso(enrollment.completed_at),
        "is_active": enrollment.unenrolled_at is None,
    }


# --- Addresses and sign-in -----------------------------------------------------------------


def test_the_endpoints_are_at_their_documented_addresses():
    lesson_id = uuid.UUID("6fa459ea-ee8a-3ca4-894e-db77e160355e")
    assert enrollment_url("salsa") == "/api/v1/courses/salsa/enrollment/"
    assert progress_url("salsa") == "/api/v1/courses/salsa/progress/"
    assert complete_url(lesson_id) == f"/api/v1/lessons/{lesson_id}/complete/"
    assert reverse("progress-api:course-join") == JOIN_URL
    assert reverse("progress-api:progress-sync") == "/api/v1/progress/sync/"
    assert reverse("progress-api:dashboard") == DASHBOARD_URL
    assert reverse("progress-api:my-certificates") == MY_CERTIFICATES_URL
    assert certificate_url("ABC") == "/api/v1/certificates/ABC/"


def test_courses_join_is_the_join_api_not_a_course_called_join():
    # Catalog's `courses/<slug>/` would also match; the progress API is included first.
    assert resolve(JOIN_URL).url_name == "course-join"
    assert resolve(JOIN_URL).namespace == "progress-api"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/courses/salsa/enrollment/"),
        ("delete", "/api/v1/courses/salsa/enrollment/"),
        ("post", JOIN_URL),
        ("get", "/api/v1/courses/salsa/progress/"),
        ("post", "/api/v1/lessons/00000000-0000-4000-8000-000000000001/complete/"),
        ("post", "/api/v1/lessons/00000000-0000-4000-8000-000000000002/position/"),
        ("post", "/api/v1/progress/sync/"),
        ("get", DASHBOARD_URL),
        ("get", MY_CERTIFICATES_URL),
    ],
)
def test_anonymous_callers_get_401(api_client, method, url):
    CourseFactory(slug="salsa")

    response = getattr(api_client, method)(url, {}, format="json")

    assert response.status_code == 401
    assert response.json() == error("NOT_AUTHENTICATED", "Sign in to continue.")


# --- Enrollment ----------------------------------------------------------------------------


def test_enrolling_answers_201_with_the_enrollment_then_200_when_already_enrolled(api, learner):
    course = CourseFactory(slug="salsa", title="Salsa basics")

    first = api.post(enrollment_url("salsa"))
    again = api.post(enrollment_url("salsa"))

    enrollment = Enrollment.objects.get(user=learner, course=course)
    expected = {
        "course": {"slug": "salsa", "title": "Salsa basics"},
        "source": "self",
        "enrolled_at": iso(enrollment.created_at),
        "completed_at": None,
        "is_active": True,
    }
    assert (first.status_code, first.json()) == (201, expected)
    assert (again.status_code, again.json()) == (200, expected)
    assert Enrollment.objects.filter(user=learner).count() == 1


def test_leaving_a_course_keeps_progress_and_enrolling_again_resumes_it(api, learner):
    course, (first, second) = course_of("text", "text", slug="salsa")
    api.post(enrollment_url("salsa"))
    api.post(complete_url(first))

    left = api.delete(enrollment_url("salsa"))

    assert left.status_code == 204
    assert left.content == b""
    enrollment = Enrollment.objects.get(user=learner, course=course)
    assert enrollment.unenrolled_at is not None
    assert LessonProgress.objects.get(user=learner, lesson=first).is_completed
    assert api.get(progress_url("salsa")).json()["enrollment"]["is_active"] is False

    back = api.post(enrollment_url("salsa"))

    assert back.status_code == 201
    assert back.json() == enrollment_body(enrollment)
    assert back.json()["is_active"] is True
    progress = api.get(progress_url("salsa")).json()
    assert (progress["completed_count"], progress["total_count"]) == (1, 2)
    # The first lesson is done: "Continue" leads to the one after it.
    assert progress["resume"]["lesson"]["id"] == str(second.pk)


def test_leaving_a_course_you_are_not_in_is_409(api, learner):
    CourseFactory(slug="salsa")

    response = api.delete(enrollment_url("salsa"))

    assert response.status_code == 409
    assert response.json() == error("NOT_ENROLLED", "You are not enrolled in this course.")


def test_a_paid_course_without_the_tier_refuses_enrollment(api, learner):
    CourseFactory(slug="pro", visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=2))

    response = api.post(enrollment_url("pro"))

    assert response.status_code == 403
    assert response.json() == error("UPGRADE_REQUIRED", "This lesson needs a higher plan.")
    assert not Enrollment.objects.exists()


def test_an_archived_course_refuses_new_learners(api):
    CourseFactory(slug="old", status=Course.Status.ARCHIVED)

    response = api.post(enrollment_url("old"))

    assert response.status_code == 403
    assert response.json() == error(
        "ENROLLMENT_NOT_ALLOWED", "This course is not open for enrollment."
    )
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("method", ["post", "delete"])
def test_draft_and_unknown_courses_are_not_found(api, method):
    CourseFactory(slug="draft", draft=True)

    for slug in ("draft", "nope"):
        response = getattr(api, method)(enrollment_url(slug))
        assert response.status_code == 404
        assert response.json() == error("COURSE_NOT_FOUND", "There is no course at this address.")
    assert not Enrollment.objects.exists()


# --- Join codes ----------------------------------------------------------------------------


def test_joining_by_code_ignores_case_and_spaces_and_answers_200_when_already_in(api, learner):
    course = CourseFactory(slug="salsa", title="Salsa basics", join_code="SALSA24")

    first = api.post(JOIN_URL, {"code": "  salsa 24 "}, format="json")
    again = api.post(JOIN_URL, {"code": "SALSA24"}, format="json")

    enrollment = Enrollment.objects.get(user=learner, course=course)
    expected = {
        "course": {"slug": "salsa", "title": "Salsa basics"},
        "source": "join_code",
        "enrolled_at": iso(enrollment.created_at),
        "completed_at": None,
        "is_active": True,
    }
    assert (first.status_code, first.json()) == (201, expected)
    assert (again.status_code, again.json()) == (200, expected)


def test_joining_again_after_leaving_is_201(api, learner):
    course = CourseFactory(slug="salsa", join_code="SALSA24")
    api.post(JOIN_URL, {"code": "SALSA24"}, format="json")
    api.delete(enrollment_url("salsa"))

    response = api.post(JOIN_URL, {"code": "SALSA24"}, format="json")

    assert response.status_code == 201
    assert Enrollment.objects.get(user=learner, course=course).is_active


@pytest.mark.parametrize("code", ["NOPE", "DRAFT1"])
def test_an_unknown_or_draft_course_code_is_404(api, code):
    CourseFactory(draft=True, join_code="DRAFT1")

    response = api.post(JOIN_URL, {"code": code}, format="json")

    assert response.status_code == 404
    assert response.json() == error("JOIN_CODE_NOT_FOUND", "No course has this join code.")
    assert not Enrollment.objects.exists()


def test_an_archived_course_code_is_refused(api):
    CourseFactory(status=Course.Status.ARCHIVED, join_code="OLD1")

    response = api.post(JOIN_URL, {"code": "old1"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ENROLLMENT_NOT_ALLOWED"
    assert not Enrollment.objects.exists()


def test_joining_without_a_code_is_a_validation_error(api):
    response = api.post(JOIN_URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"code": ["This field is required."]}
    )


# --- Progress in a course ------------------------------------------------------------------


def test_progress_before_starting_is_empty(api):
    course_of("text", "video", slug="salsa")

    response = api.get(progress_url("salsa"))

    assert response.status_code == 200
    assert response.json() == {
        "enrollment": None,
        "percent": 0,
        "completed_count": 0,
        "total_count": 2,
        "is_completed": False,
        "certificate": None,
        "resume": None,
        "lessons": [],
    }


def test_progress_counts_published_lessons_and_resumes_at_the_video_position(api, learner):
    course, (text, video, _other) = course_of("text", "video", "text", slug="salsa")
    LessonFactory(section=text.section, is_published=False)  # not counted
    api.post(complete_url(text))
    api.post(position_url(video), {"position_seconds": 42.5}, format="json")

    response = api.get(progress_url("salsa"))

    assert response.status_code == 200
    done = LessonProgress.objects.get(user=learner, lesson=text)
    enrollment = Enrollment.objects.get(user=learner, course=course)
    assert response.json() == {
        "enrollment": enrollment_body(enrollment),
        "percent": 33,
        "completed_count": 1,
        "total_count": 3,
        "is_completed": False,
        "certificate": None,
        "resume": {
            "lesson": {"id": str(video.pk), "slug": "video-1", "title": "Video 1"},
            "position_seconds": 42.5,
        },
        # Most recently worked on first; no entry for the lesson not started.
        "lessons": [
            {
                "id": str(video.pk),
                "status": "in_progress",
                "position_seconds": 42.5,
                "completed_at": None,
            },
            {
                "id": str(text.pk),
                "status": "completed",
                "position_seconds": 0.0,
                "completed_at": iso(done.completed_at),
            },
        ],
    }


def test_a_completed_course_shows_its_certificate(api, learner):
    _course, (lesson,) = course_of("text", slug="salsa")
    api.post(complete_url(lesson))

    body = api.get(progress_url("salsa")).json()

    certificate = Certificate.objects.get(user=learner)
    assert body["is_completed"] is True
    assert (body["percent"], body["completed_count"], body["total_count"]) == (100, 1, 1)
    assert body["certificate"] == {
        "code": certificate.code,
        "url": f"http://testserver/certificates/{certificate.code}/",
    }


def test_progress_of_a_draft_course_is_not_found(api):
    CourseFactory(slug="draft", draft=True)

    response = api.get(progress_url("draft"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "COURSE_NOT_FOUND"


# --- Completing a lesson -------------------------------------------------------------------


def test_completing_a_text_lesson_answers_with_its_status_and_xp(api, learner):
    course, (lesson, _other) = course_of("text", "lab")

    response = api.post(complete_url(lesson))

    assert response.status_code == 200
    assert response.json() == {
        "lesson": str(lesson.pk),
        "status": "completed",
        "xp_awarded": 10,
        "course_completed": False,
        "certificate": None,
    }
    assert LessonProgress.objects.get(user=learner, lesson=lesson).is_completed
    # Learning in a course enrolls you in it.
    assert Enrollment.objects.get(user=learner, course=course).is_active


def test_completing_twice_keeps_one_row_and_awards_xp_once(api, learner):
    _course, (lesson, _other) = course_of("text", "text")

    first = api.post(complete_url(lesson))
    row = LessonProgress.objects.get(user=learner, lesson=lesson)
    again = api.post(complete_url(lesson))

    assert first.json()["xp_awarded"] == 10
    assert again.status_code == 200
    assert again.json() == {**first.json(), "xp_awarded": 0}
    assert LessonProgress.objects.filter(user=learner).count() == 1
    row_after = LessonProgress.objects.get(user=learner, lesson=lesson)
    assert row_after.completed_at == row.completed_at
    assert list(XPAward.objects.filter(user=learner).values_list("source_key", "amount")) == [
        (f"lesson:{lesson.pk}", 10)
    ]
    assert LearnerStats.objects.get(user=learner).xp_total == 10


def test_completing_the_last_lesson_completes_the_course_with_a_certificate(api, learner):
    _course, (first, last) = course_of("text", "lab", slug="salsa")
    api.post(complete_url(first))

    response = api.post(complete_url(last))
    again = api.post(complete_url(last))

    certificate = Certificate.objects.get(user=learner)
    expected = {
        "lesson": str(last.pk),
        "status": "completed",
        "xp_awarded": 10 + 100,  # the lesson and the course bonus
        "course_completed": True,
        "certificate": {
            "code": certificate.code,
            "url": f"http://testserver/certificates/{certificate.code}/",
        },
    }
    assert (response.status_code, response.json()) == (200, expected)
    # The answer is the same when repeated, without XP.
    assert again.json() == {**expected, "xp_awarded": 0}
    assert Certificate.objects.filter(user=learner).count() == 1


@pytest.mark.parametrize("kind", [Lesson.Kind.VIDEO, Lesson.Kind.QUIZ])
def test_videos_and_quizzes_cannot_be_completed_by_hand(api, learner, kind):
    _course, (lesson,) = course_of(kind)

    response = api.post(complete_url(lesson))

    assert response.status_code == 409
    assert response.json() == error(
        "COMPLETION_NOT_MANUAL", "This lesson completes by watching the video or passing the quiz."
    )
    assert not LessonProgress.objects.exists()
    assert not XPAward.objects.exists()


def test_a_locked_paid_lesson_cannot_be_completed(api):
    tier = TierFactory(rank=2)
    _course, (lesson,) = course_of("text", visibility=Course.Visibility.PAID, required_tier=tier)

    response = api.post(complete_url(lesson))

    assert response.status_code == 403
    assert response.json() == error("UPGRADE_REQUIRED", "This lesson needs a higher plan.")
    assert not LessonProgress.objects.exists()


def test_unknown_unpublished_and_draft_lessons_are_not_found(api):
    _course, (unpublished,) = course_of("text")
    unpublished.is_published = False
    unpublished.save()
    _draft, (in_draft,) = course_of("text", draft=True)

    for lesson_id in (uuid.uuid4(), unpublished.pk, in_draft.pk):
        response = api.post(complete_url(lesson_id))
        assert response.status_code == 404
        assert response.json() == error("LESSON_NOT_FOUND", "There is no lesson at this address.")
    assert not LessonProgress.objects.exists()


# --- Video heartbeats ----------------------------------------------------------------------


def test_a_heartbeat_saves_the_position(api, learner):
    _course, (video,) = course_of("video")

    response = api.post(position_url(video), {"position_seconds": 12.5}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "lesson": str(video.pk),
        "status": "in_progress",
        "position_seconds": 12.5,
        "watched_seconds": 0.0,
        "watched_percent": 0,
        "xp_awarded": 0,
    }
    row = LessonProgress.objects.get(user=learner, lesson=video)
    assert (row.status, row.position_seconds) == ("in_progress", 12.5)


def test_one_heartbeat_at_the_end_does_not_complete_a_video(api, learner):
    _course, (video,) = course_of("video")

    response = api.post(position_url(video), {"position_seconds": 60}, format="json")
    again = api.post(position_url(video), {"position_seconds": 60}, format="json")

    assert response.json()["status"] == again.json()["status"] == "in_progress"
    assert again.json()["watched_percent"] == 0
    row = LessonProgress.objects.get(user=learner, lesson=video)
    assert (row.status, row.position_seconds, row.watched_seconds) == ("in_progress", 60, 0)
    assert not XPAward.objects.exists()


def test_a_heartbeat_reports_the_share_watched(api, learner):
    _course, (video,) = course_of("video")
    # The player was at 0 s a minute ago (an earlier heartbeat, through the engine)...
    progress_apply(
        user=learner,
        events=[
            ProgressEventIn(
                kind="position",
                lesson_id=video.pk,
                occurred_at=timezone.now() - timedelta(minutes=1),
                position_seconds=0,
            )
        ],
    )

    # ...so 30 s further now is plausible playing.
    response = api.post(position_url(video), {"position_seconds": 30}, format="json")

    assert response.json() == {
        "lesson": str(video.pk),
        "status": "in_progress",
        "position_seconds": 30.0,
        "watched_seconds": 30.0,
        "watched_percent": 50,
        "xp_awarded": 0,
    }


def test_a_position_on_a_text_lesson_is_409(api):
    _course, (lesson,) = course_of("text")

    response = api.post(position_url(lesson), {"position_seconds": 3}, format="json")

    assert response.status_code == 409
    assert response.json() == error("POSITION_NOT_VIDEO", "Only video lessons have a position.")
    assert not LessonProgress.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"position_seconds": ["This field is required."]}),
        (
            {"position_seconds": -1},
            {"position_seconds": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"position_seconds": "inf"}, {"position_seconds": ["A valid number is required."]}),
    ],
)
def test_an_invalid_position_is_a_validation_error(api, body, fields):
    _course, (video,) = course_of("video")

    response = api.post(position_url(video), body, format="json")

    assert response.status_code == 400
    assert response.json() == error("VALIDATION_ERROR", "Some fields are invalid.", fields)
    assert not LessonProgress.objects.exists()


# --- Dashboard -----------------------------------------------------------------------------


def test_the_dashboard_of_a_new_learner_is_empty(api):
    response = api.get(DASHBOARD_URL)

    assert response.status_code == 200
    assert response.json() == {
        "stats": {
            "xp": 0,
            "level": 1,
            "level_start_xp": 0,
            "next_level_xp": 100,
            "level_percent": 0,
            "current_streak": 0,
            "longest_streak": 0,
            "next_milestone": 3,
            "active_today": False,
        },
        "in_progress": [],
        "completed": [],
        "certificates": [],
    }


def test_the_dashboard_shows_stats_courses_in_progress_completed_and_certificates(api, learner):
    _done, (only,) = course_of("text", slug="done", title="Done course")
    _going, (first, video, _third) = course_of(
        "text", "video", "text", slug="going", title="Going course"
    )
    api.post(complete_url(only))
    api.post(complete_url(first))
    api.post(position_url(video), {"position_seconds": 7}, format="json")

    response = api.get(DASHBOARD_URL)

    assert response.status_code == 200
    certificate = Certificate.objects.get(user=learner)
    assert response.json() == {
        "stats": {
            "xp": 120,  # two lessons and one course bonus
            "level": 2,
            "level_start_xp": 100,
            "next_level_xp": 250,
            "level_percent": 13,
            "current_streak": 1,
            "longest_streak": 1,
            "next_milestone": 3,
            "active_today": True,
        },
        "in_progress": [
            {
                "course": {"slug": "going", "title": "Going course"},
                "percent": 33,
                "completed_count": 1,
                "total_count": 3,
                "next_step": "resume",
                "next_lesson": {
                    "lesson": {"id": str(video.pk), "slug": "video-1", "title": "Video 1"},
                    "position_seconds": 7.0,
                },
                "resume": {
                    "lesson": {"id": str(video.pk), "slug": "video-1", "title": "Video 1"},
                    "position_seconds": 7.0,
                },
                "waiting": None,  # nothing closed by the course's rules
            }
        ],
        "completed": [
            {
                "course": {"slug": "done", "title": "Done course"},
                "percent": 100,
                "completed_count": 1,
                "total_count": 1,
                # Every lesson is done: nothing to continue, the course is there to review.
                "next_step": "review",
                "next_lesson": None,
                "resume": None,
                "waiting": None,
            }
        ],
        "certificates": [
            {
                "code": certificate.code,
                "course": {"slug": "done", "title": "Done course"},
                "issued_at": iso(certificate.issued_at),
                "learner_name": "Ada Lovelace",
                "name_pending": False,
                "name_corrections_left": 2,
                "url": f"http://testserver/certificates/{certificate.code}/",
            }
        ],
    }


# --- Certificates --------------------------------------------------------------------------


def test_my_certificates_lists_mine_paginated(api, learner):
    _course, (lesson,) = course_of("text", slug="salsa", title="Salsa basics")
    api.post(complete_url(lesson))

    response = api.get(MY_CERTIFICATES_URL)

    certificate = Certificate.objects.get(user=learner)
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "code": certificate.code,
                "course": {"slug": "salsa", "title": "Salsa basics"},
                "issued_at": iso(certificate.issued_at),
                "learner_name": "Ada Lovelace",
                "name_pending": False,
                "name_corrections_left": 2,
                "url": f"http://testserver/certificates/{certificate.code}/",
            }
        ],
    }


def test_anyone_can_verify_a_certificate_by_its_code_without_seeing_the_email(api_client, learner):
    _course, (lesson,) = course_of("text", slug="salsa", title="Salsa basics")
    lesson_complete(user=learner, lesson=lesson)
    certificate = Certificate.objects.get(user=learner)
    Course.objects.filter(pk=lesson.course_id).update(title="Salsa, renamed")

    response = api_client.get(certificate_url(certificate.code.lower()))

    assert response.status_code == 200
    assert response.json() == {
        "code": certificate.code,
        "learner_name": "Ada Lovelace",
        "name_pending": False,
        "course_title": "Salsa basics",  # as it was when issued
        "issued_at": iso(certificate.issued_at),
        "course": {"slug": "salsa", "title": "Salsa, renamed"},
        "url": f"http://testserver/certificates/{certificate.code}/",
    }
    assert b"ada@example.com" not in response.content


def test_verifying_with_a_bad_token_still_works_because_no_sign_in_is_needed(api_client, learner):
    _course, (lesson,) = course_of("text")
    lesson_complete(user=learner, lesson=lesson)
    certificate = Certificate.objects.get(user=learner)

    response = api_client.get(
        certificate_url(certificate.code), HTTP_AUTHORIZATION="Bearer not-a-token"
    )

    assert response.status_code == 200


def test_an_unknown_certificate_is_404(api_client):
    response = api_client.get(certificate_url("NOPE"))

    assert response.status_code == 404
    assert response.json() == error(
        "CERTIFICATE_NOT_FOUND", "There is no certificate with this code."
    )


# --- One learner never sees or changes another's -------------------------------------------


def test_a_learner_never_sees_or_changes_another_learners_progress(api, learner):
    course, (first, second) = course_of("text", "text", slug="salsa")
    other = UserFactory()
    lesson_complete(user=other, lesson=first)
    lesson_complete(user=other, lesson=second)
    theirs = {
        row.pk: (row.status, row.completed_at) for row in LessonProgress.objects.filter(user=other)
    }
    their_certificate = Certificate.objects.get(user=other)

    # Their progress, dashboard and certificates are not mine.
    assert api.get(progress_url("salsa")).json() == {
        "enrollment": None,
        "percent": 0,
        "completed_count": 0,
        "total_count": 2,
        "is_completed": False,
        "certificate": None,
        "resume": None,
        "lessons": [],
    }
    dashboard = api.get(DASHBOARD_URL).json()
    assert (dashboard["in_progress"], dashboard["completed"], dashboard["certificates"]) == (
        [],
        [],
        [],
    )
    assert dashboard["stats"]["xp"] == 0
    assert api.get(MY_CERTIFICATES_URL).json()["results"] == []
    # Leaving "their" course is about my enrollment, which does not exist.
    assert api.delete(enrollment_url("salsa")).status_code == 409
    assert Enrollment.objects.get(user=other, course=course).is_active

    # Completing the same lesson is my own completion, with my own XP.
    mine = api.post(complete_url(first)).json()

    assert mine["xp_awarded"] == 10
    assert mine["course_completed"] is False
    assert mine["certificate"] is None
    assert {
        row.pk: (row.status, row.completed_at) for row in LessonProgress.objects.filter(user=other)
    } == theirs
    assert LearnerStats.objects.get(user=other).xp_total == 10 + 10 + 100
    assert Certificate.objects.get(user=other) == their_certificate
    assert api.get(progress_url("salsa")).json()["completed_count"] == 1


# --- The schema ----------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_learning_endpoint(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    operations = {
        path: {method: operation["operationId"] for method, operation in methods.items()}
        for path, methods in schema["paths"].items()
    }
    assert {
        path: operations.get(path)
        for path in (
            "/api/v1/courses/{slug}/enrollment/",
            "/api/v1/courses/join/",
            "/api/v1/courses/{slug}/progress/",
            "/api/v1/lessons/{lesson_id}/complete/",
            "/api/v1/lessons/{lesson_id}/position/",
            "/api/v1/progress/sync/",
            "/api/v1/me/dashboard/",
            "/api/v1/me/certificates/",
            "/api/v1/certificates/{code}/",
        )
    } == {
        "/api/v1/courses/{slug}/enrollment/": {
            "post": "courses_enroll",
            "delete": "courses_unenroll",
        },
        "/api/v1/courses/join/": {"post": "courses_join"},
        "/api/v1/courses/{slug}/progress/": {"get": "courses_progress_retrieve"},
        "/api/v1/lessons/{lesson_id}/complete/": {"post": "lessons_complete"},
        "/api/v1/lessons/{lesson_id}/position/": {"post": "lessons_position"},
        "/api/v1/progress/sync/": {"post": "progress_sync"},
        "/api/v1/me/dashboard/": {"get": "me_dashboard_retrieve"},
        "/api/v1/me/certificates/": {"get": "me_certificates_list"},
        "/api/v1/certificates/{code}/": {"get": "certificates_retrieve"},
    }
    paths = schema["paths"]
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}

    def error_schema(path: str, method: str, status: str) -> dict:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert error_schema("/api/v1/lessons/{lesson_id}/complete/", "post", "409") == envelope
    assert error_schema("/api/v1/progress/sync/", "post", "400") == envelope
    assert error_schema("/api/v1/certificates/{code}/", "get", "404") == envelope
    enroll = paths["/api/v1/courses/{slug}/enrollment/"]
    # The view's own statuses, plus the generic ones every write can answer (lms.api.schema).
    generic_write = ["400", "406", "413", "429", "503"]
    assert sorted(enroll["post"]["responses"]) == sorted(
        ["200", "201", "401", "403", "404", *generic_write]
    )
    assert sorted(enroll["delete"]["responses"]) == sorted(
        ["204", "401", "403", "404", "409", *generic_write]
    )
    # Verification is public; everything else needs a signed-in user.
    assert paths["/api/v1/certificates/{code}/"]["get"]["security"] == [{}]
    assert paths["/api/v1/me/dashboard/"]["get"]["security"] == [
        {"jwtAuth": []},
        {"cookieAuth": []},
    ]
    assert "Idempotent" in paths["/api/v1/lessons/{lesson_id}/complete/"]["post"]["description"]
    certificates = paths["/api/v1/me/certificates/"]["get"]
    assert [parameter["name"] for parameter in certificates["parameters"]] == ["page", "page_size"]
    sync_event = schema["components"]["schemas"]["ProgressSyncEventRequest"]
    assert sorted(sync_event["required"]) == ["id", "lesson", "occurred_at", "type"]
