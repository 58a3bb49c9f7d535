"""Course documents from the command line, and the import's rules that no single API call
shows: swapped slugs, concurrent imports."""

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditLog
from catalog.documents import Tally, course_document_export, course_document_import
from catalog.models import Course, Lesson, Section
from catalog.tests.documents import copy_of, document
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.errors import ApplicationError
from lms.tests.concurrency import run_together


def outline(course: Course) -> list[tuple[str, list[str]]]:
    return [
        (section.title, list(section.lessons.order_by("order").values_list("slug", flat=True)))
        for section in course.sections.order_by("order")
    ]


# --- Commands ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_course_exported_to_a_file_imports_as_a_new_course(tmp_path):
    source = CourseFactory(title="Bachata", slug="bachata", client_id="bachata")
    section = SectionFactory(course=source, title="Basics", order=0)
    LessonFactory(section=section, slug="side-step", order=0)
    path = tmp_path / "bachata.json"

    call_command("course_export", "bachata", "-o", str(path), stderr=StringIO())

    doc = json.loads(path.read_text())
    assert doc == course_document_export(course=source)
    doc["course"].update(client_id="bachata-copy", slug="bachata-copy")
    path.write_text(json.dumps(doc))
    out = StringIO()

    call_command("course_import", str(path), stdout=out, stderr=StringIO())

    copy = Course.objects.get(slug="bachata-copy")
    assert out.getvalue() == (
        f"Created 'Bachata' (bachata-copy, id {copy.pk}).\n  created: 1 courses, 1 sections, "
        "1 lessons\n"
    )
    assert outline(copy) == [("Basics", ["side-step"])]
    imported = AuditLog.objects.get(action=AuditLog.Action.COURSE_IMPORTED)
    assert (imported.actor, imported.target_id) == (None, str(copy.pk))

    out = StringIO()
    call_command("course_import", str(path), stdout=out, stderr=StringIO())

    assert out.getvalue() == (
        f"Updated 'Bachata' (bachata-copy, id {copy.pk}).\n  unchanged: 1 courses, 1 sections, "
        "1 lessons\n"
    )


@pytest.mark.django_db
def test_the_export_command_writes_the_document_to_standard_output():
    course = CourseFactory(slug="salsa")
    out = StringIO()

    call_command("course_export", "salsa", stdout=out)

    assert json.loads(out.getvalue()) == course_document_export(course=course)


@pytest.mark.django_db
def test_a_bad_document_from_the_command_line_names_each_problem_and_writes_nothing(tmp_path):
    doc = copy_of(document())
    doc["course"]["sections"][0]["lessons"][1]["kind"] = "podcast"
    doc["course"]["sections"][1]["lessons"][0]["quiz"] = {"questions": []}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))

    with pytest.raises(CommandError) as raised:
        call_command("course_import", str(path))

    assert str(raised.value) == (
        "VALIDATION_ERROR: Some fields are invalid.\n"
        '  course.sections[0].lessons[1].kind: "podcast" is not a valid choice.'
    )
    doc["course"]["sections"][0]["lessons"][1]["kind"] = "text"
    path.write_text(json.dumps(doc))

    with pytest.raises(CommandError) as raised:
        call_command("course_import", str(path))

    assert str(raised.value) == (
        "VALIDATION_ERROR: Some fields are invalid.\n  course.sections[1].lessons[0].quiz: "
        "Only a quiz lesson has a quiz: make the kind quiz, or send null."
    )
    assert not Course.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not JSON: Expecting property name enclosed in double quotes"),
        ('{"a": NaN}', "is not JSON: NaN is not a JSON number"),
    ],
)
def test_a_file_that_is_not_json_is_refused(tmp_path, text, message):
    path = tmp_path / "doc.json"
    path.write_text(text)

    with pytest.raises(CommandError, match=message):
        call_command("course_import", str(path))


@pytest.mark.django_db
def test_the_import_command_imports_into_the_course_it_is_told(tmp_path):
    course = CourseFactory(slug="salsa", title="Old title")
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document(slug="salsa")))

    call_command("course_import", str(path), "--course", "salsa", stdout=StringIO())

    course.refresh_from_db()
    assert course.title == "Salsa basics"
    assert course.client_id == ""  # its own id stays
    assert outline(course)[0] == ("Getting started", ["welcome", "basic-step"])


@pytest.mark.django_db
def test_the_commands_refuse_a_course_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="No course has the slug 'nope'"):
        call_command("course_export", "nope")
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document()))
    with pytest.raises(CommandError, match="No course has the slug 'nope'"):
        call_command("course_import", str(path), "--course", "nope")


# --- Rules ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_lessons_may_swap_slugs_and_places_in_one_import():
    course = course_document_import(document=document(), actor=None).course
    doc = copy_of(document())
    welcome, basic = doc["course"]["sections"][0]["lessons"]
    welcome["slug"], basic["slug"] = "basic-step", "welcome"
    doc["course"]["sections"][0]["lessons"] = [basic, welcome]

    result = course_document_import(document=doc, actor=None)

    assert result.updated == Tally(lessons=2)
    assert list(
        Lesson.objects.filter(section__client_id="s-start")
        .order_by("order")
        .values_list("client_id", "slug")
    ) == [("l-basic", "welcome"), ("l-welcome", "basic-step")]
    assert course_document_export(course=course) == doc


@pytest.mark.django_db
def test_a_lesson_moves_to_another_section_and_the_places_close_up():
    course = course_document_import(document=document(), actor=None).course
    doc = copy_of(document())
    start, turns = doc["course"]["sections"]
    turns["lessons"].insert(0, start["lessons"].pop(0))

    course_document_import(document=doc, actor=None)

    assert outline(course) == [
        ("Getting started", ["basic-step"]),
        ("Turns", ["welcome", "right-turn", "check"]),
    ]
    assert list(Section.objects.filter(course=course).values_list("order", flat=True)) == [0, 1]


@pytest.mark.django_db
def test_a_failed_import_raises_before_writing_anything():
    doc = document()
    doc["course"]["sections"][1]["client_id"] = "s-start"

    with pytest.raises(ApplicationError) as raised:
        course_document_import(document=doc, actor=None)

    assert raised.value.fields == {
        "course.sections[1].client_id": ["Another section of this document has this client id."]
    }
    assert not Course.objects.exists()
    assert not AuditLog.objects.exists()


# --- Concurrency (PostgreSQL: threads with their own connections, really committing) -------


def _import(doc: dict):
    def attempt() -> str:
        try:
            result = course_document_import(document=doc, actor=None)
        except ApplicationError as error:
            return str(error.code)
        if result.course_created:
            return "created"
        return "updated" if result.updated else "unchanged"

    return attempt


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_new_course_create_it_once():
    results = run_together([_import(document()) for _ in range(4)])

    assert Counter(results) == {"created": 1, "unchanged": 3}
    assert Course.objects.count() == 1
    assert Lesson.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_change_apply_it_once():
    course_document_import(document=document(), actor=None)
    changed = document(title="Salsa, again")

    results = run_together([_import(changed) for _ in range(4)])

    assert Counter(results) == {"updated": 1, "unchanged": 3}
    assert Course.objects.get().title == "Salsa, again"
    assert AuditLog.objects.filter(action=AuditLog.Action.COURSE_IMPORTED).count() == 5
