"""The catalog read API: what a mobile app sees for each kind of visitor."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
)
from progress.models import Enrollment

pytestmark = pytest.mark.django_db

LIST_URL = reverse("catalog-api:course-list")


def detail_url(slug: str) -> str:
    return reverse("catalog-api:course-detail", kwargs={"slug": slug})


def lesson_url(lesson_id: uuid.UUID | str) -> str:
    return reverse("catalog-api:lesson-detail", kwargs={"lesson_id": lesson_id})


def iso(moment: datetime) -> str:
    """A datetime the way the API writes it (UTC, `Z` suffix)."""
    return moment.isoformat().replace("+00:00", "Z")


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def slugs_of(body: dict) -> list[str]:
    return [item["slug"] for item in body["results"]]


def slugs(response) -> list[str]:
    return slugs_of(response.json())


# --- Course list ---------------------------------------------------------------------------


def test_course_list_shows_published_courses_with_lesson_counts_and_durations(api_client):
    course = course_with_lessons(
        3,
        sections=2,
        title="Salsa basics",
        slug="salsa-basics",
        subtitle="First steps",
        course_type=Course.CourseType.CHOREO,
        difficulty=Course.Difficulty.INTERMEDIATE,
    )
    # An unpublished lesson is neither counted nor timed.
    LessonFactory(
        section=course.sections.first(),
        slug="hidden",
        order=99,
        is_published=False,
        duration_seconds=999,
    )

    response = api_client.get(LIST_URL)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(course.id),
                "slug": "salsa-basics",
                "title": "Salsa basics",
                "subtitle": "First steps",
                "type": "choreo",
                "difficulty": "intermediate",
                "locale": "en",
                "visibility": "public",
                "required_tier": None,
                "thumbnail_url": None,
                "published_at": iso(course.published_at),
                "url": "http://testserver/courses/salsa-basics/",
                "lesson_count": 3,
                "duration_seconds": 60 + 120 + 180,
                "matching_lessons": [],
                "matching_lesson_count": 0,
            }
        ],
    }


def test_course_list_hides_draft_and_archived_courses_from_everyone(api_client, staff_user):
    CourseFactory(slug="live")
    CourseFactory(slug="draft", draft=True)
    CourseFactory(slug="archived", status=Course.Status.ARCHIVED)

    assert slugs(api_client.get(LIST_URL)) == ["live"]
    # The catalog lists what learners can find; staff preview drafts by their address.
    api_client.force_authenticate(staff_user)
    assert slugs(api_client.get(LIST_URL)) == ["live"]


def test_course_list_puts_the_newest_courses_first(api_client):
    now = timezone.now()
    CourseFactory(slug="old", published_at=now - timedelta(days=30))
    CourseFactory(slug="new", published_at=now)
    CourseFactory(slug="middle", published_at=now - timedelta(days=3))

    assert slugs(api_client.get(LIST_URL)) == ["new", "middle", "old"]


def test_course_list_shows_the_required_tier_and_an_absolute_thumbnail_url(api_client):
    tier = TierFactory(slug="gold", name="Gold", rank=3)
    course = CourseFactory(slug="pro", visibility=Course.Visibility.PAID, required_tier=tier)
    course.thumbnail.save("cover.png", ContentFile(b"not really a png"), save=True)

    item = api_client.get(LIST_URL).json()["results"][0]

    assert item["required_tier"] == {"slug": "gold", "name": "Gold", "rank": 3}
    assert item["visibility"] == "paid"
    assert item["thumbnail_url"] == f"http://testserver{course.thumbnail.url}"
    assert item["thumbnail_url"].startswith("http://testserver/media/thumbnails/courses/")


def test_course_list_filters_by_type_and_difficulty(api_client):
    CourseFactory(slug="choreo-easy", course_type="choreo", difficulty="beginner")
    CourseFactory(slug="choreo-hard", course_type="choreo", difficulty="advanced")
    CourseFactory(slug="topic-easy", course_type="topic", difficulty="beginner")

    assert sorted(slugs(api_client.get(LIST_URL, {"type": "choreo"}))) == [
        "choreo-easy",
        "choreo-hard",
    ]
    assert sorted(slugs(api_client.get(LIST_URL, {"difficulty": "beginner"}))) == [
        "choreo-easy",
        "topic-easy",
    ]
    assert slugs(api_client.get(LIST_URL, {"type": "choreo", "difficulty": "beginner"})) == [
        "choreo-easy"
    ]
    # Empty values mean "any", as an HTML form sends them.
    assert api_client.get(LIST_URL, {"type": "", "difficulty": ""}).json()["count"] == 3


def test_course_list_searches_titles_subtitles_and_descriptions(api_client):
    CourseFactory(slug="bachata", title="Bachata footwork", description="Hips and feet.")
    CourseFactory(slug="waltz", title="Waltz", subtitle="Ballroom footwork for beginners")
    CourseFactory(slug="tango", title="Tango", description="Close embrace and walking.")

    assert sorted(slugs(api_client.get(LIST_URL, {"q": "footwork"}))) == ["bachata", "waltz"]
    assert slugs(api_client.get(LIST_URL, {"q": "embrace"})) == ["tango"]
    assert slugs(api_client.get(LIST_URL, {"q": "footwork hips"})) == ["bachata"]
    assert slugs(api_client.get(LIST_URL, {"q": "quickstep"})) == []


@pytest.mark.postgres
def test_course_search_on_postgresql_matches_word_forms_and_ranks_titles_first(api_client):
    CourseFactory(slug="in-description", title="Evening class", description="We dance a lot.")
    CourseFactory(slug="in-title", title="Dancing for everyone", description="Fun.")
    CourseFactory(slug="unrelated", title="Music theory", description="Scales.")

    # "dances" and "dancing" share the stem "danc" in the english configuration.
    assert slugs(api_client.get(LIST_URL, {"q": "dances"})) == ["in-title", "in-description"]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"type": "dance"}, {"type": ['"dance" is not a valid choice.']}),
        ({"difficulty": "expert"}, {"difficulty": ['"expert" is not a valid choice.']}),
        ({"q": "x" * 201}, {"q": ["Ensure this field has no more than 200 characters."]}),
        ({"page": "two"}, {"page": ["Enter a whole number of 1 or more."]}),
        ({"page_size": "500"}, {"page_size": ["Enter a whole number between 1 and 100."]}),
    ],
)
def test_invalid_course_list_filters_answer_400_naming_the_field(api_client, params, fields):
    CourseFactory()

    response = api_client.get(LIST_URL, params)

    assert response.status_code == 400
    assert response.json() == error("VALIDATION_ERROR", "Some fields are invalid.", fields)


def test_course_list_is_paginated(api_client):
    published_at = timezone.now()
    for index in range(25):
        CourseFactory(
            slug=f"course-{index:02d}", title=f"Course {index:02d}", published_at=published_at
        )

    first = api_client.get(LIST_URL).json()
    second = api_client.get(LIST_URL, {"page": 2}).json()
    small = api_client.get(LIST_URL, {"page_size": 10, "page": 3}).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/courses/?page=2"
    assert len(second["results"]) == 5
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/courses/"
    # Same publication time: by title, so pages never overlap or skip a course.
    assert slugs_of(first) + slugs_of(second) == [f"course-{index:02d}" for index in range(25)]
    assert len(small["results"]) == 5


def test_a_page_past_the_end_answers_page_not_found(api_client):
    CourseFactory()

    response = api_client.get(LIST_URL, {"page": 2})

    assert response.status_code == 404
    assert response.json() == error("PAGE_NOT_FOUND", "That page of results does not exist.")


@pytest.mark.parametrize("course_count", [5, 40])
def test_course_list_runs_two_queries_whatever_the_number_of_courses(
    api_client, django_assert_num_queries, course_count
):
    for _ in range(course_count):
        course_with_lessons(3)

    with django_assert_num_queries(2):  # count + page
        response = api_client.get(LIST_URL)

    assert response.status_code == 200


# --- Course detail -------------------------------------------------------------------------


def test_course_detail_shows_the_course_and_its_outline(api_client):
    course = course_with_lessons(
        3,
        sections=2,
        title="Salsa basics",
        slug="salsa-basics",
        subtitle="First steps",
        description="Learn **salsa**.<script>alert(1)</script>",
    )
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(course=course)}
    part1, part2 = course.sections.order_by("order")
    Lesson.objects.filter(pk=lessons["lesson-3"].pk).update(
        kind="quiz", is_boss=True, xp_value=50, is_free_preview=True
    )

    response = api_client.get(detail_url("salsa-basics"))

    def outline_lesson(slug: str, **changes) -> dict:
        lesson = lessons[slug]
        return {
            "id": str(lesson.id),
            "slug": slug,
            "title": lesson.title,
            "kind": "text",
            "duration_seconds": lesson.duration_seconds,
            "order": lesson.order,
            "is_free_preview": False,
            "is_boss": False,
            "xp_value": 10,
            "is_hidden": False,
            "locked": False,
            "lock": None,
            **changes,
        }

    assert response.status_code == 200
    assert response.json() == {
        "id": str(course.id),
        "slug": "salsa-basics",
        "title": "Salsa basics",
        "subtitle": "First steps",
        "type": "course",
        "difficulty": "beginner",
        "locale": "en",
        "visibility": "public",
        "required_tier": None,
        "thumbnail_url": None,
        "published_at": iso(course.published_at),
        "url": "http://testserver/courses/salsa-basics/",
        "description_html": "<p>Learn <strong>salsa</strong>.</p>",
        "access": {"allowed": True, "reason": "public", "required_tier": None},
        "lesson_count": 3,
        "duration_seconds": 360,
        "sections": [
            {
                "id": str(part1.id),
                "title": "Part 1",
                "order": 0,
                "is_hidden": False,
                "locked": False,
                "lock": None,
                "lesson_count": 2,
                "duration_seconds": 240,
                "lessons": [
                    outline_lesson("lesson-1"),
                    outline_lesson(
                        "lesson-3", kind="quiz", is_boss=True, xp_value=50, is_free_preview=True
                    ),
                ],
            },
            {
                "id": str(part2.id),
                "title": "Part 2",
                "order": 1,
                "is_hidden": False,
                "locked": False,
                "lock": None,
                "lesson_count": 1,
                "duration_seconds": 120,
                "lessons": [outline_lesson("lesson-2")],
            },
        ],
    }


def _outline_flags(response) -> tuple[dict, dict[str, bool]]:
    body = response.json()
    locked = {
        lesson["slug"]: lesson["locked"]
        for section in body["sections"]
        for lesson in section["lessons"]
    }
    return body["access"], locked


def test_member_course_outline_is_locked_for_visitors_except_free_previews(api_client, user):
    course = course_with_lessons(2, slug="members-only", visibility=Course.Visibility.MEMBERS)
    Lesson.objects.filter(course=course, slug="lesson-2").update(is_free_preview=True)

    access, locked = _outline_flags(api_client.get(detail_url("members-only")))
    assert access == {"allowed": False, "reason": "login_required", "required_tier": None}
    assert locked == {"lesson-1": True, "lesson-2": False}

    api_client.force_authenticate(user)
    access, locked = _outline_flags(api_client.get(detail_url("members-only")))
    assert access == {"allowed": True, "reason": "member", "required_tier": None}
    assert locked == {"lesson-1": False, "lesson-2": False}


def test_paid_course_outline_names_the_tier_a_learner_needs(api_client, user, staff_user):
    tier = TierFactory(slug="gold", name="Gold", rank=2)
    course_with_lessons(2, slug="pro", visibility=Course.Visibility.PAID, required_tier=tier)
    gold = {"slug": "gold", "name": "Gold", "rank": 2}

    access, locked = _outline_flags(api_client.get(detail_url("pro")))
    assert access == {"allowed": False, "reason": "login_required", "required_tier": gold}
    assert locked == {"lesson-1": True, "lesson-2": True}

    api_client.force_authenticate(user)
    access, locked = _outline_flags(api_client.get(detail_url("pro")))
    assert access == {"allowed": False, "reason": "upgrade_required", "required_tier": gold}
    assert locked == {"lesson-1": True, "lesson-2": True}

    api_client.force_authenticate(staff_user)
    access, locked = _outline_flags(api_client.get(detail_url("pro")))
    assert access == {"allowed": True, "reason": "staff", "required_tier": None}
    assert locked == {"lesson-1": False, "lesson-2": False}


def test_unknown_course_answers_course_not_found(api_client):
    response = api_client.get(detail_url("no-such-course"))

    assert response.status_code == 404
    assert response.json() == error("COURSE_NOT_FOUND", "There is no course at this address.")


def test_draft_course_is_invisible_to_visitors_and_learners(api_client, user):
    CourseFactory(slug="secret", draft=True)

    anonymous = api_client.get(detail_url("secret"))
    api_client.force_authenticate(user)
    learner = api_client.get(detail_url("secret"))

    for response in (anonymous, learner):
        assert response.status_code == 404
        assert response.json() == error("COURSE_NOT_FOUND", "There is no course at this address.")


def test_draft_course_is_visible_to_staff_and_its_instructors(api_client, staff_user):
    instructor = UserFactory()
    course = CourseFactory(slug="secret", draft=True, instructors=[instructor])
    LessonFactory(section=SectionFactory(course=course), slug="hidden-lesson")

    api_client.force_authenticate(staff_user)
    staff_response = api_client.get(detail_url("secret"))
    api_client.force_authenticate(instructor)
    instructor_response = api_client.get(detail_url("secret"))

    assert staff_response.status_code == 200
    assert staff_response.json()["published_at"] is None
    assert instructor_response.status_code == 200
    assert instructor_response.json()["access"]["reason"] == "public"


def test_unpublished_lessons_are_left_out_of_a_learners_outline(api_client, user):
    course = course_with_lessons(2, slug="salsa")
    Lesson.objects.filter(course=course, slug="lesson-2").update(is_published=False)
    api_client.force_authenticate(user)

    body = api_client.get(detail_url("salsa")).json()

    assert [lesson["slug"] for lesson in body["sections"][0]["lessons"]] == ["lesson-1"]
    assert body["lesson_count"] == 1


@pytest.mark.parametrize("lesson_count", [5, 200])
@pytest.mark.parametrize(
    ("who", "expected_queries"),
    [
        ("anonymous", 3),  # course, sections, lessons
        ("learner", 6),  # + session, user, the course's instructors
        ("staff", 6),  # + session, user, their role groups
    ],
)
def test_course_detail_query_count_does_not_grow_with_the_course(
    client, django_assert_num_queries, lesson_count, who, expected_queries
):
    course_with_lessons(lesson_count, sections=4, slug="big", visibility="members")
    if who != "anonymous":
        client.force_login(UserFactory(is_staff=who == "staff"))

    with django_assert_num_queries(expected_queries):
        response = client.get(detail_url("big"))

    assert response.status_code == 200
    assert response.json()["lesson_count"] == lesson_count


# --- Lesson detail -------------------------------------------------------------------------


def test_lesson_detail_shows_the_notes_and_neighbours_across_sections(api_client):
    course = course_with_lessons(3, sections=2, title="Salsa basics", slug="salsa-basics")
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(course=course)}
    part1 = course.sections.get(order=0)
    # Course order: lesson-1, lesson-3 (both in Part 1), then lesson-2 (Part 2).
    lesson = lessons["lesson-3"]
    Lesson.objects.filter(pk=lesson.pk).update(
        body="## Turn\n\nStep *right*.<img src=x onerror=alert(1)>"
    )

    response = api_client.get(lesson_url(lesson.id))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(lesson.id),
        "slug": "lesson-3",
        "title": "Lesson 3",
        "kind": "text",
        "duration_seconds": 180,
        "order": 1,
        "is_free_preview": False,
        "is_boss": False,
        "xp_value": 10,
        "course": {"slug": "salsa-basics", "title": "Salsa basics"},
        "section": {"id": str(part1.id), "title": "Part 1"},
        "access": {"allowed": True, "reason": "public", "required_tier": None},
        "body_html": '<h2 id="turn">Turn</h2>\n<p>Step <em>right</em>.<img src="x"></p>',
        "previous": {
            "id": str(lessons["lesson-1"].id),
            "slug": "lesson-1",
            "title": "Lesson 1",
        },
        "next": {"id": str(lessons["lesson-2"].id), "slug": "lesson-2", "title": "Lesson 2"},
        "url": "http://testserver/courses/salsa-basics/lesson-3/",
    }


def test_first_and_last_lessons_have_no_previous_or_next(api_client):
    course = course_with_lessons(2, slug="duo")
    first, last = Lesson.objects.filter(course=course).order_by("order")

    first_body = api_client.get(lesson_url(first.id)).json()
    last_body = api_client.get(lesson_url(last.id)).json()

    assert first_body["previous"] is None
    assert first_body["next"]["slug"] == last.slug
    assert last_body["previous"]["slug"] == first.slug
    assert last_body["next"] is None


LOGIN_REQUIRED = ("LOGIN_REQUIRED", "Sign in to open this lesson.")
UPGRADE_REQUIRED = ("UPGRADE_REQUIRED", "This lesson needs a higher plan.")


@pytest.mark.parametrize(
    ("visibility", "free_preview", "who", "expected"),
    [
        ("public", False, "anonymous", "public"),
        ("public", False, "learner", "public"),
        ("members", False, "anonymous", LOGIN_REQUIRED),
        ("members", False, "learner", "member"),
        ("members", False, "staff", "staff"),
        ("members", False, "instructor", "instructor"),
        ("members", True, "anonymous", "preview"),
        ("paid", False, "anonymous", LOGIN_REQUIRED),
        ("paid", False, "learner", UPGRADE_REQUIRED),
        ("paid", False, "staff", "staff"),
        ("paid", False, "instructor", "instructor"),
        ("paid", True, "anonymous", "preview"),
        ("paid", True, "learner", "preview"),
    ],
)
def test_lesson_detail_opens_only_what_the_access_policy_allows(
    api_client, visibility, free_preview, who, expected
):
    instructor = UserFactory()
    tier = TierFactory(slug="gold", name="Gold", rank=2) if visibility == "paid" else None
    course = CourseFactory(
        slug="course", visibility=visibility, required_tier=tier, instructors=[instructor]
    )
    lesson = LessonFactory(
        section=SectionFactory(course=course),
        is_free_preview=free_preview,
        body="The secret step is a *double turn*.",
    )
    users = {
        "learner": UserFactory(),
        "staff": UserFactory(is_staff=True),
        "instructor": instructor,
    }
    if who != "anonymous":
        api_client.force_authenticate(users[who])

    response = api_client.get(lesson_url(lesson.id))

    if isinstance(expected, tuple):
        code, message = expected
        assert response.status_code == 403
        # The whole body is the envelope: no notes, no title, nothing else of the lesson.
        assert response.json() == error(code, message)
        assert b"double turn" not in response.content
    else:
        assert response.status_code == 200
        assert response.json()["access"]["reason"] == expected
        assert response.json()["body_html"] == "<p>The secret step is a <em>double turn</em>.</p>"


def test_unknown_lesson_answers_lesson_not_found(api_client):
    response = api_client.get(lesson_url(uuid.uuid4()))

    assert response.status_code == 404
    assert response.json() == error("LESSON_NOT_FOUND", "There is no lesson at this address.")


def test_a_lesson_id_that_is_not_a_uuid_answers_not_found(api_client):
    response = api_client.get("/api/v1/lessons/12/")

    assert response.status_code == 404
    assert response.json() == error("NOT_FOUND", "Not found.")


def test_lessons_of_draft_courses_and_unpublished_lessons_are_hidden_from_learners(
    api_client, user, staff_user
):
    draft_lesson = LessonFactory(section=SectionFactory(course=CourseFactory(draft=True)))
    hidden_lesson = LessonFactory(is_published=False)
    not_found = error("LESSON_NOT_FOUND", "There is no lesson at this address.")

    for client_user in (None, user):
        api_client.force_authenticate(client_user)
        for lesson in (draft_lesson, hidden_lesson):
            response = api_client.get(lesson_url(lesson.id))
            assert response.status_code == 404
            assert response.json() == not_found

    api_client.force_authenticate(staff_user)
    assert api_client.get(lesson_url(draft_lesson.id)).status_code == 200
    assert api_client.get(lesson_url(hidden_lesson.id)).status_code == 200


@pytest.mark.parametrize("lesson_count", [5, 200])
@pytest.mark.parametrize(
    ("who", "expected_queries"),
    [
        ("anonymous", 3),  # lesson with course, sections, lessons
        ("learner", 6),  # + session, user, the course's instructors
    ],
)
def test_lesson_detail_query_count_does_not_grow_with_the_course(
    client, django_assert_num_queries, lesson_count, who, expected_queries
):
    course = course_with_lessons(lesson_count, sections=4, slug="big", visibility="members")
    lesson = Lesson.objects.filter(course=course).order_by("section__order", "order")[2]
    if who == "anonymous":
        Lesson.objects.filter(pk=lesson.pk).update(is_free_preview=True)
    else:
        client.force_login(UserFactory())

    with django_assert_num_queries(expected_queries):
        response = client.get(lesson_url(lesson.id))

    assert response.status_code == 200
    assert response.json()["next"] is not None


def test_a_locked_lesson_is_refused_before_the_outline_is_loaded(
    api_client, django_assert_num_queries
):
    course = course_with_lessons(200, sections=4, visibility="members")
    lesson = Lesson.objects.filter(course=course).first()

    with django_assert_num_queries(1):
        response = api_client.get(lesson_url(lesson.id))

    assert response.status_code == 403


@pytest.mark.parametrize("lesson_count", [5, 200])
def test_course_detail_with_structure_rules_costs_the_same_queries_whatever_its_size(
    client, django_assert_num_queries, lesson_count
):
    """Issue 17 (Must show 4): with every kind of rule present, the outline still costs a
    fixed number of queries: the 6 of a learner's request, plus the sections' prerequisite
    links (cold cache only: the rules are cached), the learner's progress rows and enrollment
    with its cohort (the facts the rules depend on) and their early unlocks (asked only
    because something is locked)."""
    course = course_with_lessons(
        lesson_count, sections=4, slug="big", visibility="members", progression="lessons"
    )
    sections = list(course.sections.order_by("order"))
    sections[2].prerequisites.add(sections[0])
    sections[3].release_after_days = 3
    sections[3].save()
    sections[1].is_hidden = True
    sections[1].save()
    learner = UserFactory()
    Enrollment.objects.create(user=learner, course=course)
    client.force_login(learner)

    with django_assert_num_queries(6 + 1 + 2 + 1):
        response = client.get(detail_url("big"))

    body = response.json()
    assert [section["locked"] for section in body["sections"]] == [False, True, True]
    assert body["sections"][1]["lock"] == {
        "code": "LOCKED_PREREQUISITE",
        "requires": ["Part 1"],
        "opens_at": None,
        "opens_after_days": None,
    }
    # Sequential too: "Part 4" needs "Part 3" first, and says when its schedule opens it.
    assert body["sections"][2]["lock"]["code"] == "LOCKED_PREREQUISITE"
    assert body["sections"][2]["lock"]["requires"] == ["Part 3"]
    assert body["sections"][2]["lock"]["opens_at"] is not None
    # Sequential lessons: the first lesson is open, the second waits for it.
    lessons = body["sections"][0]["lessons"]
    assert [lesson["lock"] is None for lesson in lessons[:2]] == [True, False]
    # Warm: the rules and the compiled outline come from the cache, so the sections and
    # lessons are not read (4 of a learner's request), only the learner's facts and unlocks.
    with django_assert_num_queries(4 + 2 + 1):
        assert client.get(detail_url("big")).json() == body
