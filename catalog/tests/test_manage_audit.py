"""The admin and the authoring API write through the same services: the admin's saves,
inline rows, actions, moves and deletes are audited with the editor as the actor, and every
write path, whoever makes it, rebuilds the offline bundle of the section it changed."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from catalog.bundles.models import SectionBundle
from catalog.bundles.services import course_bundles_build
from catalog.models import Course, Lesson
from catalog.quizzes import QuestionSpec, quiz_questions_add
from catalog.services import lessons_reorder
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from catalog.tests.manage_support import BASE, audit_row, audit_rows, client_for, staff_make
from catalog.tests.test_admin import course_url, error_text, page_form_data, row_prefixes
from catalog.tests.test_admin import section_url as admin_section_url

pytestmark = pytest.mark.django_db
A = AuditLog.Action


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


@pytest.fixture
def sam(client):
    sam = staff_make()
    client.force_login(sam)
    return sam


def test_saving_a_course_in_the_admin_audits_the_changed_fields(client, sam):
    course = CourseFactory(title="Old")
    data = page_form_data(client.get(course_url(course)))

    response = client.post(course_url(course), {**data, "title": "New", "difficulty": "advanced"})

    assert response.status_code == 302, error_text(response)
    course.refresh_from_db()
    assert audit_rows() == [
        audit_row(
            A.CONTENT_CHANGED, sam, course, course=str(course.pk), fields=["difficulty", "title"]
        )
    ]


def test_the_admins_publish_action_audits_each_course_it_changed(client, sam):
    draft, published = CourseFactory(draft=True), CourseFactory()

    client.post(
        reverse("admin:catalog_course_changelist"),
        {"action": "publish_courses", "_selected_action": [str(draft.pk), str(published.pk)]},
    )

    assert audit_rows() == [
        audit_row(
            A.COURSE_STATUS_CHANGED,
            sam,
            draft,
            course=str(draft.pk),
            **{"from": "draft", "to": "published"},
        )
    ]


def test_inline_rows_saved_and_deleted_on_a_section_page_are_audited(client, sam):
    section = SectionFactory(title="Basics")
    keep = LessonFactory(section=section, order=0, title="Keep")
    drop = LessonFactory(section=section, order=1, title="Drop")
    page = client.get(admin_section_url(section))
    data, rows = page_form_data(page), row_prefixes(page)
    data[f"{rows[str(keep.pk)]}-title"] = "Kept"
    data[f"{rows[str(drop.pk)]}-DELETE"] = "on"
    deleted = audit_row(A.CONTENT_DELETED, sam, drop, course=str(section.course_id))

    response = client.post(admin_section_url(section), data)

    assert response.status_code == 302, error_text(response)
    assert list(section.lessons.values_list("title", flat=True)) == ["Kept"]
    keep.refresh_from_db()
    assert audit_rows() == [
        deleted,
        audit_row(A.CONTENT_CHANGED, sam, keep, course=str(section.course_id), fields=["title"]),
    ]


def test_moving_a_lesson_in_the_admin_audits_its_new_place(client, sam):
    section = SectionFactory()
    first, second = LessonFactory(section=section, order=0), LessonFactory(section=section, order=1)

    client.post(reverse("admin:catalog_lesson_move", args=[first.pk, "down"]))

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.order, second.order) == (1, 0)
    assert audit_rows() == [
        audit_row(
            A.CONTENT_REORDERED,
            sam,
            first,
            course=str(section.course_id),
            direction="down",
            order=1,
        )
    ]


def test_choices_saved_on_a_question_page_go_through_the_quiz_service(client, sam):
    quiz = quiz_with_questions()
    single = quiz.questions.get(kind="single")
    url = reverse("admin:catalog_question_change", args=[single.pk])
    page = client.get(url)
    data, rows = page_form_data(page), row_prefixes(page)
    three = single.choices.get(text="Three")
    data[f"{rows[str(three.pk)]}-text"] = "Three (waltz)"

    response = client.post(url, data)

    assert response.status_code == 302, error_text(response)
    assert list(single.choices.order_by("order").values_list("text", flat=True)) == [
        "Three (waltz)",
        "Four",
        "Five",
    ]
    assert audit_rows() == [
        audit_row(
            A.CONTENT_CHANGED,
            sam,
            single,
            course=str(quiz.lesson.course_id),
            fields=["choices"],
        )
    ]


def test_rotating_a_join_code_in_the_admin_is_audited_without_the_code(client, sam):
    course = CourseFactory()

    client.post(reverse("admin:catalog_course_join_code", args=[course.pk, "rotate"]))

    course.refresh_from_db()
    assert course.join_code
    assert audit_rows() == [
        audit_row(A.CONTENT_CHANGED, sam, course, course=str(course.pk), fields=["join_code"])
    ]


def test_deleting_a_course_in_the_admin_goes_through_the_service(client, sam):
    course = CourseFactory(title="Gone")
    expected = audit_row(A.CONTENT_DELETED, sam, course, course=str(course.pk))

    response = client.post(
        reverse("admin:catalog_course_delete", args=[course.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Course.objects.exists()
    assert audit_rows() == [expected]


# --- The content-change hook: every write path rebuilds the bundle it changed -----------------


def _current_version(section) -> str | None:
    bundle = SectionBundle.objects.filter(section=section, superseded_at__isnull=True).first()
    return bundle.version if bundle else None


def _api_lesson_edit(lesson: Lesson, staff) -> None:
    response = client_for(staff).patch(
        f"{BASE}/lessons/{lesson.pk}/", {"title": "Renamed"}, format="json"
    )
    assert response.status_code == 200


def _api_new_lesson(lesson: Lesson, staff) -> None:
    response = client_for(staff).post(
        f"{BASE}/sections/{lesson.section_id}/lessons/", {"title": "Another"}, format="json"
    )
    assert response.status_code == 201


def _reorder(lesson: Lesson, staff) -> None:
    other = LessonFactory(section=lesson.section, order=9, title="Other")
    lessons_reorder(section=lesson.section, lesson_ids=[other.pk, lesson.pk], actor=staff)


def _quiz_question(lesson: Lesson, staff) -> None:
    Lesson.objects.filter(pk=lesson.pk).update(kind=Lesson.Kind.QUIZ)
    lesson.refresh_from_db()
    quiz = quiz_with_questions(lesson=lesson)
    quiz_questions_add(
        quiz=quiz,
        questions=[QuestionSpec(kind="short", prompt="Name it", accepted_answers="salsa")],
        actor=staff,
    )


def _api_course_edit(lesson: Lesson, staff) -> None:
    response = client_for(staff).patch(
        f"{BASE}/courses/{lesson.course_id}/", {"title": "A new title"}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "write", [_api_lesson_edit, _api_new_lesson, _reorder, _quiz_question, _api_course_edit]
)
def test_every_write_path_rebuilds_the_sections_bundle(django_capture_on_commit_callbacks, write):
    staff = staff_make()
    lesson = LessonFactory(section=SectionFactory(course=CourseFactory()), title="Basic step")
    course_bundles_build(course_id=lesson.course_id)  # the bundle as an app holds it
    before = _current_version(lesson.section)

    with django_capture_on_commit_callbacks(execute=True):
        write(lesson, staff)

    after = _current_version(lesson.section)
    assert before is not None
    assert after not in (None, before)
