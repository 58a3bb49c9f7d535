"""A section's offline manifest: what an app needs to show the section without a network.

The manifest holds the published lessons of one section with their notes rendered to HTML,
quizzes without their answers or explanations (a quiz is shown offline and submitted once
online: grading stays on the server), the attachments' sizes and SHA-256 hashes, and each
video's id, duration and whether it can be downloaded. It holds nothing that varies with time
or with the learner (no URLs, no dates, no access decisions), so its canonical JSON (sorted
keys, no spaces, UTF-8) and that JSON's SHA-256, the bundle's version, change only when the
content an app shows changes. The update check hands out the URLs separately.

`section_manifest` reads only what `sections_for_bundles` loaded, except for attachments
whose hash is not known yet (`media.downloads.file_sha256_ensure` reads the file once).
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import Prefetch, QuerySet

from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from catalog.quizzes import choice_html
from lms.errors import TransientError
from lms.markdown import render_markdown
from media.downloads import file_sha256_ensure, video_downloadable
from media.models import StoredFile, Video
from media.storage import StorageError

FORMAT = "lms.bundle"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """A built manifest: the document, its canonical bytes and what the bundle row records."""

    document: dict[str, Any]
    content: bytes
    version: str
    size: int  # the manifest and its attachments, in bytes
    previews_only: bool


def canonical_json(document: dict[str, Any]) -> bytes:
    """The one byte string a manifest is hashed and served as."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sections_for_bundles(*, course: Course) -> QuerySet[Section]:
    """The course's sections with everything a manifest shows, in a fixed number of queries
    (sections, lessons with their videos, quizzes, questions, choices, attachments)."""
    choices = Choice.objects.order_by("order", "text", "id")
    questions = Question.objects.order_by("order", "id").prefetch_related(
        Prefetch("choices", queryset=choices)
    )
    quizzes = Quiz.objects.prefetch_related(Prefetch("questions", queryset=questions))
    attachments = StoredFile.objects.filter(
        status=StoredFile.Status.CONFIRMED, deleted_at__isnull=True
    ).order_by("title", "key")
    lessons = (
        # Hidden lessons exist for learners nowhere, so never in what they take offline.
        Lesson.objects.filter(is_published=True, is_hidden=False)
        .select_related("video")
        .prefetch_related(
            Prefetch("quiz", queryset=quizzes),
            Prefetch("attachments", queryset=attachments),
        )
        .order_by("order", "id")
    )
    return (
        Section.objects.filter(course=course, is_hidden=False)  # hidden: no bundle at all
        .prefetch_related(Prefetch("lessons", queryset=lessons, to_attr="bundle_lessons"))
        .order_by("order", "id")
    )


def section_manifest(*, course: Course, section: Section) -> Manifest | None:
    """The manifest of one section loaded by `sections_for_bundles`; None when it has no
    published lesson (there is nothing to take offline).

    Raises TransientError when the storage could not be read to hash an attachment, so the
    build is retried later instead of storing a manifest without the hash.
    """
    lessons: list[Lesson] = section.bundle_lessons
    if not lessons:
        return None
    entries = [_lesson_entry(lesson) for lesson in lessons]
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "course": {"id": str(course.pk), "slug": course.slug, "title": course.title},
        "section": {"id": str(section.pk), "title": section.title, "order": section.order},
        "lessons": entries,
    }
    content = canonical_json(document)
    files = sum(item["size"] or 0 for entry in entries for item in entry["attachments"])
    return Manifest(
        document=document,
        content=content,
        version=hashlib.sha256(content).hexdigest(),
        size=len(content) + files,
        previews_only=all(lesson.is_free_preview for lesson in lessons),
    )


def _lesson_entry(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": str(lesson.pk),
        "slug": lesson.slug,
        "title": lesson.title,
        "kind": lesson.kind,
        "order": lesson.order,
        "duration_seconds": lesson.duration_seconds,
        "xp_value": lesson.xp_value,
        "is_free_preview": lesson.is_free_preview,
        "is_boss": lesson.is_boss,
        "is_required": lesson.is_required,
        "body_html": str(render_markdown(lesson.body)),
        "quiz": _quiz_entry(lesson),
        "attachments": [_attachment_entry(file) for file in lesson.attachments.all()],
        "video": _video_entry(lesson.video),
    }


def _quiz_entry(lesson: Lesson) -> dict[str, Any] | None:
    """The quiz as a learner sees it before answering: no correct flags, accepted answers or
    explanations."""
    if lesson.kind != Lesson.Kind.QUIZ:
        return None
    try:
        quiz = lesson.quiz
    except Quiz.DoesNotExist:
        return None
    return {
        "pass_mark": quiz.pass_mark,
        "max_attempts": quiz.max_attempts,
        "retry_wait_minutes": quiz.retry_wait_minutes,
        "reveal_answers": quiz.reveal_answers,
        "questions": [
            {
                "id": str(question.pk),
                "kind": question.kind,
                "prompt_html": str(render_markdown(question.prompt)),
                "points": question.points,
                "choices": [
                    {"id": str(choice.pk), "text_html": str(choice_html(choice.text))}
                    for choice in question.choices.all()
                ],
            }
            for question in quiz.questions.all()
        ],
    }


def _attachment_entry(file: StoredFile) -> dict[str, Any]:
    return {
        "id": str(file.pk),
        "title": file.title,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": _sha256(file),
    }


def _sha256(file: StoredFile) -> str | None:
    """The file's hash; None when storage has no object for it (it cannot be downloaded
    either, and an upload of the object later changes the bundle)."""
    try:
        return file_sha256_ensure(file=file)
    except StorageError:
        return None
    except (BotoCoreError, ClientError, OSError) as exc:
        raise TransientError(f"Could not read {file.key} to hash it") from exc


def _video_entry(video: Video | None) -> dict[str, Any] | None:
    if video is None or video.deleted_at is not None:
        return None
    duration = video.duration_seconds
    return {
        "id": str(video.pk),
        "duration_seconds": round(duration, 1) if duration is not None else None,
        # Whether it had downloads when built (no URL made, whatever this site's keys): the
        # update check asks `media.downloads` again, so renditions Mux finishes later are
        # offered at once.
        "downloadable": video_downloadable(video=video),
    }


def manifest_attachment_ids(document: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(lesson id, file id) of every attachment a manifest lists."""
    for lesson in document.get("lessons", []):
        for attachment in lesson.get("attachments", []):
            yield lesson["id"], attachment["id"]


def manifest_video_ids(document: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(lesson id, video id) of every video a manifest lists."""
    for lesson in document.get("lessons", []):
        video = lesson.get("video")
        if video:
            yield lesson["id"], video["id"]
