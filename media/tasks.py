"""Media tasks: delete Mux assets, re-read videos whose webhooks never came, and clean up
file uploads that were never confirmed.

Beat schedule (settings): `videos_reconcile` every 5 minutes, `uploads_pending_cleanup` hourly.
"""

import logging
from datetime import timedelta

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from media import mux
from media.models import Video
from media.services import (
    uploads_abandoned_cutoff,
    uploads_abandoned_delete,
    video_refresh_from_mux,
)

logger = logging.getLogger(__name__)

# Retries of a failed asset deletion: 10 s doubled each time, at most LMS_TASK_COUNTDOWN_MAX
# (150 s by default: a longer countdown would outlast the broker's visibility timeout and be
# delivered twice), so 20 retries keep trying for about 45 minutes.
ASSET_DELETE_MAX_RETRIES = 20
RETRY_BACKOFF = 10  # seconds, doubled each retry, with jitter
RECONCILE_BATCH_SIZE = 50
UPLOAD_CLEANUP_BATCH_SIZE = 100
STUCK_STATUSES = (Video.Status.WAITING, Video.Status.PREPARING)


@shared_task(bind=True, max_retries=ASSET_DELETE_MAX_RETRIES)
def mux_asset_delete(self, *, asset_id: str) -> bool:
    """Delete a Mux asset. Idempotent: an asset Mux no longer has (404) counts as deleted.

    Transient failures (network, 429, 5xx) are retried with exponential backoff; anything else
    (e.g. a 401 from a revoked token) fails visibly. Returns whether Mux still had the asset.
    """
    try:
        return mux.mux_asset_delete(asset_id)
    except Exception as exc:
        if not mux.mux_error_is_transient(exc) or self.request.retries >= self.max_retries:
            logger.error("Deleting Mux asset %s failed for good", asset_id, exc_info=exc)
            raise
        countdown = get_exponential_backoff_interval(
            factor=RETRY_BACKOFF,
            retries=self.request.retries,
            maximum=settings.LMS_TASK_COUNTDOWN_MAX,
            full_jitter=True,
        )
        logger.warning(
            "Deleting Mux asset %s failed (%s); retry %d in %d s",
            asset_id,
            exc,
            self.request.retries + 1,
            countdown,
        )
        if self.request.is_eager:
            # Run eagerly (no broker, tests), Celery re-raises the Retry instead of running
            # it when errors propagate: run the retry here.
            retry = self.retry(exc=exc, countdown=countdown, throw=False)
            outcome = retry.sig.apply()
            if outcome.failed():
                raise outcome.result from exc
            return outcome.result
        raise self.retry(exc=exc, countdown=countdown) from exc


def stuck_videos_cutoff():
    minutes = getattr(settings, "LMS_VIDEO_STUCK_MINUTES", 30)
    return timezone.now() - timedelta(minutes=minutes)


@shared_task
def videos_reconcile(*, batch_size: int = RECONCILE_BATCH_SIZE) -> int:
    """Re-read from Mux the videos waiting or preparing for longer than LMS_VIDEO_STUCK_MINUTES,
    and the ready ones whose static renditions (MP4 downloads) are still preparing as long.

    Takes the oldest `batch_size` of them; each one read is touched (its `updated_at` moves to
    now), so the next batch, and the next run, move on to others, and a video whose upload
    never starts is read again only once per threshold. A full batch queues the next one.
    Returns how many videos were read.
    """
    if not mux.mux_configured():
        return 0
    stuck = Q(status__in=STUCK_STATUSES) | Q(
        status=Video.Status.READY,
        static_renditions_status=Video.StaticRenditionsStatus.PREPARING,
    )
    videos = list(
        Video.objects.filter(
            Q(mux_upload_id__isnull=False) | Q(mux_asset_id__isnull=False),
            stuck,
            deleted_at__isnull=True,
            updated_at__lt=stuck_videos_cutoff(),
        ).order_by("updated_at")[:batch_size]
    )
    for video in videos:
        try:
            video_refresh_from_mux(video=video)
        except Exception as exc:
            if not mux.mux_error_is_transient(exc):
                logger.exception("Reconciling video %s failed", video.pk)
            else:
                logger.warning("Reconciling video %s failed (%s); next run", video.pk, exc)
        # Moves it to the back of the queue, changed or not.
        Video.objects.filter(pk=video.pk).update(updated_at=timezone.now())
    if len(videos) == batch_size:
        videos_reconcile.delay(batch_size=batch_size)
    return len(videos)


@shared_task
def uploads_pending_cleanup(*, batch_size: int = UPLOAD_CLEANUP_BATCH_SIZE) -> int:
    """Delete the files still pending after LMS_UPLOAD_PENDING_HOURS, and their objects.

    One bounded batch per run; a batch deleted in full queues the next one. A batch with
    failures does not, so a storage outage waits for the next beat instead of looping.
    Returns how many files this run deleted.
    """
    deleted = uploads_abandoned_delete(
        created_before=uploads_abandoned_cutoff(), batch_size=batch_size
    )
    if deleted == batch_size:
        uploads_pending_cleanup.delay(batch_size=batch_size)
    return deleted
