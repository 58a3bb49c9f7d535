"""Shapes shared by the authoring API's operations: courses, sections, lessons and quizzes as
authors see them (drafts, unpublished lessons and quiz answers included), and the pieces of
input that name other rows (a tier by slug, users, videos and files by id).

Each operation keeps its own nested InputSerializer; what several of them answer lives here.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import User
from billing.models import Tier
from catalog.models import Course, Lesson, Question, Quiz, Section
from catalog.services import RELEASE_AFTER_DAYS_MAX
from media.models import StoredFile, Video

# The database's integer ranges (PostgreSQL integer, smallint), so no input overflows them.
INT_MAX = 2_147_483_647
SMALLINT_MAX = 32_767
# At most this many ids in one list (attachments, instructors, a new order).
MAX_IDS = 1000
CLIENT_ID_HELP = (
    "Your id for this item (at most 100 characters), to make a retried create safe: a "
    "create with a client_id that already names an item here answers 200 with that item "
    "instead of creating another (409 CLIENT_ID_CONFLICT when it names an item elsewhere)."
)


def _absolute(request: Any, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


# --- References -------------------------------------------------------------------------------


@extend_schema_serializer(component_name="ManageUserRef")
class UserRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField(source="public_name")


@extend_schema_serializer(component_name="ManageVideoRef")
class VideoRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    source = serializers.ChoiceField(choices=Video.Source.choices)
    status = serializers.ChoiceField(choices=Video.Status.choices)
    duration_seconds = serializers.FloatField(allow_null=True)


@extend_schema_serializer(component_name="ManageFileRef")
class FileRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True, help_text="Bytes.")


def client_id_field() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text=CLIENT_ID_HELP
    )


class _SlugRelatedField(serializers.SlugRelatedField):
    """DRF's, but a slug with a NUL character (which PostgreSQL cannot even compare: the
    lookup would raise) names nothing, as any other unknown slug."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


def tier_field(**kwargs: Any) -> serializers.SlugRelatedField:
    return _SlugRelatedField(
        slug_field="slug",
        queryset=Tier.objects.all(),
        allow_null=True,
        help_text="The tier's slug: needed when visibility is paid; null for none.",
        **kwargs,
    )


def ids_field(help_text: str, **kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.UUIDField(), max_length=MAX_IDS, help_text=help_text, **kwargs
    )


# --- Courses ----------------------------------------------------------------------------------


class CourseFieldsSerializer(serializers.Serializer):
    """A course's own fields as authors edit them, with its status and instructors."""

    id = serializers.UUIDField()
    client_id = serializers.CharField(allow_blank=True)
    slug = serializers.SlugField()
    title = serializers.CharField()
    subtitle = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True, help_text="Markdown.")
    course_type = serializers.ChoiceField(choices=Course.CourseType.choices)
    difficulty = serializers.ChoiceField(choices=Course.Difficulty.choices)
    locale = serializers.ChoiceField(choices=settings.LANGUAGES)
    visibility = serializers.ChoiceField(choices=Course.Visibility.choices)
    required_tier = serializers.SerializerMethodField(help_text="The tier's slug.")
    status = serializers.ChoiceField(choices=Course.Status.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    progression = serializers.ChoiceField(
        choices=Course.Progression.choices,
        help_text="free: any open section; sections: each section needs the one before; "
        "lessons: each required lesson needs the one before.",
    )
    prerequisite_courses = serializers.SerializerMethodField(
        help_text="Ids of the courses learners complete before this one opens."
    )
    instructors = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The course's web page.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.SlugField(allow_null=True))
    def get_required_tier(self, course: Course) -> str | None:
        return course.required_tier.slug if course.required_tier_id else None

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_prerequisite_courses(self, course: Course) -> list[str]:
        return sorted(str(other.pk) for other in course.prerequisite_courses.all())

    @extend_schema_field(UserRefSerializer(many=True))
    def get_instructors(self, course: Course) -> list[dict]:
        # In a stable order (by id), from the prefetched rows when there are some.
        instructors = sorted(course.instructors.all(), key=lambda user: user.pk)
        return UserRefSerializer(instructors, many=True).data

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, course: Course) -> str | None:
        if not course.thumbnail:
            return None
        return _absolute(self.context.get("request"), course.thumbnail.url)

    @extend_schema_field(serializers.URLField())
    def get_url(self, course: Course) -> str:
        return _absolute(self.context.get("request"), course.get_absolute_url())


@extend_schema_serializer(component_name="ManageCourse")
class CourseSerializer(CourseFieldsSerializer):
    """A course as its authors see it (drafts included)."""


@extend_schema_serializer(component_name="ManageLessonSummary")
class LessonSummarySerializer(serializers.Serializer):
    """A lesson in an outline (its notes, links and quiz are on the lesson itself)."""

    id = serializers.UUIDField()
    client_id = serializers.CharField(allow_blank=True)
    slug = serializers.SlugField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    order = serializers.IntegerField()
    duration_seconds = serializers.IntegerField()
    is_free_preview = serializers.BooleanField()
    is_published = serializers.BooleanField()
    is_hidden = serializers.BooleanField(
        help_text="Published but absent for learners; not counted for completion."
    )
    xp_value = serializers.IntegerField()
    is_boss = serializers.BooleanField()
    is_required = serializers.BooleanField()


@extend_schema_serializer(component_name="ManageSection")
class SectionSerializer(serializers.Serializer):
    """A section with its lessons in order (unpublished ones included)."""

    id = serializers.UUIDField()
    client_id = serializers.CharField(allow_blank=True)
    course = serializers.UUIDField(source="course_id", help_text="The course's id.")
    title = serializers.CharField()
    order = serializers.IntegerField()
    is_hidden = serializers.BooleanField(
        help_text="Absent for learners; staff and the course's instructors still see it."
    )
    prerequisites = serializers.SerializerMethodField(
        help_text="Ids of the sections of this course learners complete before this one opens."
    )
    release_at = serializers.DateTimeField(
        allow_null=True, help_text="A fixed instant the section opens for everyone."
    )
    release_after_days = serializers.IntegerField(
        allow_null=True,
        help_text="Opens this many days after the learner's enrollment (or cohort start).",
    )
    release_from = serializers.ChoiceField(choices=Section.ReleaseFrom.choices)
    lessons = LessonSummarySerializer(many=True, source="lessons.all")

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_prerequisites(self, section: Section) -> list[str]:
        return sorted(str(other.pk) for other in section.prerequisites.all())


@extend_schema_serializer(component_name="ManageCourseDetail")
class CourseDetailSerializer(CourseFieldsSerializer):
    """A course with its outline: every section and lesson, in order."""

    sections = SectionSerializer(many=True, source="sections.all")


# --- Lessons ----------------------------------------------------------------------------------


@extend_schema_serializer(component_name="ManageLesson")
class LessonSerializer(LessonSummarySerializer):
    """A lesson in full, as authors edit it."""

    course = serializers.UUIDField(source="course_id", help_text="The course's id.")
    section = serializers.UUIDField(source="section_id", help_text="The section's id.")
    body = serializers.CharField(allow_blank=True, help_text="The notes, in Markdown.")
    video = VideoRefSerializer(allow_null=True)
    attachments = FileRefSerializer(many=True, source="attachments.all")
    has_quiz = serializers.SerializerMethodField(
        help_text="Whether the lesson has a quiz (`lessons/<id>/quiz/`)."
    )
    url = serializers.SerializerMethodField(help_text="The lesson's web page.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_quiz(self, lesson: Lesson) -> bool:
        return Quiz.objects.filter(lesson=lesson).exists() if lesson.kind == "quiz" else False

    @extend_schema_field(serializers.URLField())
    def get_url(self, lesson: Lesson) -> str:
        return _absolute(self.context.get("request"), lesson.get_absolute_url())


# --- Quizzes ----------------------------------------------------------------------------------


@extend_schema_serializer(component_name="ManageChoice")
class ChoiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    client_id = serializers.CharField(allow_blank=True)
    text = serializers.CharField(help_text="Markdown on one line.")
    is_correct = serializers.BooleanField()
    order = serializers.IntegerField()


@extend_schema_serializer(component_name="ManageQuestion")
class QuestionSerializer(serializers.Serializer):
    """A question with its answers: which choices are correct, the accepted short answers,
    the explanation."""

    id = serializers.UUIDField()
    client_id = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    prompt = serializers.CharField(help_text="Markdown.")
    explanation = serializers.CharField(allow_blank=True, help_text="Markdown.")
    accepted_answers = serializers.ListField(
        source="accepted_answer_list",
        child=serializers.CharField(),
        help_text="Short answer: the accepted answers (matched ignoring case and spaces).",
    )
    points = serializers.IntegerField()
    order = serializers.IntegerField()
    choices = ChoiceSerializer(many=True, source="choices.all")


@extend_schema_serializer(component_name="ManageQuiz")
class QuizSerializer(serializers.Serializer):
    """A lesson's quiz with its rules and its questions, answers included."""

    id = serializers.UUIDField()
    lesson = serializers.UUIDField(source="lesson_id", help_text="The lesson's id.")
    pass_mark = serializers.IntegerField(help_text="Percent of the points.")
    max_attempts = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    retry_wait_minutes = serializers.IntegerField()
    reveal_answers = serializers.ChoiceField(choices=Quiz.Reveal.choices)
    questions = QuestionSerializer(many=True, source="questions.all")


# --- Inputs naming other rows -----------------------------------------------------------------


class SectionRulesInput(serializers.Serializer):
    """A section's structure rules as input (create and edit)."""

    is_hidden = serializers.BooleanField(
        required=False, help_text="Absent for learners; staff and instructors still see it."
    )
    prerequisites = ids_field(
        "Ids of sections of the same course learners complete first (replaces the list).",
        required=False,
    )
    release_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="ISO 8601 with an offset; null for none. Opens for everyone then.",
    )
    release_after_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=RELEASE_AFTER_DAYS_MAX,
        help_text="Days after the learner's enrollment (or cohort start); null for none.",
    )
    release_from = serializers.ChoiceField(
        choices=Section.ReleaseFrom.choices,
        required=False,
        help_text="What `release_after_days` counts from (cohort: else the enrollment).",
    )


def courses_by_id(ids: list, *, visible: Any, field: str = "prerequisite_courses") -> list[Course]:
    """The courses with these ids among `visible` (a queryset), or VALIDATION_ERROR naming
    the first unknown id."""
    wanted = list(dict.fromkeys(ids))
    found = {course.pk: course for course in visible.filter(pk__in=wanted)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise serializers.ValidationError({field: [f"There is no course with id {missing[0]}."]})
    return [found[pk] for pk in wanted]


def sections_by_id(ids: list, *, course: Course, field: str = "prerequisites") -> list[Section]:
    """Sections of this course with these ids, or VALIDATION_ERROR naming the first other."""
    wanted = list(dict.fromkeys(ids))
    found = {
        section.pk: section
        for section in Section.objects.filter(course=course, pk__in=wanted).select_related("course")
    }
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise serializers.ValidationError(
            {field: [f"There is no section with id {missing[0]} in this course."]}
        )
    return [found[pk] for pk in wanted]


def users_by_id(ids: list, field: str = "instructors") -> list[User]:
    """The users with these ids, or VALIDATION_ERROR naming the first unknown id."""
    wanted = list(dict.fromkeys(ids))
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise serializers.ValidationError({field: [f"There is no user with id {missing[0]}."]})
    return [found[pk] for pk in wanted]


def video_by_id(pk: Any) -> Video | None:
    """A video lessons may play (not deleted), or VALIDATION_ERROR; None for None."""
    if pk is None:
        return None
    video = Video.objects.filter(pk=pk, deleted_at__isnull=True).first()
    if video is None:
        raise serializers.ValidationError({"video": [f"There is no video with id {pk}."]})
    return video


def attachments_by_id(ids: list) -> list[StoredFile]:
    """Files lessons may offer (the lesson field's choices: confirmed attachment files, not
    deleted), in the given order, or VALIDATION_ERROR naming the first unknown id."""
    wanted = list(dict.fromkeys(ids))
    allowed = Lesson._meta.get_field("attachments").get_limit_choices_to()
    found = {file.pk: file for file in StoredFile.objects.filter(pk__in=wanted, **allowed)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise serializers.ValidationError(
            {"attachments": [f"There is no confirmed attachment file with id {missing[0]}."]}
        )
    return [found[pk] for pk in wanted]
