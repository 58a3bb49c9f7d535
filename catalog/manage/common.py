"""What every operation of the authoring API does the same way: retried creates by client id,
edits that send only what changes, and the reads of what authors see (drafts, unpublished
lessons, quiz answers), each in a fixed number of queries."""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Prefetch, QuerySet
from rest_framework import status
from rest_framework.response import Response

from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from lms.errors import ApplicationError, ErrorCode
from media.models import StoredFile

Row = TypeVar("Row", bound=models.Model)


def create_retryable(
    *,
    client_id: str,
    existing: Callable[[], Row | None],
    elsewhere: Callable[[], bool],
    create: Callable[[], Row],
) -> tuple[Row, bool]:
    """The row a create with this client id made (and False), or a new one (and True).

    `existing` finds the row the same create made before (same parent); `elsewhere` says
    whether the client id names another row where it must be unique (409 CLIENT_ID_CONFLICT).
    Two creates racing with one client id both answer with the one row that won.
    """
    if client_id:
        found = existing()
        if found is not None:
            return found, False
        if elsewhere():
            raise ApplicationError(ErrorCode.CLIENT_ID_CONFLICT)
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        # Another create committed first (the checks before saving passed for both).
        found = existing() if client_id else None
        if found is not None:
            return found, False
        if client_id and elsewhere():
            raise ApplicationError(ErrorCode.CLIENT_ID_CONFLICT) from None
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            "Another item took this slug or place at the same moment: send it again.",
        ) from None


def created_response(data: Any, created: bool) -> Response:
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def changes_of(row: models.Model, data: Mapping[str, Any]) -> dict[str, Any]:
    """The values in `data` that differ from the row's: a PATCH sending a field unchanged
    writes nothing and audits nothing."""
    changes = {}
    for name, value in data.items():
        field = row._meta.get_field(name)
        if field.many_to_many:
            changes[name] = value  # compared by the caller, which knows the current set
        elif getattr(row, field.attname if field.is_relation else name) != (
            getattr(value, "pk", value) if field.is_relation else value
        ):
            changes[name] = value
    return changes


# --- Reads ------------------------------------------------------------------------------------

_LESSON_OUTLINE_FIELDS = (
    "id",
    "client_id",
    "slug",
    "title",
    "kind",
    "order",
    "duration_seconds",
    "is_free_preview",
    "is_published",
    "is_hidden",
    "xp_value",
    "is_boss",
    "is_required",
    "section_id",
    "course_id",
)


def _outline_lessons() -> QuerySet[Lesson]:
    return Lesson.objects.only(*_LESSON_OUTLINE_FIELDS).order_by("order")


def sections_with_lessons(queryset: QuerySet[Section]) -> QuerySet[Section]:
    """Sections in order with their lessons (outline fields) and the ids of their
    prerequisites: three queries, whatever the size."""
    return queryset.order_by("order").prefetch_related(
        Prefetch("lessons", queryset=_outline_lessons()),
        Prefetch("prerequisites", queryset=Section.objects.only("id")),
    )


def course_with_outline(course: Course) -> Course:
    """The course again, with its tier, instructors, prerequisite courses, sections (and
    theirs) and lessons: seven queries."""
    return (
        Course.objects.select_related("required_tier")
        .prefetch_related(
            "instructors",
            _prerequisite_courses(),
            Prefetch("sections", queryset=sections_with_lessons(Section.objects.all())),
        )
        .get(pk=course.pk)
    )


def _prerequisite_courses() -> Prefetch:
    return Prefetch("prerequisite_courses", queryset=Course.objects.only("id"))


def courses_for_list(queryset: QuerySet[Course]) -> QuerySet[Course]:
    return queryset.select_related("required_tier").prefetch_related(
        "instructors", _prerequisite_courses()
    )


def lesson_in_full(lesson: Lesson) -> Lesson:
    """The lesson again, with its course, video and attachments (by title): two queries."""
    files = StoredFile.objects.order_by("title", "key")
    return (
        Lesson.objects.select_related("course", "video")
        .prefetch_related(Prefetch("attachments", queryset=files))
        .get(pk=lesson.pk)
    )


def quiz_in_full(quiz: Quiz) -> Quiz:
    """The quiz with its questions and their choices, in order: three queries."""
    questions = Question.objects.order_by("order").prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("order", "text"))
    )
    return Quiz.objects.prefetch_related(Prefetch("questions", queryset=questions)).get(pk=quiz.pk)


def question_in_full(question: Question) -> Question:
    return Question.objects.prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("order", "text"))
    ).get(pk=question.pk)
