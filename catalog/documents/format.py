"""The course document, version 1: its shape as serializers (they are also the API schema's
components), its limits, and reading one into validated data with errors named by path.

    {"format": "lms.course", "version": 1, "course": {client_id, slug, title, ...,
     progression, prerequisite_courses: [slugs],
     "sections": [{client_id, title, is_hidden, prerequisites: [section client ids],
     release_at, release_after_days, release_from,
     "lessons": [{client_id, slug, title, kind, ..., is_hidden,
     video, attachments, "quiz": null | {rules, "questions": [{..., "choices": [...]}]}}]}]}}

Every item carries a `client_id` (the exporting school's id for it: a row's own client id,
or its uuid); order is list order. README "Course documents" says what each field means.
Errors name the failing item by its path in the document, like
`course.sections[2].lessons[0].slug`, so a client can point at it.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

from catalog.models import (
    Course,
    Lesson,
    Question,
    Quiz,
    Section,
    validate_course_slug,
    validate_lesson_slug,
)
from catalog.services import RELEASE_AFTER_DAYS_MAX
from lms.errors import ApplicationError, ErrorCode

FORMAT = "lms.course"
VERSION = 1

# Limits inside one item; the number of sections and lessons is a setting
# (LMS_COURSE_DOCUMENT_MAX_LESSONS), checked before anything else is read.
MAX_QUESTIONS_PER_QUIZ = 200
MAX_CHOICES_PER_QUESTION = 20
MAX_ACCEPTED_ANSWERS = 50
MAX_ATTACHMENTS_PER_LESSON = 50
MAX_PREREQUISITES = 100
# The database's column limits (PostgreSQL integer and smallint).
INTEGER_MAX = 2_147_483_647
SMALL_INTEGER_MAX = 32_767


def max_items() -> int:
    return settings.LMS_COURSE_DOCUMENT_MAX_LESSONS


def client_id_field(what: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=100,
        help_text=(
            f"The exporting school's id for this {what} (a client id, or its uuid there). "
            "Importing again with the same id updates the same row."
        ),
    )


def markdown_field(**kwargs: Any) -> serializers.CharField:
    # Markdown keeps its whitespace: trimming it would make an export and its re-import differ.
    return serializers.CharField(trim_whitespace=False, **kwargs)


@extend_schema_serializer(component_name="CourseDocumentMediaRef")
class MediaRefSerializer(serializers.Serializer):
    """A video or file of the exporting school. Media do not travel: an import links the one
    with this id when this site has it (and the author may link it), else warns."""

    id = serializers.UUIDField()
    title = serializers.CharField(
        max_length=200, allow_blank=True, required=False, default="", help_text="For people."
    )


@extend_schema_serializer(component_name="CourseDocumentChoice")
class ChoiceDocumentSerializer(serializers.Serializer):
    client_id = client_id_field("choice")
    text = serializers.CharField(max_length=300, help_text="Markdown, on one line.")
    is_correct = serializers.BooleanField(required=False, default=False)


class AcceptedAnswerField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if "\n" in value or "\r" in value:
            raise serializers.ValidationError(_("One accepted answer per item, on one line."))
        return value


@extend_schema_serializer(component_name="CourseDocumentQuestion")
class QuestionDocumentSerializer(serializers.Serializer):
    client_id = client_id_field("question")
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    prompt = markdown_field(help_text="Markdown.")
    explanation = markdown_field(allow_blank=True, required=False, default="")
    accepted_answers = serializers.ListField(
        child=AcceptedAnswerField(),
        max_length=MAX_ACCEPTED_ANSWERS,
        required=False,
        default=list,
        help_text="Short answer only: the answers accepted, ignoring case and extra spaces.",
    )
    points = serializers.IntegerField(
        min_value=0, max_value=SMALL_INTEGER_MAX, required=False, default=1
    )
    choices = ChoiceDocumentSerializer(
        many=True, max_length=MAX_CHOICES_PER_QUESTION, required=False, default=list
    )


@extend_schema_serializer(component_name="CourseDocumentQuiz")
class QuizDocumentSerializer(serializers.Serializer):
    """A quiz lesson's quiz. It is one value of its lesson: importing it makes the quiz exactly
    this (questions and choices not listed are deleted; attempts keep their snapshots)."""

    pass_mark = serializers.IntegerField(min_value=0, max_value=100, required=False, default=70)
    max_attempts = serializers.IntegerField(
        min_value=1,
        max_value=Quiz.MAX_ATTEMPTS_LIMIT,
        allow_null=True,
        required=False,
        default=Quiz.DEFAULT_MAX_ATTEMPTS,
        help_text="Null for unlimited.",
    )
    retry_wait_minutes = serializers.IntegerField(
        min_value=0,
        max_value=Quiz.RETRY_WAIT_MINUTES_LIMIT,
        required=False,
        default=Quiz.DEFAULT_RETRY_WAIT_MINUTES,
    )
    reveal_answers = serializers.ChoiceField(
        choices=Quiz.Reveal.choices, required=False, default=Quiz.Reveal.AFTER_LAST_ATTEMPT
    )
    questions = QuestionDocumentSerializer(
        many=True, max_length=MAX_QUESTIONS_PER_QUIZ, required=False, default=list
    )


@extend_schema_serializer(component_name="CourseDocumentLesson")
class LessonDocumentSerializer(serializers.Serializer):
    client_id = client_id_field("lesson")
    slug = serializers.SlugField(
        max_length=80,
        allow_blank=True,
        required=False,
        default="",
        validators=[validate_lesson_slug],
        help_text="Unique in the course; empty or missing: made from the title.",
    )
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(
        choices=Lesson.Kind.choices, required=False, default=Lesson.Kind.TEXT
    )
    body = markdown_field(allow_blank=True, required=False, default="", help_text="Markdown.")
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=INTEGER_MAX, required=False, default=0
    )
    is_free_preview = serializers.BooleanField(required=False, default=False)
    is_published = serializers.BooleanField(required=False, default=True)
    is_hidden = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Published but absent for learners; not counted for completion.",
    )
    xp_value = serializers.IntegerField(
        min_value=0, max_value=INTEGER_MAX, required=False, default=10
    )
    is_boss = serializers.BooleanField(required=False, default=False)
    is_required = serializers.BooleanField(required=False, default=True)
    video = MediaRefSerializer(allow_null=True, required=False, default=None)
    attachments = MediaRefSerializer(
        many=True, max_length=MAX_ATTACHMENTS_PER_LESSON, required=False, default=list
    )
    quiz = QuizDocumentSerializer(
        allow_null=True,
        required=False,
        default=None,
        help_text="Quiz lessons only; null leaves a quiz lesson's quiz as it is (mode replace: "
        "deletes it).",
    )


@extend_schema_serializer(component_name="CourseDocumentSection")
class SectionDocumentSerializer(serializers.Serializer):
    client_id = client_id_field("section")
    title = serializers.CharField(max_length=200)
    is_hidden = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Absent for learners; staff and the course's instructors still see it.",
    )
    prerequisites = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=MAX_PREREQUISITES,
        required=False,
        default=list,
        help_text="The client ids of sections of this document learners complete first "
        "(a bulk create may also name the course's sections already there).",
    )
    release_at = serializers.DateTimeField(
        allow_null=True,
        required=False,
        default=None,
        help_text="A fixed instant the section opens for everyone (ISO 8601 with an offset).",
    )
    release_after_days = serializers.IntegerField(
        min_value=0,
        max_value=RELEASE_AFTER_DAYS_MAX,
        allow_null=True,
        required=False,
        default=None,
        help_text="Opens this many days after the learner's enrollment (or cohort start).",
    )
    release_from = serializers.ChoiceField(
        choices=Section.ReleaseFrom.choices,
        required=False,
        default=Section.ReleaseFrom.ENROLLMENT,
    )
    lessons = LessonDocumentSerializer(many=True, required=False, default=list)


@extend_schema_serializer(component_name="CourseDocumentCourse")
class CourseBodySerializer(serializers.Serializer):
    client_id = client_id_field("course")
    slug = serializers.SlugField(max_length=80, validators=[validate_course_slug])
    title = serializers.CharField(max_length=200)
    subtitle = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")
    description = markdown_field(
        allow_blank=True, required=False, default="", help_text="Markdown."
    )
    course_type = serializers.ChoiceField(
        choices=Course.CourseType.choices, required=False, default=Course.CourseType.COURSE
    )
    difficulty = serializers.ChoiceField(
        choices=Course.Difficulty.choices, required=False, default=Course.Difficulty.BEGINNER
    )
    locale = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, default=settings.LANGUAGES[0][0]
    )
    visibility = serializers.ChoiceField(
        choices=Course.Visibility.choices, required=False, default=Course.Visibility.PUBLIC
    )
    required_tier = serializers.SlugField(
        max_length=60,
        allow_null=True,
        required=False,
        default=None,
        help_text="A tier's slug (needed when visibility is paid); it must exist here.",
    )
    progression = serializers.ChoiceField(
        choices=Course.Progression.choices, required=False, default=Course.Progression.FREE
    )
    prerequisite_courses = serializers.ListField(
        child=serializers.SlugField(max_length=80),
        max_length=MAX_PREREQUISITES,
        required=False,
        default=list,
        help_text="Slugs of the courses learners complete first. Courses do not travel: an "
        "import links those this site has, else warns.",
    )
    sections = SectionDocumentSerializer(many=True, required=False, default=list)


@extend_schema_serializer(component_name="CourseDocument")
class CourseDocumentSerializer(serializers.Serializer):
    """A whole course: what `GET .../export/` answers and `POST .../import/` takes."""

    format = serializers.ChoiceField(choices=[(FORMAT, FORMAT)])
    version = serializers.ChoiceField(
        choices=[(VERSION, str(VERSION))],
        error_messages={"invalid_choice": gettext_lazy("This site reads version 1 documents.")},
    )
    course = CourseBodySerializer()


WARNING_PROBLEMS = ("video_not_found", "attachment_not_found", "course_not_found")


@extend_schema_serializer(component_name="CourseDocumentWarning")
class WarningSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="Where in the request, e.g. `course.sections[0].lessons[1].video`."
    )
    # Not "code": that name is the error envelope's, and its enum would collide in the schema.
    problem = serializers.ChoiceField(choices=WARNING_PROBLEMS)
    message = serializers.CharField()


# --- Reading ------------------------------------------------------------------------------


# Messages may quote the input ("“x” is not a valid choice."): a lone surrogate from a JSON
# escape would then make the answer unencodable.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _text(message: Any) -> str:
    return _SURROGATES.sub("\ufffd", str(message))


def _add(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for path, messages in more.items():
        errors.setdefault(path, []).extend(messages)


def _join(prefix: str, key: Any) -> str:
    if key == api_settings.NON_FIELD_ERRORS_KEY:
        return prefix or key
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def error_paths(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"course.sections[2].lessons[0].slug": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            _add(out, error_paths(value, _join(prefix, key)))
    elif isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        for index, item in enumerate(detail):
            if item:
                _add(out, error_paths(item, f"{prefix}[{index}]"))
    elif isinstance(detail, list):
        out[prefix or api_settings.NON_FIELD_ERRORS_KEY] = [_text(item) for item in detail]
    else:
        out[prefix or api_settings.NON_FIELD_ERRORS_KEY] = [_text(detail)]
    return out


def validation_error(errors: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError(ErrorCode.VALIDATION_ERROR, fields=errors)


def read(serializer: serializers.BaseSerializer, prefix: str = "") -> Any:
    """The serializer's validated data, or VALIDATION_ERROR with every error by its path."""
    if not serializer.is_valid():
        raise validation_error(error_paths(serializer.errors, prefix))
    return serializer.validated_data


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def sections_size_check(sections: Any) -> None:
    """413 COURSE_DOCUMENT_TOO_LARGE when raw sections hold more sections or lessons than
    LMS_COURSE_DOCUMENT_MAX_LESSONS; counted before anything is validated."""
    sections = _list(sections)
    lessons = sum(len(_list(_dict(section).get("lessons"))) for section in sections)
    lessons_size_check(count=max(len(sections), lessons))


def lessons_size_check(*, count: int) -> None:
    if count > max_items():
        raise ApplicationError(
            ErrorCode.COURSE_DOCUMENT_TOO_LARGE,
            _(
                "Send at most %(max)d sections and %(max)d lessons at once "
                "(LMS_COURSE_DOCUMENT_MAX_LESSONS)."
            )
            % {"max": max_items()},
        )


def document_read(document: Any) -> dict[str, Any]:
    """A whole document, validated (shape, types, limits); errors by path."""
    sections_size_check(_dict(_dict(document).get("course")).get("sections"))
    return read(CourseDocumentSerializer(data=document))


def items_read(items: Any, *, serializer: type[serializers.Serializer], name: str) -> list:
    """A bulk request's list of sections or lessons, validated; errors by `name[i]...`."""
    if not isinstance(items, list):
        raise validation_error({name: [_("Send a list.")]})
    if not items:
        raise validation_error({name: [_("Send at least one item.")]})
    return read(serializer(data=items, many=True), name)
