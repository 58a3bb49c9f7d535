"""The course and lesson pages served from the compiled outline (issue 18): an editor's change
in the admin shows at once, one learner's marks never reach another, and the pages cost the
same few queries whatever the course's size, on a warm or a cold cache."""

import re

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from catalog.tests.test_admin import lesson_url as admin_lesson_url
from catalog.tests.test_admin import move_url, page_form_data
from lms.tests.caches import cache_clear
from progress.services import enrollment_enroll, lesson_complete
from progress.tests.test_pages import text_of

pytestmark = pytest.mark.django_db


def outline_titles(response) -> list[str]:
    """The lesson titles of the page's outline rows, in order."""
    return re.findall(
        r'class="outline-lesson__link" href="[^"]+"(?: aria-current="page")?>([^<]+)</a>',
        response.content.decode(),
    )


def marked(response) -> dict[str, str]:
    """Each outline row's title and the learner's mark it shows ("" for none)."""
    rows = re.findall(r'<li class="outline-lesson([^"]*)">.*?</li>', response.content.decode())
    titles = outline_titles(response)
    return {
        title: " ".join(part for part in classes.split() if part.startswith("is-"))
        for title, classes in zip(titles, rows, strict=True)
    }


@pytest.fixture
def salsa():
    course = CourseFactory(title="Salsa", slug="salsa")
    basics = SectionFactory(course=course, order=0, title="Basics")
    lessons = [
        LessonFactory(section=basics, order=index, title=title, slug=f"step-{index + 1}")
        for index, title in enumerate(["Step 1", "Step 2", "Step 3"])
    ]
    return course, lessons


@pytest.fixture
def learner_client(salsa):
    course, _lessons = salsa
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    client = Client()
    client.force_login(learner)
    return client


def admin_save(staff_client, lesson: Lesson, **changes) -> None:
    """Change a lesson as an editor does: open its admin page, edit, save."""
    data = page_form_data(staff_client.get(admin_lesson_url(lesson)))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)  # an unticked box posts nothing
        else:
            data[name] = "on" if value is True else value
    response = staff_client.post(admin_lesson_url(lesson), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def pages(client, course, lesson) -> tuple:
    return client.get(course.get_absolute_url()), client.get(lesson.get_absolute_url())


# --- Must show 1: admin edits show at once ------------------------------------------------------


def test_a_title_edited_in_the_admin_shows_at_once_on_both_pages(
    staff_client, learner_client, salsa
):
    course, lessons = salsa
    pages(learner_client, course, lessons[0])  # compiled and cached, as on a live site

    admin_save(staff_client, lessons[1], title="Cross-body lead")

    for response in pages(learner_client, course, lessons[0]):
        assert outline_titles(response) == ["Step 1", "Cross-body lead", "Step 3"]


def test_a_lesson_moved_in_the_admin_moves_at_once_on_both_pages(
    staff_client, learner_client, salsa
):
    course, lessons = salsa
    pages(learner_client, course, lessons[0])

    staff_client.post(move_url(lessons[2], "up"))

    for response in pages(learner_client, course, lessons[0]):
        assert outline_titles(response) == ["Step 1", "Step 3", "Step 2"]
    # The pager follows the new order too.
    text = text_of(learner_client.get(lessons[2].get_absolute_url()))
    assert "Previous Step 1" in text and "Next Step 2" in text


def test_unpublishing_and_publishing_in_the_admin_show_at_once(staff_client, learner_client, salsa):
    course, lessons = salsa
    pages(learner_client, course, lessons[0])

    admin_save(staff_client, lessons[1], is_published=False)
    course_page, lesson_page = pages(learner_client, course, lessons[0])
    assert outline_titles(course_page) == outline_titles(lesson_page) == ["Step 1", "Step 3"]
    assert "2 lessons" in text_of(course_page)
    assert learner_client.get(lessons[1].get_absolute_url()).status_code == 404

    admin_save(staff_client, lessons[1], is_published=True)
    for response in pages(learner_client, course, lessons[0]):
        assert outline_titles(response) == ["Step 1", "Step 2", "Step 3"]


# --- Must show 1: one learner's marks never reach another ---------------------------------------


def test_two_learners_on_one_compiled_outline_each_see_their_own_marks(salsa):
    course, lessons = salsa
    ana, ben = UserFactory(), UserFactory()
    for learner in (ana, ben):
        enrollment_enroll(user=learner, course=course)
    lesson_complete(user=ana, lesson=lessons[0])
    lesson_complete(user=ana, lesson=lessons[1])
    lesson_complete(user=ben, lesson=lessons[2])
    clients = {}
    for name, learner in (("ana", ana), ("ben", ben)):
        clients[name] = Client()
        clients[name].force_login(learner)

    # Interleaved, each page after the other learner's, all from one cached outline.
    for _round in range(2):
        ana_course, ana_lesson = pages(clients["ana"], course, lessons[2])
        ben_course, ben_lesson = pages(clients["ben"], course, lessons[0])
        assert marked(ana_course) == {
            "Step 1": "is-completed",
            "Step 2": "is-completed",
            "Step 3": "is-not-started",
        }
        assert marked(ben_course) == {
            "Step 1": "is-not-started",
            "Step 2": "is-not-started",
            "Step 3": "is-completed",
        }
        assert marked(ana_lesson)["Step 3"] == "is-current is-not-started"
        assert marked(ben_lesson)["Step 1"] == "is-current is-not-started"
        assert "2 of 3 lessons done" in text_of(ana_course)
        assert "1 of 3 lessons done" in text_of(ben_lesson)

    # A visitor, then someone signed in but not enrolled: no marks at all.
    stranger = Client()
    stranger.force_login(UserFactory())
    for client in (Client(), stranger):
        assert set(marked(client.get(course.get_absolute_url())).values()) == {""}


# --- Must show 2: budgets as today, constant in course size, cold cache within ---------------


def _learner_with_progress(course: Course) -> Client:
    learner = UserFactory()
    enrollment_enroll(user=learner, course=course)
    for lesson in Lesson.objects.filter(course=course).order_by("section__order", "order")[:3]:
        lesson_complete(user=learner, lesson=lesson)
    client = Client()
    client.force_login(learner)
    return client


@pytest.mark.parametrize("page", ["course", "lesson"])
def test_pages_cost_the_same_queries_for_20_and_200_lessons(django_assert_max_num_queries, page):
    counts = []
    for size in (20, 200):
        course = course_with_lessons(size, sections=size // 5, slug=f"size-{size}")
        client = _learner_with_progress(course)
        lesson = Lesson.objects.get(course=course, slug="lesson-2")
        url = course.get_absolute_url() if page == "course" else lesson.get_absolute_url()
        client.get(url)  # warm: the compiled outline is cached, the last lesson recorded
        # 13, the pages' budget before the compiled outline (test_pages, test_course_page).
        with django_assert_max_num_queries(13) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert f"3 of {size} lessons done" in text_of(response)
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("page", ["course", "lesson"])
def test_pages_fit_the_budget_on_a_cold_cache(django_assert_max_num_queries, page):
    course = course_with_lessons(200, sections=40, slug="cold")
    client = _learner_with_progress(course)
    lesson = Lesson.objects.get(course=course, slug="lesson-2")
    url = course.get_absolute_url() if page == "course" else lesson.get_absolute_url()
    client.get(url)
    cache_clear()  # nothing compiled, no rules, no session in the cache
    with django_assert_max_num_queries(13):
        response = client.get(url)
    assert response.status_code == 200
    assert "3 of 200 lessons done" in text_of(response)


def test_the_lesson_sidebar_lists_only_its_sections_lessons_however_long_the_course():
    course = course_with_lessons(1000, sections=50, slug="long")
    client = _learner_with_progress(course)
    lesson = Lesson.objects.get(course=course, slug="lesson-2")  # in Part 2

    response = client.get(lesson.get_absolute_url())

    assert len(outline_titles(response)) == 20  # the 1,000 / 50 of its own section
    html = response.content.decode()
    assert html.count('class="sidebar-section sidebar-section--folded"') == 49
    text = text_of(response)
    assert "Lesson 21 of 1000" in text  # the first of Part 2, after Part 1's 20
    # The pager crosses sections: lesson-2 is first of Part 2, after the last of Part 1.
    assert "Previous Lesson 951" in text and "Next Lesson 52" in text
