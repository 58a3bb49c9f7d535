"""Join codes: rotating and turning them off, through the services and the course admin."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.services import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    course_join_code_clear,
    course_join_code_rotate,
)
from catalog.tests.factories import CourseFactory
from lms.errors import ApplicationError, ErrorCode
from progress.models import Enrollment
from progress.services import course_join

pytestmark = pytest.mark.django_db

COURSES_URL = reverse("admin:catalog_course_changelist")


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    # MFA for the admin is tested with the accounts; here it would only add a setup step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


def course_url(course: Course) -> str:
    return reverse("admin:catalog_course_change", args=[course.pk])


def join_code_url(course: Course, operation: str) -> str:
    return reverse("admin:catalog_course_join_code", args=[course.pk, operation])


def _join_fails(code: str) -> ErrorCode:
    with pytest.raises(ApplicationError) as raised:
        course_join(user=UserFactory(), code=code)
    return raised.value.code


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Services ----------------------------------------------------------------------------------


def test_a_new_code_is_readable_and_unique():
    first = course_join_code_rotate(course=CourseFactory())
    second = course_join_code_rotate(course=CourseFactory())

    for course in (first, second):
        assert len(course.join_code) == JOIN_CODE_LENGTH
        assert set(course.join_code) <= set(JOIN_CODE_ALPHABET)
    assert first.join_code != second.join_code


def test_rotating_changes_the_code_and_the_old_one_stops_working(user):
    course = course_join_code_rotate(course=CourseFactory(visibility="members"))
    old = course.join_code
    joined = course_join(user=user, code=old)

    course_join_code_rotate(course=course)

    course.refresh_from_db()
    assert course.join_code != old
    assert _join_fails(old) == ErrorCode.JOIN_CODE_NOT_FOUND
    newcomer = UserFactory()
    assert course_join(user=newcomer, code=course.join_code).course == course
    # Whoever joined with the old code stays enrolled.
    joined.refresh_from_db()
    assert joined.is_active
    assert set(Enrollment.objects.values_list("user", "source")) == {
        (user.pk, "join_code"),
        (newcomer.pk, "join_code"),
    }


def test_turning_joining_off_clears_the_code_and_keeps_enrollments(user):
    course = course_join_code_rotate(course=CourseFactory())
    code = course.join_code
    course_join(user=user, code=code)

    course_join_code_clear(course=course)

    course.refresh_from_db()
    assert course.join_code is None
    assert _join_fails(code) == ErrorCode.JOIN_CODE_NOT_FOUND
    assert Enrollment.objects.get(user=user).is_active


# --- The course page ---------------------------------------------------------------------------


def test_the_course_page_shows_the_code_its_link_and_the_buttons(staff_client):
    course = course_join_code_rotate(course=CourseFactory())

    html = staff_client.get(course_url(course)).content.decode()

    link = f"/courses/join/?code={course.join_code}"
    assert f"<code>{course.join_code}</code>" in html
    assert f'<a href="{link}" target="_blank" rel="noopener">{link}</a>' in html
    assert f'formaction="{join_code_url(course, "rotate")}"' in html
    assert f'formaction="{join_code_url(course, "clear")}"' in html
    assert "Rotate join code" in html and "Turn joining off" in html


def test_a_course_without_a_code_says_joining_is_off_and_offers_to_turn_it_on(staff_client):
    course = CourseFactory()

    html = staff_client.get(course_url(course)).content.decode()

    assert "Off: nobody can join by code." in html
    assert "Turn joining on (new code)" in html
    assert join_code_url(course, "clear") not in html
    assert "/courses/join/?code=" not in html


def test_the_add_page_has_no_join_code_controls(staff_client):
    html = staff_client.get(reverse("admin:catalog_course_add")).content.decode()

    assert "Join by code" not in html


def test_the_rotate_button_gives_a_new_code_and_says_so(staff_client):
    course = course_join_code_rotate(course=CourseFactory(title="Salsa"))
    old = course.join_code

    response = staff_client.post(join_code_url(course, "rotate"))

    course.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == course_url(course)
    assert course.join_code not in (None, old)
    assert _messages(response) == [
        f"“Salsa” has a new join code: {course.join_code}. The previous code no longer works."
    ]
    assert _join_fails(old) == ErrorCode.JOIN_CODE_NOT_FOUND


def test_the_turn_off_button_clears_the_code(staff_client):
    course = course_join_code_rotate(course=CourseFactory(title="Salsa"))

    response = staff_client.post(join_code_url(course, "clear"))

    course.refresh_from_db()
    assert response.status_code == 302
    assert course.join_code is None
    assert _messages(response) == ["Joining “Salsa” by code is off."]


def test_the_join_code_view_needs_post_and_a_known_operation(staff_client):
    course = course_join_code_rotate(course=CourseFactory())
    code = course.join_code

    get = staff_client.get(join_code_url(course, "rotate"))
    unknown = staff_client.post(join_code_url(course, "shuffle"))

    course.refresh_from_db()
    assert (get.status_code, unknown.status_code) == (405, 404)
    assert course.join_code == code


def test_the_join_code_view_checks_the_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    course = CourseFactory()

    response = client.post(join_code_url(course, "rotate"))

    course.refresh_from_db()
    assert response.status_code == 403
    assert course.join_code is None


def test_viewers_without_the_change_permission_cannot_rotate(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_course"))
    client.force_login(viewer)
    course = CourseFactory()

    response = client.post(join_code_url(course, "rotate"))

    course.refresh_from_db()
    assert response.status_code == 403
    assert course.join_code is None


# --- List actions ------------------------------------------------------------------------------


def _action(client, action: str, courses: list[Course], **extra):
    return client.post(
        COURSES_URL,
        {
            "action": action,
            "_selected_action": [str(course.pk) for course in courses],
            "index": "0",
            **extra,
        },
    )


def test_the_rotate_action_gives_each_selected_course_a_new_code(staff_client):
    salsa = course_join_code_rotate(course=CourseFactory(title="Salsa"))
    old = salsa.join_code
    tango = CourseFactory(title="Tango")
    untouched = CourseFactory(title="Waltz")

    response = _action(staff_client, "rotate_join_codes", [salsa, tango])

    salsa.refresh_from_db()
    tango.refresh_from_db()
    untouched.refresh_from_db()
    assert salsa.join_code not in (None, old)
    assert tango.join_code is not None
    assert untouched.join_code is None
    [message] = _messages(response)
    assert message.startswith("2 courses have new join codes: ")
    assert f"Salsa {salsa.join_code}" in message and f"Tango {tango.join_code}" in message


def test_the_turn_off_action_clears_the_codes_of_selected_courses(staff_client):
    salsa = course_join_code_rotate(course=CourseFactory())
    tango = course_join_code_rotate(course=CourseFactory())
    kept = course_join_code_rotate(course=CourseFactory())
    without = CourseFactory()

    response = _action(staff_client, "clear_join_codes", [salsa, tango, without])

    assert dict(Course.objects.values_list("pk", "join_code")) == {
        salsa.pk: None,
        tango.pk: None,
        kept.pk: kept.join_code,
        without.pk: None,
    }
    assert _messages(response) == ["Joining by code is off for 2 courses."]


# --- Instructors -------------------------------------------------------------------------------


@pytest.fixture
def ana_client(client):
    ana = user_role_set(user=UserFactory(email="ana@example.com"), role=Role.INSTRUCTOR, actor=None)
    client.force_login(ana)
    client.ana = ana
    return client


def test_instructors_rotate_the_codes_of_their_own_courses(ana_client):
    mine = CourseFactory(instructors=[ana_client.ana])

    response = ana_client.post(join_code_url(mine, "rotate"))

    mine.refresh_from_db()
    assert response.status_code == 302
    assert mine.join_code is not None


def test_instructors_cannot_touch_another_instructors_code(ana_client):
    theirs = course_join_code_rotate(course=CourseFactory(instructors=[UserFactory()]))
    code = theirs.join_code

    rotate = ana_client.post(join_code_url(theirs, "rotate"))
    clear = ana_client.post(join_code_url(theirs, "clear"))
    every = _action(ana_client, "clear_join_codes", [theirs], select_across="1")

    theirs.refresh_from_db()
    assert (rotate.status_code, clear.status_code) == (404, 404)
    assert every.status_code == 302
    assert theirs.join_code == code


def test_the_learner_progress_link_shows_only_to_those_who_may_view_enrollments(client):
    course = CourseFactory()
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_course"]))
    client.force_login(editor)
    without = client.get(course_url(course)).content.decode()
    editor.user_permissions.add(Permission.objects.get(codename="view_enrollment"))
    editor = type(editor).objects.get(pk=editor.pk)  # forget the cached permissions
    client.force_login(editor)

    with_access = client.get(course_url(course)).content.decode()

    assert "Learner progress" not in without
    assert "Learner progress" in with_access
