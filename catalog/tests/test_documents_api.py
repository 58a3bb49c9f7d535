"""Course documents through the authoring API: what a script or app sees when it imports,
exports and bulk-creates, and what the school has afterwards."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from catalog.tests.documents import author, choice, copy_of, counts, document, lesson, quiz_lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from media.models import StoredFile, Video
from progress.services.enrollments import enrollment_create
from progress.services.learning import lesson_complete

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("manage-api:course-import")


def export_url(course: Course) -> str:
    return reverse("manage-api:course-export", kwargs={"course_id": course.pk})


def sections_bulk_url(course: Course) -> str:
    return reverse("manage-api:sections-bulk-create", kwargs={"course_id": course.pk})


def lessons_bulk_url(section: Section) -> str:
    return reverse("manage-api:lessons-bulk-create", kwargs={"section_id": section.pk})


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff():
    return author(Role.STAFF, "sam@example.com")


@pytest.fixture
def instructor():
    return author(Role.INSTRUCTOR, "ines@example.com")


def course_ref(course: Course) -> dict:
    return {
        "id": str(course.pk),
        "client_id": course.client_id,
        "slug": course.slug,
        "title": course.title,
        "status": course.status,
    }


def outline(course: Course) -> list[tuple[str, list[str]]]:
    """The course as a learner's outline: sections in order, each with its lessons' slugs."""
    return [
        (section.title, list(section.lessons.order_by("order").values_list("slug", flat=True)))
        for section in course.sections.order_by("order")
    ]


def imported(client: APIClient, doc: dict) -> Course:
    response = client.post(IMPORT_URL, doc, format="json")
    assert response.status_code in (200, 201), response.json()
    return Course.objects.get(pk=response.json()["course"]["id"])


# --- Import and export ---------------------------------------------------------------------


def test_importing_a_document_creates_a_draft_course_whose_export_is_the_document(staff):
    client = signed_in(staff)

    response = client.post(IMPORT_URL, document(), format="json")

    assert response.status_code == 201
    course = Course.objects.get(client_id="salsa-101")
    assert response.json() == {
        "course": {
            "id": str(course.pk),
            "client_id": "salsa-101",
            "slug": "salsa-basics",
            "title": "Salsa basics",
            "status": "draft",
        },
        "created": counts(courses=1, sections=2, lessons=4, quizzes=1, questions=2, choices=2),
        "updated": counts(),
        "unchanged": counts(),
        "deleted": counts(),
        "kept": counts(),
        "warnings": [],
    }
    assert list(course.instructors.all()) == []  # staff's import names no instructor
    assert outline(course) == [
        ("Getting started", ["welcome", "basic-step"]),
        ("Turns", ["right-turn", "check"]),
    ]
    check = Lesson.objects.get(course=course, slug="check")
    assert [(q.prompt, q.accepted_answer_list) for q in check.quiz.questions.all()] == [
        ("Beats in a bar?", []),
        ("Counts in a phrase?", ["eight", "8"]),
    ]

    exported = client.get(export_url(course))

    assert exported.status_code == 200
    assert exported.json() == document()


def test_importing_the_same_document_twice_changes_nothing_the_second_time(staff):
    client = signed_in(staff)
    course = imported(client, document())
    before = {lesson.pk: lesson.updated_at for lesson in Lesson.objects.filter(course=course)}
    course_updated_at = course.updated_at

    response = client.post(IMPORT_URL, document(), format="json")

    assert response.status_code == 200
    assert response.json() == {
        "course": course_ref(course),
        "created": counts(),
        "updated": counts(),
        "unchanged": counts(courses=1, sections=2, lessons=4, quizzes=1, questions=2, choices=2),
        "deleted": counts(),
        "kept": counts(),
        "warnings": [],
    }
    course.refresh_from_db()
    assert course.updated_at == course_updated_at
    after = {lesson.pk: lesson.updated_at for lesson in Lesson.objects.filter(course=course)}
    assert after == before
    assert (Section.objects.count(), Lesson.objects.count(), Question.objects.count()) == (2, 4, 2)
    assert Choice.objects.count() == 2


def test_a_changed_document_updates_the_rows_it_names(staff):
    client = signed_in(staff)
    course = imported(client, document())
    welcome = Lesson.objects.get(course=course, slug="welcome")
    changed = copy_of(document())
    start, turns = changed["course"]["sections"]
    start["lessons"][0]["title"] = "Welcome to salsa"
    # The turns come first now, the right turn moves to the start, the quiz changes.
    right = turns["lessons"].pop(0)
    start["lessons"].append(right)
    quiz = turns["lessons"][0]["quiz"]
    quiz["pass_mark"] = 60
    beats = quiz["questions"][0]
    beats["choices"] = [choice("c-four", "Four", True), choice("c-five", "Five")]
    changed["course"]["sections"] = [turns, start]

    response = client.post(IMPORT_URL, changed, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "course": course_ref(course),
        "created": counts(choices=1),
        # Both sections moved; the welcome lesson's title, the right turn's section and the
        # quiz lesson's place changed; the pass mark; the correct choice's place.
        "updated": counts(sections=2, lessons=3, quizzes=1, choices=1),
        "unchanged": counts(courses=1, lessons=1, questions=2),
        "deleted": counts(choices=1),
        "kept": counts(),
        "warnings": [],
    }
    assert outline(course) == [
        ("Turns", ["check"]),
        ("Getting started", ["welcome", "basic-step", "right-turn"]),
    ]
    welcome.refresh_from_db()
    assert welcome.title == "Welcome to salsa"
    question = Question.objects.get(quiz__lesson__course=course, client_id="q-beats")
    assert [(c.text, c.is_correct) for c in question.choices.order_by("order")] == [
        ("Four", True),
        ("Five", False),
    ]
    assert client.get(export_url(course)).json() == changed


def test_an_exported_course_imports_as_a_new_course_in_another_school(staff):
    source = CourseFactory(title="Bachata", slug="bachata", subtitle="", description="Hips.")
    basics = SectionFactory(course=source, title="Basics", order=0)
    LessonFactory(section=basics, slug="side-step", title="Side step", order=0)
    quiz_row = LessonFactory(section=basics, slug="quiz", order=1, kind=Lesson.Kind.QUIZ)
    quiz = quiz_with_questions(lesson=quiz_row)
    client = signed_in(staff)
    doc = client.get(export_url(source)).json()
    assert doc["course"]["client_id"] == str(source.pk)  # no client id: its uuid
    # Another school has no course with this id; here, a new client id stands for that.
    doc["course"].update(client_id="bachata-from-elsewhere", slug="bachata-2")

    response = client.post(IMPORT_URL, doc, format="json")

    assert response.status_code == 201
    copy = Course.objects.get(slug="bachata-2")
    assert response.json()["created"] == counts(
        courses=1, sections=1, lessons=2, quizzes=1, questions=3, choices=6
    )
    assert outline(copy) == outline(source) == [("Basics", ["side-step", "quiz"])]
    assert copy.status == Course.Status.DRAFT
    copied_quiz = Quiz.objects.get(lesson__course=copy)
    assert copied_quiz.pk != quiz.pk
    assert [q.prompt for q in copied_quiz.questions.order_by("order")] == [
        "Beats in a bar?",
        "Which are directions?",
        "Counts in a dance phrase?",
    ]
    assert client.get(export_url(copy)).json() == doc
    assert Section.objects.filter(course=source).count() == 1  # the source is untouched


def test_a_bad_item_in_an_import_changes_nothing_and_is_named_by_its_path(staff):
    client = signed_in(staff)
    course = imported(client, document())
    broken = copy_of(document(title="Salsa, renamed"))
    sections = broken["course"]["sections"]
    sections[1]["lessons"][1]["quiz"]["questions"][0]["choices"][0]["is_correct"] = True
    sections[0]["lessons"].append(lesson("l-new", "welcome"))  # a slug taken in the document

    response = client.post(IMPORT_URL, broken, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            "course.sections[0].lessons[2].slug": [
                "Another lesson of this document has this slug."
            ],
            "course.sections[1].lessons[1].quiz.questions[0].choices": [
                "A single-choice question needs exactly one correct choice (it has 2)."
            ],
        },
    )
    course.refresh_from_db()
    assert course.title == "Salsa basics"
    assert Lesson.objects.filter(course=course).count() == 4
    # Only the first import is audited: the refused one left no row.
    assert AuditLog.objects.filter(action=AuditLog.Action.COURSE_IMPORTED).count() == 1


def test_an_import_refuses_garbage_with_the_path_of_each_problem(staff):
    client = signed_in(staff)
    garbage = copy_of(document())
    garbage["version"] = 2
    garbage["course"]["title"] = {"deeply": [[["nested"]]]}
    garbage["course"]["sections"][1]["lessons"][0]["duration_seconds"] = 10**40
    garbage["course"]["sections"][1]["lessons"][0]["slug"] = "\ud800"
    garbage["course"]["sections"][0]["lessons"][1]["attachments"] = [{"id": "not-a-uuid"}]
    garbage["course"]["sections"][0]["lessons"][0]["kind"] = "\udfffpodcast"

    # As a program sends it: the lone surrogate as a JSON escape.
    response = client.post(IMPORT_URL, json.dumps(garbage), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            "version": ["This site reads version 1 documents."],
            "course.title": ["Not a valid string."],
            "course.sections[0].lessons[0].kind": ['"\ufffdpodcast" is not a valid choice.'],
            "course.sections[0].lessons[1].attachments[0].id": ["Must be a valid UUID."],
            "course.sections[1].lessons[0].slug": [
                "Surrogate characters are not allowed: U+D800.",
                'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.',
            ],
            "course.sections[1].lessons[0].duration_seconds": [
                "Ensure this value is less than or equal to 2147483647."
            ],
        },
    )
    assert not Course.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([1, 2], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ({"format": "zip", "version": 1, "course": None}, None),
    ],
)
def test_a_body_that_is_no_document_is_refused(staff, body, fields):
    response = signed_in(staff).post(IMPORT_URL, body, format="json")

    assert response.status_code == 400
    expected = fields or {
        "format": ['"zip" is not a valid choice.'],
        "course": ["This field may not be null."],
    }
    assert response.json() == error("VALIDATION_ERROR", "Some fields are invalid.", expected)


def test_a_document_over_the_lesson_limit_is_refused_whole(staff, settings):
    settings.LMS_COURSE_DOCUMENT_MAX_LESSONS = 3

    response = signed_in(staff).post(IMPORT_URL, document(), format="json")

    assert response.status_code == 413
    assert response.json() == error(
        "COURSE_DOCUMENT_TOO_LARGE",
        "Send at most 3 sections and 3 lessons at once (LMS_COURSE_DOCUMENT_MAX_LESSONS).",
    )
    assert not Course.objects.exists()


def test_a_taken_course_slug_and_a_missing_tier_are_named(staff):
    CourseFactory(slug="salsa-basics")

    response = signed_in(staff).post(
        IMPORT_URL, document(visibility="paid", required_tier=None), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "course.required_tier": ["A paid course needs a required tier."],
        "course.slug": ["Another course has this slug."],
    }


def test_rows_the_document_does_not_name_are_kept_after_the_named_ones(staff):
    client = signed_in(staff)
    course = imported(client, document())
    extra = SectionFactory(course=course, title="Extras", order=7)
    LessonFactory(section=extra, slug="bonus", order=0)
    LessonFactory(section=Section.objects.get(client_id="s-start"), slug="warm-up", order=9)
    shorter = copy_of(document())
    start = shorter["course"]["sections"][0]
    start["lessons"].reverse()
    shorter["course"]["sections"] = [start]

    response = client.post(IMPORT_URL, shorter, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["updated"], body["unchanged"], body["kept"]) == (
        counts(lessons=2),
        counts(courses=1, sections=1),
        counts(sections=2, lessons=4),
    )
    assert outline(course) == [
        ("Getting started", ["basic-step", "welcome", "warm-up"]),
        ("Turns", ["right-turn", "check"]),
        ("Extras", ["bonus"]),
    ]


def test_replace_deletes_what_the_document_does_not_name(staff):
    client = signed_in(staff)
    course = imported(client, document())
    shorter = copy_of(document())
    shorter["course"]["sections"][1]["lessons"].pop()  # the quiz lesson
    del shorter["course"]["sections"][0]

    response = client.post(f"{IMPORT_URL}?mode=replace", shorter, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["deleted"], body["unchanged"], body["updated"]) == (
        counts(sections=1, lessons=3),
        counts(courses=1, lessons=1),
        counts(sections=1),  # Turns is first now
    )
    assert outline(course) == [("Turns", ["right-turn"])]
    assert not Quiz.objects.exists()


def test_replace_refuses_to_delete_a_lesson_learners_have_progress_in(staff):
    course = CourseFactory(slug="salsa-basics", client_id="salsa-101")
    section = SectionFactory(course=course, client_id="s-start", title="Getting started")
    done = LessonFactory(section=section, slug="done-before", title="Done before", order=5)
    learner = UserFactory()
    enrollment_create(user=learner, course=course, source="self")
    lesson_complete(user=learner, lesson=done)

    response = signed_in(staff).post(f"{IMPORT_URL}?mode=replace", document(), format="json")

    assert response.status_code == 409
    assert response.json() == error(
        "COURSE_DOCUMENT_DELETES_LEARNER_DATA",
        "Replacing the course would delete lessons that learners have progress, attempts or "
        "discussions in: nothing was changed. Keep those lessons in the document.",
        {"lessons": ["“Done before” (done-before)"]},
    )
    assert outline(course) == [("Getting started", ["done-before"])]


def test_an_unknown_mode_is_refused(staff):
    response = signed_in(staff).post(f"{IMPORT_URL}?mode=wipe", document(), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"mode": ['"wipe" is not a valid choice.']}


# --- Media: linked when this site has them -------------------------------------------------


def test_media_this_site_has_are_linked_and_the_others_warned_about(staff):
    video = Video.objects.create(
        title="Basic step, front view", status=Video.Status.READY, playback_id="p1"
    )
    handout = StoredFile.objects.create(
        purpose=StoredFile.Purpose.ATTACHMENT,
        key="attachments/handout.pdf",
        title="Handout",
        content_type="application/pdf",
        status=StoredFile.Status.CONFIRMED,
    )
    missing = "2f1c7e0a-61c4-4b5e-9d51-7a1f0f6a9b11"
    doc = copy_of(document())
    basic = doc["course"]["sections"][0]["lessons"][1]
    basic["video"] = {"id": str(video.pk), "title": "Basic step"}
    basic["attachments"] = [
        {"id": missing, "title": "Their handout"},
        {"id": str(handout.pk), "title": "Handout"},
    ]
    doc["course"]["sections"][1]["lessons"][0]["video"] = {"id": missing, "title": "Theirs"}
    client = signed_in(staff)

    response = client.post(IMPORT_URL, doc, format="json")

    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {
            "path": "course.sections[0].lessons[1].attachments[0]",
            "problem": "attachment_not_found",
            "message": "There is no attachment with this id here: it is left out.",
        },
        {
            "path": "course.sections[1].lessons[0].video",
            "problem": "video_not_found",
            "message": "There is no video with this id here: the lesson keeps the video it "
            "has, if any.",
        },
    ]
    course = Course.objects.get(client_id="salsa-101")
    step = Lesson.objects.get(course=course, slug="basic-step")
    assert step.video == video
    assert list(step.attachments.all()) == [handout]
    assert Lesson.objects.get(course=course, slug="right-turn").video is None
    exported = client.get(export_url(course)).json()["course"]["sections"][0]["lessons"][1]
    assert (exported["video"], exported["attachments"]) == (
        {"id": str(video.pk), "title": "Basic step, front view"},
        [{"id": str(handout.pk), "title": "Handout"}],
    )


def test_a_video_this_site_lacks_leaves_the_lessons_own_video(staff):
    client = signed_in(staff)
    course = imported(client, document())
    ours = Video.objects.create(title="Our right turn", status=Video.Status.READY, playback_id="p2")
    Lesson.objects.filter(course=course, slug="right-turn").update(video=ours)
    doc = copy_of(document())
    theirs = {"id": "2f1c7e0a-61c4-4b5e-9d51-7a1f0f6a9b11", "title": "Their right turn"}
    doc["course"]["sections"][1]["lessons"][0]["video"] = theirs

    response = client.post(IMPORT_URL, doc, format="json")

    assert response.status_code == 200
    assert response.json()["unchanged"]["lessons"] == 4
    assert Lesson.objects.get(course=course, slug="right-turn").video == ours


# --- Bulk creates ---------------------------------------------------------------------------


def test_bulk_created_sections_follow_the_course_and_a_retry_creates_nothing(staff):
    course = CourseFactory(slug="salsa")
    SectionFactory(course=course, title="Intro", order=0)
    sections = [
        {"client_id": "s-1", "title": "Footwork", "lessons": [lesson("l-1", "shines")]},
        {"client_id": "s-2", "title": "Partnerwork", "lessons": [quiz_lesson("l-2", "lead")]},
    ]
    client = signed_in(staff)

    response = client.post(sections_bulk_url(course), {"sections": sections}, format="json")

    assert response.status_code == 201
    rows = {row.client_id: row for row in Section.objects.filter(course=course)}
    lessons = {row.client_id: row for row in Lesson.objects.filter(course=course)}

    def body(created: bool) -> dict:
        return {
            "sections": [
                {
                    "id": str(rows[client_id].pk),
                    "client_id": client_id,
                    "title": title,
                    "order": order,
                    "created": created,
                    "lessons": [
                        {
                            "id": str(lessons[lesson_id].pk),
                            "client_id": lesson_id,
                            "slug": slug,
                            "title": slug.capitalize(),
                            "kind": kind,
                            "order": 0,
                            "created": created,
                        }
                    ],
                }
                for client_id, title, order, lesson_id, slug, kind in (
                    ("s-1", "Footwork", 1, "l-1", "shines", "text"),
                    ("s-2", "Partnerwork", 2, "l-2", "lead", "quiz"),
                )
            ],
            "created": (
                counts(sections=2, lessons=2, quizzes=1, questions=2, choices=2)
                if created
                else counts()
            ),
            "warnings": [],
        }

    assert response.json() == body(created=True)
    assert outline(course) == [("Intro", []), ("Footwork", ["shines"]), ("Partnerwork", ["lead"])]

    retry = client.post(sections_bulk_url(course), {"sections": sections}, format="json")

    assert retry.status_code == 200
    assert retry.json() == body(created=False)
    assert Section.objects.filter(course=course).count() == 3
    assert Lesson.objects.filter(course=course).count() == 2


def test_bulk_create_with_one_bad_item_changes_nothing_and_names_the_item(staff):
    course = CourseFactory(slug="salsa")
    section = SectionFactory(course=course, title="Intro", order=0)
    LessonFactory(section=section, slug="taken", order=0)
    sections = [
        {"client_id": "s-1", "title": "Footwork", "lessons": [lesson("l-1", "shines")]},
        {"client_id": "s-2", "title": "Turns", "lessons": [lesson("l-2", "spins")]},
        {"client_id": "s-3", "title": "Styling", "lessons": [lesson("l-3", "taken")]},
    ]
    client = signed_in(staff)

    response = client.post(sections_bulk_url(course), {"sections": sections}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"sections[2].lessons[0].slug": ["Another lesson of this course has this slug."]},
    )
    assert outline(course) == [("Intro", ["taken"])]

    sections[2]["lessons"][0].pop("title")
    response = client.post(sections_bulk_url(course), {"sections": sections}, format="json")

    assert response.json()["error"]["fields"] == {
        "sections[2].lessons[0].title": ["This field is required."]
    }
    assert outline(course) == [("Intro", ["taken"])]


def test_bulk_created_lessons_follow_the_sections_own(staff):
    course = CourseFactory(slug="salsa")
    section = SectionFactory(course=course, title="Intro", order=0)
    LessonFactory(section=section, slug="hello", order=4)
    client = signed_in(staff)
    items = [lesson("l-1", "", title="Cross body lead"), quiz_lesson("l-2", "quiz")]

    response = client.post(lessons_bulk_url(section), {"lessons": items}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert [(item["slug"], item["order"], item["created"]) for item in body["lessons"]] == [
        ("cross-body-lead", 5, True),
        ("quiz", 6, True),
    ]
    assert body["created"] == counts(lessons=2, quizzes=1, questions=2, choices=2)
    assert outline(course) == [("Intro", ["hello", "cross-body-lead", "quiz"])]

    retry = client.post(lessons_bulk_url(section), {"lessons": items}, format="json")

    assert retry.status_code == 200
    assert [item["created"] for item in retry.json()["lessons"]] == [False, False]
    assert Lesson.objects.filter(course=course).count() == 3


def test_bulk_lessons_may_not_reuse_the_client_id_of_a_lesson_elsewhere_in_the_course(staff):
    course = CourseFactory(slug="salsa")
    first = SectionFactory(course=course, order=0)
    second = SectionFactory(course=course, order=1)
    LessonFactory(section=first, slug="hello", client_id="l-1")

    response = signed_in(staff).post(
        lessons_bulk_url(second), {"lessons": [lesson("l-1", "other")]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lessons[0].client_id": ["A lesson of another section of this course has this client id."]
    }


@pytest.mark.parametrize("body", [{}, {"lessons": "many"}, {"lessons": []}, ["lessons"]])
def test_a_bulk_body_without_a_list_of_lessons_is_refused(staff, body):
    section = SectionFactory()

    response = signed_in(staff).post(lessons_bulk_url(section), body, format="json")

    assert response.status_code == 400
    message = "Send at least one item." if body == {"lessons": []} else "Send a list."
    assert response.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"lessons": [message]}
    )


def test_a_bulk_create_over_the_limit_is_refused_whole(staff, settings):
    settings.LMS_COURSE_DOCUMENT_MAX_LESSONS = 1
    section = SectionFactory()
    items = [lesson("l-1", "one"), lesson("l-2", "two")]

    response = signed_in(staff).post(lessons_bulk_url(section), {"lessons": items}, format="json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "COURSE_DOCUMENT_TOO_LARGE"
    assert not Lesson.objects.exists()


# --- Who may --------------------------------------------------------------------------------


def test_an_instructors_import_makes_a_course_they_teach(instructor):
    response = signed_in(instructor).post(IMPORT_URL, document(), format="json")

    assert response.status_code == 201
    course = Course.objects.get(client_id="salsa-101")
    assert list(course.instructors.all()) == [instructor]


def test_an_instructor_cannot_import_into_or_export_another_instructors_course(instructor):
    other = author(Role.INSTRUCTOR, "otto@example.com")
    theirs = imported(signed_in(other), document())
    section = theirs.sections.first()
    client = signed_in(instructor)
    not_found = error("COURSE_NOT_FOUND", "There is no course at this address.")

    by_client_id = client.post(IMPORT_URL, document(title="Mine now"), format="json")
    by_uuid = client.post(IMPORT_URL, document(client_id=str(theirs.pk)), format="json")
    export = client.get(export_url(theirs))
    sections = client.post(
        sections_bulk_url(theirs), {"sections": [{"client_id": "x", "title": "X"}]}, format="json"
    )
    lessons = client.post(lessons_bulk_url(section), {"lessons": [lesson("x", "x")]}, format="json")

    assert [r.status_code for r in (by_client_id, by_uuid, export, sections, lessons)] == [404] * 5
    assert by_client_id.json() == by_uuid.json() == export.json() == sections.json() == not_found
    assert lessons.json() == error(
        "SECTION_NOT_FOUND", "There is no section with this id that you can edit."
    )
    theirs.refresh_from_db()
    assert theirs.title == "Salsa basics"
    assert outline(theirs)[0] == ("Getting started", ["welcome", "basic-step"])


def test_an_instructor_updates_their_own_course_but_may_not_replace_it(instructor):
    client = signed_in(instructor)
    course = imported(client, document())

    update = client.post(IMPORT_URL, document(title="Salsa for all"), format="json")
    replace = client.post(f"{IMPORT_URL}?mode=replace", document(), format="json")

    assert update.status_code == 200
    assert replace.status_code == 403
    assert replace.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
    course.refresh_from_db()
    assert course.title == "Salsa for all"


@pytest.mark.parametrize("role", [None, Role.LEARNER])
def test_only_authors_reach_course_documents(role):
    course = CourseFactory()
    section = SectionFactory(course=course)
    client = APIClient()
    if role is not None:
        client.force_authenticate(UserFactory())
    calls = [
        client.post(IMPORT_URL, document(), format="json"),
        client.get(export_url(course)),
        client.post(sections_bulk_url(course), {"sections": []}, format="json"),
        client.post(lessons_bulk_url(section), {"lessons": []}, format="json"),
    ]

    if role is None:
        expected = (401, error("NOT_AUTHENTICATED", "Sign in to continue."))
    else:
        expected = (403, error("PERMISSION_DENIED", "You do not have permission to do this."))
    assert [(call.status_code, call.json()) for call in calls] == [expected] * 4
    assert Course.objects.count() == 1


# --- Audit ------------------------------------------------------------------------------------


def audit_rows(action: str) -> list[dict]:
    return list(
        AuditLog.objects.filter(action=action)
        .order_by("created_at")
        .values("actor__email", "actor_email", "target_type", "target_id", "target_repr", "details")
    )


def test_imports_exports_and_bulk_creates_are_audited(staff):
    client = signed_in(staff)
    course = imported(client, document())
    client.post(IMPORT_URL, document(), format="json")
    client.get(export_url(course))
    client.post(
        sections_bulk_url(course), {"sections": [{"client_id": "s-x", "title": "X"}]}, format="json"
    )
    row = {
        "actor__email": "sam@example.com",
        "actor_email": "sam@example.com",
        "target_type": "catalog.course",
        "target_id": str(course.pk),
        "target_repr": "Salsa basics",
    }
    everything = counts(courses=1, sections=2, lessons=4, quizzes=1, questions=2, choices=2)

    def imported_details(created: dict, unchanged: dict) -> dict:
        return {
            "course": str(course.pk),
            "mode": "merge",
            "created": created,
            "updated": counts(),
            "unchanged": unchanged,
            "deleted": counts(),
            "kept": counts(),
            "warnings": 0,
        }

    assert audit_rows(AuditLog.Action.COURSE_IMPORTED) == [
        {**row, "details": imported_details(everything, counts())},
        {**row, "details": imported_details(counts(), everything)},
    ]
    assert audit_rows(AuditLog.Action.COURSE_EXPORTED) == [
        {**row, "details": {"course": str(course.pk), "sections": 2, "lessons": 4}}
    ]
    assert audit_rows(AuditLog.Action.CONTENT_CREATED) == [
        {**row, "details": {"course": str(course.pk), "bulk": counts(sections=1)}}
    ]


# --- Query budgets -----------------------------------------------------------------------------


def big_document(sections: int) -> dict:
    doc = document()
    doc["course"]["sections"] = [
        {
            "client_id": f"s-{n}",
            "title": f"Part {n}",
            "lessons": [
                lesson(f"l-{n}-text", f"text-{n}"),
                quiz_lesson(f"l-{n}-quiz", f"quiz-{n}"),
            ],
        }
        for n in range(sections)
    ]
    return doc


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.json()
    return len(captured)


def test_import_and_export_take_the_same_queries_whatever_the_course_size(staff):
    client = signed_in(staff)
    client.get(export_url(CourseFactory()))  # the author's permissions are cached from here
    counted = {}
    for size in (1, 6):
        doc = big_document(size)
        doc["course"].update(client_id=f"c-{size}", slug=f"course-{size}")
        new = queries(lambda d=doc: client.post(IMPORT_URL, d, format="json"))
        course = Course.objects.get(client_id=f"c-{size}")
        for section in doc["course"]["sections"]:  # every row changes
            section["title"] += "!"
            for item in section["lessons"]:
                item["title"] += "!"
                for question in (item["quiz"] or {}).get("questions", []):
                    question["prompt"] += "!"
        update = queries(lambda d=doc: client.post(IMPORT_URL, d, format="json"))
        same = queries(lambda d=doc: client.post(IMPORT_URL, d, format="json"))
        export = queries(lambda c=course: client.get(export_url(c)))
        counted[size] = (new, update, same, export)

    assert counted[1] == counted[6]
