"""Exporting a course as a course document (version 1), the shape the import reads.

Ten queries whatever the course's size. Normalised on the way out: `client_id` is the
row's client id or its uuid; orders become list order; a short answer's accepted answers are
its non-empty lines, trimmed; attachments are the linked files a lesson offers (confirmed,
not deleted), by title; a lesson that is not a quiz has `quiz: null`.
"""

from collections import defaultdict
from typing import Any

from django.db.models import Model
from rest_framework import serializers

from accounts.models import AuditLog, User
from accounts.services import audit_record
from billing.models import Tier
from catalog.documents.format import FORMAT, VERSION
from catalog.documents.plan import Requires, Through, linkable_files
from catalog.models import Choice, Course, Lesson, Question, Quiz, Section

COURSE_FIELDS = (
    "slug",
    "title",
    "subtitle",
    "description",
    "course_type",
    "difficulty",
    "locale",
    "visibility",
    "progression",
)
SECTION_RULE_FIELDS = ("is_hidden", "release_after_days", "release_from")
LESSON_FIELDS = (
    "slug",
    "title",
    "kind",
    "body",
    "duration_seconds",
    "is_free_preview",
    "is_published",
    "is_hidden",
    "xp_value",
    "is_boss",
    "is_required",
)
QUIZ_FIELDS = ("pass_mark", "max_attempts", "retry_wait_minutes", "reveal_answers")


def client_id_of(row: Model) -> str:
    return row.client_id or str(row.pk)


def course_document_export(*, course: Course, actor: User | None = None) -> dict[str, Any]:
    """The course as a document (JSON data), audited as COURSE_EXPORTED (details: counts)."""
    content = _Content(course)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "course": {
            "client_id": client_id_of(course),
            **{name: getattr(course, name) for name in COURSE_FIELDS},
            "required_tier": content.tier_slug,
            "prerequisite_courses": content.prerequisite_courses,
            "sections": [content.section(section) for section in content.sections],
        },
    }
    audit_record(
        action=AuditLog.Action.COURSE_EXPORTED,
        actor=actor,
        target=course,
        details={
            "course": str(course.pk),
            "sections": len(content.sections),
            "lessons": sum(len(lessons) for lessons in content.lessons.values()),
        },
    )
    return document


class _Content:
    """The course's rows, loaded once and grouped by parent."""

    def __init__(self, course: Course) -> None:
        self.tier_slug = (
            Tier.objects.filter(pk=course.required_tier_id).values_list("slug", flat=True).first()
            if course.required_tier_id
            else None
        )
        self.sections = list(Section.objects.filter(course=course).order_by("order"))
        self.prerequisite_courses = sorted(
            course.prerequisite_courses.values_list("slug", flat=True)
        )
        self.requires: dict[Any, list[str]] = defaultdict(list)
        links = Requires.objects.filter(from_section__course=course).select_related("to_section")
        for link in links.order_by("to_section__order"):
            self.requires[link.from_section_id].append(client_id_of(link.to_section))
        self.lessons: dict[Any, list[Lesson]] = defaultdict(list)
        lessons = Lesson.objects.filter(course=course).select_related("video").order_by("order")
        for lesson in lessons:
            self.lessons[lesson.section_id].append(lesson)
        self.files: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        links = Through.objects.filter(
            lesson__course=course, storedfile__in=linkable_files().values("pk")
        ).select_related("storedfile")
        for link in links.order_by("storedfile__title", "storedfile__key"):
            file = link.storedfile
            self.files[link.lesson_id].append({"id": str(file.pk), "title": file.title})
        self.quizzes = {quiz.lesson_id: quiz for quiz in Quiz.objects.filter(lesson__course=course)}
        self.questions: dict[Any, list[Question]] = defaultdict(list)
        for question in Question.objects.filter(quiz__lesson__course=course).order_by("order"):
            self.questions[question.quiz_id].append(question)
        self.choices: dict[Any, list[Choice]] = defaultdict(list)
        choices = Choice.objects.filter(question__quiz__lesson__course=course)
        for choice in choices.order_by("order", "text"):
            self.choices[choice.question_id].append(choice)

    def section(self, section: Section) -> dict[str, Any]:
        release_at = section.release_at
        return {
            "client_id": client_id_of(section),
            "title": section.title,
            **{name: getattr(section, name) for name in SECTION_RULE_FIELDS},
            # As the API writes instants (ISO 8601 with the offset), so the document is JSON.
            "release_at": serializers.DateTimeField().to_representation(release_at)
            if release_at
            else None,
            "prerequisites": self.requires[section.pk],
            "lessons": [self.lesson(lesson) for lesson in self.lessons[section.pk]],
        }

    def lesson(self, lesson: Lesson) -> dict[str, Any]:
        video = lesson.video
        return {
            "client_id": client_id_of(lesson),
            **{name: getattr(lesson, name) for name in LESSON_FIELDS},
            "video": {"id": str(video.pk), "title": video.title} if video else None,
            "attachments": self.files[lesson.pk],
            "quiz": self.quiz(lesson),
        }

    def quiz(self, lesson: Lesson) -> dict[str, Any] | None:
        quiz = self.quizzes.get(lesson.pk)
        if lesson.kind != Lesson.Kind.QUIZ or quiz is None:
            return None
        return {
            **{name: getattr(quiz, name) for name in QUIZ_FIELDS},
            "questions": [self.question(question) for question in self.questions[quiz.pk]],
        }

    def question(self, question: Question) -> dict[str, Any]:
        return {
            "client_id": client_id_of(question),
            "kind": question.kind,
            "prompt": question.prompt,
            "explanation": question.explanation,
            "accepted_answers": question.accepted_answer_list,
            "points": question.points,
            "choices": [
                {
                    "client_id": client_id_of(choice),
                    "text": choice.text,
                    "is_correct": choice.is_correct,
                }
                for choice in self.choices[question.pk]
            ],
        }
