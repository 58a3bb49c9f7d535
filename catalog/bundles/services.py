"""Offline bundles, the writes: building a course's section bundles and purging old versions.

`course_bundles_build` is what the task runs after a course's content changed. It locks the
course row, so builds of one course run one after the other (on PostgreSQL; SQLite has one
writer anyway), and the later one finds the versions the earlier one stored: a build is safe to
run twice and stores a version only for sections whose manifest changed. Draft courses have
no bundles; a section without published lessons has none either; a deleted section's bundles
go with it (cascade).

A replaced version stays downloadable for `LMS_BUNDLE_KEEP_HOURS`, so a download that started
from an earlier update check still finishes; `bundles_purge` deletes it after that.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.bundles.manifest import Manifest, section_manifest, sections_for_bundles
from catalog.bundles.models import SectionBundle
from catalog.models import Course

logger = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """What a build did, by section id: `built` got a new current version, `unchanged` kept
    theirs, `removed` no longer have a current bundle."""

    course_id: str
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def course_bundles_build(*, course_id: uuid.UUID | str) -> BuildResult:
    """Build the bundles of one course's sections (idempotent; concurrent runs serialize).

    A fixed number of queries, whatever the course's size (plus one read of each attachment
    not hashed yet)."""
    result = BuildResult(course_id=str(course_id))
    with transaction.atomic():
        # FOR NO KEY UPDATE: builds wait for each other, while edits that only point at the
        # course (a new lesson's foreign key takes a KEY SHARE lock) do not wait for a build.
        course = Course.objects.select_for_update(no_key=True).filter(pk=course_id).first()
        if course is None:  # deleted: its bundles went with it
            return result
        now = timezone.now()
        manifests = _manifests(course=course)
        stored = list(
            SectionBundle.objects.filter(course=course).only(
                "id", "section_id", "version", "superseded_at"
            )
        )
        current = {bundle.section_id: bundle for bundle in stored if bundle.is_current}
        known = {(bundle.section_id, bundle.version): bundle for bundle in stored}
        changed = {
            section_id: manifest
            for section_id, manifest in manifests.items()
            if section_id not in current or current[section_id].version != manifest.version
        }
        # Retired first: a section has one current bundle at a time (a constraint).
        retired = [
            bundle.pk
            for section_id, bundle in current.items()
            if section_id not in manifests or section_id in changed
        ]
        SectionBundle.objects.filter(pk__in=retired).update(superseded_at=now)
        _bundles_store(course=course, changed=changed, known=known, now=now)
        result.built = [str(section_id) for section_id in changed]
        result.unchanged = [
            str(section_id) for section_id in manifests if section_id not in changed
        ]
        result.removed = [str(section_id) for section_id in current if section_id not in manifests]
    if result.built or result.removed:
        logger.info(
            "Bundles of course %s: %d built, %d unchanged, %d removed",
            course_id,
            len(result.built),
            len(result.unchanged),
            len(result.removed),
        )
    return result


def _manifests(*, course: Course) -> dict[uuid.UUID, Manifest]:
    """The manifest of every section that has a bundle now, by section id."""
    if course.status == Course.Status.DRAFT:
        return {}
    manifests = {}
    for section in sections_for_bundles(course=course):
        manifest = section_manifest(course=course, section=section)
        if manifest is not None:
            manifests[section.pk] = manifest
    return manifests


def _bundles_store(
    *,
    course: Course,
    changed: dict[uuid.UUID, Manifest],
    known: dict[tuple[uuid.UUID, str], SectionBundle],
    now: datetime,
) -> None:
    """Make each changed section's manifest its current bundle. Content that comes back (an
    edit undone) finds its earlier row, which becomes current again: same version, same id."""
    revived = [
        known[(section_id, manifest.version)].pk
        for section_id, manifest in changed.items()
        if (section_id, manifest.version) in known
    ]
    SectionBundle.objects.filter(pk__in=revived).update(superseded_at=None, built_at=now)
    SectionBundle.objects.bulk_create(
        SectionBundle(
            course=course,
            section_id=section_id,
            version=manifest.version,
            manifest=manifest.document,
            manifest_size=len(manifest.content),
            size=manifest.size,
            previews_only=manifest.previews_only,
            built_at=now,
        )
        for section_id, manifest in changed.items()
        if (section_id, manifest.version) not in known
    )


def bundles_purge(*, now: datetime | None = None) -> int:
    """Delete the versions replaced more than `LMS_BUNDLE_KEEP_HOURS` ago; how many went."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.LMS_BUNDLE_KEEP_HOURS)
    deleted, _by_model = SectionBundle.objects.filter(superseded_at__lt=cutoff).delete()
    return deleted


def courses_for_bundle_refresh() -> list[str]:
    """The courses whose bundles a periodic refresh rebuilds: every course that is not a
    draft, and drafts that still have a current bundle (a build removes those)."""
    with_bundles = SectionBundle.objects.filter(superseded_at__isnull=True).values("course_id")
    courses = Course.objects.exclude(status=Course.Status.DRAFT) | Course.objects.filter(
        pk__in=with_bundles
    )
    return [str(pk) for pk in courses.order_by("pk").values_list("pk", flat=True)]
