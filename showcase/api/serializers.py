"""What the showcase API answers: a project as a viewer may see it (its course only when the
course exists for them, its review note only for its author and staff), tags and links."""

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from lms.markdown import render_markdown
from showcase.models import LINK_LABEL_MAX_LENGTH, LINK_URL_MAX_LENGTH, Project
from showcase.selectors import (
    project_can_edit,
    project_is_mine,
    project_is_staff_viewer,
    project_restorable_until,
)


@extend_schema_serializer(component_name="ShowcaseTag")
class TagSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="ProjectLink")
class LinkSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=LINK_LABEL_MAX_LENGTH)
    url = serializers.URLField(
        max_length=LINK_URL_MAX_LENGTH, help_text="An http:// or https:// address."
    )


@extend_schema_serializer(component_name="ProjectCourse")
class CourseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.SlugField()
    title = serializers.CharField()


@extend_schema_serializer(component_name="ProjectAuthor")
class AuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="public_name")


@extend_schema_serializer(component_name="Project")
class ProjectSerializer(serializers.Serializer):
    """Needs `request` and `courses_shown` (course ids the viewer may see) in its context."""

    id = serializers.UUIDField()
    slug = serializers.SlugField()
    url = serializers.SerializerMethodField()
    title = serializers.CharField()
    summary = serializers.CharField()
    detail = serializers.CharField(help_text="Markdown.")
    detail_html = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    tags = TagSerializer(many=True, source="tags.all")
    links = LinkSerializer(many=True, source="links.all")
    course = serializers.SerializerMethodField()
    origin = serializers.ChoiceField(choices=Project.Origin.choices)
    author = AuthorSerializer()
    status = serializers.ChoiceField(choices=Project.Status.choices)
    review_note = serializers.SerializerMethodField()
    is_mine = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    restorable_until = serializers.SerializerMethodField()

    def _user(self):
        return self.context["request"].user

    @extend_schema_field(serializers.URLField(help_text="The project's page on the site."))
    def get_url(self, project: Project) -> str:
        return self.context["request"].build_absolute_uri(project.get_absolute_url())

    @extend_schema_field(serializers.CharField(help_text="The detail as sanitized HTML."))
    def get_detail_html(self, project: Project) -> str:
        return str(render_markdown(project.detail))

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="A 16:9 WebP picture."))
    def get_thumbnail_url(self, project: Project) -> str | None:
        if not project.thumbnail:
            return None
        return self.context["request"].build_absolute_uri(project.thumbnail.url)

    @extend_schema_field(
        CourseSerializer(
            allow_null=True,
            help_text="The related course, when its page exists for you (null otherwise).",
        )
    )
    def get_course(self, project: Project) -> dict[str, Any] | None:
        if project.course_id is None or project.course_id not in self.context["courses_shown"]:
            return None
        return CourseSerializer(project.course).data

    @extend_schema_field(
        serializers.CharField(
            help_text="Staff's note with their decision: for its author and staff."
        )
    )
    def get_review_note(self, project: Project) -> str:
        user = self._user()
        if project_is_mine(user=user, project=project) or project_is_staff_viewer(user=user):
            return project.review_note
        return ""

    @extend_schema_field(serializers.BooleanField(help_text="Whether you wrote it."))
    def get_is_mine(self, project: Project) -> bool:
        return project_is_mine(user=self._user(), project=project)

    @extend_schema_field(
        serializers.BooleanField(help_text="Whether you may change it now (PATCH, thumbnail).")
    )
    def get_can_edit(self, project: Project) -> bool:
        return project_can_edit(user=self._user(), project=project)

    @extend_schema_field(
        serializers.DateTimeField(
            allow_null=True, help_text="A deleted project: until when its author may restore it."
        )
    )
    def get_restorable_until(self, project: Project):
        until = project_restorable_until(project=project)
        return serializers.DateTimeField().to_representation(until) if until else None
