"""The apps' update check: what an app holds offline against the current bundles.

For each section the app holds, and each section of the courses it asks to hold:
- `current`: it holds the current version; nothing to download.
- `update`: it holds another version; download the current one.
- `new`: a section of a course it asked for that it does not hold yet.
- `removed`: the section has no bundle any more (deleted, emptied, its course unpublished or
  deleted): delete it from the device.
- `locked`: the learner may not open every published lesson of the section (a paid course
  without the tier, where not every lesson is a free preview; or the course's structure
  rules lock the section, or one of its lessons in a course of sequential lessons: see
  `catalog.structure`): no version, no URLs; delete it from the device (the learner may have
  lost the tier). A hidden section (for learners) is `removed`: it has no bundle for them.

Only `update` and `new` carry URLs, all valid for `LMS_BUNDLE_URL_TTL_SECONDS`: the manifest
(`catalog.bundles.downloads`), each attachment (a presigned storage GET, after the steps of
`catalog.attachments.lesson_attachment_url`, batched: the section is open to the learner,
the file is still attached, confirmed and not deleted; `url` null when no bucket is
configured), and each lesson video's downloads (`media.downloads.video_downloads`) when the
learner's tier includes offline video (`Tier.offline_video_downloads`, this tier or a lower
one; staff always).

A fixed number of queries, whatever the number of courses, sections, lessons and files
(plus the learner's facts for each course whose structure rules depend on them).
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from accounts.roles import user_has_staff_role
from billing.entitlements import user_active_tier_rank
from billing.models import Tier
from catalog.access import Access, course_access, course_is_visible, structure_for
from catalog.bundles.downloads import BundleUrl, bundle_download_url, bundle_url_ttl
from catalog.bundles.manifest import manifest_attachment_ids, manifest_video_ids
from catalog.bundles.models import SectionBundle
from catalog.models import Course, Lesson, Section
from catalog.structure import (
    Structure,
    course_rule_flags,
    course_rules_prefetch,
    course_structure_plain,
)
from lms.errors import ApplicationError, ErrorCode
from media.downloads import VideoDownload, video_downloads
from media.models import StoredFile, Video
from media.storage import StorageError, file_presigned_get, s3_configured


class SectionStatus(StrEnum):
    CURRENT = "current"
    UPDATE = "update"
    NEW = "new"
    REMOVED = "removed"
    LOCKED = "locked"


@dataclass(frozen=True)
class AttachmentUrl:
    lesson_id: str
    file_id: str
    url: str | None  # None: no bucket configured, the file cannot be downloaded here
    expires_at: datetime | None


@dataclass(frozen=True)
class LessonVideoDownload:
    lesson_id: str
    video_id: str
    download: VideoDownload


@dataclass
class SectionUpdate:
    section_id: str
    course_id: str | None
    status: SectionStatus
    version: str | None = None
    size: int | None = None
    bundle_id: uuid.UUID | None = None
    manifest: BundleUrl | None = None
    attachments: list[AttachmentUrl] = field(default_factory=list)
    videos: list[LessonVideoDownload] = field(default_factory=list)

    @property
    def downloads(self) -> bool:
        return self.status in (SectionStatus.UPDATE, SectionStatus.NEW)


@dataclass(frozen=True)
class AppVersion:
    name: str
    version: str
    minimum_version: str | None


@dataclass(frozen=True)
class UpdateCheck:
    app: AppVersion
    sections: list[SectionUpdate]
    missing_courses: list[str]
    offline_video: bool


# --- App versions -----------------------------------------------------------------------------


def version_key(version: str) -> tuple[int, ...]:
    """The numeric core of a dotted version ("2.10.1-beta" -> (2, 10, 1, 0)), for comparing:
    a pre-release counts as its release."""
    core = version.split("-", 1)[0].split("+", 1)[0]
    parts = [int(part) for part in core.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))[:4]


def app_version_check(*, name: str, version: str) -> AppVersion:
    """The app's version against `LMS_APP_MIN_VERSIONS`: 426 APP_UPDATE_REQUIRED when older."""
    minimum = settings.LMS_APP_MIN_VERSIONS.get(name.lower())
    if minimum is not None and version_key(version) < version_key(minimum):
        raise ApplicationError(
            ErrorCode.APP_UPDATE_REQUIRED,
            fields={"app.version": [f"The {name} app needs version {minimum} or later."]},
        )
    return AppVersion(name=name, version=version, minimum_version=minimum)


# --- The check --------------------------------------------------------------------------------


def user_offline_video_allowed(*, user: User | AnonymousUser) -> bool:
    """Whether the user may download lesson videos: staff always; others when the tier they
    hold, or a lower one (higher ranks include what lower ones open), includes it."""
    if user_has_staff_role(user):
        return True
    rank = user_active_tier_rank(user=user)
    if rank is None:
        return False
    return Tier.objects.filter(rank__lte=rank, offline_video_downloads=True).exists()


def updates_check(
    *,
    user: User,
    app: AppVersion,
    held: Sequence[tuple[uuid.UUID, str]],
    course_ids: Sequence[uuid.UUID],
) -> UpdateCheck:
    """Answer an app holding `held` (section id, version) and asking for `course_ids`."""
    held_versions = {str(section_id): version for section_id, version in held}
    courses = _courses(user=user, course_ids=course_ids, held_section_ids=held_versions)
    decisions = {pk: course_access(user=user, course=course) for pk, course in courses.items()}
    structures = _structures(user=user, courses=courses)
    bundles = (
        SectionBundle.objects.filter(course_id__in=list(courses), superseded_at__isnull=True)
        .only("id", "course_id", "section_id", "version", "size", "previews_only")
        .order_by("section__order", "section_id")
    )
    # Courses in the order asked (a stable sort keeps each course's sections in order).
    position = {pk: index for index, pk in enumerate(courses)}
    sections = [
        _section_update(
            bundle, decisions[bundle.course_id], structures[bundle.course_id], held_versions
        )
        for bundle in sorted(bundles, key=lambda bundle: position[bundle.course_id])
    ]
    answered = {item.section_id for item in sections}
    sections += [
        SectionUpdate(section_id=section_id, course_id=None, status=SectionStatus.REMOVED)
        for section_id in held_versions
        if section_id not in answered
    ]
    offline_video = user_offline_video_allowed(user=user)
    _downloads_add([item for item in sections if item.downloads], offline_video=offline_video)
    missing = [str(pk) for pk in dict.fromkeys(course_ids) if pk not in courses]
    return UpdateCheck(
        app=app, sections=sections, missing_courses=missing, offline_video=offline_video
    )


def _courses(
    *, user: User, course_ids: Sequence[uuid.UUID], held_section_ids: Iterable[str]
) -> dict[uuid.UUID, Course]:
    """The courses asked for and those of the sections held, that the user may see (drafts
    only for their editors, and drafts have no bundles), in the order asked."""
    held_courses = Section.objects.filter(pk__in=list(held_section_ids)).values_list(
        "course_id", flat=True
    )
    wanted = list(dict.fromkeys([*course_ids, *held_courses]))
    queryset = (
        Course.objects.filter(pk__in=wanted)
        .select_related("required_tier")
        .annotate(**course_rule_flags())  # which courses have structure rules at all
    )
    if not user_has_staff_role(user):
        queryset = queryset.prefetch_related("instructors")
    found = {course.pk: course for course in queryset}
    return {
        pk: found[pk]
        for pk in wanted
        if pk in found and course_is_visible(user=user, course=found[pk])
    }


def _structures(*, user: User, courses: dict[uuid.UUID, Course]) -> dict[uuid.UUID, Structure]:
    """Each course's structure rules decided for the learner: none read for courses without
    rules, and those of the others in one go."""
    ruled = [course for course in courses.values() if not course.rules_course_plain]
    course_rules_prefetch(courses=ruled)
    return {
        pk: course_structure_plain(course=course)
        if course.rules_course_plain
        else structure_for(user=user, course=course)
        for pk, course in courses.items()
    }


def _structure_locked(structure: Structure, section_id: uuid.UUID) -> bool:
    """Whether the course's rules lock the section, or any of its lessons, for the learner
    (a bundle holds every lesson: none may reach the device before it opens)."""
    if structure.bypass:
        return False
    if structure.section_lock(section_id) is not None:
        return True
    rules = next((s for s in structure.rules.sections if s.id == section_id), None)
    return rules is not None and any(pk in structure.lesson_locks for pk, *_r in rules.lessons)


def _section_update(
    bundle: SectionBundle, decision: Access, structure: Structure, held_versions: dict[str, str]
) -> SectionUpdate:
    section_id = str(bundle.section_id)
    course_id = str(bundle.course_id)
    if structure.section_hidden(bundle.section_id):
        return SectionUpdate(section_id=section_id, course_id=None, status=SectionStatus.REMOVED)
    if not (decision.allowed or bundle.previews_only) or _structure_locked(
        structure, bundle.section_id
    ):
        return SectionUpdate(
            section_id=section_id, course_id=course_id, status=SectionStatus.LOCKED
        )
    held = held_versions.get(section_id)
    if held is None:
        status = SectionStatus.NEW
    elif held == bundle.version:
        status = SectionStatus.CURRENT
    else:
        status = SectionStatus.UPDATE
    return SectionUpdate(
        section_id=section_id,
        course_id=course_id,
        status=status,
        version=bundle.version,
        size=bundle.size,
        bundle_id=bundle.pk,
    )


def _downloads_add(items: list[SectionUpdate], *, offline_video: bool) -> None:
    """Sign the URLs of the sections to download: three queries for all of them."""
    if not items:
        return
    manifests: dict[uuid.UUID, dict[str, Any]] = dict(
        SectionBundle.objects.filter(pk__in=[item.bundle_id for item in items]).values_list(
            "pk", "manifest"
        )
    )
    for item in items:
        if item.bundle_id not in manifests:  # its section was deleted a moment ago
            item.status, item.version, item.size = SectionStatus.REMOVED, None, None
            item.course_id = None
    items = [item for item in items if item.bundle_id in manifests]
    attachments = {
        item.section_id: list(manifest_attachment_ids(manifests[item.bundle_id])) for item in items
    }
    videos = {
        item.section_id: list(manifest_video_ids(manifests[item.bundle_id])) for item in items
    }
    files = _attached_files(pairs=[pair for pairs in attachments.values() for pair in pairs])
    by_video = _videos(
        video_ids=[video for pairs in videos.values() for _lesson, video in pairs]
        if offline_video
        else []
    )
    ttl = bundle_url_ttl()
    for item in items:
        item.manifest = bundle_download_url(bundle_id=item.bundle_id)
        item.attachments = [
            _attachment_url(lesson_id, file_id, files[(lesson_id, file_id)], ttl)
            for lesson_id, file_id in attachments[item.section_id]
            if (lesson_id, file_id) in files
        ]
        item.videos = [
            LessonVideoDownload(lesson_id=lesson_id, video_id=video_id, download=download)
            for lesson_id, video_id in videos[item.section_id]
            if video_id in by_video
            for download in video_downloads(video=by_video[video_id], expires=ttl)
        ]


def _attached_files(*, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], StoredFile]:
    """The (lesson id, file id) pairs still attached, with their files, confirmed and not
    deleted: one query."""
    if not pairs:
        return {}
    through = Lesson.attachments.through
    rows = through.objects.filter(
        lesson_id__in={lesson for lesson, _file in pairs},
        storedfile_id__in={file for _lesson, file in pairs},
        storedfile__status=StoredFile.Status.CONFIRMED,
        storedfile__deleted_at__isnull=True,
    ).select_related("storedfile")
    return {(str(row.lesson_id), str(row.storedfile_id)): row.storedfile for row in rows}


def _attachment_url(lesson_id: str, file_id: str, file: StoredFile, ttl: int) -> AttachmentUrl:
    if not s3_configured():
        return AttachmentUrl(lesson_id=lesson_id, file_id=file_id, url=None, expires_at=None)
    try:
        signed = file_presigned_get(file=file, expires=ttl)
    except (StorageError, BotoCoreError):  # e.g. the bucket's credentials are missing
        return AttachmentUrl(lesson_id=lesson_id, file_id=file_id, url=None, expires_at=None)
    return AttachmentUrl(
        lesson_id=lesson_id, file_id=file_id, url=signed.url, expires_at=signed.expires_at
    )


def _videos(*, video_ids: list[str]) -> dict[str, Video]:
    if not video_ids:
        return {}
    return {str(video.pk): video for video in Video.objects.filter(pk__in=set(video_ids))}
