"""Mux webhooks: `POST /webhooks/mux/` verifies, stores and acknowledges; handlers apply them.

Mux signs each delivery with `Mux-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`, computed
over `"<t>.<raw body>"` with the webhook's signing secret. `MUX_WEBHOOK_SECRETS` lists the
secrets accepted (the old and the new one while rotating). The event goes to the shared inbox
(`lms.webhooks`); the handlers below run in a Celery task after commit and apply the asset's
state through `media.state.video_state_apply`, which ignores stale events, and the static
renditions' (MP4 downloads) through `media.state.video_rendition_apply`.
"""

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from lms.errors import ErrorCode
from lms.models import WebhookEvent
from lms.webhooks import (
    WebhookRejectedError,
    webhook_handler,
    webhook_payload_parse,
    webhook_receive,
)
from media.models import Video
from media.renditions import DELETED, rendition_from_mux, renditions_from_asset
from media.state import (
    video_fields_from_asset,
    video_rendition_apply,
    video_renditions_apply,
    video_state_apply,
)

MUX = WebhookEvent.Provider.MUX
SIGNATURE_TOLERANCE_SECONDS = 300


def mux_signature_verify(
    *,
    header: str | None,
    body: bytes,
    secrets: list[str],
    now: datetime,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> None:
    """Check a `Mux-Signature` header against the raw body; raise `WebhookRejectedError`.

    Any `v1` value matching any secret is accepted (rotation), compared in constant time.
    The signature is checked before the time, so a forger learns nothing from the answer;
    a timestamp more than `tolerance` seconds before or after `now` is refused (replays).
    """
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1" and value:
            signatures.append(value)
    if not timestamp or not timestamp.isdigit() or not signatures:
        raise WebhookRejectedError(ErrorCode.WEBHOOK_SIGNATURE_INVALID)
    signed = timestamp.encode() + b"." + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets if s]
    if not any(
        hmac.compare_digest(candidate.encode(), signature.encode())
        for candidate in expected
        for signature in signatures
    ):
        raise WebhookRejectedError(ErrorCode.WEBHOOK_SIGNATURE_INVALID)
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        raise WebhookRejectedError(ErrorCode.WEBHOOK_TIMESTAMP_STALE)


def _event_fields(body: bytes) -> tuple[dict, str, str, datetime]:
    """The payload, id, type and time of a Mux event; raises WebhookRejectedError."""
    payload = webhook_payload_parse(body)
    event_id, event_type, created_at = payload.get("id"), payload.get("type"), None
    if isinstance(payload.get("created_at"), str):
        try:
            created_at = parse_datetime(payload["created_at"])
        except ValueError:
            created_at = None
    problems = []
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        problems.append("id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        problems.append("type")
    if created_at is None:
        problems.append("created_at")
    elif timezone.is_naive(created_at):
        created_at = timezone.make_aware(created_at, timezone.UTC)
    if problems:
        raise WebhookRejectedError(
            ErrorCode.WEBHOOK_PAYLOAD_INVALID, f"The event has no valid {', '.join(problems)}."
        )
    if not isinstance(payload.get("data", {}), dict):
        raise WebhookRejectedError(
            ErrorCode.WEBHOOK_PAYLOAD_INVALID, "The event's data is not an object."
        )
    return payload, event_id, event_type, created_at


@csrf_exempt
def mux_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, store and acknowledge one Mux event; a redelivered event is acknowledged too."""
    secrets = [secret for secret in getattr(settings, "MUX_WEBHOOK_SECRETS", []) if secret]

    def verify(body: bytes) -> tuple[dict, str, str, datetime]:
        mux_signature_verify(
            header=request.headers.get("Mux-Signature"),
            body=body,
            secrets=secrets,
            now=timezone.now(),
        )
        return _event_fields(body)

    return webhook_receive(
        request,
        provider=MUX,
        verify=verify if secrets else None,
        not_configured="Mux webhooks are not configured on this site.",
    )


# --- Handlers (registered by MediaConfig.ready) -------------------------------------------


def _data(event: WebhookEvent) -> dict:
    return event.payload.get("data") or {}


def _at(event: WebhookEvent) -> datetime:
    return event.occurred_at or event.received_at


@webhook_handler(MUX, "video.upload.asset_created")
def mux_upload_asset_created(event: WebhookEvent) -> None:
    """The direct upload finished and Mux made an asset of it: the video is preparing."""
    upload = _data(event)
    settings_ = upload.get("new_asset_settings") or {}
    video_state_apply(
        at=_at(event),
        video_id=settings_.get("passthrough"),
        upload_id=upload.get("id"),
        asset_id=upload.get("asset_id"),
        status=Video.Status.PREPARING,
    )


@webhook_handler(MUX, "video.upload.errored", "video.upload.cancelled")
def mux_upload_failed(event: WebhookEvent) -> None:
    """The upload never became an asset: the video is errored with Mux's reason."""
    upload = _data(event)
    error = upload.get("error") or {}
    message = error.get("message") if isinstance(error, dict) else None
    if event.event_type == "video.upload.cancelled":
        message = message or "The upload was cancelled."
    video_state_apply(
        at=_at(event),
        video_id=(upload.get("new_asset_settings") or {}).get("passthrough"),
        upload_id=upload.get("id"),
        status=Video.Status.ERRORED,
        error=message or "The upload failed.",
    )


@webhook_handler(
    MUX,
    "video.asset.created",
    "video.asset.ready",
    "video.asset.errored",
    "video.asset.updated",
)
def mux_asset_changed(event: WebhookEvent) -> None:
    """An asset was created, became ready (playback id, duration, aspect ratio), errored or
    changed; every one of these carries the asset, with its static renditions."""
    video_state_apply(at=_at(event), **video_fields_from_asset(_data(event)))


@webhook_handler(
    MUX,
    "video.asset.static_renditions.preparing",
    "video.asset.static_renditions.ready",
    "video.asset.static_renditions.errored",
    "video.asset.static_renditions.deleted",
)
def mux_asset_static_renditions_changed(event: WebhookEvent) -> None:
    """The older mp4_support API's files changed, reported for the whole asset: only its
    static renditions are applied from these."""
    data = _data(event)
    renditions = renditions_from_asset(data)
    asset_id = data.get("id")
    if renditions is not None and isinstance(asset_id, str):
        video_renditions_apply(at=_at(event), asset_id=asset_id, renditions=renditions)


@webhook_handler(
    MUX,
    "video.asset.static_rendition.created",
    "video.asset.static_rendition.ready",
    "video.asset.static_rendition.errored",
    "video.asset.static_rendition.skipped",
    "video.asset.static_rendition.deleted",
)
def mux_static_rendition_changed(event: WebhookEvent) -> None:
    """One static rendition (an MP4 or M4A download) was asked for, became ready, failed, was
    skipped (above the asset's resolution) or deleted. Its asset is `data.asset_id`, or the
    event's `object`."""
    data = _data(event)
    deleted = event.event_type.endswith(".deleted")
    rendition = rendition_from_mux({**data, "status": DELETED} if deleted else data)
    if rendition is None:
        return
    event_object = event.payload.get("object")
    asset_id = data.get("asset_id")
    if not isinstance(asset_id, str) and isinstance(event_object, dict):
        asset_id = event_object.get("id")
    video_rendition_apply(
        at=_at(event), asset_id=asset_id if isinstance(asset_id, str) else None, rendition=rendition
    )


@webhook_handler(MUX, "video.asset.deleted")
def mux_asset_deleted(event: WebhookEvent) -> None:
    """The asset is gone at Mux: the video cannot be played any more."""
    fields = video_fields_from_asset(_data(event))
    video_state_apply(at=_at(event), **{**fields, "status": Video.Status.DELETED})
