"""The authoring API's courses: create (retried by client id), read with the outline, edit,
publish, unpublish, archive, delete; with the audit rows each write leaves."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditLog
from billing.tests.factories import TierFactory
from catalog.models import Course
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
from progress.tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
A = AuditLog.Action


def _iso(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z")


# A section's structure rules when it has none.
NO_RULES = {
    "is_hidden": False,
    "prerequisites": [],
    "release_at": None,
    "release_after_days": None,
    "release_from": "enrollment",
}


def course_body(course: Course, sections: list | None = None) -> dict:
    course.refresh_from_db()
    body = {
        "id": str(course.pk),
        "client_id": course.client_id,
        "slug": course.slug,
        "title": course.title,
        "subtitle": course.subtitle,
        "description": course.description,
        "course_type": course.course_type,
        "difficulty": course.difficulty,
        "locale": course.locale,
        "visibility": course.visibility,
        "required_tier": course.required_tier.slug if course.required_tier else None,
        "status": course.status,
        "published_at": _iso(course.published_at),
        "progression": course.progression,
        "prerequisite_courses": sorted(
            str(pk) for pk in course.prerequisite_courses.values_list("pk", flat=True)
        ),
        "instructors": [
            {"id": str(user.pk), "display_name": user.public_name}
            for user in course.instructors.order_by("pk")
        ],
        "thumbnail_url": None,
        "url": f"http://testserver/courses/{course.slug}/",
        "created_at": _iso(course.created_at),
        "updated_at": _iso(course.updated_at),
    }
    if sections is not None:
        body["sections"] = sections
    return body


def test_an_instructor_creates_a_draft_course_that_is_theirs_and_audited():
    ana = instructor_make()

    response = client_for(ana).post(
        f"{BASE}/courses/",
        {"client_id": "salsa-101", "title": "Salsa On1: First Steps", "visibility": "members"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    course = Course.objects.get()
    assert response.json() == course_body(course, sections=[])
    assert (course.slug, course.status, course.client_id) == (
        "salsa-on1-first-steps",
        "draft",
        "salsa-101",
    )
    assert list(course.instructors.all()) == [ana]
    assert audit_rows() == [
        audit_row(A.CONTENT_CREATED, ana, course, course=str(course.pk)),
    ]


def test_a_retried_create_with_the_same_client_id_answers_the_first_course():
    ana = instructor_make()
    client = client_for(ana)
    payload = {"client_id": "salsa-101", "title": "Salsa"}

    first = client.post(f"{BASE}/courses/", payload, format="json")
    again = client.post(f"{BASE}/courses/", {**payload, "title": "Changed"}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Course.objects.count() == 1
    assert len(audit_rows(action=A.CONTENT_CREATED)) == 1


def test_a_client_id_of_a_course_the_author_cannot_edit_is_a_conflict():
    CourseFactory(client_id="salsa-101")
    ana = instructor_make()

    response = client_for(ana).post(
        f"{BASE}/courses/", {"client_id": "salsa-101", "title": "Mine"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == error(
        "CLIENT_ID_CONFLICT",
        "This client_id already names another item: use a new client_id for a new item.",
    )
    assert Course.objects.count() == 1


def test_bad_course_input_names_each_field():
    staff = staff_make()

    response = client_for(staff).post(
        f"{BASE}/courses/",
        {
            "title": "x" * 201,
            "slug": "not a slug",
            "locale": "xx",
            "required_tier": "nope",
            "instructors": ["not-a-uuid"],
        },
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert sorted(body["error"]["fields"]) == [
        "instructors.0",
        "locale",
        "required_tier",
        "slug",
        "title",
    ]
    assert not Course.objects.exists()


def test_a_tier_slug_with_a_null_character_names_no_tier():
    response = client_for(staff_make()).post(
        f"{BASE}/courses/",
        {"title": "Night Sky", "required_tier": "gold\u0000"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["required_tier"]
    assert not Course.objects.exists()


def test_a_paid_course_without_a_tier_and_a_taken_slug_are_refused():
    CourseFactory(slug="bachata")
    staff = staff_make()
    client = client_for(staff)

    paid = client.post(f"{BASE}/courses/", {"title": "Pro", "visibility": "paid"}, format="json")
    taken = client.post(f"{BASE}/courses/", {"title": "Bachata"}, format="json")

    assert paid.status_code == taken.status_code == 400
    assert paid.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"__all__": ["A paid course needs a required tier."]},
    )
    assert taken.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"slug": ["Course with this Slug already exists."]},
    )
    assert Course.objects.count() == 1


def test_staff_choose_instructors_and_the_tier_by_slug():
    staff = staff_make()
    ana, bo = instructor_make(), instructor_make("bo@example.com")
    tier = TierFactory(slug="gold")

    response = client_for(staff).post(
        f"{BASE}/courses/",
        {
            "title": "Pro",
            "visibility": "paid",
            "required_tier": "gold",
            "instructors": [str(ana.pk), str(bo.pk)],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    course = Course.objects.get()
    assert response.json() == course_body(course, sections=[])
    assert course.required_tier == tier
    assert set(course.instructors.all()) == {ana, bo}


def test_the_course_outline_lists_drafts_and_unpublished_lessons_in_order():
    ana = instructor_make()
    course = CourseFactory(draft=True, instructors=[ana], client_id="c1")
    second = SectionFactory(course=course, order=1, title="Turns")
    first = SectionFactory(course=course, order=0, title="Basics")
    hidden = LessonFactory(section=first, order=1, slug="hidden", is_published=False)
    shown = LessonFactory(section=first, order=0, slug="shown", client_id="l1")

    response = client_for(ana).get(f"{BASE}/courses/{course.pk}/")

    def lesson(row):
        return {
            "id": str(row.pk),
            "client_id": row.client_id,
            "slug": row.slug,
            "title": row.title,
            "kind": "text",
            "order": row.order,
            "duration_seconds": 300,
            "is_free_preview": False,
            "is_published": row.is_published,
            "is_hidden": False,
            "xp_value": 10,
            "is_boss": False,
            "is_required": True,
        }

    assert response.status_code == 200
    assert response.json() == course_body(
        course,
        sections=[
            {
                "id": str(first.pk),
                "client_id": "",
                "course": str(course.pk),
                "title": "Basics",
                "order": 0,
                **NO_RULES,
                "lessons": [lesson(shown), lesson(hidden)],
            },
            {
                "id": str(second.pk),
                "client_id": "",
                "course": str(course.pk),
                "title": "Turns",
                "order": 1,
                **NO_RULES,
                "lessons": [],
            },
        ],
    )


def _outline_queries(client, course) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{BASE}/courses/{course.pk}/")
    assert response.status_code == 200
    return len(queries)


def test_the_course_outline_costs_the_same_queries_for_3_and_60_lessons():
    ana = instructor_make()
    client = client_for(ana)
    small, large = (CourseFactory(instructors=[ana]) for _ in range(2))
    for course, sections, lessons in ((small, 1, 3), (large, 6, 10)):
        for order in range(sections):
            section = SectionFactory(course=course, order=order)
            for _ in range(lessons):
                LessonFactory(section=section)
    _outline_queries(client, small)  # warm the per-process caches (permissions, types)

    assert _outline_queries(client, small) == _outline_queries(client, large) <= 8


def test_the_course_list_shows_an_instructor_only_their_courses_and_filters_by_status():
    ana = instructor_make()
    mine = CourseFactory(title="A mine", instructors=[ana])
    draft = CourseFactory(title="B draft", draft=True, instructors=[ana])
    CourseFactory(title="Someone else's")
    client = client_for(ana)

    everything = client.get(f"{BASE}/courses/")
    drafts = client.get(f"{BASE}/courses/", {"status": "draft"})

    assert everything.status_code == drafts.status_code == 200
    assert everything.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [course_body(mine), course_body(draft)],
    }
    assert drafts.json()["results"] == [course_body(draft)]


def test_editing_a_course_changes_only_what_differs_and_audits_the_fields():
    ana = instructor_make()
    course = CourseFactory(title="Old", subtitle="Keep", instructors=[ana])
    client = client_for(ana)

    response = client.patch(
        f"{BASE}/courses/{course.pk}/",
        {"title": "New", "subtitle": "Keep", "difficulty": "advanced"},
        format="json",
    )
    unchanged = client.patch(f"{BASE}/courses/{course.pk}/", {"title": "New"}, format="json")

    assert response.status_code == unchanged.status_code == 200
    course.refresh_from_db()
    assert (course.title, course.subtitle, course.difficulty) == ("New", "Keep", "advanced")
    assert response.json() == course_body(course, sections=[])
    assert audit_rows() == [
        audit_row(
            A.CONTENT_CHANGED, ana, course, course=str(course.pk), fields=["difficulty", "title"]
        )
    ]


def test_only_staff_change_a_courses_instructors():
    ana, bo = instructor_make(), instructor_make("bo@example.com")
    staff = staff_make()
    course = CourseFactory(instructors=[ana])

    refused = client_for(ana).patch(
        f"{BASE}/courses/{course.pk}/", {"instructors": [str(bo.pk)]}, format="json"
    )
    done = client_for(staff).patch(
        f"{BASE}/courses/{course.pk}/", {"instructors": [str(bo.pk)]}, format="json"
    )

    assert refused.status_code == 403
    assert refused.json() == error("PERMISSION_DENIED", "Only staff choose a course's instructors.")
    assert done.status_code == 200
    assert list(course.instructors.all()) == [bo]
    assert audit_rows() == [
        audit_row(A.CONTENT_CHANGED, staff, course, course=str(course.pk), fields=["instructors"])
    ]


def test_publish_unpublish_archive_follow_the_publishing_rule_and_are_audited():
    ana = instructor_make()
    course = CourseFactory(draft=True, instructors=[ana])
    client = client_for(ana)

    published = client.post(f"{BASE}/courses/{course.pk}/publish/")
    first_date = Course.objects.get().published_at
    again = client.post(f"{BASE}/courses/{course.pk}/publish/")
    drafted = client.post(f"{BASE}/courses/{course.pk}/unpublish/")
    archived = client.post(f"{BASE}/courses/{course.pk}/archive/")

    assert [r.status_code for r in (published, again, drafted, archived)] == [200] * 4
    assert published.json()["status"] == "published"
    assert again.json()["published_at"] == published.json()["published_at"]
    assert drafted.json()["status"] == "draft"
    assert archived.json() == course_body(course)
    assert (course.status, course.published_at) == ("archived", first_date)
    assert audit_rows() == [
        audit_row(
            A.COURSE_STATUS_CHANGED, ana, course, course=str(course.pk), **{"from": f, "to": t}
        )
        for f, t in (("draft", "published"), ("published", "draft"), ("draft", "archived"))
    ]


def test_staff_delete_a_course_without_learners_and_it_is_audited():
    staff = staff_make()
    course = CourseFactory(title="Gone")
    LessonFactory(section=SectionFactory(course=course))
    expected = audit_row(A.CONTENT_DELETED, staff, course, course=str(course.pk))

    response = client_for(staff).delete(f"{BASE}/courses/{course.pk}/")

    assert response.status_code == 204
    assert not Course.objects.exists()
    assert audit_rows() == [expected]


def test_a_course_with_learners_is_not_deleted_but_archived_instead():
    staff = staff_make()
    course = CourseFactory()
    EnrollmentFactory(course=course)

    response = client_for(staff).delete(f"{BASE}/courses/{course.pk}/")

    assert response.status_code == 409
    assert response.json() == error(
        "CONTENT_IN_USE",
        "Learners have records on this (progress, attempts, certificates, invites...): "
        "unpublish or archive it instead of deleting it.",
        {"records": ["enrollments"]},
    )
    assert Course.objects.filter(pk=course.pk).exists()
    assert audit_rows() == []
