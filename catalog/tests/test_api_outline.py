"""The course API from the compiled outline and the course list from cached rows (issue 18):
what staff change in the admin shows at once, one learner's state never reaches another, and
a warm cache reads no sections, lessons or courses list."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import course_with_lessons
from catalog.tests.test_admin import lesson_url as admin_lesson_url
from catalog.tests.test_admin import move_url, page_form_data
from catalog.tests.test_api import LIST_URL, detail_url
from progress.models import Enrollment, LessonProgress

pytestmark = pytest.mark.django_db


def lesson_titles(body: dict) -> list[list[str]]:
    return [[lesson["title"] for lesson in section["lessons"]] for section in body["sections"]]


def edit_lesson(staff_client, lesson: Lesson, **changes) -> None:
    """Save the lesson's admin form with these changes, as staff do."""
    data = page_form_data(staff_client.get(admin_lesson_url(lesson)))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)  # an unticked box posts nothing
        else:
            data[name] = "on" if value is True else value
    response = staff_client.post(admin_lesson_url(lesson), data)
    assert response.status_code == 302


def test_admin_edits_show_at_once_in_the_course_api(
    staff_client, django_capture_on_commit_callbacks
):
    course = course_with_lessons(3, slug="salsa", visibility="members")
    first, second, third = Lesson.objects.filter(course=course).order_by("order")
    learner = APIClient()
    learner.force_authenticate(UserFactory())
    assert lesson_titles(learner.get(detail_url("salsa")).json()) == [
        ["Lesson 1", "Lesson 2", "Lesson 3"]
    ]

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, second, title="Cross-body lead")
    assert lesson_titles(learner.get(detail_url("salsa")).json()) == [
        ["Lesson 1", "Cross-body lead", "Lesson 3"]
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(move_url(third, "up")).status_code == 302
    assert lesson_titles(learner.get(detail_url("salsa")).json()) == [
        ["Lesson 1", "Lesson 3", "Cross-body lead"]
    ]

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, first, is_published=False)
    body = learner.get(detail_url("salsa")).json()
    assert lesson_titles(body) == [["Lesson 3", "Cross-body lead"]]
    assert body["lesson_count"] == 2
    # Its editors still see it, marked unpublished by its absence from the learner's.
    staff_body = staff_client.get(detail_url("salsa")).json()
    assert lesson_titles(staff_body) == [["Lesson 1", "Lesson 3", "Cross-body lead"]]

    with django_capture_on_commit_callbacks(execute=True):
        edit_lesson(staff_client, first, is_published=True)
    assert learner.get(detail_url("salsa")).json()["lesson_count"] == 3


def test_one_learners_progress_never_opens_lessons_for_another():
    """Sequential lessons: what Ada completed opens her next lesson, never Ben's, though both
    read the same compiled outline from the cache."""
    course = course_with_lessons(3, slug="salsa", visibility="members", progression="lessons")
    first = Lesson.objects.get(course=course, slug="lesson-1")
    ada, ben = UserFactory(), UserFactory()
    for learner in (ada, ben):
        Enrollment.objects.create(user=learner, course=course)
    LessonProgress.objects.create(
        user=ada,
        lesson=first,
        course=course,
        status=LessonProgress.Status.COMPLETED,
        completed_at=timezone.now(),
    )
    clients = {}
    for name, learner in (("ada", ada), ("ben", ben)):
        clients[name] = APIClient()
        clients[name].force_authenticate(learner)

    def locks(name: str) -> list[bool]:
        body = clients[name].get(detail_url("salsa")).json()
        return [lesson["locked"] for lesson in body["sections"][0]["lessons"]]

    assert locks("ada") == [False, False, True]
    assert locks("ben") == [False, True, True]
    assert locks("ada") == [False, False, True]  # the cache warm from Ben's request
    second = clients["ben"].get(detail_url("salsa")).json()["sections"][0]["lessons"][1]
    assert second["lock"] == {
        "code": "LOCKED_PREREQUISITE",
        "requires": ["Lesson 1"],
        "opens_at": None,
        "opens_after_days": None,
    }


def test_a_paid_courses_tier_lock_is_the_requesting_users_own(api_client):
    course = course_with_lessons(2, slug="pro", visibility="members")
    Lesson.objects.filter(course=course, slug="lesson-2").update(is_free_preview=True)
    Course.objects.filter(pk=course.pk).update(title="Pro")  # before any read: nothing cached

    anonymous = api_client.get(detail_url("pro")).json()
    api_client.force_authenticate(UserFactory())
    member = api_client.get(detail_url("pro")).json()

    assert anonymous["access"] == {
        "allowed": False,
        "reason": "login_required",
        "required_tier": None,
    }
    assert [lesson["locked"] for lesson in anonymous["sections"][0]["lessons"]] == [True, False]
    assert member["access"] == {"allowed": True, "reason": "member", "required_tier": None}
    assert [lesson["locked"] for lesson in member["sections"][0]["lessons"]] == [False, False]


def _queries(client, url: str, budget: int, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(budget) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["anonymous", "learner"])
def test_the_course_api_costs_the_same_queries_for_20_and_200_lessons_cold_and_warm(
    client, django_assert_max_num_queries, who
):
    """Budgets as before the compiled outline, or lower: cold, the course, its sections and
    lessons (and a learner's session, user and the course's instructors); warm, the
    sections and lessons come from the cache."""
    cold_budget, warm_budget = (3, 1) if who == "anonymous" else (6, 4)
    counts = {}
    for size in (20, 200):
        course_with_lessons(size, sections=4, slug=f"c{size}", visibility="public")
        if who == "learner":
            client.force_login(UserFactory())
        url = detail_url(f"c{size}")
        counts[size] = (
            _queries(client, url, cold_budget, django_assert_max_num_queries),
            _queries(client, url, warm_budget, django_assert_max_num_queries),
        )
        assert client.get(url).json()["lesson_count"] == size
    assert counts[20] == counts[200]


# --- The course list from cached rows --------------------------------------------------------


def test_the_course_list_shows_a_change_at_once_and_reads_nothing_when_warm(
    api_client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    course = course_with_lessons(2, slug="salsa", title="Salsa")
    first = api_client.get(LIST_URL).json()

    with django_assert_num_queries(0):
        assert api_client.get(LIST_URL).json() == first

    with django_capture_on_commit_callbacks(execute=True):
        course.title = "Salsa on 2"
        course.save()
        Lesson.objects.create(
            course=course, section=course.sections.get(), title="Shines", slug="shines", order=9
        )
    second = api_client.get(LIST_URL).json()
    assert [(row["title"], row["lesson_count"]) for row in second["results"]] == [("Salsa on 2", 3)]

    with django_capture_on_commit_callbacks(execute=True):
        course.status = Course.Status.DRAFT
        course.save()
    assert api_client.get(LIST_URL).json()["results"] == []


def test_cached_rows_carry_the_requests_own_urls(api_client):
    course = course_with_lessons(1, slug="salsa")
    course.thumbnail.save("salsa.png", ContentFile(b"png"), save=True)

    plain = api_client.get(LIST_URL).json()["results"][0]
    secure = api_client.get(LIST_URL, secure=True).json()["results"][0]

    assert plain["url"] == "http://testserver/courses/salsa/"
    assert secure["url"] == "https://testserver/courses/salsa/"
    assert plain["thumbnail_url"].startswith("http://testserver/")
    assert plain["thumbnail_url"].endswith(".png")
    assert secure["thumbnail_url"] == plain["thumbnail_url"].replace("http:", "https:", 1)


def test_cached_pages_are_paged_and_refused_as_the_live_list(api_client):
    for index in range(5):
        course_with_lessons(1, slug=f"course-{index}", title=f"Course {index}")

    first = api_client.get(LIST_URL, {"page_size": 2}).json()
    again = api_client.get(LIST_URL, {"page_size": 2}).json()
    last = api_client.get(LIST_URL, {"page_size": 2, "page": 3}).json()

    assert again == first
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["next"] == "http://testserver/api/v1/courses/?page=2&page_size=2"
    assert len(last["results"]) == 1 and last["next"] is None
    assert api_client.get(LIST_URL, {"page_size": 2, "page": 4}).status_code == 404
    assert api_client.get(LIST_URL, {"page": "two"}).status_code == 400
    # A search is answered live, with its hits.
    found = api_client.get(LIST_URL, {"q": "Course 3"}).json()
    assert "course-3" in [row["slug"] for row in found["results"]]


@pytest.mark.parametrize("courses", [5, 40])
def test_the_course_list_costs_two_queries_cold_and_none_warm_whatever_its_length(
    client, django_assert_num_queries, courses
):
    for _ in range(courses):
        course_with_lessons(2)
    with django_assert_num_queries(2):  # count + page
        assert client.get(LIST_URL).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(LIST_URL).status_code == 200
