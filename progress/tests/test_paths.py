"""Learning paths: the list and a path's page, the API, progress across the path's courses
(hidden lessons never count), drafts, the admin, and query counts that do not grow with the
number of courses."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role, role_groups_sync
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.paths.models import LearningPath
from progress.paths.services import path_create
from progress.services import lesson_complete

pytestmark = pytest.mark.django_db


def _course(title: str, lessons: int = 2, **kwargs) -> Course:
    course = CourseFactory(title=title, subtitle="", **kwargs)
    section = SectionFactory(course=course, order=0)
    for index in range(lessons):
        LessonFactory(section=section, order=index, title=f"{title} lesson {index + 1}")
    return course


def _path(*courses: Course, slug: str = "dance-path", **kwargs) -> LearningPath:
    return path_create(
        slug=slug,
        title=kwargs.pop("title", "Dance path"),
        summary=kwargs.pop("summary", "From first steps to a routine"),
        status=kwargs.pop("status", LearningPath.Status.PUBLISHED),
        courses=list(courses),
        **kwargs,
    )


def _complete(user, course: Course, count: int | None = None) -> None:
    lessons = list(course.lessons.order_by("order"))
    for lesson in lessons[:count]:
        lesson_complete(user=user, lesson=lesson)


def _text(response) -> str:
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


# --- Pages ---------------------------------------------------------------------------------


def test_the_list_shows_published_paths_with_their_courses_and_not_drafts(client):
    first, second = _course("Salsa basics"), _course("Salsa turns")
    _path(first, second, title="Salsa from zero")
    _path(first, slug="secret", title="Secret path", status=LearningPath.Status.DRAFT)

    response = client.get("/paths/")

    assert response.status_code == 200
    text = _text(response)
    assert "Salsa from zero" in text
    assert "Salsa basics Salsa turns" in text  # in path order
    assert "2 courses" in text
    assert "Secret path" not in text


def test_the_nav_links_to_the_paths(client):
    response = client.get("/courses/")

    assert '<a class="site-nav__link" href="/paths/"' in response.content.decode()


def test_a_visitor_sees_the_courses_in_order_and_is_asked_to_sign_in(client):
    first, second, third = _course("One", 1), _course("Two", 3), _course("Three", 2)
    path = _path(first, second, third)

    response = client.get(path.get_absolute_url())

    assert response.status_code == 200
    text = _text(response)
    assert "Sign in to follow your progress through this path" in text
    assert re.search(r"1 One .*1 lesson.* 2 Two .*3 lessons.* 3 Three .*2 lessons", text)
    assert f'href="{first.get_absolute_url()}"' in response.content.decode()
    assert "courses completed" not in text


def test_a_learner_sees_their_progress_in_each_course_and_the_next_one(client):
    first, second, third = _course("One", 2), _course("Two", 4), _course("Three", 2)
    path = _path(first, second, third)
    learner = UserFactory()
    _complete(learner, first)
    _complete(learner, second, 1)
    client.force_login(learner)

    text = _text(client.get(path.get_absolute_url()))

    assert "1 of 3 courses completed · 2 started" in text
    assert "Next: Continue Two" in text
    assert "One Completed · 2 of 2 lessons done" in text
    assert "Two In progress · 1 of 4 lessons done" in text
    assert "Three Not started · 0 of 2 lessons done" in text


def test_a_new_learner_is_told_to_start_the_first_course(client):
    path = _path(_course("One"), _course("Two"))
    client.force_login(UserFactory())

    text = _text(client.get(path.get_absolute_url()))

    assert "0 of 2 courses completed · 0 started" in text
    assert "Next: Start One" in text


def test_a_draft_path_is_not_found_except_for_staff(client, staff_user):
    path = _path(_course("One"), status=LearningPath.Status.DRAFT)

    assert client.get(path.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(path.get_absolute_url()).status_code == 404
    assert client.get("/paths/missing/").status_code == 404
    client.force_login(staff_user)
    response = client.get(path.get_absolute_url())
    assert response.status_code == 200
    assert "Draft" in _text(response)


def test_draft_courses_are_left_out_of_a_path(client):
    shown, hidden = _course("Shown"), _course("Not ready", draft=True)
    path = _path(shown, hidden)
    client.force_login(UserFactory())

    text = _text(client.get(path.get_absolute_url()))

    assert "Shown" in text
    assert "Not ready" not in text
    assert "0 of 1 course completed" in text


def test_hidden_lessons_and_lessons_of_hidden_sections_never_count(client):
    course = _course("Counted", 2)
    LessonFactory(section=course.sections.get(), order=5, is_hidden=True)
    hidden_section = SectionFactory(course=course, order=1, is_hidden=True)
    LessonFactory(section=hidden_section, order=0)
    LessonFactory(section=course.sections.get(order=0), order=6, is_required=False)
    path = _path(course)
    learner = UserFactory()
    _complete(learner, course, 1)
    client.force_login(learner)

    data = client.get(f"/api/v1/paths/{path.slug}/").json()

    assert data["courses"][0]["lesson_count"] == 2
    assert data["courses"][0]["completed_lesson_count"] == 1
    assert data["courses"][0]["percent"] == 50
    assert data["percent"] == 50


# --- API -----------------------------------------------------------------------------------


def test_the_api_lists_published_paths_with_the_learners_counts(api_client):
    first, second = _course("One", 1), _course("Two", 1)
    _path(first, second, title="Both")
    _path(first, slug="draft", status=LearningPath.Status.DRAFT)
    learner = UserFactory()
    _complete(learner, first)
    api_client.force_authenticate(learner)

    response = api_client.get("/api/v1/paths/")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "slug": "dance-path",
            "title": "Both",
            "summary": "From first steps to a routine",
            "url": "http://testserver/paths/dance-path/",
            "course_count": 2,
            "completed_course_count": 1,
            "certificate": None,
        }
    ]


def test_the_api_gives_a_path_with_progress_in_order_and_the_next_course(api_client):
    first, second = _course("One", 2), _course("Two", 2)
    path = _path(first, second, description="Take them **in order**.")
    learner = UserFactory()
    _complete(learner, first)
    _complete(learner, second, 1)
    api_client.force_authenticate(learner)

    data = api_client.get(f"/api/v1/paths/{path.slug}/").json()

    assert {key: data[key] for key in data if key not in {"courses", "next_course"}} == {
        "slug": "dance-path",
        "title": "Dance path",
        "summary": "From first steps to a routine",
        "status": "published",
        "url": "http://testserver/paths/dance-path/",
        "description_html": "<p>Take them <strong>in order</strong>.</p>",
        "course_count": 2,
        "completed_course_count": 1,
        "started_course_count": 2,
        "percent": 75,
        "certificate": None,
    }
    assert [
        (item["position"], item["course"]["slug"], item["completed"], item["percent"])
        for item in data["courses"]
    ] == [(1, first.slug, True, 100), (2, second.slug, False, 50)]
    assert data["next_course"]["course"]["title"] == "Two"
    assert data["courses"][0]["course"]["url"] == f"http://testserver/courses/{first.slug}/"


def test_a_visitor_gets_the_path_without_progress(api_client):
    path = _path(_course("One", 3))

    data = api_client.get(f"/api/v1/paths/{path.slug}/").json()

    assert data["courses"][0] | {"course": None} == {
        "position": 1,
        "course": None,
        "lesson_count": 3,
        "completed_lesson_count": 0,
        "percent": 0,
        "started": False,
        "completed": False,
    }
    assert data["certificate"] is None


def test_an_unknown_or_draft_path_is_path_not_found_in_the_api(api_client):
    draft = _path(_course("One"), status=LearningPath.Status.DRAFT)

    for slug in ("missing", draft.slug):
        response = api_client.get(f"/api/v1/paths/{slug}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PATH_NOT_FOUND"
    api_client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    assert api_client.get(f"/api/v1/paths/{draft.slug}/").status_code == 200


def test_the_schema_documents_the_path_operations(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    detail = schema["paths"]["/api/v1/paths/{slug}/"]["get"]
    assert detail["operationId"] == "paths_retrieve"
    assert "404" in detail["responses"]
    assert "/api/v1/paths/" in schema["paths"]
    assert "PathCertificate" in schema["components"]["schemas"]


# --- Query counts ----------------------------------------------------------------------------


def _learner_with_path(course_count: int):
    courses = [_course(f"Course {index}", 3) for index in range(course_count)]
    path = _path(*courses, slug=f"path-{course_count}")
    learner = UserFactory()
    _complete(learner, courses[0])
    _complete(learner, courses[-1], 1)
    return learner, path


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("surface", ["page", "api"])
def test_a_paths_page_costs_the_same_queries_for_any_number_of_courses(
    client, surface, django_assert_max_num_queries
):
    small_learner, small = _learner_with_path(2)
    large_learner, large = _learner_with_path(8)

    def url(path):
        return path.get_absolute_url() if surface == "page" else f"/api/v1/paths/{path.slug}/"

    client.force_login(small_learner)
    client.get(url(small))  # warm the session and caches
    small_count = _queries(client, url(small))
    client.force_login(large_learner)
    client.get(url(large))
    with django_assert_max_num_queries(small_count):
        client.get(url(large))
    assert _queries(client, url(large)) == small_count


def test_the_list_costs_the_same_queries_for_any_number_of_paths(client):
    learner = UserFactory()
    client.force_login(learner)
    _path(_course("A"), _course("B"), slug="first")
    client.get("/paths/")
    few = _queries(client, "/paths/")
    for index in range(5):
        _path(_course(f"C{index}"), _course(f"D{index}"), slug=f"more-{index}")

    assert _queries(client, "/paths/") == few
    assert _queries(client, "/api/v1/paths/") <= few + 1  # the page count


# --- Admin ------------------------------------------------------------------------------------


def test_staff_create_a_path_with_its_courses_in_order_in_the_admin(staff_client):
    first, second = _course("First"), _course("Second")

    response = staff_client.post(
        reverse("admin:progress_learningpath_add"),
        {
            "title": "Admin path",
            "slug": "admin-path",
            "summary": "",
            "description": "",
            "status": "published",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-order": "5",
            "steps-0-course": str(second.pk),
            "steps-1-order": "1",
            "steps-1-course": str(first.pk),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    path = LearningPath.objects.get(slug="admin-path")
    assert list(path.steps.values_list("course__title", "order")) == [
        ("First", 0),
        ("Second", 1),
    ]
    changelist = staff_client.get(reverse("admin:progress_learningpath_changelist"))
    assert "Admin path" in _text(changelist)


def test_instructors_cannot_open_the_paths_admin(client):
    role_groups_sync()
    instructor = UserFactory()
    user_role_set(user=instructor, role=Role.INSTRUCTOR, actor=None)
    client.force_login(instructor)

    assert client.get(reverse("admin:progress_learningpath_changelist")).status_code == 403
