"""Bundle builds (thin: the work is in `catalog.bundles.services`)."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError

from lms.errors import TransientError

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(TransientError,),
    retry_backoff=5,
    retry_backoff_max=settings.LMS_TASK_COUNTDOWN_MAX,
    retry_jitter=True,
    max_retries=6,
)
def course_bundles_build(*, course_id: str) -> None:
    """Build the offline bundles of one course's sections (idempotent).

    Queued after commit by `catalog.changes.course_content_changed`. Retried only when the
    storage could not be read to hash an attachment, or when a section was deleted while the
    build read it (TransientError); the bundles stored before stay current meanwhile.
    """
    from catalog.bundles.services import course_bundles_build as build
    from catalog.changes import bundle_build_marker_clear

    # First: a change committed from now on queues another build, this one may miss it.
    bundle_build_marker_clear(course_id=course_id)
    try:
        build(course_id=course_id)
    except IntegrityError as exc:  # a section deleted under the build: read the course again
        raise TransientError(f"Course {course_id} changed during its bundle build") from exc


@shared_task
def bundles_refresh() -> int:
    """Periodic (beat, LMS_BUNDLE_REFRESH_SECONDS): purge the versions replaced long enough
    ago, and queue a build of every course that may have bundles, for what no change queued
    (a build lost with its worker, a video's downloads finished by Mux since). A build that
    finds the same content stores nothing. Returns how many builds were queued."""
    from catalog.bundles.services import bundles_purge, courses_for_bundle_refresh

    purged = bundles_purge()
    course_ids = courses_for_bundle_refresh()
    for course_id in course_ids:
        course_bundles_build.delay(course_id=course_id)
    logger.info("Bundles: %d old versions purged, %d builds queued", purged, len(course_ids))
    return len(course_ids)
