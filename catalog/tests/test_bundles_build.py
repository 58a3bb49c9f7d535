"""Offline bundles, the build: one content-addressed manifest per section, rebuilt when the
course changes, a new version only for sections whose content changed."""

# The moto fixtures are imported from media's conftest, so tests naming them redefine them.
# ruff: noqa: F811

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.bundles.models import SectionBundle
from catalog.bundles.tasks import bundles_refresh, course_bundles_build
from catalog.changes import course_content_changed
from catalog.models import Course, Lesson, Question
from catalog.quizzes import question_update
from catalog.services import (
    course_set_status,
    course_update,
    lesson_attachments_set,
    lesson_update,
    section_delete,
    section_update,
)
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    course_with_lessons,
    quiz_with_questions,
)
from media.models import StoredFile, Video
from media.tests.conftest import s3, s3_server  # noqa: F401  (the loopback S3 fixtures)

pytestmark = pytest.mark.django_db


# --- Helpers shared by the bundle tests --------------------------------------------------------


def salsa_course(**course_kwargs) -> Course:
    """ "Salsa" with two sections: Basics (a text lesson, a quiz, an unpublished draft) and
    Turns (one video lesson)."""
    course = CourseFactory(slug="salsa", title="Salsa", **course_kwargs)
    basics = SectionFactory(course=course, title="Basics", order=0)
    turns = SectionFactory(course=course, title="Turns", order=1)
    LessonFactory(
        section=basics, slug="basic-step", title="Basic step", order=0, body="Step *left*."
    )
    quiz_lesson = LessonFactory(
        section=basics, slug="check", title="Check", order=1, kind=Lesson.Kind.QUIZ, body=""
    )
    quiz_with_questions(lesson=quiz_lesson)
    LessonFactory(section=basics, slug="draft", title="Draft", order=2, is_published=False)
    video = Video.objects.create(
        title="Turn",
        status=Video.Status.READY,
        playback_id="turn-playback",
        duration_seconds=93.25,
    )
    LessonFactory(
        section=turns,
        slug="right-turn",
        title="Right turn",
        order=0,
        kind=Lesson.Kind.VIDEO,
        video=video,
        body="",
    )
    return course


def build(course: Course) -> None:
    """Run the build task as a worker would (eager in tests)."""
    course_bundles_build.delay(course_id=str(course.pk))


def current(course: Course) -> dict[str, SectionBundle]:
    """The current bundle of each section, by section title."""
    bundles = SectionBundle.objects.filter(course=course, superseded_at__isnull=True)
    return {bundle.section.title: bundle for bundle in bundles.select_related("section")}


def versions(course: Course) -> dict[str, str]:
    return {title: bundle.version for title, bundle in current(course).items()}


def served_bytes(bundle: SectionBundle) -> bytes:
    return json.dumps(
        bundle.manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


# --- The manifest ------------------------------------------------------------------------------


def test_a_published_course_gets_one_bundle_per_section_with_its_published_lessons():
    course = salsa_course()

    build(course)

    bundles = current(course)
    assert sorted(bundles) == ["Basics", "Turns"]
    basics = bundles["Basics"]
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(course=course)}
    quiz = lessons["check"].quiz
    single, multiple, short = quiz.questions.order_by("order")
    assert basics.manifest == {
        "format": "lms.bundle",
        "format_version": 1,
        "course": {"id": str(course.pk), "slug": "salsa", "title": "Salsa"},
        "section": {"id": str(basics.section_id), "title": "Basics", "order": 0},
        "lessons": [
            {
                "id": str(lessons["basic-step"].pk),
                "slug": "basic-step",
                "title": "Basic step",
                "kind": "text",
                "order": 0,
                "duration_seconds": 300,
                "xp_value": 10,
                "is_free_preview": False,
                "is_boss": False,
                "is_required": True,
                "body_html": "<p>Step <em>left</em>.</p>",
                "quiz": None,
                "attachments": [],
                "video": None,
            },
            {
                "id": str(lessons["check"].pk),
                "slug": "check",
                "title": "Check",
                "kind": "quiz",
                "order": 1,
                "duration_seconds": 300,
                "xp_value": 10,
                "is_free_preview": False,
                "is_boss": False,
                "is_required": True,
                "body_html": "",
                # No correct flags, accepted answers or explanations: grading stays online.
                "quiz": {
                    "pass_mark": 70,
                    "max_attempts": 3,
                    "retry_wait_minutes": 0,
                    "reveal_answers": "after_last_attempt",
                    "questions": [
                        {
                            "id": str(single.pk),
                            "kind": "single",
                            "prompt_html": "<p>Beats in a bar?</p>",
                            "points": 1,
                            "choices": [
                                {"id": str(choice.pk), "text_html": choice.text}
                                for choice in single.choices.order_by("order")
                            ],
                        },
                        {
                            "id": str(multiple.pk),
                            "kind": "multiple",
                            "prompt_html": "<p>Which are directions?</p>",
                            "points": 1,
                            "choices": [
                                {"id": str(choice.pk), "text_html": choice.text}
                                for choice in multiple.choices.order_by("order")
                            ],
                        },
                        {
                            "id": str(short.pk),
                            "kind": "short",
                            "prompt_html": "<p>Counts in a dance phrase?</p>",
                            "points": 1,
                            "choices": [],
                        },
                    ],
                },
                "attachments": [],
                "video": None,
            },
        ],
    }
    assert "eight" not in json.dumps(basics.manifest)  # the accepted answers stay home
    content = served_bytes(basics)
    assert basics.version == hashlib.sha256(content).hexdigest()
    assert (basics.manifest_size, basics.size, basics.previews_only) == (
        len(content),
        len(content),
        False,
    )
    turn = Lesson.objects.get(slug="right-turn")
    assert bundles["Turns"].manifest["lessons"][0]["video"] == {
        "id": str(turn.video_id),
        "duration_seconds": 93.2,
        # A Mux video without static renditions has nothing to download.
        "downloadable": False,
    }


def test_attachments_travel_with_their_size_and_hash(s3, on_commit):
    course = salsa_course()
    handout = StoredFile(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title="Footwork.pdf",
        content_type="application/pdf",
        size=len(b"%PDF-1.4 footwork"),
        status=StoredFile.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    handout.key = f"attachments/{handout.id}.pdf"
    handout.save()
    s3["client"].put_object(Bucket=s3["bucket"], Key=handout.key, Body=b"%PDF-1.4 footwork")
    lesson = Lesson.objects.get(slug="basic-step")

    with on_commit(execute=True):
        lesson_attachments_set(lesson=lesson, files=[handout])

    basics = current(course)["Basics"]
    assert basics.manifest["lessons"][0]["attachments"] == [
        {
            "id": str(handout.pk),
            "title": "Footwork.pdf",
            "content_type": "application/pdf",
            "size": 17,
            "sha256": hashlib.sha256(b"%PDF-1.4 footwork").hexdigest(),
        }
    ]
    assert basics.size == basics.manifest_size + 17


# --- Versions ----------------------------------------------------------------------------------


def test_an_edit_gives_a_new_version_only_to_the_section_it_changed(on_commit):
    course = salsa_course()
    build(course)
    before = current(course)

    with on_commit(execute=True):
        lesson_update(lesson=Lesson.objects.get(slug="basic-step"), data={"title": "Side step"})

    after = current(course)
    assert after["Turns"].pk == before["Turns"].pk
    assert after["Turns"].version == before["Turns"].version
    assert after["Basics"].version != before["Basics"].version
    assert after["Basics"].manifest["lessons"][0]["title"] == "Side step"
    # The replaced version stays (an app may be downloading it) until the purge.
    old = SectionBundle.objects.get(pk=before["Basics"].pk)
    assert old.superseded_at is not None
    assert SectionBundle.objects.filter(course=course).count() == 3


def test_an_edit_of_what_no_bundle_holds_keeps_every_version(on_commit):
    course = salsa_course()
    build(course)
    before = {bundle.pk for bundle in SectionBundle.objects.all()}

    with on_commit(execute=True):
        course_update(course=course, data={"description": "All about *salsa*."})
        lesson_update(lesson=Lesson.objects.get(slug="draft"), data={"body": "Still a draft."})

    assert {bundle.pk for bundle in SectionBundle.objects.all()} == before


def test_a_quiz_edit_changes_the_version_of_its_section(on_commit):
    course = salsa_course()
    build(course)
    before = versions(course)
    question = Question.objects.get(prompt="Beats in a bar?")

    with on_commit(execute=True):
        question_update(question=question, data={"prompt": "How many beats in a bar?"})

    after = versions(course)
    assert after["Turns"] == before["Turns"]
    assert after["Basics"] != before["Basics"]


def test_renaming_a_section_back_brings_back_its_earlier_version(on_commit):
    course = salsa_course()
    build(course)
    original = current(course)["Turns"]
    turns = original.section

    with on_commit(execute=True):
        section_update(section=turns, data={"title": "Spins"})
    with on_commit(execute=True):
        section_update(section=turns, data={"title": "Turns"})

    back = current(course)["Turns"]
    assert (back.pk, back.version) == (original.pk, original.version)
    assert SectionBundle.objects.filter(section=turns).count() == 2


def test_building_again_without_changes_stores_nothing():
    course = salsa_course()
    build(course)
    rows = list(SectionBundle.objects.values_list("pk", "version", "built_at", "superseded_at"))

    build(course)
    build(course)

    assert list(
        SectionBundle.objects.values_list("pk", "version", "built_at", "superseded_at")
    ) == (rows)


# --- What has no bundle ------------------------------------------------------------------------


def test_a_draft_course_has_no_bundles_and_unpublishing_removes_them(on_commit):
    draft = salsa_course(draft=True)
    build(draft)
    assert current(draft) == {}

    with on_commit(execute=True):
        course_set_status(course=draft, status=Course.Status.PUBLISHED)
    assert sorted(current(draft)) == ["Basics", "Turns"]

    with on_commit(execute=True):
        course_set_status(course=draft, status=Course.Status.DRAFT)

    assert current(draft) == {}


def test_an_archived_course_keeps_its_bundles_for_the_learners_who_have_it(on_commit):
    course = salsa_course()
    build(course)
    before = versions(course)

    with on_commit(execute=True):
        course_set_status(course=course, status=Course.Status.ARCHIVED)

    assert versions(course) == before


def test_a_section_without_published_lessons_has_no_bundle(on_commit):
    course = salsa_course()
    build(course)

    with on_commit(execute=True):
        lesson_update(lesson=Lesson.objects.get(slug="right-turn"), data={"is_published": False})

    assert sorted(current(course)) == ["Basics"]


def test_deleting_a_section_drops_its_bundles(on_commit):
    course = salsa_course()
    build(course)
    turns = current(course)["Turns"].section

    with on_commit(execute=True):
        section_delete(section=turns)

    assert sorted(current(course)) == ["Basics"]
    assert not SectionBundle.objects.filter(section_id=turns.pk).exists()


# --- Queueing, refresh and purge ---------------------------------------------------------------


def test_many_changes_in_one_transaction_queue_one_build(django_capture_on_commit_callbacks):
    course = salsa_course()

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for slug in ("basic-step", "check", "right-turn"):
            lesson_update(lesson=Lesson.objects.get(slug=slug), data={"xp_value": 20})
        course_content_changed(course_id=course.pk)

    builds = [callback for callback in callbacks if getattr(callback, "course_id", None)]
    assert [callback.course_id for callback in builds] == [str(course.pk)]


def test_a_change_rolled_back_queues_no_build(django_capture_on_commit_callbacks):
    course = salsa_course()

    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                course_content_changed(course_id=course.pk)
                raise RuntimeError("the edit failed")
        except RuntimeError:
            pass
        course_content_changed(course_id=course.pk)  # a later change still queues its build

    # (The other callbacks bump the content versions and drop cached rules after commit.)
    builds = [callback for callback in callbacks if hasattr(callback, "pending_for")]
    assert [callback.course_id for callback in builds] == [str(course.pk)]


def test_the_refresh_builds_what_no_change_queued_and_purges_old_versions():
    course = salsa_course()
    other = course_with_lessons(2, sections=1)
    build(course)
    old = current(course)["Basics"]
    # A change whose build was lost (a dead worker): only the refresh builds it.
    Lesson.objects.filter(slug="basic-step").update(title="Side step")
    day_ago = timezone.now() - timedelta(hours=25)
    SectionBundle.objects.filter(pk=old.pk).update(built_at=day_ago)

    bundles_refresh.delay()

    assert current(course)["Basics"].manifest["lessons"][0]["title"] == "Side step"
    assert sorted(current(other)) == ["Part 1"]
    # Replaced just now: kept for LMS_BUNDLE_KEEP_HOURS; replaced 25 hours ago: purged.
    assert SectionBundle.objects.filter(pk=old.pk).exists()
    SectionBundle.objects.filter(pk=old.pk).update(superseded_at=day_ago)
    bundles_refresh.delay()
    assert not SectionBundle.objects.filter(pk=old.pk).exists()


def test_the_build_reads_a_fixed_number_of_queries_whatever_the_course_size(
    django_assert_max_num_queries,
):
    small = course_with_lessons(3, sections=1)
    large = course_with_lessons(60, sections=6)
    with django_assert_max_num_queries(20) as small_queries:
        build(small)
    with django_assert_max_num_queries(20) as large_queries:
        build(large)

    assert len(large_queries) == len(small_queries)
    assert len(current(large)) == 6


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """`with on_commit(execute=True):` runs what the block queued after commit, as a real
    commit would (the build, eagerly)."""
    return django_capture_on_commit_callbacks


def test_beat_refreshes_the_bundles_daily_with_a_registered_task():
    from django.conf import settings as django_settings

    from lms.celery import app

    entries = [
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "catalog.bundles.tasks.bundles_refresh"
    ]

    assert [entry["schedule"] for entry in entries] == [86400.0]
    assert "catalog.bundles.tasks.bundles_refresh" in app.tasks
    assert "catalog.bundles.tasks.course_bundles_build" in app.tasks
