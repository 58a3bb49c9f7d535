"""The course detail's JSON from the compiled outline (`catalog.outline`, issue 18).

The compiled outline holds each section's and lesson's API fields that are the same for
everyone (`payload`); what differs per request is laid over copies of them here: whether
the requesting user may open each lesson (`catalog.access.lesson_access`: the tier, then
the course's rules) and each section's lock, and which sections and lessons they see at all
(`CompiledOutline.audience`). Nothing is serialized per lesson: the serializers in
`catalog.api.serializers` stay the schema of what this writes, field for field, in order.

The course's own fields (its description rendered from Markdown included) are written once
per content version and cached beside the outline; the URLs and the tier, which depend on
the request or on rows the version does not follow, are filled in per request.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework import serializers
from rest_framework.request import Request

from accounts.models import User
from catalog.access import (
    Access,
    course_access,
    is_course_editor,
    lesson_access,
    structure_for,
)
from catalog.api.serializers import (
    AccessSerializer,
    CourseFieldsSerializer,
    MarkdownHtmlField,
    TierRefSerializer,
    absolute_url,
)
from catalog.models import Course
from catalog.outline import CompiledOutline

_HEAD_KEY = "catalog:api:course:{}:{}"
# Long: the key changes with every content change, so an entry is never stale, only unused.
_HEAD_TIMEOUT = 7 * 24 * 3600
# As `StructureLockSerializer.opens_at` writes an instant (ISO 8601, UTC as "Z").
_INSTANT = serializers.DateTimeField()


class CourseHeadSerializer(CourseFieldsSerializer):
    """The course's own fields of its detail: the shared ones and its description."""

    description_html = MarkdownHtmlField(source="description")

    class Meta(CourseFieldsSerializer.Meta):
        fields = [*CourseFieldsSerializer.Meta.fields, "description_html"]
        read_only_fields = fields


def course_detail_data(
    *, request: Request, course: Course, compiled: CompiledOutline
) -> dict[str, Any]:
    """`CourseDetailApi.OutputSerializer`'s JSON for this request's user."""
    user: User | AnonymousUser = request.user
    structure = structure_for(user=user, course=course)
    decision = course_access(user=user, course=course)
    editor = is_course_editor(user=user, course=course)
    visible = compiled.audience(editor=editor, bypass=structure.bypass)
    locks: dict[Access, dict[str, Any]] = {}
    sections = []
    for section_id in visible.section_ids:
        section = compiled.section_by_id[section_id]
        lock = structure.section_lock(section_id)
        lessons = []
        for lesson_id in visible.section_lessons[section_id]:
            lesson = compiled.lesson_by_id[lesson_id]
            access = lesson_access(
                user=user,
                course=course,
                lesson=lesson,
                course_decision=decision,
                structure=structure,
            )
            lock_data = structure_lock_data(access, locks) if access.is_structure_lock else None
            lessons.append({**lesson.payload, "locked": access.locked, "lock": lock_data})
        sections.append(
            {
                **section.payload,
                "locked": lock is not None,
                "lock": (
                    structure_lock_data(Access.from_lock(lock), locks) if lock is not None else None
                ),
                "lesson_count": len(lessons),
                "duration_seconds": visible.section_durations[section_id],
                "lessons": lessons,
            }
        )
    return {
        **_course_head(request=request, course=course, version=compiled.version),
        "access": AccessSerializer(decision).data,
        "lesson_count": visible.lesson_count,
        "duration_seconds": visible.duration_seconds,
        "sections": sections,
    }


def _course_head(*, request: Request, course: Course, version: int) -> dict[str, Any]:
    """The course's own fields, the same order as the schema's: cached per content version
    without the request's parts, which are filled in here."""
    key = _HEAD_KEY.format(course.pk, version)
    head = cache.get(key)
    if head is None:
        head = dict(CourseHeadSerializer(course).data)  # no request: URLs stay relative
        head["thumbnail_url"] = course.thumbnail.name or None
        cache.set(key, head, _HEAD_TIMEOUT)
    thumbnail = head["thumbnail_url"]  # the file's name: its URL is the storage's to give
    storage = Course._meta.get_field("thumbnail").storage
    tier = course.required_tier  # Tier changes do not move the course's version
    return {
        **head,
        "required_tier": TierRefSerializer(tier).data if tier is not None else None,
        "thumbnail_url": absolute_url(request, storage.url(thumbnail)) if thumbnail else None,
        "url": absolute_url(request, head["url"]),
    }


def structure_lock_data(
    access: Access, seen: dict[Access, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A structure lock as `StructureLockSerializer` writes it (without a serializer per
    lesson); `seen` keeps each distinct lock's, written once per request."""
    seen = {} if seen is None else seen
    data = seen.get(access)
    if data is None:
        data = seen[access] = {
            "code": access.denial_code.value,
            "requires": list(access.requires),
            "opens_at": _INSTANT.to_representation(access.opens_at),
            "opens_after_days": access.opens_after_days,
        }
    return data
