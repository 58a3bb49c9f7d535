"""Playing video files: URLs for the browser's <video>, and our view that serves local files.

`video_file_url` decides nothing about who may watch: callers ask `catalog.access` first,
then say whether the URL must be short-lived (`signed=True`: lessons not everyone may open).

- S3 (the default storage is a bucket): always a presigned GET, valid for
  settings LMS_PLAYBACK_TOKEN_TTL seconds; the bucket itself answers Range requests.
- Local storage (development, small sites): a URL of `video_file_serve` carrying a
  `django.core.signing` token for this video and its stored file name, with an expiry when
  signed. Without one (lessons anyone may open) the URL is stable, so browsers cache it; it
  still stops working when the video's file is replaced or the video deleted.

`video_file_serve` answers single byte ranges (206, `Content-Range`; 416 when unsatisfiable),
which browsers need to seek, with `Accept-Ranges: bytes`; a signed file is `Cache-Control:
private`, so no shared cache keeps it.
"""

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from media.models import Video
from media.storage import object_presigned_get, s3_configured

SALT = "media.video-file"
CHUNK_SIZE = 64 * 1024
# How long a browser may keep a stable (public) file; a signed one, only until it expires.
PUBLIC_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class VideoFileUrl:
    url: str
    content_type: str
    expires_at: dt.datetime | None  # None: a stable URL


def video_file_ttl() -> int:
    return int(settings.LMS_PLAYBACK_TOKEN_TTL)


def video_file_url(
    *, video: Video, signed: bool, now: dt.datetime | None = None, ttl: int | None = None
) -> VideoFileUrl:
    """Where the browser fetches this file video's bytes. Access is the caller's decision.

    `ttl` (seconds) overrides settings LMS_PLAYBACK_TOKEN_TTL for a signed URL (downloads).
    """
    if not video.is_file or not video.file.name:
        raise ValueError("video_file_url is for file videos")
    now = (now or timezone.now()).replace(microsecond=0)
    ttl = ttl or video_file_ttl()
    if s3_configured():
        storage = storages["default"]
        presigned = object_presigned_get(
            # The object's key: the storage's `location` prefix, if any, comes first.
            key=storage._normalize_name(video.file.name),
            expires=ttl,
            content_type=video.file_content_type,
        )
        return VideoFileUrl(presigned.url, video.file_content_type, presigned.expires_at)
    expires_at = now + dt.timedelta(seconds=ttl) if signed else None
    # A plain Signer (no timestamp): the same claims give the same token, so a URL without
    # expiry is stable.
    token = signing.Signer(salt=SALT).sign_object(
        {
            "v": str(video.pk),
            "f": video.file.name,
            "e": int(expires_at.timestamp()) if expires_at else None,
        }
    )
    url = f"{reverse('video-file', args=[video.pk])}?{urlencode({'t': token})}"
    return VideoFileUrl(url, video.file_content_type, expires_at)


# --- Byte ranges (RFC 9110 §14) --------------------------------------------------------------

_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


class RangeNotSatisfiable(Exception):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range header, or None to send it all.

    A header we do not parse (several ranges, other units, bad syntax) is ignored, as the RFC
    allows; a range wholly past the end raises RangeNotSatisfiable.
    """
    match = _RANGE.fullmatch(header or "")
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignore it
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def _chunks(file: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        file.seek(start)
        while length > 0:
            data = file.read(min(CHUNK_SIZE, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        file.close()


# --- The view ------------------------------------------------------------------------------


def _token_payload(request: HttpRequest, video_id: uuid.UUID) -> dict | None:
    """The token's claims when it is ours, for this video, and not expired; else None."""
    try:
        payload = signing.Signer(salt=SALT).unsign_object(request.GET.get("t", ""))
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("v") != str(video_id):
        return None
    expires = payload.get("e")
    if expires is not None and (
        not isinstance(expires, int) or expires <= timezone.now().timestamp()
    ):
        return None
    return payload


def _cache_control(expires: int | None) -> str:
    if expires is None:
        return f"public, max-age={PUBLIC_MAX_AGE}"
    remaining = max(0, expires - int(timezone.now().timestamp()))
    return f"private, max-age={remaining}"


@require_safe
def video_file_serve(request: HttpRequest, video_id: uuid.UUID) -> HttpResponse:
    """A file video's bytes for a URL from `video_file_url` (403 when its token is bad or
    expired, 404 when the video or that file is gone)."""
    payload = _token_payload(request, video_id)
    if payload is None:
        return HttpResponseForbidden(
            "This video link is invalid or has expired.", content_type="text/plain"
        )
    video = Video.objects.filter(
        pk=video_id, source=Video.Source.FILE, deleted_at__isnull=True
    ).first()
    if video is None or not video.file.name or video.file.name != payload.get("f"):
        raise Http404("No such video file.")
    storage = storages["default"]
    try:
        size = storage.size(video.file.name)
    except OSError:
        raise Http404("No such video file.") from None
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": _cache_control(payload.get("e")),
        "Content-Disposition": "inline",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    try:
        requested = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = requested if requested is not None else (0, size - 1)
    length = max(0, end - start + 1)
    response = StreamingHttpResponse(
        _chunks(storage.open(video.file.name, "rb"), start, length),
        status=206 if requested is not None else 200,
        content_type=video.file_content_type or "application/octet-stream",
        headers={**headers, "Content-Length": str(length)},
    )
    if requested is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
