"""Downloads for apps that keep content offline: video files to fetch, and files' hashes.

`video_downloads(video=, expires=)` lists what a client may download of one video, each with a
URL valid for `expires` seconds:
- a Mux video: its ready static renditions (MP4/M4A files Mux made,
  `Video.static_renditions`), at `https://stream.mux.com/<playback id>/<rendition name>`;
  for a signed playback policy the URL carries a playback token (`?token=`, RS256, audience
  "v": Mux checks static rendition URLs with the video token, the same key as streaming).
  Largest first. Nothing when the video has no ready rendition, or it is signed and no
  signing key is configured (logged). Public playback ids give stable URLs (`expires_at`
  None).
- a file video: its own file, through a presigned GET when the default storage is S3, else
  through the signed local URL the file player uses (`media.video_files`), made absolute with
  settings SITE_URL.
Nothing for videos that are not ready or deleted.

`file_sha256_ensure(file=)` is a stored file's SHA-256, read from storage once (streamed) and
kept on the row; never recomputed (stored objects are not rewritten under the same key).

Neither decides who may download: callers (catalog's offline bundles) ask `catalog.access`
and the learner's tier first.
"""

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from lms.errors import ErrorCode
from media.models import StoredFile, Video
from media.playback import (
    VIDEO_AUDIENCE,
    PlaybackNotConfiguredError,
    playback_configured,
    playback_token_sign,
)
from media.storage import StorageError, object_chunks, s3_configured
from media.video_files import video_file_url

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
_CONTENT_TYPES = {"mp4": "video/mp4", "m4a": "audio/mp4"}

__all__ = ["VideoDownload", "file_sha256_ensure", "video_downloadable", "video_downloads"]


@dataclass(frozen=True)
class VideoDownload:
    name: str  # "highest.mp4", "720p.mp4", "audio.m4a"; a file video's is "file.mp4"/"file.webm"
    url: str
    content_type: str
    size_bytes: int | None
    width: int | None
    height: int | None
    expires_at: dt.datetime | None  # None: a stable URL (public Mux playback ids)


def video_downloads(
    *, video: Video, expires: int, now: dt.datetime | None = None
) -> list[VideoDownload]:
    """What of this video can be downloaded, with URLs valid for `expires` seconds from `now`
    (largest first). Empty when nothing is. Access is the caller's decision."""
    if not video_downloadable(video=video):
        return []
    now = (now or timezone.now()).replace(microsecond=0)
    if video.is_file:
        return _file_downloads(video=video, expires=expires, now=now)
    return _mux_downloads(video=video, expires=expires, now=now)


def video_downloadable(*, video: Video) -> bool:
    """Whether the video has something to download (a ready file, or a ready Mux video with a
    ready static rendition), whatever this site's keys: no URL is made, nothing is read.
    `video_downloads` may still be empty when a signed video's signing key is missing."""
    if not video.is_ready:
        return False
    if video.is_file:
        return bool(video.file.name)
    return bool(video.playback_id) and bool(ready_renditions(video=video))


def ready_renditions(*, video: Video) -> list[dict]:
    """The video's ready static renditions, largest first (no query)."""
    ready = [
        rendition
        for rendition in video.static_renditions or []
        if isinstance(rendition, dict) and rendition.get("status") == "ready"
    ]
    return sorted(ready, key=lambda r: (-(r.get("height") or 0), -(r.get("bitrate") or 0)))


def _mux_downloads(*, video: Video, expires: int, now: dt.datetime) -> list[VideoDownload]:
    renditions = ready_renditions(video=video)
    signed = video.playback_policy == Video.PlaybackPolicy.SIGNED
    stream_url = settings.MUX_STREAM_URL.rstrip("/")
    expires_at = None
    query = ""
    if signed:
        if not playback_configured():
            return []
        expires_at = now + dt.timedelta(seconds=expires)
        try:
            token = playback_token_sign(
                playback_id=video.playback_id, audience=VIDEO_AUDIENCE, expires_at=expires_at
            )
        except PlaybackNotConfiguredError:
            logger.warning("Cannot sign downloads of video %s: no usable signing key", video.pk)
            return []
        query = "?" + urlencode({"token": token})
    return [
        VideoDownload(
            name=rendition["name"],
            url=f"{stream_url}/{video.playback_id}/{rendition['name']}{query}",
            content_type=_CONTENT_TYPES.get(rendition.get("ext") or "", "video/mp4"),
            size_bytes=rendition.get("size_bytes"),
            width=rendition.get("width"),
            height=rendition.get("height"),
            expires_at=expires_at,
        )
        for rendition in renditions
    ]


def _file_downloads(*, video: Video, expires: int, now: dt.datetime) -> list[VideoDownload]:
    signed = video_file_url(video=video, signed=True, ttl=expires, now=now)
    url = signed.url
    if url.startswith("/"):
        url = settings.SITE_URL.rstrip("/") + url
    extension = "webm" if video.file_content_type == "video/webm" else "mp4"
    return [
        VideoDownload(
            name=f"file.{extension}",
            url=url,
            content_type=video.file_content_type or "video/mp4",
            size_bytes=video.file_size,
            width=None,
            height=None,
            expires_at=signed.expires_at,
        )
    ]


def file_sha256_ensure(*, file: StoredFile) -> str:
    """The stored file's SHA-256 (hex), computed from storage on the first call and kept on
    the row; later calls read nothing. Raises StorageError UPLOAD_INCOMPLETE for a file not
    yet uploaded, FILE_NOT_FOUND when storage has no object for it."""
    if file.sha256:
        return file.sha256
    if file.status != StoredFile.Status.CONFIRMED:
        raise StorageError(ErrorCode.UPLOAD_INCOMPLETE)
    digest = hashlib.sha256()
    for chunk in _object_chunks(key=file.key):
        digest.update(chunk)
    file.sha256 = digest.hexdigest()
    # Two builds may hash the same file at once: both write the same value.
    StoredFile.objects.filter(pk=file.pk, sha256="").update(sha256=file.sha256)
    return file.sha256


def _object_chunks(*, key: str) -> Iterator[bytes]:
    """The object's bytes in chunks: from the bucket (by its key, as presigned URLs name it),
    else from the default storage (local files)."""
    if s3_configured():
        yield from object_chunks(key=key, chunk_size=CHUNK_SIZE)
        return
    storage = storages["default"]
    try:
        handle = storage.open(key, "rb")
    except (FileNotFoundError, OSError):
        raise StorageError(ErrorCode.FILE_NOT_FOUND) from None
    with handle:
        yield from iter(lambda: handle.read(CHUNK_SIZE), b"")
