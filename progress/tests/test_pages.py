"""The course and lesson pages with progress: enrolling and leaving, joining by code, marking
lessons complete, and what each learner sees of their own progress (and only their own)."""

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.services import course_join_code_rotate
from catalog.templatetags.catalog_tags import clock
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import Certificate, Enrollment, LessonProgress, XPAward
from progress.services import (
    ProgressEventIn,
    enrollment_enroll,
    enrollment_unenroll,
    lesson_complete,
    lesson_position_save,
    progress_apply,
)
from progress.views import render_lesson_page

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed, so assertions read like the page."""
    html = response.content.decode()
    html = re.sub(r"<(head|script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html).strip()


def flash(response) -> list[str]:
    """The flash messages shown on a page."""
    html = response.content.decode()
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
        for text in re.findall(r'<p class="flash[^"]*">(.*?)</p>', html, flags=re.S)
    ]


def outline_marks(response) -> dict[str, str]:
    """Lesson title -> the progress word its outline row says ("" when it says none)."""
    html = response.content.decode()
    marks = {}
    for row in re.findall(r'<li class="outline-lesson[^"]*">(.*?)</li>', html, flags=re.S):
        title = re.search(r'class="outline-lesson__link"[^>]*>([^<]+)</a>', row).group(1)
        word = re.search(r'class="(?:progress-label[^"]*|visually-hidden)">([^<]+)</span>', row)
        marks[title] = word.group(1) if word else ""
    return marks


def make_course(lessons: int = 4, **kwargs) -> Course:
    """A course with text lessons "Lesson 1".. (slugs lesson-1..) worth 10 XP each, in order."""
    course = CourseFactory(**kwargs)
    section = SectionFactory(course=course, order=0, title="Part 1")
    for number in range(1, lessons + 1):
        LessonFactory(
            section=section,
            title=f"Lesson {number}",
            slug=f"lesson-{number}",
            order=number,
            xp_value=10,
        )
    return course


def lesson_of(course: Course, slug: str) -> Lesson:
    return Lesson.objects.select_related("course").get(course=course, slug=slug)


def complete_url(course: Course, slug: str) -> str:
    return reverse(
        "progress:lesson_complete", kwargs={"course_slug": course.slug, "lesson_slug": slug}
    )


def enroll_url(course: Course) -> str:
    return reverse("progress:course_enroll", kwargs={"slug": course.slug})


def unenroll_url(course: Course) -> str:
    return reverse("progress:course_unenroll", kwargs={"slug": course.slug})


JOIN_URL = "/courses/join/"


@pytest.fixture
def gold():
    return TierFactory(name="Gold", slug="gold", rank=2)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "0:00"), (0, "0:00"), (7.9, "0:07"), (192, "3:12"), (600, "10:00"), (3723, "1:02:03")],
)
def test_video_positions_read_like_a_player_clock(seconds, shown):
    assert clock(seconds) == shown


# --- Addresses -------------------------------------------------------------------------------


def test_the_pages_are_at_their_documented_addresses():
    course = CourseFactory.build(slug="salsa")
    assert enroll_url(course) == "/courses/salsa/enroll/"
    assert unenroll_url(course) == "/courses/salsa/unenroll/"
    assert complete_url(course, "basic") == "/courses/salsa/basic/complete/"
    assert reverse("progress:course_join") == JOIN_URL


# --- Enrolling ---------------------------------------------------------------------------------


def test_visitors_see_no_enroll_button_but_are_asked_to_sign_in(client):
    course = make_course(2)
    response = client.get(course.get_absolute_url())
    text = text_of(response)
    assert "Create a free account or sign in to enroll and save your progress." in text
    assert "Start course First lesson: Lesson 1" in text
    html = response.content.decode()
    assert enroll_url(course) not in html
    # Both links bring the visitor back to this course afterwards.
    back = quote(course.get_absolute_url())
    assert f'href="{reverse("account_signup")}?next={back}"' in html
    assert f'href="{reverse("account_login")}?next={back}"' in html


@pytest.mark.parametrize("visibility", [Course.Visibility.PUBLIC, Course.Visibility.MEMBERS])
def test_learner_enrolls_with_one_click_and_sees_their_progress(user_client, user, visibility):
    course = make_course(4, title="Salsa Basics", visibility=visibility)
    page = user_client.get(course.get_absolute_url())
    # One main action: enrolling starts the course, so no "Start" beside it.
    assert "Enroll and start First lesson: Lesson 1" in text_of(page)
    assert "Start course" not in text_of(page)
    assert f'action="{enroll_url(course)}"' in page.content.decode()

    response = user_client.post(enroll_url(course))

    assert response.status_code == 302
    first_lesson = lesson_of(course, "lesson-1").get_absolute_url()
    assert response["Location"] == first_lesson
    lesson_page = user_client.get(response["Location"])
    assert flash(lesson_page) == ["You are enrolled in Salsa Basics."]
    page = user_client.get(course.get_absolute_url())
    text = text_of(page)
    assert "0 of 4 lessons done 0%" in text
    assert (
        '<progress class="course-progress__bar meter__bar" max="4" value="0"'
        in page.content.decode()
    )
    # Opening lesson 1 made it the lesson to continue.
    assert "Continue Lesson 1: Lesson 1" in text
    assert f'action="{enroll_url(course)}"' not in page.content.decode()
    assert "Unenroll" in text
    enrollment = Enrollment.objects.get(user=user, course=course)
    assert (enrollment.source, enrollment.is_active) == (Enrollment.Source.SELF, True)


def test_enrolling_twice_keeps_one_enrollment(user_client, user):
    course = make_course(1)
    user_client.post(enroll_url(course))
    user_client.post(enroll_url(course))
    assert Enrollment.objects.filter(user=user, course=course).count() == 1


def test_paid_course_without_the_plan_is_not_enrollable(user_client, user, gold):
    course = make_course(2, visibility=Course.Visibility.PAID, required_tier=gold)
    page = user_client.get(course.get_absolute_url())
    assert enroll_url(course) not in page.content.decode()
    assert "The lessons of this course need the Gold plan." in text_of(page)

    response = user_client.post(enroll_url(course))

    assert response.status_code == 302
    page = user_client.get(response["Location"])
    assert flash(page) == ["Enrolling in this course needs the Gold plan."]
    assert "The lessons of this course need the Gold plan." in text_of(page)
    assert not Enrollment.objects.filter(user=user).exists()


def test_archived_course_takes_no_new_enrollments(user_client, user):
    course = make_course(2, status=Course.Status.ARCHIVED)
    page = user_client.get(course.get_absolute_url())
    assert enroll_url(course) not in page.content.decode()

    response = user_client.post(enroll_url(course))

    assert response.status_code == 302
    page = user_client.get(response["Location"])
    assert flash(page) == ["This course is not open for enrollment."]
    assert "Archived course" in text_of(page)
    assert not Enrollment.objects.filter(user=user).exists()


def test_enrolling_in_a_draft_or_unknown_course_is_the_404_page(user_client, user):
    draft = make_course(1, draft=True)
    assert user_client.post(enroll_url(draft)).status_code == 404
    response = user_client.post("/courses/nope/enroll/")
    assert response.status_code == 404
    assert "There is no course at this address." in text_of(response)
    assert not Enrollment.objects.exists()


def test_staff_previewing_a_draft_cannot_enroll_in_it(staff_client, staff_user):
    draft = make_course(1, draft=True)
    assert enroll_url(draft) not in staff_client.get(draft.get_absolute_url()).content.decode()
    preview = staff_client.get(lesson_of(draft, "lesson-1").get_absolute_url())
    assert "Draft preview" in text_of(preview)
    assert "Mark as complete" not in text_of(preview)
    response = staff_client.post(enroll_url(draft), follow=True)
    assert flash(response) == ["This course is not open for enrollment."]
    assert not Enrollment.objects.exists()


def test_visitors_posting_enroll_are_sent_to_sign_in_and_back_to_the_course(client):
    course = make_course(1, slug="salsa")
    response = client.post(enroll_url(course))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/courses/salsa/"
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("url_name", ["progress:course_enroll", "progress:course_unenroll"])
def test_enroll_and_unenroll_only_take_posts(user_client, url_name):
    course = make_course(1)
    response = user_client.get(reverse(url_name, kwargs={"slug": course.slug}))
    assert response.status_code == 405


def test_posts_without_the_csrf_token_are_refused(user):
    course = make_course(1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(enroll_url(course)).status_code == 403
    assert client.post(complete_url(course, "lesson-1")).status_code == 403
    assert not Enrollment.objects.exists()
    assert not LessonProgress.objects.exists()


# --- Leaving and coming back -------------------------------------------------------------------


def test_the_course_page_asks_before_unenrolling(user_client, user):
    course = make_course(1)
    enrollment_enroll(user=user, course=course)
    html = user_client.get(course.get_absolute_url()).content.decode()
    confirm = re.search(r'<details class="cta-card__leave">(.*?)</details>', html, flags=re.S)
    assert confirm is not None
    assert f'action="{unenroll_url(course)}"' in confirm.group(1)
    assert "your progress, XP and certificate are kept" in confirm.group(1)
    assert "Yes, unenroll" in confirm.group(1)


def test_unenrolling_keeps_progress_completion_and_certificate(user_client, user):
    course = make_course(2, title="Salsa Basics")
    enrollment_enroll(user=user, course=course)
    for slug in ("lesson-1", "lesson-2"):
        lesson_complete(user=user, lesson=lesson_of(course, slug))
    completed_at = Enrollment.objects.get(user=user).completed_at
    assert completed_at is not None

    response = user_client.post(unenroll_url(course))

    assert response.status_code == 302
    page = user_client.get(response["Location"])
    text = text_of(page)
    assert flash(page) == [
        "You left Salsa Basics. Your progress is kept: enroll again to pick up where you left off."
    ]
    assert "Enroll again" in text
    assert "Your progress is kept: enroll again to pick up where you left off." in text
    assert "2 of 2 lessons" not in text
    assert "Completed" not in outline_marks(page).values()
    enrollment = Enrollment.objects.get(user=user, course=course)
    assert enrollment.unenrolled_at is not None
    assert enrollment.completed_at == completed_at
    assert LessonProgress.objects.filter(user=user, status="completed").count() == 2
    assert Certificate.objects.filter(user=user, course=course).count() == 1


def test_enrolling_again_resumes_where_the_learner_left(user_client, user):
    course = make_course(3)
    enrollment_enroll(user=user, course=course)
    lesson_complete(user=user, lesson=lesson_of(course, "lesson-2"))
    enrollment_unenroll(user=user, course=course)

    response = user_client.post(enroll_url(course))

    # Lesson 2 is done: on to the first lesson still to do, in course order.
    assert response["Location"] == lesson_of(course, "lesson-1").get_absolute_url()
    page = user_client.get(course.get_absolute_url())
    text = text_of(page)
    assert "1 of 3 lessons done 33%" in text
    assert "Continue Lesson 1: Lesson 1" in text
    assert outline_marks(page) == {
        "Lesson 1": "Not started",
        "Lesson 2": "Completed",
        "Lesson 3": "Not started",
    }
    assert Enrollment.objects.get(user=user).is_active


def test_unenrolling_when_not_enrolled_says_so(user_client, user):
    course = make_course(1)
    response = user_client.post(unenroll_url(course), follow=True)
    assert flash(response) == ["You are not enrolled in this course."]
    assert response.status_code == 200


def test_visitors_posting_unenroll_are_sent_to_sign_in(client):
    course = make_course(1, slug="salsa")
    response = client.post(unenroll_url(course))
    assert response["Location"] == "/accounts/login/?next=/courses/salsa/"


# --- Joining by code -------------------------------------------------------------------------


def test_the_join_page_asks_visitors_to_sign_in(client):
    response = client.get(JOIN_URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/courses/join/"


def test_the_join_page_is_not_taken_for_a_course(user_client):
    response = user_client.get(JOIN_URL, {"code": "abc123"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Join a course · LMS School</title>" in html
    assert 'value="abc123"' in html
    assert "field__error" not in html


def test_joining_by_code_ignores_case_and_spaces_and_lands_on_the_course(user_client, user):
    course = course_join_code_rotate(course=make_course(2, title="Salsa Basics", slug="salsa"))
    typed = f"  {course.join_code[:3].lower()} {course.join_code[3:].lower()} "

    response = user_client.post(JOIN_URL, {"code": typed})

    assert response.status_code == 302
    assert response["Location"] == "/courses/salsa/"
    page = user_client.get(response["Location"])
    assert flash(page) == ["You are enrolled in Salsa Basics."]
    assert "0 of 2 lessons done 0%" in text_of(page)
    enrollment = Enrollment.objects.get(user=user, course=course)
    assert enrollment.source == Enrollment.Source.JOIN_CODE


def test_joining_a_members_course_by_code_with_spaces(user_client, user):
    course = course_join_code_rotate(course=make_course(1, visibility=Course.Visibility.MEMBERS))
    response = user_client.post(JOIN_URL, {"code": course.join_code.lower()})
    assert response.status_code == 302
    assert Enrollment.objects.filter(user=user, course=course).exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOPE1234", "No course has this join code."),
        ("", "Enter the code your teacher gave you."),
    ],
)
def test_a_wrong_or_missing_code_is_a_form_error_with_400(user_client, user, code, message):
    make_course(1)
    response = user_client.post(JOIN_URL, {"code": code})
    html = response.content.decode()
    assert response.status_code == 400
    assert message in text_of(response)
    assert 'aria-invalid="true"' in html
    assert not Enrollment.objects.exists()


def test_a_draft_course_code_is_not_found(user_client):
    course = course_join_code_rotate(course=make_course(1, draft=True, title="Secret Salsa"))
    response = user_client.post(JOIN_URL, {"code": course.join_code})
    assert response.status_code == 400
    assert "No course has this join code." in text_of(response)
    assert 'data-error-code="JOIN_CODE_NOT_FOUND"' in response.content.decode()
    assert "Secret Salsa" not in text_of(response)
    assert not Enrollment.objects.exists()


def test_an_archived_course_code_is_refused(user_client):
    course = course_join_code_rotate(course=make_course(1, status=Course.Status.ARCHIVED))
    response = user_client.post(JOIN_URL, {"code": course.join_code})
    assert response.status_code == 400
    assert "This course is not open for enrollment." in text_of(response)
    assert not Enrollment.objects.exists()


# --- Marking lessons complete ----------------------------------------------------------------


def test_completing_a_text_lesson_marks_it_and_moves_the_progress_bar(user_client, user):
    course = make_course(4)
    enrollment_enroll(user=user, course=course)
    page = user_client.get(lesson_of(course, "lesson-1").get_absolute_url())
    assert "Mark as complete +10 XP" in text_of(page)
    assert f'action="{complete_url(course, "lesson-1")}"' in page.content.decode()

    response = user_client.post(complete_url(course, "lesson-1"))

    assert response.status_code == 302
    assert response["Location"] == lesson_of(course, "lesson-2").get_absolute_url()
    next_page = user_client.get(response["Location"])
    assert flash(next_page) == ["Lesson completed. +10 XP"]
    assert "1 of 4 lessons done 25%" in text_of(next_page)  # the sidebar

    course_page = user_client.get(course.get_absolute_url())
    assert "1 of 4 lessons done 25%" in text_of(course_page)
    assert '<progress class="course-progress__bar meter__bar" max="4" value="1"' in (
        course_page.content.decode()
    )
    assert outline_marks(course_page)["Lesson 1"] == "Completed"

    done = user_client.get(lesson_of(course, "lesson-1").get_absolute_url())
    assert "Completed" in text_of(done)
    assert "Mark as complete" not in text_of(done)
    row = LessonProgress.objects.get(user=user)
    assert (row.lesson.slug, row.status) == ("lesson-1", "completed")


def test_completing_a_lesson_enrolls_a_learner_who_was_not(user_client, user):
    course = make_course(2)
    user_client.post(complete_url(course, "lesson-1"))
    assert Enrollment.objects.get(user=user, course=course).is_active
    assert "1 of 2 lessons done 50%" in text_of(user_client.get(course.get_absolute_url()))


def test_completing_twice_shows_the_same_and_awards_xp_once(user_client, user):
    course = make_course(4)
    first = user_client.post(complete_url(course, "lesson-1"), follow=True)
    assert flash(first) == ["Lesson completed. +10 XP"]

    response = user_client.post(complete_url(course, "lesson-1"), follow=True)

    assert flash(response) == ["You had already completed this lesson."]
    assert "1 of 4 lessons done 25%" in text_of(response)
    awards = list(XPAward.objects.filter(user=user).values_list("source_key", "amount"))
    lesson = lesson_of(course, "lesson-1")
    assert awards == [(f"lesson:{lesson.pk}", 10)]
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_completing_the_last_lesson_completes_the_course(user_client, user):
    course = make_course(2, title="Salsa Basics")
    user_client.post(complete_url(course, "lesson-1"), follow=True)

    response = user_client.post(complete_url(course, "lesson-2"))

    # No next lesson: back to the lesson, which now says it is done.
    assert response["Location"] == lesson_of(course, "lesson-2").get_absolute_url()
    page = user_client.get(response["Location"])
    assert flash(page) == [
        "Lesson completed. +10 XP",
        "Course completed! +100 XP Your certificate is ready on the course page.",
    ]
    certificate = Certificate.objects.get(user=user, course=course)
    assert "Course completed · View your certificate" in text_of(page)
    course_page = user_client.get(course.get_absolute_url())
    text = text_of(course_page)
    assert "2 of 2 lessons done 100%" in text
    assert "Course completed View your certificate" in text
    assert f'href="{certificate.get_absolute_url()}"' in course_page.content.decode()
    # Nothing left to do: no "Start" back at lesson 1, a note to review instead.
    assert "You have completed every lesson" in text
    assert "First lesson:" not in text


def test_a_lab_lesson_is_completed_by_hand_too(user_client, user):
    course = make_course(0)
    LessonFactory(section=course.sections.get(), slug="lab", kind=Lesson.Kind.LAB, order=1)
    response = user_client.post(complete_url(course, "lab"), follow=True)
    assert "Completed" in text_of(response)
    assert LessonProgress.objects.get(user=user).status == "completed"


@pytest.mark.parametrize("kind", [Lesson.Kind.VIDEO, Lesson.Kind.QUIZ])
def test_video_and_quiz_lessons_cannot_be_completed_by_hand(user_client, user, kind):
    course = make_course(0)
    LessonFactory(section=course.sections.get(), slug="watch", kind=kind, order=1)
    enrollment_enroll(user=user, course=course)

    response = user_client.post(complete_url(course, "watch"))

    assert response["Location"] == lesson_of(course, "watch").get_absolute_url()
    # The message waits for the next page; the course page shows it.
    page = user_client.get(course.get_absolute_url())
    assert flash(page) == ["This lesson completes by watching the video or passing the quiz."]
    assert "0 of 1 lesson done 0%" in text_of(page)
    assert not LessonProgress.objects.exists()
    assert not XPAward.objects.exists()


def test_video_lesson_shows_its_watched_share_and_how_it_completes(user_client, user, settings):
    settings.LMS_VIDEO_COMPLETE_THRESHOLD = 0.8
    course = make_course(0)
    video = LessonFactory(
        section=course.sections.get(), slug="clip", kind=Lesson.Kind.VIDEO, duration_seconds=200
    )
    page = user_client.get(video.get_absolute_url())
    text = text_of(page)
    assert "No video yet" in text
    assert "Not started · 0% watched" in text
    assert "This lesson completes when you have watched 80% of the video." in text
    assert "Mark as complete" not in text

    start = timezone.now() - timedelta(minutes=5)
    progress_apply(
        user=user,
        events=[
            ProgressEventIn(
                kind="position", lesson_id=video.pk, occurred_at=start, position_seconds=0
            ),
            ProgressEventIn(
                kind="position",
                lesson_id=video.pk,
                occurred_at=start + timedelta(seconds=90),
                position_seconds=90,
            ),
        ],
    )
    page = user_client.get(video.get_absolute_url())
    assert "In progress · 45% watched" in text_of(page)
    assert '<progress class="lesson-status__bar" max="100" value="45"' in page.content.decode()


def test_a_watched_video_says_completed(user_client, user):
    course = make_course(0)
    video = LessonFactory(
        section=course.sections.get(), slug="clip", kind=Lesson.Kind.VIDEO, duration_seconds=100
    )
    start = timezone.now() - timedelta(minutes=5)
    progress_apply(
        user=user,
        events=[
            ProgressEventIn(
                kind="position", lesson_id=video.pk, occurred_at=start, position_seconds=0
            ),
            ProgressEventIn(
                kind="position",
                lesson_id=video.pk,
                occurred_at=start + timedelta(seconds=100),
                position_seconds=100,
            ),
        ],
    )
    text = text_of(user_client.get(video.get_absolute_url()))
    assert "Completed" in text
    assert "% watched" not in text


def test_a_locked_lesson_cannot_be_completed(user_client, user, gold):
    course = make_course(2, visibility=Course.Visibility.PAID, required_tier=gold)

    response = user_client.post(complete_url(course, "lesson-1"))

    assert response["Location"] == lesson_of(course, "lesson-1").get_absolute_url()
    page = user_client.get(response["Location"])
    assert page.status_code == 403
    assert flash(page) == ["This lesson needs a higher plan."]
    assert "This lesson needs the Gold plan" in text_of(page)
    assert not LessonProgress.objects.exists()
    assert not Enrollment.objects.exists()


def test_visitors_posting_complete_are_sent_to_sign_in_and_back(client):
    course = make_course(1, slug="salsa")
    response = client.post(complete_url(course, "lesson-1"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/courses/salsa/lesson-1/"
    assert not LessonProgress.objects.exists()


def test_completing_an_unknown_or_unpublished_lesson_is_the_404_page(user_client):
    course = make_course(1)
    LessonFactory(section=course.sections.get(), slug="wip", is_published=False, order=9)
    response = user_client.post(complete_url(course, "nope"))
    assert response.status_code == 404
    assert "There is no lesson at this address." in text_of(response)
    assert user_client.post(complete_url(course, "wip")).status_code == 404
    draft = make_course(1, draft=True)
    assert user_client.post(complete_url(draft, "lesson-1")).status_code == 404
    assert user_client.get(complete_url(course, "lesson-1")).status_code == 405
    assert not LessonProgress.objects.exists()


def test_visitors_read_public_lessons_and_are_asked_to_sign_in_to_save_progress(client):
    course = make_course(2, slug="salsa")
    response = client.get(lesson_of(course, "lesson-1").get_absolute_url())
    text = text_of(response)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Step one: listen to the beat." in text
    assert "Sign in to save your progress" in text
    assert 'href="/accounts/login/?next=/courses/salsa/lesson-1/"' in html
    assert "Mark as complete" not in text
    assert "Not started" not in text


# --- Whose progress --------------------------------------------------------------------------


def test_learners_only_ever_see_their_own_progress(client):
    ana, ben = UserFactory(), UserFactory()
    course = make_course(3)
    for slug in ("lesson-1", "lesson-2"):
        lesson_complete(user=ana, lesson=lesson_of(course, slug))
    enrollment_enroll(user=ben, course=course)

    client.force_login(ben)
    page = client.get(course.get_absolute_url())
    assert "0 of 3 lessons done 0%" in text_of(page)
    assert set(outline_marks(page).values()) == {"Not started"}
    lesson_page = client.get(lesson_of(course, "lesson-1").get_absolute_url())
    assert "Mark as complete" in text_of(lesson_page)
    assert set(outline_marks(lesson_page).values()) == {"Not started"}

    client.force_login(ana)
    page = client.get(course.get_absolute_url())
    assert "2 of 3 lessons done 66%" in text_of(page)
    assert outline_marks(page) == {
        "Lesson 1": "Completed",
        "Lesson 2": "Completed",
        "Lesson 3": "Not started",
    }


# --- Continue ----------------------------------------------------------------------------------


def continue_button(response) -> str | None:
    """Where the course page's "Continue" button leads, if it has one."""
    html = response.content.decode()
    found = re.search(r'<a class="btn btn--primary[^"]*" href="([^"]+)">\s*Continue', html)
    return found.group(1) if found else None


def test_continue_points_at_the_last_lesson_worked_on_while_it_is_unfinished(user_client, user):
    course = make_course(3)
    video = LessonFactory(
        section=course.sections.get(),
        title="Body rolls",
        slug="rolls",
        kind=Lesson.Kind.VIDEO,
        duration_seconds=600,
        order=10,
    )
    lesson_complete(user=user, lesson=lesson_of(course, "lesson-3"))
    lesson_position_save(user=user, lesson=video, position_seconds=75)

    page = user_client.get(course.get_absolute_url())

    assert "Continue Lesson 4: Body rolls · at 1:15" in text_of(page)
    assert continue_button(page) == video.get_absolute_url()


@pytest.mark.parametrize(
    ("completed_in_order", "expected"),
    [
        (["lesson-1"], "lesson-2"),
        # Lesson 3 was done earlier: skipped, the draft too.
        (["lesson-3", "lesson-1", "lesson-2"], "lesson-5"),
        # Nothing left after lesson 5: back to the first lesson still to do.
        (["lesson-2", "lesson-5"], "lesson-1"),
    ],
    ids=["next-one", "skips-completed-and-drafts", "wraps-to-first-open"],
)
def test_continue_after_a_completed_lesson_leads_to_the_next_one_still_to_do(
    user_client, user, completed_in_order, expected
):
    course = make_course(5)
    Lesson.objects.filter(course=course, slug="lesson-4").update(is_published=False)
    for slug in completed_in_order:
        lesson_complete(user=user, lesson=lesson_of(course, slug))

    page = user_client.get(course.get_absolute_url())

    number = {"lesson-1": 1, "lesson-2": 2, "lesson-5": 4}[expected]  # as the outline counts
    title = f"Lesson {expected.removeprefix('lesson-')}"
    assert f"Continue Lesson {number}: {title}" in text_of(page)
    assert continue_button(page) == lesson_of(course, expected).get_absolute_url()


def test_a_course_with_every_lesson_completed_has_no_continue(user_client, user):
    course = make_course(2)
    for slug in ("lesson-1", "lesson-2"):
        lesson_complete(user=user, lesson=lesson_of(course, slug))
    certificate = Certificate.objects.get(user=user, course=course)

    page = user_client.get(course.get_absolute_url())

    text = text_of(page)
    assert "Course completed View your certificate" in text
    assert "Continue" not in text
    assert continue_button(page) is None
    assert f'href="{certificate.get_absolute_url()}"' in page.content.decode()


def test_continue_gives_the_video_position(user_client, user):
    course = make_course(1)
    video = LessonFactory(
        section=course.sections.get(),
        title="Body rolls",
        slug="rolls",
        kind=Lesson.Kind.VIDEO,
        duration_seconds=600,
        order=5,
    )
    lesson_complete(user=user, lesson=lesson_of(course, "lesson-1"))
    lesson_position_save(user=user, lesson=video, position_seconds=192)

    page = user_client.get(course.get_absolute_url())

    assert "Continue Lesson 2: Body rolls · at 3:12" in text_of(page)
    assert outline_marks(page) == {"Lesson 1": "Completed", "Body rolls": "In progress"}


def test_continue_skips_a_lesson_that_was_unpublished(user_client, user):
    course = make_course(2)
    lesson_complete(user=user, lesson=lesson_of(course, "lesson-2"))
    Lesson.objects.filter(slug="lesson-2").update(is_published=False)
    text = text_of(user_client.get(course.get_absolute_url()))
    assert "Continue" not in text
    assert "Start course First lesson: Lesson 1" in text
    assert "0 of 1 lesson done 0%" in text


# --- The lesson page for other views (the quiz re-renders it with its errors) ----------------


def test_render_lesson_page_merges_extra_context_and_uses_the_status(user):
    course = make_course(1)
    lesson = lesson_of(course, "lesson-1")
    request = RequestFactory().get(lesson.get_absolute_url())
    request.user = user

    response = render_lesson_page(
        request, course=course, lesson=lesson, extra={"lesson_completed": True}, status=400
    )

    assert response.status_code == 400
    text = text_of(response)
    assert "Completed" in text and "Mark as complete" not in text


def test_render_lesson_page_keeps_a_locked_lesson_locked(user, gold):
    course = make_course(1, visibility=Course.Visibility.PAID, required_tier=gold)
    lesson = lesson_of(course, "lesson-1")
    request = RequestFactory().post(lesson.get_absolute_url())
    request.user = user

    response = render_lesson_page(request, course=course, lesson=lesson, status=400)

    assert response.status_code == 403
    assert "Step one" not in response.content.decode()


# --- Query budgets -------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["course", "lesson"])
def test_pages_with_progress_cost_the_same_few_queries_for_5_and_200_lessons(
    client, django_assert_max_num_queries, page
):
    from catalog.tests.factories import course_with_lessons

    learner = UserFactory()
    client.force_login(learner)
    counts = []
    for size in (5, 200):
        course = course_with_lessons(size, sections=size // 5)
        lessons = list(Lesson.objects.filter(course=course).order_by("section__order", "order"))
        # Progress on most lessons: all but the last three done.
        progress_apply(
            user=learner,
            events=[
                ProgressEventIn(kind="complete", lesson_id=lesson.pk) for lesson in lessons[:-3]
            ],
        )
        # A lesson other than the last one worked on: opening it records it (one UPDATE).
        url = course.get_absolute_url() if page == "course" else lessons[-2].get_absolute_url()
        # 13: the lesson page's discussion section reads the lesson's threads (one query).
        with django_assert_max_num_queries(13) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert f"{size - 3} of {size} lessons" in text_of(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]
