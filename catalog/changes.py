"""Reactions to a change of a course's content, whatever made it (the admin, the authoring
API, an import, a quiz edit).

Every write to a course's content (the course, its sections, lessons, quizzes, questions,
choices, attachment links) calls `course_content_changed` inside its transaction. After
commit, the course's offline bundles are rebuilt (`catalog.bundles`): the build is
content-addressed, so a call that changed nothing a bundle holds builds nothing new.

However many calls one transaction makes for a course (a bulk import of a hundred lessons),
it queues one build. With a broker, the build waits `LMS_BUNDLE_BUILD_DELAY_SECONDS`, and
changes committed meanwhile queue nothing more: the build about to run reads them too (a
cache marker, dropped by the build as it starts). Eagerly (`make run`, tests) the build runs
as the change commits.
"""

import logging
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from catalog.outline import content_versions_bump
from catalog.structure import course_rules_invalidate

logger = logging.getLogger(__name__)

_QUEUED_MARKER = "catalog:bundles-build-queued:{}"


def course_content_changed(*, course_id: UUID | str) -> None:
    """Bump the course's content version (`catalog.outline.versions`: compiled outlines and
    cached pages show the change at once, including changes no model signal sees, such as
    bulk reorders) and queue the rebuild of its offline bundles once the change commits."""
    course_id = str(course_id)
    content_versions_bump(course_ids=[course_id])
    # The cached rules hold the lessons' order too: a bulk reorder sends no model signal.
    course_rules_invalidate(course_ids=[course_id])
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        isinstance(callback, _BuildQueue) and callback.pending_for(course_id)
        for _savepoints, callback, *_robust in connection.run_on_commit
    ):
        return  # this transaction queues it already (a rolled-back savepoint drops it)
    transaction.on_commit(_BuildQueue(course_id))


class _BuildQueue:
    """The on-commit callback; a transaction sees from it that it has queued the build."""

    def __init__(self, course_id: str) -> None:
        self.course_id = course_id
        self.ran = False

    def pending_for(self, course_id: str) -> bool:
        # `ran`: tests run callbacks without a real commit, which leaves them in the list.
        return self.course_id == course_id and not self.ran

    def __call__(self) -> None:
        from catalog.bundles.tasks import course_bundles_build

        self.ran = True

        delay = settings.LMS_BUNDLE_BUILD_DELAY_SECONDS
        marker = _QUEUED_MARKER.format(self.course_id)
        # The marker lives as long as the countdown: a change it holds back was committed
        # before the build can start, so the build reads it (even when the worker's cache is
        # not this process's and never clears the marker).
        if delay and not _first_in_window(marker, timeout=delay):
            return
        try:
            course_bundles_build.apply_async(kwargs={"course_id": self.course_id}, countdown=delay)
        except Exception:
            # The change is committed whatever happens here; the periodic refresh
            # (`bundles_refresh`) builds what a lost task did not.
            logger.exception(
                "The bundle build of course %s was not queued (or failed)", self.course_id
            )
            if delay:
                bundle_build_marker_clear(course_id=self.course_id)


def _first_in_window(marker: str, *, timeout: int) -> bool:
    """Whether no build of this course is queued yet (and now one is). Fails open: without
    the cache, every change queues its build."""
    try:
        return bool(cache.add(marker, 1, timeout))
    except Exception:
        return True


def bundle_build_marker_clear(*, course_id: UUID | str) -> None:
    """Called by the build as it starts: changes committed from now on queue another build."""
    try:
        cache.delete(_QUEUED_MARKER.format(course_id))
    except Exception:
        logger.warning("Cache unavailable: the bundle build marker of %s stays", course_id)
