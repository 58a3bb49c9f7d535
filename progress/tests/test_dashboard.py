"""My learning (`/learn/`): what a learner sees after real progress, and nobody else's."""

import html
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.services import course_publish, course_update
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from progress.models import Certificate, Enrollment, LearnerStats, LessonProgress
from progress.services import (
    enrollment_enroll,
    enrollment_unenroll,
    lesson_complete,
    lesson_position_save,
)

pytestmark = pytest.mark.django_db

URL = "/learn/"
QUERY_BUDGET = 12


def text_of(response) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, whitespace squeezed."""
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def course_of(lesson_count: int, *, xp: int = 10, **course_kwargs) -> tuple:
    """A public course with `lesson_count` text lessons in one section, in order."""
    course = CourseFactory(**course_kwargs)
    section = SectionFactory(course=course, order=0)
    lessons = [
        LessonFactory(section=section, order=index, title=f"Step {index + 1}", xp_value=xp)
        for index in range(lesson_count)
    ]
    return course, lessons


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, set by the test (`clock.now = datetime(...)`)."""

    class Clock:
        now = timezone.now()

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


def test_the_dashboard_is_at_learn():
    assert reverse("progress:dashboard") == URL


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/learn/"


def test_signed_in_learners_have_my_learning_in_the_menu(user_client):
    home = user_client.get(reverse("catalog:home")).content.decode()
    assert '<a class="site-nav__link" href="/learn/">My learning</a>' in home

    page = user_client.get(URL).content.decode()
    assert '<a class="site-nav__link" href="/learn/" aria-current="page">My learning</a>' in page


def test_the_menu_has_no_my_learning_for_anonymous_visitors(client):
    assert "My learning" not in client.get(reverse("catalog:home")).content.decode()


def test_a_learner_without_courses_sees_the_empty_state_with_a_link_to_the_catalog(user_client):
    response = user_client.get(URL)

    assert response.status_code == 200
    text = text_of(response)
    assert "You have not started a course yet" in text
    assert "0 XP · Level 1 · 100 XP to level 2" in text
    assert "No streak yet · next milestone: 3 days" in text
    assert "Finish a lesson today to start a streak." in text
    assert "In progress" not in text
    page = response.content.decode()
    assert '<a class="btn btn--primary" href="/courses/">Browse the catalog</a>' in page


def test_completing_lessons_moves_the_bar_and_the_numbers(user_client, user):
    course, lessons = course_of(4, title="Salsa basics", slug="salsa")
    enrollment_enroll(user=user, course=course)
    lesson_complete(user=user, lesson=lessons[0])
    lesson_complete(user=user, lesson=lessons[1])
    lesson_complete(user=user, lesson=lessons[1])  # twice: counts once

    response = user_client.get(URL)

    text = text_of(response)
    assert "Salsa basics 2 of 4 lessons done 50%" in text
    assert "20 XP · Level 1 · 80 XP to level 2" in text
    assert "1-day streak · next milestone: 3 days" in text
    assert "Today counts: you have learned today." in text
    assert "Longest streak: 1 day" in text
    assert "You have not started a course yet" not in text
    page = response.content.decode()
    assert 'value="2" max="4"' in page
    # Step 2 is done: "Continue" leads to the lesson after it.
    assert f'<a class="btn btn--primary" href="{lessons[2].get_absolute_url()}">' in page
    assert "Continue Salsa basics Up next: Step 3" in text


def test_levels_show_the_xp_still_needed_for_the_next_one(user_client, user):
    _course, lessons = course_of(3, xp=60)
    lesson_complete(user=user, lesson=lessons[0])
    lesson_complete(user=user, lesson=lessons[1])

    text = text_of(user_client.get(URL))

    assert "120 XP · Level 2 · 130 XP to level 3" in text
    page = user_client.get(URL).content.decode()
    # 20 of the 150 XP between level 2 (100) and level 3 (250).
    assert 'class="learn-progress" value="13" max="100"' in page


def test_an_enrolled_course_not_yet_started_offers_its_first_published_lesson(user_client, user):
    course = CourseFactory(title="Bachata")
    first_section = SectionFactory(course=course, order=0)
    second_section = SectionFactory(course=course, order=1)
    LessonFactory(section=second_section, order=0, title="Later")
    LessonFactory(section=first_section, order=0, title="Draft intro", is_published=False)
    first = LessonFactory(section=first_section, order=1, title="Welcome")
    enrollment_enroll(user=user, course=course)

    response = user_client.get(URL)

    text = text_of(response)
    assert "Bachata 0 of 2 lessons done 0%" in text
    assert "Start Bachata" in text
    assert "First lesson: Welcome" in text
    assert (
        f'<a class="btn btn--primary" href="{first.get_absolute_url()}">'
        in response.content.decode()
    )


def test_a_video_resumes_at_its_saved_position(user_client, user):
    _course, lessons = course_of(2, title="Hip hop")
    video = LessonFactory(
        section=lessons[0].section,
        order=5,
        kind=Lesson.Kind.VIDEO,
        title="Grooves",
        duration_seconds=600,
    )
    lesson_complete(user=user, lesson=lessons[0])
    lesson_position_save(user=user, lesson=video, position_seconds=192.4)

    response = user_client.get(URL)

    text = text_of(response)
    assert "Hip hop 1 of 3 lessons done 33%" in text
    assert "Where you left off: Grooves · at 3:12" in text
    assert f'href="{video.get_absolute_url()}"' in response.content.decode()


def test_a_completed_course_moves_to_completed_with_its_certificate(user_client, user):
    course, lessons = course_of(2, title="Tango")
    for lesson in lessons:
        lesson_complete(user=user, lesson=lesson)
    certificate = Certificate.objects.get(user=user, course=course)

    response = user_client.get(URL)

    text = text_of(response)
    assert "In progress" not in text
    assert "Completed T Tango Completed" in text  # T: the thumbnail's initial
    # 2 lessons x 10 XP + 100 XP for the course.
    assert "120 XP · Level 2 · 130 XP to level 3" in text
    assert "1 course completed · 1 certificate" in text
    page = response.content.decode()
    link = f'href="/certificates/{certificate.code}/"'
    assert page.count(link) == 2  # on the course and in the certificate list
    assert f"· {certificate.code}" in text


def test_unenrolled_courses_leave_the_dashboard(user_client, user):
    course, lessons = course_of(2, title="Waltz")
    lesson_complete(user=user, lesson=lessons[0])
    enrollment_unenroll(user=user, course=course)

    text = text_of(user_client.get(URL))

    assert "Waltz" not in text
    assert "You have not started a course yet" in text
    assert "10 XP · Level 1 · 90 XP to level 2" in text  # XP earned stays


def test_a_course_moved_back_to_draft_leaves_my_learning_and_comes_back_when_republished(
    user_client, user
):
    course, lessons = course_of(2, title="Waltz")
    tango, _tango_lessons = course_of(1, title="Tango")
    enrollment_enroll(user=user, course=tango)
    lesson_complete(user=user, lesson=lessons[0])

    course_update(course=course, data={"status": Course.Status.DRAFT})
    hidden = user_client.get(URL)
    in_the_api = [item["course"]["title"] for item in api_dashboard(user)["in_progress"]]
    course_publish(course=course)
    back = text_of(user_client.get(URL))

    assert hidden.status_code == 200
    assert "Waltz" not in text_of(hidden)
    assert f'href="/courses/{course.slug}/' not in hidden.content.decode()  # no dead link
    assert in_the_api == ["Tango"]
    assert "10 XP · Level 1" in text_of(hidden)  # the XP earned there still counts
    assert "Waltz 1 of 2 lessons done 50%" in back  # progress kept
    assert sorted(item["course"]["title"] for item in api_dashboard(user)["in_progress"]) == [
        "Tango",
        "Waltz",
    ]


def test_an_instructor_keeps_their_own_draft_course_in_my_learning(client):
    instructor = UserFactory()
    user_role_set(user=instructor, role=Role.INSTRUCTOR, actor=None)
    course, _lessons = course_of(2, title="Waltz")
    course.instructors.add(instructor)
    enrollment_enroll(user=instructor, course=course)
    course_update(course=course, data={"status": Course.Status.DRAFT})
    client.force_login(instructor)

    text = text_of(client.get(URL))

    assert "Waltz 0 of 2 lessons done 0%" in text


def test_another_learners_courses_and_progress_never_appear(client, user):
    mine, my_lessons = course_of(2, title="My course")
    _theirs, their_lessons = course_of(3, title="Their course")
    other = UserFactory()
    lesson_complete(user=other, lesson=their_lessons[0])
    lesson_complete(user=other, lesson=my_lessons[0])
    lesson_complete(user=other, lesson=my_lessons[1])
    enrollment_enroll(user=user, course=mine)
    client.force_login(user)

    response = client.get(URL)

    text = text_of(response)
    assert "Their course" not in text
    assert "My course 0 of 2 lessons done 0%" in text
    assert "0 XP · Level 1" in text
    assert "0 courses completed · 0 certificates" in text
    assert "/certificates/" not in response.content.decode()


def _complete_at(clock, user, lesson, when: datetime) -> None:
    clock.now = when
    lesson_complete(user=user, lesson=lesson)


@pytest.mark.parametrize(
    ("time_zone", "streak_at_9", "streak_at_13", "today_at_13"),
    [
        # 22:00 and 08:00 UTC are both 2 May in Auckland (10:00, 20:00): one day.
        ("Pacific/Auckland", "1-day streak", "1-day streak", "Today does not count yet"),
        # ...and 1 May 15:00, 2 May 01:00 in Los Angeles: two days in a row.
        ("America/Los_Angeles", "2-day streak", "2-day streak", "Today counts"),
    ],
)
def test_streaks_count_days_in_the_learners_time_zone(
    client, clock, time_zone, streak_at_9, streak_at_13, today_at_13
):
    learner = UserFactory(time_zone=time_zone)
    _course, lessons = course_of(3)
    _complete_at(clock, learner, lessons[0], datetime(2024, 5, 1, 22, 0, tzinfo=UTC))
    _complete_at(clock, learner, lessons[1], datetime(2024, 5, 2, 8, 0, tzinfo=UTC))
    client.force_login(learner)

    # 09:00 UTC: 21:00 on 2 May in Auckland, 02:00 on 2 May in Los Angeles.
    clock.now = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
    text = text_of(client.get(URL))
    assert f"{streak_at_9} · next milestone: 3 days" in text
    assert "Today counts: you have learned today." in text

    # 13:00 UTC: already 3 May in Auckland, where the streak is alive but today is not done.
    clock.now = datetime(2024, 5, 2, 13, 0, tzinfo=UTC)
    text = text_of(client.get(URL))
    assert f"{streak_at_13} · next milestone: 3 days" in text
    assert today_at_13 in text


def test_a_streak_broken_for_a_whole_day_shows_as_none(client, clock):
    learner = UserFactory(time_zone="Europe/Berlin")
    _course, lessons = course_of(2)
    _complete_at(clock, learner, lessons[0], datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    client.force_login(learner)

    clock.now = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
    text = text_of(client.get(URL))

    assert "No streak yet · next milestone: 3 days" in text
    assert "Longest streak: 1 day" in text


# --- Query budget -------------------------------------------------------------------------
def _learner_with_courses(count: int, *, started: bool):
    """A learner enrolled in `count` courses of 40 lessons, 15 of them completed in each
    (bulk rows: the numbers are not what this checks), with stats, and from 2 courses on, one
    completed course with its certificate."""
    learner = UserFactory()
    enrollments, rows = [], []
    for index in range(count):
        course = course_with_lessons(40, sections=4)
        lessons = list(Lesson.objects.filter(course=course))
        now = timezone.now()
        enrollments.append(
            Enrollment(
                user=learner,
                course=course,
                source=Enrollment.Source.SELF,
                last_lesson=lessons[14] if started else None,
                last_activity_at=now if started else None,
                completed_at=now if index == 1 else None,
            )
        )
        if started:
            rows += [
                LessonProgress(
                    user=learner,
                    lesson=lesson,
                    course=course,
                    status=LessonProgress.Status.COMPLETED,
                    completed_at=now,
                )
                for lesson in lessons[:15]
            ]
        if index == 1:
            Certificate.objects.create(
                code=f"CODE{count}{int(started)}",
                user=learner,
                course=course,
                learner_name="Ada",
                course_title=course.title,
            )
    Enrollment.objects.bulk_create(enrollments)
    LessonProgress.objects.bulk_create(rows)
    LearnerStats.objects.create(user=learner, xp_total=150, current_streak=2, longest_streak=4)
    return learner


def _count_dashboard_queries(client, learner, django_assert_max_num_queries) -> int:
    client.force_login(learner)
    with django_assert_max_num_queries(QUERY_BUDGET) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("started", [True, False], ids=["resuming", "not-started"])
def test_the_dashboard_costs_the_same_queries_for_1_and_20_courses(
    client, django_assert_max_num_queries, started
):
    one = _learner_with_courses(1, started=started)
    twenty = _learner_with_courses(20, started=started)

    queries_for_one = _count_dashboard_queries(client, one, django_assert_max_num_queries)
    queries_for_twenty = _count_dashboard_queries(client, twenty, django_assert_max_num_queries)

    assert queries_for_one == queries_for_twenty
    text = text_of(client.get(URL))
    expected = "15 of 40 lessons done 37%" if started else "0 of 40 lessons done 0%"
    assert text.count(expected) == 19  # the second of the 20 is completed


# --- Where "Continue" leads, on the page and in the API --------------------------------------
def two_part_course(*, video: bool = False) -> tuple:
    """ "Tango" in two sections: Step 1, Step 2, a draft, Step 4 (with `video`, a 10-minute
    video, which completes only by watching); then an optional Step 5 and Step 6. Returns the
    course and its lessons by number (3: the draft)."""
    course = CourseFactory(title="Tango", slug="tango")
    first, second = SectionFactory(course=course, order=0), SectionFactory(course=course, order=1)
    kind = Lesson.Kind.VIDEO if video else Lesson.Kind.TEXT
    lessons = {
        1: LessonFactory(section=first, order=0, title="Step 1"),
        2: LessonFactory(section=first, order=1, title="Step 2"),
        3: LessonFactory(section=first, order=2, title="Step 3", is_published=False),
        4: LessonFactory(section=first, order=3, title="Step 4", kind=kind, duration_seconds=600),
        5: LessonFactory(section=second, order=0, title="Step 5", is_required=False),
        6: LessonFactory(section=second, order=1, title="Step 6"),
    }
    return course, lessons


def primary_button(response) -> str | None:
    """Where the first big button on the page leads."""
    found = re.search(r'<a class="btn btn--primary" href="([^"]+)">', response.content.decode())
    return found.group(1) if found else None


def api_dashboard(user) -> dict:
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/v1/me/dashboard/")
    assert response.status_code == 200
    return response.json()


def lesson_ref(lesson: Lesson, position: float = 0.0) -> dict:
    return {
        "lesson": {"id": str(lesson.pk), "slug": lesson.slug, "title": lesson.title},
        "position_seconds": position,
    }


def test_an_unfinished_last_lesson_is_where_continue_leads_at_its_video_position(user_client, user):
    _course, lessons = two_part_course(video=True)
    lesson_complete(user=user, lesson=lessons[1])
    lesson_position_save(user=user, lesson=lessons[4], position_seconds=75)

    response = user_client.get(URL)

    assert primary_button(response) == lessons[4].get_absolute_url()
    assert "Continue Tango Where you left off: Step 4 · at 1:15" in text_of(response)
    (item,) = api_dashboard(user)["in_progress"]
    assert (item["next_step"], item["next_lesson"]) == ("resume", lesson_ref(lessons[4], 75.0))
    assert item["resume"] == item["next_lesson"]


@pytest.mark.parametrize(
    ("completed_in_order", "expected"),
    [
        # Just finished Step 1: Step 2 is the first lesson still to do.
        ([1], 2),
        # Just finished Step 2: the draft is never offered, Step 4 is next.
        ([1, 2], 4),
        # Step 4 was done earlier and the optional Step 5 is not required: Step 6.
        ([4, 1, 2], 6),
        # Finished Step 6 after skipping ahead: back to Step 1, the first one left behind,
        # not to what follows Step 6.
        ([6], 1),
        ([2, 4, 6], 1),
    ],
    ids=[
        "next-one",
        "skips-drafts",
        "required-before-optional",
        "back-to-the-first-skipped",
        "back-to-the-first-skipped-again",
    ],
)
def test_a_completed_last_lesson_leads_to_the_first_required_lesson_still_to_do(
    user_client, user, completed_in_order, expected
):
    _course, lessons = two_part_course()
    for number in completed_in_order:
        lesson_complete(user=user, lesson=lessons[number])

    response = user_client.get(URL)

    assert primary_button(response) == lessons[expected].get_absolute_url()
    assert f"Continue Tango Up next: Step {expected}" in text_of(response)
    assert "Where you left off" not in text_of(response)
    (item,) = api_dashboard(user)["in_progress"]
    assert item["next_step"] == "next"
    assert item["next_lesson"] == item["resume"] == lesson_ref(lessons[expected])


def test_a_half_watched_next_lesson_continues_at_its_position(user_client, user):
    _course, lessons = two_part_course(video=True)
    lesson_position_save(user=user, lesson=lessons[4], position_seconds=200)
    lesson_complete(user=user, lesson=lessons[1])
    lesson_complete(user=user, lesson=lessons[2])

    response = user_client.get(URL)

    assert primary_button(response) == lessons[4].get_absolute_url()
    assert "Continue Tango Up next: Step 4 · at 3:20" in text_of(response)
    assert api_dashboard(user)["in_progress"][0]["next_lesson"] == lesson_ref(lessons[4], 200.0)


def test_a_course_with_every_lesson_done_but_not_completed_offers_a_review(user_client, user):
    """No required lesson: the course never completes, yet nothing is left to continue."""
    course, lessons = course_of(2, title="Rumba")
    Lesson.objects.filter(course=course).update(is_required=False)
    for lesson in lessons:
        lesson_complete(user=user, lesson=lesson)

    response = user_client.get(URL)

    text = text_of(response)
    assert "Rumba 2 of 2 lessons done 100%" in text
    assert "Review Rumba You have completed every lesson." in text
    assert "Continue" not in text
    assert primary_button(response) is None
    assert f'<a class="btn btn--ghost" href="{course.get_absolute_url()}">Review' in (
        response.content.decode()
    )
    (item,) = api_dashboard(user)["in_progress"]
    assert (item["next_step"], item["next_lesson"], item["resume"]) == ("review", None, None)


def test_a_completed_course_offers_a_review_of_the_course_page(user_client, user):
    course, lessons = two_part_course()
    for number in (1, 2, 4, 5, 6):
        lesson_complete(user=user, lesson=lessons[number])

    response = user_client.get(URL)

    page = response.content.decode()
    assert f'<a class="btn btn--ghost" href="{course.get_absolute_url()}">Review' in page
    assert "Continue" not in text_of(response)
    (item,) = api_dashboard(user)["completed"]
    assert (item["next_step"], item["next_lesson"], item["resume"]) == ("review", None, None)


def test_a_completed_course_with_an_optional_lesson_left_continues_to_it(user_client, user):
    course, lessons = two_part_course()
    for number in (1, 2, 4, 6):
        lesson_complete(user=user, lesson=lessons[number])

    response = user_client.get(URL)

    assert Enrollment.objects.get(user=user, course=course).completed_at is not None
    page = response.content.decode()
    assert f'<a class="btn btn--ghost" href="{lessons[5].get_absolute_url()}">Continue' in page
    (item,) = api_dashboard(user)["completed"]
    assert (item["next_step"], item["next_lesson"]) == ("next", lesson_ref(lessons[5]))


def test_a_last_lesson_unpublished_since_leads_to_the_first_lesson_still_to_do(user_client, user):
    _course, lessons = two_part_course(video=True)
    lesson_complete(user=user, lesson=lessons[1])
    lesson_position_save(user=user, lesson=lessons[4], position_seconds=75)
    Lesson.objects.filter(pk=lessons[4].pk).update(is_published=False)

    response = user_client.get(URL)

    assert primary_button(response) == lessons[2].get_absolute_url()
    assert "Continue Tango Up next: Step 2" in text_of(response)
    (item,) = api_dashboard(user)["in_progress"]
    assert (item["next_step"], item["next_lesson"]) == ("next", lesson_ref(lessons[2]))


def test_an_enrolled_course_not_started_says_start_in_the_api_too(user):
    _course, lessons = two_part_course()
    enrollment_enroll(user=user, course=_course)

    (item,) = api_dashboard(user)["in_progress"]

    assert (item["next_step"], item["next_lesson"]) == ("start", lesson_ref(lessons[1]))
    assert item["resume"] is None
