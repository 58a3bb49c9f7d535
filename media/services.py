"""Writes to videos: create and replace Mux direct uploads, soft delete and restore, and re-read
a video's state from Mux (reconciliation, the admin's "refresh").

Video bytes never pass through our servers: `video_create` returns a Mux upload URL and the
admin's browser sends the file there. Mux assets are deleted by a Celery task queued after
commit (`media.tasks.mux_asset_delete`), so a rolled-back change never deletes anything.
Webhooks and the refresh both go through `media.state.video_state_apply`, which ignores stale
states.

Video files (the second source beside Mux): `video_file_create` stores an MP4/WebM file in the
default storage, with its type sniffed and its duration read from the header (`media.probe`).

Also the cleanup of abandoned file uploads (`uploads_abandoned_delete`): presigned uploads that
were never confirmed, and whatever object their client may have sent to the bucket anyway.
"""

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from lms.broker import BROKER_ERRORS, broker_require
from lms.errors import ErrorCode
from media import mux
from media.models import StoredFile, Video
from media.probe import EXTENSIONS, VideoProbeError, VideoTypeError, video_probe

logger = logging.getLogger(__name__)

# Upload statuses at Mux that will never produce an asset, and what editors are told.
UPLOAD_FAILURES = {
    "errored": "The upload failed at Mux.",
    "cancelled": "The upload was cancelled.",
    "timed_out": "No file arrived before the upload expired. Upload the file again.",
}


def _asset_delete_on_commit(asset_id: str | None) -> None:
    """Delete the Mux asset once the transaction commits.

    The queued task is the only record of this work, so it must not be lost to a broker
    outage: call this inside the transaction, before anything else that cannot be undone.
    With the broker down it raises `ApplicationError(SERVICE_UNAVAILABLE)`, the transaction
    rolls back and the editor is told to try again; nothing is half-done.
    """
    if not asset_id:
        return
    broker_require()
    transaction.on_commit(lambda: _asset_delete_queue(asset_id))


def _asset_delete_queue(asset_id: str) -> None:
    from media.tasks import mux_asset_delete  # tasks import services

    try:
        mux_asset_delete.delay(asset_id=asset_id)
    except BROKER_ERRORS:
        # The broker answered the check a moment ago and failed since: the change is
        # committed, so say which asset is left at Mux for the operator to delete.
        logger.exception("Could not queue the deletion of Mux asset %s: delete it at Mux", asset_id)


def video_create(
    *,
    title: str,
    playback_policy: str,
    created_by: AbstractBaseUser | None,
    cors_origin: str,
) -> tuple[Video, str]:
    """Create a video waiting for its upload; returns it and the Mux URL the browser uploads to.

    The Mux direct upload is created first, with our video id as the asset's passthrough and
    the video's playback policy (signed for lessons, public for course previews). Should the
    insert then fail, the unused upload simply expires at Mux.
    Raises `mux.MuxNotConfiguredError`, a `ValidationError` for a bad title or policy, or the
    SDK's errors when Mux cannot be reached.
    """
    video = Video(title=title.strip(), playback_policy=playback_policy, created_by=created_by)
    video.full_clean(exclude=["mux_upload_id", "mux_asset_id"])
    upload = mux.mux_upload_create(
        passthrough=str(video.id), playback_policy=playback_policy, cors_origin=cors_origin
    )
    video.mux_upload_id = upload["id"]
    video.save(force_insert=True)
    return video, upload["url"]


@transaction.atomic
def video_upload_replace(*, video: Video, cors_origin: str) -> str:
    """Start over with a new file: a new direct upload; the old asset is deleted after commit.

    The video waits for its new upload (no playback until the new asset is ready), and its
    `state_at` moves to now, so late events about the old asset are ignored as stale.
    Returns the new upload URL.
    """
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.deleted_at is not None:
        raise ValidationError("Restore the video before uploading a new file.", code="deleted")
    # Before the upload is created at Mux: with the broker down nothing happens at all.
    _asset_delete_on_commit(video.mux_asset_id)
    upload = mux.mux_upload_create(
        passthrough=str(video.id), playback_policy=video.playback_policy, cors_origin=cors_origin
    )
    video.mux_upload_id = upload["id"]
    _reset_media(video)
    video.status = Video.Status.WAITING
    video.save()
    return upload["url"]


def video_file_max_bytes() -> int:
    return int(settings.LMS_VIDEO_FILE_MAX_BYTES)


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": [ValidationError(message, code=code)]})


def _video_file_check(file: File) -> tuple[str, float]:
    """(content type, duration) of an acceptable upload, else a ValidationError on `file`."""
    limit = video_file_max_bytes()
    if file.size is None or file.size == 0:
        raise _file_error("The file is empty.", ErrorCode.UPLOAD_TYPE_NOT_ALLOWED)
    if file.size > limit:
        raise _file_error(
            f"The file is {file.size} bytes; the limit is {limit} bytes "
            "(LMS_VIDEO_FILE_MAX_BYTES).",
            ErrorCode.UPLOAD_TOO_LARGE,
        )
    try:
        info = video_probe(file)
    except VideoTypeError as exc:
        raise _file_error(str(exc), ErrorCode.UPLOAD_TYPE_NOT_ALLOWED) from exc
    except VideoProbeError as exc:
        raise _file_error(str(exc), ErrorCode.VIDEO_FILE_UNREADABLE) from exc
    finally:
        file.seek(0)
    return info.content_type, info.duration_seconds


def video_file_create(
    *,
    title: str,
    file: File,
    playback_policy: str = Video.PlaybackPolicy.SIGNED,
    created_by: AbstractBaseUser | None = None,
) -> Video:
    """A video played from an MP4/WebM file in the default storage, ready at once.

    The type comes from the bytes (an `.mp4` name on anything else is refused), the size is
    at most settings LMS_VIDEO_FILE_MAX_BYTES, and the duration is read from the header, so
    heartbeats can be checked against it. Raises ValidationError (field `title`,
    `playback_policy` or `file`) with nothing stored. Should the row fail to save, the stored
    file is deleted again.
    """
    content_type, duration = _video_file_check(file)
    video = Video(
        title=title.strip(),
        playback_policy=playback_policy,
        created_by=created_by,
        source=Video.Source.FILE,
        status=Video.Status.READY,
        file_content_type=content_type,
        file_size=file.size,
        duration_seconds=duration,
    )
    video.full_clean(exclude=["mux_upload_id", "mux_asset_id", "file"])
    storage = storages["default"]
    video.file.name = storage.save(f"videos/{uuid.uuid4()}.{EXTENSIONS[content_type]}", file)
    try:
        with transaction.atomic():
            video.save(force_insert=True)
    except Exception:
        storage.delete(video.file.name)
        raise
    return video


def video_file_ensure(
    *,
    title: str,
    path: Path,
    playback_policy: str = Video.PlaybackPolicy.SIGNED,
    created_by: AbstractBaseUser | None = None,
) -> Video:
    """The file video of this title (not deleted), created from the file at `path` when there
    is none: for fixtures such as the demo school's sample clips. Idempotent."""
    existing = (
        Video.objects.filter(source=Video.Source.FILE, title=title.strip(), deleted_at__isnull=True)
        .order_by("created_at")
        .first()
    )
    if existing is not None:
        return existing
    with path.open("rb") as handle:
        return video_file_create(
            title=title,
            file=File(handle, name=path.name),
            playback_policy=playback_policy,
            created_by=created_by,
        )


@transaction.atomic
def video_update(*, video: Video, title: str) -> Video:
    """Rename a video (what editors may change; the rest comes from Mux)."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    video.title = title.strip()
    video.full_clean(exclude=["mux_upload_id", "mux_asset_id"])
    video.save(update_fields=["title", "updated_at"])
    return video


def _reset_media(video: Video) -> None:
    video.mux_asset_id = None
    video.playback_id = ""
    video.duration_seconds = None
    video.aspect_ratio = ""
    video.error = ""
    video.static_renditions = []
    video.static_renditions_status = Video.StaticRenditionsStatus.NONE
    video.state_at = timezone.now()


@transaction.atomic
def video_soft_delete(*, video: Video) -> Video:
    """Hide the video from the library and lessons, and delete its Mux asset after commit.

    Idempotent: deleting a deleted video changes nothing and queues nothing.
    """
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.deleted_at is not None:
        return video
    _asset_delete_on_commit(video.mux_asset_id)
    video.deleted_at = timezone.now()
    video.status = Video.Status.DELETED
    video.playback_id = ""
    video.save()
    return video


@transaction.atomic
def video_restore(*, video: Video) -> Video:
    """Bring a deleted video back to the library. Its Mux asset is gone, so it waits for a new
    upload (the admin's "Upload a new file"); lessons that still point to it show it again once
    it is ready. Idempotent."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.deleted_at is None:
        return video
    video.deleted_at = None
    if video.is_file:
        # The file was kept: the video plays again as it was.
        video.status = Video.Status.READY
        video.save()
        return video
    video.mux_upload_id = None
    _reset_media(video)
    video.status = Video.Status.WAITING
    video.save()
    return video


def video_refresh_from_mux(*, video: Video) -> bool:
    """Re-read the video's upload and asset from Mux and apply them as of now.

    For a video whose webhooks never arrived (reconciliation) or an editor's "refresh".
    Returns whether the video changed. A deleted video is left alone. Raises the SDK's errors
    when Mux cannot be reached (the caller decides whether to retry).
    """
    from media.state import video_fields_from_asset, video_state_apply

    video = Video.objects.get(pk=video.pk)  # the caller's copy may be stale
    if video.deleted_at is not None:
        return False
    now = timezone.now()
    current = {"video_id": video.id, "upload_id": video.mux_upload_id}
    asset_id = video.mux_asset_id
    if not asset_id and video.mux_upload_id:
        upload = mux.mux_upload_get(video.mux_upload_id)
        asset_id = upload.get("asset_id")
        if not asset_id:
            if upload.get("status") not in UPLOAD_FAILURES:
                return False  # still waiting for the browser
            error = (upload.get("error") or {}).get("message") or UPLOAD_FAILURES[upload["status"]]
            return video_state_apply(**current, at=now, status=Video.Status.ERRORED, error=error)
    if not asset_id:
        return False
    try:
        asset = mux.mux_asset_get(asset_id)
    except mux.NotFoundException:
        return video_state_apply(
            **current,
            at=now,
            asset_id=asset_id,
            status=Video.Status.ERRORED,
            error="The Mux asset no longer exists. Upload the file again.",
        )
    fields = video_fields_from_asset(asset)
    fields.update(video_id=video.id, upload_id=fields["upload_id"] or video.mux_upload_id)
    return video_state_apply(at=now, **fields)


def video_static_renditions_request(*, video: Video) -> list[str]:
    """Ask Mux to make MP4/M4A downloads of a ready Mux video (one uploaded before settings
    MUX_STATIC_RENDITIONS asked for them, or with other ones): the resolutions of that
    setting, or "highest" when it is empty, less those the video already has. Returns the
    resolutions asked for; webhooks (and the reconciliation) say when they are ready.
    Raises ValidationError for a video that is not a ready Mux video, `mux.MuxNotConfiguredError`
    or the SDK's errors."""
    from media.renditions import DELETED, rendition_from_mux
    from media.state import video_rendition_apply

    video = Video.objects.get(pk=video.pk)
    if video.is_file or not video.is_ready or not video.mux_asset_id:
        raise ValidationError(
            "Only a ready Mux video can have MP4 downloads made.", code="not_ready"
        )
    have = {
        entry.get("resolution")
        for entry in video.static_renditions
        if isinstance(entry, dict) and entry.get("status") != DELETED
    }
    asked = [r for r in mux.static_renditions_wanted() or ["highest"] if r not in have]
    for resolution in asked:
        made = mux.mux_static_rendition_create(video.mux_asset_id, resolution=resolution)
        rendition = rendition_from_mux(made, default_status="preparing")
        if rendition is not None:
            video_rendition_apply(
                at=timezone.now(), asset_id=video.mux_asset_id, rendition=rendition
            )
    return asked


# --- Abandoned uploads -----------------------------------------------------------------------


def uploads_abandoned_cutoff() -> datetime:
    """Files still pending that were created before this are abandoned: their presigned POST
    expired long ago (`media.storage.UPLOAD_URL_TTL`), so no confirm can be on its way."""
    return timezone.now() - timedelta(hours=settings.LMS_UPLOAD_PENDING_HOURS)


def _unreferenced(files: QuerySet[StoredFile]) -> QuerySet[StoredFile]:
    """Leave out files that any row points at (today a lesson's attachments, which the admin
    only offers once confirmed, but the ORM does not stop). Found from the model's reverse
    relations, so media names no app that uses it, and as EXISTS subqueries rather than joins,
    so that FOR UPDATE locks file rows only."""
    for relation in StoredFile._meta.related_objects:
        used = StoredFile.objects.filter(pk=OuterRef("pk"), **{f"{relation.name}__isnull": False})
        files = files.exclude(Exists(used))
    return files


def uploads_abandoned_delete(*, created_before: datetime, batch_size: int) -> int:
    """Delete up to `batch_size` of the oldest files still pending that were created before
    `created_before`, with their objects in the default storage; returns how many went.

    Safe to run alongside itself and `media.storage.upload_confirm`: rows are locked with
    SKIP LOCKED (a row another run or a confirm holds is left for later), and the status is
    read under the lock, so a file confirmed meanwhile is never touched. An object already
    missing counts as deleted. Each object is deleted before its row, so a failure leaves the
    row pending and the next run tries again; a storage error skips that file only.
    """
    storage = storages["default"]
    with transaction.atomic():
        files = list(
            _unreferenced(
                StoredFile.objects.select_for_update(skip_locked=True).filter(
                    status=StoredFile.Status.PENDING, created_at__lt=created_before
                )
            ).order_by("created_at")[:batch_size]
        )
        gone = []
        for file in files:
            try:
                storage.delete(file.key)
            except Exception:  # any backend's failure: keep the row, retry on the next run
                logger.exception("Deleting the abandoned upload %s (%s) failed", file.pk, file.key)
                continue
            gone.append(file.pk)
        StoredFile.objects.filter(pk__in=gone).delete()
    return len(gone)
