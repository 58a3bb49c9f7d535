"""The structure rules through the authoring API (`/api/v1/manage/`) and course documents:
every rule is read and written there, refusals are VALIDATION_ERROR naming the field (or
the document path), and a document carries the rules from one school to another."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.roles import Role
from catalog.models import Course, Lesson, Section
from catalog.structure import course_rules_get
from catalog.tests.documents import NO_RULES, author, document
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/manage"
IMPORT_URL = reverse("manage-api:course-import")


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(author(Role.STAFF, "sam@example.com"))
    return client


def _fields_error(response) -> dict:
    assert response.status_code == 400, response.json()
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    return body["fields"]


def _export(client: APIClient, course: Course) -> dict:
    response = client.get(reverse("manage-api:course-export", kwargs={"course_id": course.pk}))
    assert response.status_code == 200
    return response.json()


# --- The API ---------------------------------------------------------------------------------


def test_the_outline_shows_every_rule(staff):
    basics = CourseFactory(slug="basics")
    course = CourseFactory(progression=Course.Progression.LESSONS)
    course.prerequisite_courses.set([basics])
    first = SectionFactory(course=course, order=0)
    second = SectionFactory(
        course=course,
        order=1,
        is_hidden=True,
        release_at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
        release_after_days=3,
        release_from=Section.ReleaseFrom.COHORT,
    )
    second.prerequisites.set([first])
    LessonFactory(section=second, order=0, is_hidden=True)

    body = staff.get(f"{BASE}/courses/{course.pk}/").json()

    assert (body["progression"], body["prerequisite_courses"]) == ("lessons", [str(basics.pk)])
    listed = body["sections"][1]
    assert {name: listed[name] for name in NO_RULES} == {
        "is_hidden": True,
        "prerequisites": [str(first.pk)],
        "release_at": "2025-03-03T09:00:00Z",
        "release_after_days": 3,
        "release_from": "cohort",
    }
    assert listed["lessons"][0]["is_hidden"] is True


def test_a_course_becomes_sequential_with_a_prerequisite_course_audited(staff):
    basics = CourseFactory(slug="basics")
    course = CourseFactory()

    response = staff.patch(
        f"{BASE}/courses/{course.pk}/",
        {"progression": "sections", "prerequisite_courses": [str(basics.pk)]},
        format="json",
    )
    again = staff.patch(
        f"{BASE}/courses/{course.pk}/",
        {"prerequisite_courses": [str(basics.pk)]},
        format="json",
    )

    assert response.status_code == again.status_code == 200
    assert response.json()["progression"] == "sections"
    assert response.json()["prerequisite_courses"] == [str(basics.pk)]
    changes = AuditLog.objects.filter(
        action=AuditLog.Action.CONTENT_CHANGED, target_id=str(course.pk)
    )
    assert [row.details["fields"] for row in changes] == [["prerequisite_courses", "progression"]]


def test_prerequisite_courses_refuse_itself_a_circle_and_unknown_ids(staff):
    course = CourseFactory(title="Turns")
    requiring = CourseFactory(title="Styling")
    requiring.prerequisite_courses.set([course])
    draft_elsewhere = CourseFactory(draft=True)
    url = f"{BASE}/courses/{course.pk}/"

    itself = staff.patch(url, {"prerequisite_courses": [str(course.pk)]}, format="json")
    circle = staff.patch(url, {"prerequisite_courses": [str(requiring.pk)]}, format="json")
    unknown = staff.patch(url, {"prerequisite_courses": [str(Section().pk)]}, format="json")
    a_draft = staff.patch(url, {"prerequisite_courses": [str(draft_elsewhere.pk)]}, format="json")

    assert _fields_error(itself) == {"prerequisite_courses": ["A course cannot require itself."]}
    assert _fields_error(circle) == {
        "prerequisite_courses": [
            "“Styling” already requires this course (directly or through other courses): "
            "learners could open neither."
        ]
    }
    assert list(_fields_error(unknown)) == ["prerequisite_courses"]
    assert a_draft.status_code == 200  # staff author every course, drafts included
    assert list(course.prerequisite_courses.all()) == [draft_elsewhere]


def test_a_section_is_created_with_its_rules_and_the_instant_keeps_its_offset(staff):
    course = CourseFactory()
    first = SectionFactory(course=course, order=0)

    response = staff.post(
        f"{BASE}/courses/{course.pk}/sections/",
        {
            "title": "Week 2",
            "is_hidden": True,
            "prerequisites": [str(first.pk)],
            "release_at": "2025-03-03T10:00:00+01:00",
            "release_after_days": 7,
            "release_from": "enrollment",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {name: body[name] for name in NO_RULES} == {
        "is_hidden": True,
        "prerequisites": [str(first.pk)],
        "release_at": "2025-03-03T09:00:00Z",
        "release_after_days": 7,
        "release_from": "enrollment",
    }


def test_section_prerequisites_refuse_other_courses_itself_circles_and_later_ones(staff):
    course = CourseFactory()
    first = SectionFactory(course=course, order=0, title="Week 1")
    second = SectionFactory(course=course, order=1, title="Week 2")
    second.prerequisites.set([first])
    elsewhere = SectionFactory(title="Elsewhere")
    url = f"{BASE}/sections/{first.pk}/"

    other = staff.patch(url, {"prerequisites": [str(elsewhere.pk)]}, format="json")
    itself = staff.patch(url, {"prerequisites": [str(first.pk)]}, format="json")
    circle = staff.patch(url, {"prerequisites": [str(second.pk)]}, format="json")
    too_late = staff.patch(url, {"release_after_days": 3651}, format="json")
    course.progression = Course.Progression.SECTIONS
    course.save()
    later = staff.patch(
        url, {"prerequisites": [str(SectionFactory(course=course).pk)]}, format="json"
    )

    assert _fields_error(other) == {
        "prerequisites": [f"There is no section with id {elsewhere.pk} in this course."]
    }
    assert _fields_error(itself) == {"prerequisites": ["A section cannot require itself."]}
    assert _fields_error(circle) == {
        "prerequisites": [
            "“Week 2” already requires this section (directly or through other sections): "
            "learners could open neither."
        ]
    }
    assert list(_fields_error(too_late)) == ["release_after_days"]
    [message] = _fields_error(later)["prerequisites"]
    assert "comes later in this sequential course" in message
    assert not first.prerequisites.exists()


def test_a_lesson_is_hidden_and_shown_again(staff):
    lesson = LessonFactory()

    hidden = staff.patch(f"{BASE}/lessons/{lesson.pk}/", {"is_hidden": True}, format="json")

    assert hidden.status_code == 200
    assert hidden.json()["is_hidden"] is True
    lesson.refresh_from_db()
    assert lesson.is_hidden is True


# --- Course documents ------------------------------------------------------------------------


def _ruled_document(**course) -> dict:
    doc = document(progression="sections", prerequisite_courses=["basics"], **course)
    start, turns = doc["course"]["sections"]
    start["release_after_days"] = 3
    start["release_from"] = "cohort"
    turns.update(is_hidden=True, release_at="2025-03-03T09:00:00Z", prerequisites=["s-start"])
    turns["lessons"][0]["is_hidden"] = True
    return doc


def test_a_document_carries_the_rules_and_its_export_is_the_document(staff):
    basics = CourseFactory(slug="basics")

    response = staff.post(IMPORT_URL, _ruled_document(), format="json")

    assert response.status_code == 201, response.json()
    course = Course.objects.get(client_id="salsa-101")
    assert course.progression == "sections"
    assert list(course.prerequisite_courses.all()) == [basics]
    start, turns = course.sections.order_by("order")
    assert (start.release_after_days, start.release_from) == (3, "cohort")
    assert turns.is_hidden and turns.release_at == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    assert list(turns.prerequisites.all()) == [start]
    assert Lesson.objects.get(course=course, slug="right-turn").is_hidden is True
    assert _export(staff, course) == _ruled_document()


def test_an_export_imported_elsewhere_keeps_the_rules_between_its_own_sections(staff):
    CourseFactory(slug="basics")
    original = Course.objects.get(pk=_import(staff, _ruled_document()).pk)
    exported = _export(staff, original)
    exported["course"].update(client_id="copy", slug="salsa-copy")

    copy = _import(staff, exported)

    start, turns = copy.sections.order_by("order")
    assert list(turns.prerequisites.all()) == [start]
    assert start.pk not in original.sections.values_list("pk", flat=True)
    again = _export(staff, copy)
    assert again["course"]["sections"] == exported["course"]["sections"]


def _import(client: APIClient, doc: dict) -> Course:
    response = client.post(IMPORT_URL, doc, format="json")
    assert response.status_code in (200, 201), response.json()
    return Course.objects.get(pk=response.json()["course"]["id"])


def test_a_changed_prerequisite_counts_the_section_as_updated(staff):
    CourseFactory(slug="basics")
    _import(staff, _ruled_document())
    changed = _ruled_document()
    changed["course"]["sections"][1]["prerequisites"] = []

    response = staff.post(IMPORT_URL, changed, format="json")

    assert response.status_code == 200
    assert response.json()["updated"]["sections"] == 1
    course = Course.objects.get(client_id="salsa-101")
    assert not course.sections.get(order=1).prerequisites.exists()


def test_document_prerequisites_are_refused_by_path(staff):
    unknown = document()
    unknown["course"]["sections"][1]["prerequisites"] = ["s-nowhere"]
    circle = document()
    circle["course"]["sections"][0]["prerequisites"] = ["s-turns"]
    circle["course"]["sections"][1]["prerequisites"] = ["s-start"]
    later = document(progression="sections")
    later["course"]["sections"][0]["prerequisites"] = ["s-turns"]

    errors = [
        _fields_error(staff.post(IMPORT_URL, doc, format="json"))
        for doc in (unknown, circle, later)
    ]

    assert errors[0] == {
        "course.sections[1].prerequisites[0]": [
            "No section of this course or document has this id."
        ]
    }
    assert set(errors[1]) == {
        "course.sections[0].prerequisites",
        "course.sections[1].prerequisites",
    }
    assert list(errors[2]) == ["course.sections[0].prerequisites[0]"]
    assert not Course.objects.filter(client_id="salsa-101").exists()


def test_a_prerequisite_course_this_school_lacks_is_a_warning(staff):
    response = staff.post(IMPORT_URL, document(prerequisite_courses=["nowhere"]), format="json")

    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "path": "course.prerequisite_courses[0]",
            "problem": "course_not_found",
            "message": "There is no course with this slug here: it is left out.",
        }
    ]
    assert not Course.objects.get(client_id="salsa-101").prerequisite_courses.exists()


def test_an_import_drops_the_cached_rules_of_the_course(staff):
    course = _import(staff, document())
    assert course_rules_get(course=Course.objects.get(pk=course.pk)).hidden_section_ids == set()
    hidden = document()
    hidden["course"]["sections"][1]["is_hidden"] = True

    _import(staff, hidden)

    turns = course.sections.get(order=1)
    assert course_rules_get(course=Course.objects.get(pk=course.pk)).hidden_section_ids == {
        turns.pk
    }


def test_bulk_sections_may_require_sections_already_there(staff):
    course = CourseFactory()
    first = SectionFactory(course=course, order=0, client_id="s-first")
    url = reverse("manage-api:sections-bulk-create", kwargs={"course_id": course.pk})

    response = staff.post(
        url,
        {
            "sections": [
                {"client_id": "s-new", "title": "New", "prerequisites": ["s-first"]},
                {"client_id": "s-newer", "title": "Newer", "prerequisites": ["s-new"]},
            ]
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    new, newer = (course.sections.get(client_id=pk) for pk in ("s-new", "s-newer"))
    assert list(new.prerequisites.all()) == [first]
    assert list(newer.prerequisites.all()) == [new]
