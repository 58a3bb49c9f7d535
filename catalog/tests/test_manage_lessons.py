"""The authoring API's sections and lessons: create (every kind, retried by client id), read,
edit, move, link videos and files, put in order, delete; with their audit rows."""

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from catalog.models import Lesson, Section
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.manage_support import (
    BASE,
    audit_row,
    audit_rows,
    client_for,
    error,
    instructor_make,
    staff_make,
)
from media.models import StoredFile, Video
from progress.models import LessonProgress

pytestmark = pytest.mark.django_db
A = AuditLog.Action


@pytest.fixture
def ana():
    return instructor_make()


@pytest.fixture
def course(ana):
    return CourseFactory(title="Salsa", slug="salsa", instructors=[ana])


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _file(title: str, **kwargs) -> StoredFile:
    values = {
        "purpose": StoredFile.Purpose.ATTACHMENT,
        "status": StoredFile.Status.CONFIRMED,
        "confirmed_at": timezone.now(),
        **kwargs,
    }
    return StoredFile.objects.create(
        key=f"attachments/{title}", title=title, content_type="application/pdf", size=1234, **values
    )


# A section's structure rules when it has none.
NO_RULES = {
    "is_hidden": False,
    "prerequisites": [],
    "release_at": None,
    "release_after_days": None,
    "release_from": "enrollment",
}


def lesson_body(lesson: Lesson) -> dict:
    lesson.refresh_from_db()
    video = lesson.video
    return {
        "id": str(lesson.pk),
        "client_id": lesson.client_id,
        "slug": lesson.slug,
        "title": lesson.title,
        "kind": lesson.kind,
        "order": lesson.order,
        "duration_seconds": lesson.duration_seconds,
        "is_free_preview": lesson.is_free_preview,
        "is_published": lesson.is_published,
        "is_hidden": lesson.is_hidden,
        "xp_value": lesson.xp_value,
        "is_boss": lesson.is_boss,
        "is_required": lesson.is_required,
        "course": str(lesson.course_id),
        "section": str(lesson.section_id),
        "body": lesson.body,
        "video": None
        if video is None
        else {
            "id": str(video.pk),
            "title": video.title,
            "source": video.source,
            "status": video.status,
            "duration_seconds": video.duration_seconds,
        },
        "attachments": [
            {"id": str(f.pk), "title": f.title, "content_type": f.content_type, "size": f.size}
            for f in lesson.attachments.order_by("title")
        ],
        "has_quiz": False,
        "url": f"http://testserver/courses/{lesson.course.slug}/{lesson.slug}/",
        "created_at": _iso(lesson.created_at),
        "updated_at": _iso(lesson.updated_at),
    }


# --- Sections ---------------------------------------------------------------------------------


def test_sections_are_added_at_the_end_retried_by_client_id_and_audited(ana, course):
    SectionFactory(course=course, order=0, title="Basics")
    client = client_for(ana)

    first = client.post(
        f"{BASE}/courses/{course.pk}/sections/",
        {"client_id": "s2", "title": "Turns"},
        format="json",
    )
    again = client.post(
        f"{BASE}/courses/{course.pk}/sections/",
        {"client_id": "s2", "title": "Turns"},
        format="json",
    )

    section = Section.objects.get(client_id="s2")
    expected = {
        "id": str(section.pk),
        "client_id": "s2",
        "course": str(course.pk),
        "title": "Turns",
        "order": 1,
        **NO_RULES,
        "lessons": [],
    }
    assert (first.status_code, first.json()) == (201, expected)
    assert (again.status_code, again.json()) == (200, expected)
    assert audit_rows() == [audit_row(A.CONTENT_CREATED, ana, section, course=str(course.pk))]


def test_sections_list_in_order_with_their_lessons(ana, course):
    later = SectionFactory(course=course, order=1, title="Later")
    first = SectionFactory(course=course, order=0, title="First")
    lesson = LessonFactory(section=first, order=0)

    response = client_for(ana).get(f"{BASE}/courses/{course.pk}/sections/")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], [s["title"] for s in body["results"]]) == (2, ["First", "Later"])
    assert body["results"][0]["lessons"][0]["id"] == str(lesson.pk)
    assert body["results"][1] == {
        "id": str(later.pk),
        "client_id": "",
        "course": str(course.pk),
        "title": "Later",
        "order": 1,
        **NO_RULES,
        "lessons": [],
    }


def test_reordering_sections_needs_every_section_once_and_is_audited(ana, course):
    a, b, c = (SectionFactory(course=course, order=n, title=t) for n, t in enumerate("ABC"))
    client = client_for(ana)
    url = f"{BASE}/courses/{course.pk}/sections/order/"

    partial = client.post(url, {"sections": [str(a.pk), str(b.pk)]}, format="json")
    done = client.post(url, {"sections": [str(c.pk), str(a.pk), str(b.pk)]}, format="json")

    assert partial.status_code == 400
    assert partial.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"sections": ["List every section of the course exactly once."]},
    )
    assert done.status_code == 200
    assert [s["title"] for s in done.json()["sections"]] == ["C", "A", "B"]
    assert list(course.sections.order_by("order").values_list("title", flat=True)) == [
        "C",
        "A",
        "B",
    ]
    assert audit_rows() == [
        audit_row(
            A.CONTENT_REORDERED,
            ana,
            course,
            course=str(course.pk),
            sections=[str(c.pk), str(a.pk), str(b.pk)],
        )
    ]


def test_renaming_a_section_is_audited_and_an_instructor_cannot_delete_it(ana, course):
    section = SectionFactory(course=course, title="Old")
    client = client_for(ana)

    renamed = client.patch(f"{BASE}/sections/{section.pk}/", {"title": "New"}, format="json")
    refused = client.delete(f"{BASE}/sections/{section.pk}/")

    assert renamed.status_code == 200
    assert renamed.json()["title"] == "New"
    assert refused.status_code == 403
    assert refused.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
    section.refresh_from_db()
    assert section.title == "New"
    assert audit_rows() == [
        audit_row(A.CONTENT_CHANGED, ana, section, course=str(course.pk), fields=["title"])
    ]


def test_staff_delete_a_section_unless_learners_have_progress_in_it(course):
    staff = staff_make()
    empty = SectionFactory(course=course, title="Empty")
    used = SectionFactory(course=course, title="Used")
    lesson = LessonFactory(section=used)
    LessonProgress.objects.create(
        user=staff_make("learner@example.com"), lesson=lesson, course=course
    )
    expected = audit_row(A.CONTENT_DELETED, staff, empty, course=str(course.pk))
    client = client_for(staff)

    deleted = client.delete(f"{BASE}/sections/{empty.pk}/")
    refused = client.delete(f"{BASE}/sections/{used.pk}/")

    assert deleted.status_code == 204
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CONTENT_IN_USE"
    assert refused.json()["error"]["fields"] == {"records": ["lesson progress"]}
    assert list(Section.objects.values_list("title", flat=True)) == ["Used"]
    assert audit_rows() == [expected]


# --- Lessons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["video", "text", "quiz", "lab"])
def test_every_kind_of_lesson_is_created_at_the_end_of_its_section(ana, course, kind):
    section = SectionFactory(course=course)
    LessonFactory(section=section, order=4)

    response = client_for(ana).post(
        f"{BASE}/sections/{section.pk}/lessons/",
        {
            "client_id": f"{kind}-1",
            "title": f"A {kind} lesson",
            "kind": kind,
            "body": "Notes **here**.",
            "duration_seconds": 90,
            "is_published": False,
            "xp_value": 25,
            "is_boss": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    lesson = Lesson.objects.get(client_id=f"{kind}-1")
    assert response.json() == lesson_body(lesson)
    assert (lesson.kind, lesson.order, lesson.slug, lesson.is_published) == (
        kind,
        5,
        f"a-{kind}-lesson",
        False,
    )
    assert audit_rows() == [audit_row(A.CONTENT_CREATED, ana, lesson, course=str(course.pk))]


def test_a_lesson_links_a_video_and_confirmed_attachments_only(ana, course):
    section = SectionFactory(course=course)
    video = Video.objects.create(title="Basic step")
    handout, sheet = _file("handout.pdf"), _file("sheet.pdf")
    pending = _file("pending.pdf", status=StoredFile.Status.PENDING)
    gone = Video.objects.create(title="Gone", deleted_at=timezone.now())
    client = client_for(ana)
    url = f"{BASE}/sections/{section.pk}/lessons/"

    created = client.post(
        url,
        {
            "title": "Steps",
            "kind": "video",
            "video": str(video.pk),
            "attachments": [str(sheet.pk), str(handout.pk)],
        },
        format="json",
    )
    refused = client.post(
        url,
        {"title": "Other", "video": str(gone.pk), "attachments": [str(pending.pk)]},
        format="json",
    )

    assert created.status_code == 201, created.json()
    lesson = Lesson.objects.get()
    assert created.json() == lesson_body(lesson)
    assert [a["title"] for a in created.json()["attachments"]] == ["handout.pdf", "sheet.pdf"]
    assert refused.status_code == 400
    assert refused.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"video": [f"There is no video with id {gone.pk}."]},
    )
    assert Lesson.objects.count() == 1


def test_editing_a_lesson_replaces_its_attachments_unlinks_the_video_and_audits(ana, course):
    video = Video.objects.create(title="Basic step")
    lesson = LessonFactory(section=SectionFactory(course=course), video=video, title="Old")
    lesson.attachments.set([_file("old.pdf")])
    new = _file("new.pdf")

    response = client_for(ana).patch(
        f"{BASE}/lessons/{lesson.pk}/",
        {"title": "New", "video": None, "attachments": [str(new.pk)], "slug": lesson.slug},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == lesson_body(lesson)
    assert (lesson.title, lesson.video, list(lesson.attachments.all())) == ("New", None, [new])
    assert audit_rows() == [
        audit_row(
            A.CONTENT_CHANGED,
            ana,
            lesson,
            course=str(course.pk),
            fields=["attachments", "title", "video"],
        )
    ]


def test_a_lesson_moves_to_the_end_of_another_section_of_its_course_only(ana, course):
    first, second = SectionFactory(course=course, order=0), SectionFactory(course=course, order=1)
    lesson = LessonFactory(section=first, order=0)
    LessonFactory(section=second, order=3)
    elsewhere = SectionFactory(course=CourseFactory(instructors=[ana]))
    client = client_for(ana)
    url = f"{BASE}/lessons/{lesson.pk}/"

    refused = client.patch(url, {"section": str(elsewhere.pk)}, format="json")
    moved = client.patch(url, {"section": str(second.pk)}, format="json")

    assert refused.status_code == 400
    assert refused.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"section": ["Move a lesson to a section of its own course."]},
    )
    assert moved.status_code == 200
    lesson.refresh_from_db()
    assert (lesson.section, lesson.order) == (second, 4)
    assert moved.json()["section"] == str(second.pk)
    assert audit_rows()[0]["details"] == {"course": str(course.pk), "fields": ["order", "section"]}


def test_a_slug_taken_in_the_course_is_refused_and_names_the_field(ana, course):
    section = SectionFactory(course=course)
    LessonFactory(section=SectionFactory(course=course), slug="basic-step")

    response = client_for(ana).post(
        f"{BASE}/sections/{section.pk}/lessons/", {"title": "Basic step"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"__all__": ["Another lesson of this course has this slug."]},
    )


def test_a_lesson_client_id_used_in_another_section_is_a_conflict(ana, course):
    LessonFactory(section=SectionFactory(course=course), client_id="l1")
    section = SectionFactory(course=course)

    response = client_for(ana).post(
        f"{BASE}/sections/{section.pk}/lessons/", {"client_id": "l1", "title": "X"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CLIENT_ID_CONFLICT"
    assert Lesson.objects.count() == 1


def test_reordering_lessons_puts_them_in_the_given_order(ana, course):
    section = SectionFactory(course=course)
    one, two, three = (LessonFactory(section=section, order=n) for n in range(3))

    response = client_for(ana).post(
        f"{BASE}/sections/{section.pk}/lessons/order/",
        {"lessons": [str(three.pk), str(one.pk), str(two.pk)]},
        format="json",
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["lessons"]] == [
        str(three.pk),
        str(one.pk),
        str(two.pk),
    ]
    assert list(section.lessons.order_by("order")) == [three, one, two]
    assert audit_rows()[0]["details"] == {
        "course": str(course.pk),
        "lessons": [str(three.pk), str(one.pk), str(two.pk)],
    }


def test_the_lessons_of_a_section_list_unpublished_ones_too(ana, course):
    section = SectionFactory(course=course)
    hidden = LessonFactory(section=section, order=1, is_published=False)
    shown = LessonFactory(section=section, order=0)

    response = client_for(ana).get(f"{BASE}/sections/{section.pk}/lessons/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(shown.pk), str(hidden.pk)]


def test_staff_delete_a_lesson_unless_learners_have_progress_on_it(course):
    staff = staff_make()
    section = SectionFactory(course=course)
    unused, used = LessonFactory(section=section), LessonFactory(section=section)
    LessonProgress.objects.create(user=staff_make("l@example.com"), lesson=used, course=course)
    expected = audit_row(A.CONTENT_DELETED, staff, unused, course=str(course.pk))
    client = client_for(staff)

    deleted = client.delete(f"{BASE}/lessons/{unused.pk}/")
    refused = client.delete(f"{BASE}/lessons/{used.pk}/")

    assert (deleted.status_code, refused.status_code) == (204, 409)
    assert refused.json()["error"]["fields"] == {"records": ["lesson progress"]}
    assert list(Lesson.objects.all()) == [used]
    assert audit_rows() == [expected]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"title": None},
        {"title": 7, "kind": "dance"},
        {"duration_seconds": 2**40, "xp_value": -1},
        {"video": "not-a-uuid", "attachments": "x"},
        {"attachments": ["0c9f6b1e-5a3d-4f8e-9b2a-7d6c5e4f3a2b"]},
        {"section": 12, "slug": "x" * 81},
        {"slug": "enroll"},
        {"body": "\x00"},
    ],
)
def test_wrong_input_to_a_real_lesson_is_a_400_naming_fields_and_changes_nothing(ana, course, body):
    lesson = LessonFactory(section=SectionFactory(course=course))
    before = lesson_body(lesson)

    response = client_for(ana).patch(f"{BASE}/lessons/{lesson.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["fields"]
    assert lesson_body(lesson) == before
    assert audit_rows() == []
