"""The catalog API's shared serializers: the pieces several operations (and other apps'
APIs) use, and the outline's sections and lessons, which are the schema of the course
detail even where the view builds the same JSON from the compiled outline."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request

from billing.models import Tier
from catalog.access import Access, Reason
from catalog.models import Course, Lesson, Section
from catalog.search import LessonHit
from catalog.selectors import OutlineLesson, OutlineSection
from lms.markdown import render_markdown

TAG = "catalog"


@extend_schema_field(OpenApiTypes.STR)
class MarkdownHtmlField(serializers.Field):
    """Staff-written Markdown as sanitized HTML (`lms.markdown`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str:
        return str(render_markdown(value))


def absolute_url(request: Request | None, url: str) -> str:
    # Storage URLs may already be absolute (S3); build_absolute_uri leaves those alone.
    return request.build_absolute_uri(url) if request is not None else url


@extend_schema_serializer(component_name="TierRef")
class TierRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["slug", "name", "rank"]


@extend_schema_serializer(component_name="Access")
class AccessSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=[(reason.value, reason.value) for reason in Reason])
    required_tier = TierRefSerializer(allow_null=True)


@extend_schema_serializer(component_name="StructureLock")
class StructureLockSerializer(serializers.Serializer):
    """Why the course's own rules keep a section or lesson closed to the requesting user, and
    when it opens (`catalog.structure`), distinct from a tier lock (`access.reason`)."""

    code = serializers.ChoiceField(
        source="denial_code.value",
        choices=[("LOCKED_PREREQUISITE", "LOCKED_PREREQUISITE"), ("LOCKED_UNTIL", "LOCKED_UNTIL")],
        help_text="LOCKED_PREREQUISITE: complete `requires` first. LOCKED_UNTIL: opens at "
        "`opens_at` (or `opens_after_days` after enrolling, before the learner enrolled).",
    )
    requires = serializers.ListField(
        child=serializers.CharField(),
        help_text="Titles of the sections or courses to complete first (LOCKED_PREREQUISITE).",
    )
    opens_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When it opens, in the learner's time zone; null when not known yet.",
    )
    opens_after_days = serializers.IntegerField(
        allow_null=True,
        help_text="Days after enrolling it opens, while the learner has not enrolled.",
    )


def _lock_data(lock: Access | None) -> dict[str, Any] | None:
    """A structure lock as the API shows it, or None (open, or locked by the tier only)."""
    if lock is None or not lock.is_structure_lock:
        return None
    return StructureLockSerializer(lock).data


@extend_schema_serializer(component_name="CourseRef")
class CourseRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["slug", "title"]


@extend_schema_serializer(component_name="SectionRef")
class SectionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Section
        fields = ["id", "title"]


@extend_schema_serializer(component_name="LessonRef")
class LessonRefSerializer(serializers.Serializer):
    """A link to another lesson (built from an outline entry)."""

    id = serializers.UUIDField(source="lesson.id")
    slug = serializers.SlugField(source="lesson.slug")
    title = serializers.CharField(source="lesson.title")


class CourseFieldsSerializer(serializers.ModelSerializer):
    """The fields every course representation shares. Ids are UUIDs, never integers."""

    type = serializers.ChoiceField(source="course_type", choices=Course.CourseType.choices)
    required_tier = TierRefSerializer(allow_null=True)
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The course's web page.")

    class Meta:
        model = Course
        fields = [
            "id",
            "slug",
            "title",
            "subtitle",
            "type",
            "difficulty",
            "locale",
            "visibility",
            "required_tier",
            "thumbnail_url",
            "published_at",
            "url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, course: Course) -> str | None:
        if not course.thumbnail:
            return None
        return absolute_url(self.context.get("request"), course.thumbnail.url)

    @extend_schema_field(serializers.URLField())
    def get_url(self, course: Course) -> str:
        return absolute_url(self.context.get("request"), course.get_absolute_url())


@extend_schema_serializer(component_name="OutlineLesson")
class OutlineLessonSerializer(serializers.Serializer):
    """A lesson in a course outline; `locked` is for the requesting user."""

    id = serializers.UUIDField(source="lesson.id")
    slug = serializers.SlugField(source="lesson.slug")
    title = serializers.CharField(source="lesson.title")
    kind = serializers.ChoiceField(source="lesson.kind", choices=Lesson.Kind.choices)
    duration_seconds = serializers.IntegerField(source="lesson.duration_seconds")
    order = serializers.IntegerField(source="lesson.order")
    is_free_preview = serializers.BooleanField(source="lesson.is_free_preview")
    is_boss = serializers.BooleanField(source="lesson.is_boss")
    xp_value = serializers.IntegerField(source="lesson.xp_value")
    is_hidden = serializers.BooleanField(
        source="lesson.is_hidden",
        help_text="Hidden from learners (who never get it); only editors see true.",
    )
    locked = serializers.BooleanField(
        help_text="Closed to the requesting user, by the tier (see the course's `access`) "
        "or by the course's rules (`lock`)."
    )
    lock = serializers.SerializerMethodField()

    @extend_schema_field(StructureLockSerializer(allow_null=True))
    def get_lock(self, item: OutlineLesson) -> dict[str, Any] | None:
        return _lock_data(item.access)


@extend_schema_serializer(component_name="OutlineSection")
class OutlineSectionSerializer(serializers.Serializer):
    """A section of a course outline; `locked` and `lock` are for the requesting user."""

    id = serializers.UUIDField(source="section.id")
    title = serializers.CharField(source="section.title")
    order = serializers.IntegerField(source="section.order")
    is_hidden = serializers.BooleanField(
        source="section.is_hidden",
        help_text="Hidden from learners (who never get it); only editors see true.",
    )
    locked = serializers.BooleanField(help_text="Closed by the course's rules (`lock`).")
    lock = serializers.SerializerMethodField()
    lesson_count = serializers.IntegerField()
    duration_seconds = serializers.IntegerField()
    lessons = OutlineLessonSerializer(many=True)

    @extend_schema_field(StructureLockSerializer(allow_null=True))
    def get_lock(self, item: OutlineSection) -> dict[str, Any] | None:
        return _lock_data(item.lock)


@extend_schema_serializer(component_name="LessonHit")
class LessonHitSerializer(serializers.Serializer):
    """A lesson a search found inside a course (`catalog.search`). A locked lesson (for the
    requesting user) shows its title only: `snippet_html` is then empty."""

    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    section = serializers.CharField(source="section_title", help_text="The section's title.")
    locked = serializers.BooleanField()
    snippet_html = serializers.CharField(
        source="snippet",
        allow_blank=True,
        help_text="The notes around the match, HTML-escaped, matches in <mark>; empty when locked.",
    )
    url = serializers.SerializerMethodField(help_text="The lesson's web page.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, hit: LessonHit) -> str:
        return absolute_url(self.context.get("request"), hit.url)
