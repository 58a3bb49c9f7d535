"""A video's state as Mux reports it, applied in order whatever order the reports arrive in.

Two sources report it: webhooks (`media.webhooks`) and the reconciliation that re-reads an
asset from Mux's API (`media.mux`). Both go through `video_state_apply`, which ignores a
report older than the newest one already applied (`Video.state_at`), so a late or
redelivered event never overwrites newer state:

    video_state_apply(at=event.occurred_at, **video_fields_from_asset(event.payload["data"]))
    video_state_apply(at=timezone.now(), video_id=video.id, **video_fields_from_asset(asset))

Static renditions (MP4 downloads) have times of their own, per file (`media.renditions`): an
asset report's renditions are merged even when the rest of it is stale, and the events about
one rendition go through `video_rendition_apply`.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction

from media.models import Video
from media.renditions import (
    renditions_from_asset,
    renditions_merge,
    renditions_merge_all,
    renditions_status,
)

logger = logging.getLogger(__name__)

# Breaks ties between reports with the same time: the later stage of an asset's life wins.
_STAGE = {
    Video.Status.WAITING: 0,
    Video.Status.PREPARING: 1,
    Video.Status.READY: 2,
    Video.Status.ERRORED: 2,
    Video.Status.DELETED: 3,
}
_MUX_ASSET_STATUSES = {
    "preparing": Video.Status.PREPARING,
    "ready": Video.Status.READY,
    "errored": Video.Status.ERRORED,
}


def video_fields_from_asset(asset: dict[str, Any]) -> dict[str, Any]:
    """The `video_state_apply` arguments a Mux asset object carries.

    `asset` is an asset as Mux sends it: the `data` of a `video.asset.*` webhook, or the
    `data` of `GET /video/v1/assets/{id}` (mux-python's `Asset.to_dict()`). Returns
    `video_id` (our id, from `passthrough`), `upload_id`, `asset_id`, `status`,
    `playback_ids` (a list of `{"id", "policy"}`), `duration_seconds`, `aspect_ratio`,
    `error` and `static_renditions` (`media.renditions`); fields the asset does not carry
    are None.
    """
    errors = asset.get("errors") if isinstance(asset.get("errors"), dict) else {}
    messages = [str(message) for message in _list(errors.get("messages"))]
    error = "; ".join(messages) or _str(errors.get("type"))
    playback_ids = [
        {"id": item["id"], "policy": _str(item.get("policy")) or ""}
        for item in _list(asset.get("playback_ids"))
        if isinstance(item, dict) and _str(item.get("id"))
    ]
    duration = asset.get("duration")
    return {
        "video_id": _str(asset.get("passthrough")),
        "upload_id": _str(asset.get("upload_id")),
        "asset_id": _str(asset.get("id")),
        "status": _MUX_ASSET_STATUSES.get(_str(asset.get("status")) or ""),
        "playback_ids": playback_ids if "playback_ids" in asset else None,
        "duration_seconds": (
            float(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool)
            else None
        ),
        "aspect_ratio": _str(asset.get("aspect_ratio")),
        "error": error,
        "static_renditions": renditions_from_asset(asset),
    }


def _str(value: Any) -> str | None:
    """A non-empty string from Mux's JSON, or None (the payload is verified, not validated)."""
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def video_state_apply(
    *,
    at: datetime,
    video_id: uuid.UUID | str | None = None,
    upload_id: str | None = None,
    asset_id: str | None = None,
    status: str | None = None,
    playback_ids: list[dict[str, str]] | None = None,
    duration_seconds: float | None = None,
    aspect_ratio: str | None = None,
    error: str | None = None,
    static_renditions: list[dict] | None = None,
) -> bool:
    """Apply what Mux reported at `at` about one video; return whether the video changed.

    The video is found by our id (`video_id`, the passthrough), else by `upload_id`, else by
    `asset_id`, and locked. Nothing changes when:
    - no video matches (an asset made outside this site);
    - the report is about an asset the video no longer uses (it was replaced: the report's
      asset and upload ids both differ from the video's);
    - the report is stale: `at` is before the newest report applied (`state_at`), or at the
      same time but an earlier stage (preparing after ready); its static renditions are
      still merged, by their own times (`media.renditions`).

    Otherwise sets the given fields (None means "not reported") and `state_at = at`. The
    playback id is the first of `playback_ids` whose policy is the video's; a ready asset
    without one makes the video errored (a signed lesson video is never played publicly).
    A deleted asset leaves the video deleted, without a playback id or downloads.
    """
    with transaction.atomic():
        video = _video_for_update(video_id=video_id, upload_id=upload_id, asset_id=asset_id)
        if video is None:
            logger.info("No video for Mux upload %s / asset %s", upload_id, asset_id)
            return False
        if not _is_current(video, upload_id=upload_id, asset_id=asset_id):
            logger.info("Ignored a report about %s, no longer video %s's", asset_id, video.pk)
            return False
        stale = _is_stale(video, at=at, status=status)
        changes: dict[str, Any] = {}
        if static_renditions is not None:
            entries = renditions_merge_all(
                current=video.static_renditions, reported=static_renditions, at=at
            )
            changes.update(_renditions_changes(entries))
        if not stale:
            changes.update(
                _state_changes(
                    video,
                    asset_id=asset_id,
                    status=status,
                    playback_ids=playback_ids,
                    duration_seconds=duration_seconds,
                    aspect_ratio=aspect_ratio,
                    error=error,
                )
            )
        changed = [name for name, value in changes.items() if getattr(video, name) != value]
        if stale and not changed:
            return False
        for name in changed:
            setattr(video, name, changes[name])
        if not stale:
            video.state_at = at
            changed.append("state_at")
        video.save(update_fields=[*changed, "updated_at"])
        return bool(set(changed) - {"state_at"})


def _is_stale(video: Video, *, at: datetime, status: str | None) -> bool:
    return video.state_at is not None and (
        at < video.state_at
        or (
            at == video.state_at
            and status is not None
            and _STAGE[status] < _STAGE[Video.Status(video.status)]
        )
    )


def _state_changes(
    video: Video,
    *,
    asset_id: str | None,
    status: str | None,
    playback_ids: list[dict[str, str]] | None,
    duration_seconds: float | None,
    aspect_ratio: str | None,
    error: str | None,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if asset_id is not None:
        changes["mux_asset_id"] = asset_id
    if duration_seconds is not None:
        changes["duration_seconds"] = duration_seconds
    if aspect_ratio is not None:
        changes["aspect_ratio"] = aspect_ratio
    if playback_ids is not None:
        changes["playback_id"] = next(
            (item["id"] for item in playback_ids if item["policy"] == video.playback_policy),
            "",
        )
    if status is not None:
        changes["status"] = status
        changes["error"] = (error or "") if status == Video.Status.ERRORED else ""
    if status == Video.Status.DELETED:
        changes["playback_id"] = ""
        changes.update(_renditions_changes([]))
    if changes.get("status") == Video.Status.READY and not changes.get(
        "playback_id", video.playback_id
    ):
        changes["status"] = Video.Status.ERRORED
        changes["error"] = f"Mux gave the asset no {video.playback_policy} playback id."
    return changes


def _renditions_changes(entries: list[dict]) -> dict[str, Any]:
    return {"static_renditions": entries, "static_renditions_status": renditions_status(entries)}


def video_rendition_apply(*, at: datetime, asset_id: str | None, rendition: dict) -> bool:
    """Apply what Mux reported at `at` about one static rendition of an asset (a
    `video.asset.static_rendition.*` event, `rendition` from `renditions.rendition_from_mux`).
    Returns whether the video changed; nothing does when no video has this asset (one made
    elsewhere, or a rendition event that overtook the upload's: the asset's own report and
    the reconciliation carry its renditions too)."""
    return _renditions_update(
        asset_id=asset_id,
        merge=lambda current: renditions_merge(current=current, rendition=rendition, at=at),
    )


def video_renditions_apply(*, at: datetime, asset_id: str | None, renditions: list[dict]) -> bool:
    """Apply a report at `at` of all of an asset's static renditions, and nothing else of it
    (the older API's `video.asset.static_renditions.*` events). As `video_rendition_apply`."""
    return _renditions_update(
        asset_id=asset_id,
        merge=lambda current: renditions_merge_all(current=current, reported=renditions, at=at),
    )


def _renditions_update(*, asset_id: str | None, merge: Callable[[Any], list[dict]]) -> bool:
    if not asset_id:
        return False
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(mux_asset_id=asset_id).first()
        if video is None:
            logger.info("No video for the static renditions of Mux asset %s", asset_id)
            return False
        entries = merge(video.static_renditions)
        if entries == video.static_renditions:
            return False
        video.static_renditions = entries
        video.static_renditions_status = renditions_status(entries)
        video.save(update_fields=["static_renditions", "static_renditions_status", "updated_at"])
        return True


def _video_for_update(
    *, video_id: uuid.UUID | str | None, upload_id: str | None, asset_id: str | None
) -> Video | None:
    videos = Video.objects.select_for_update()
    if video_id:
        try:
            return videos.get(pk=uuid.UUID(str(video_id)))
        except (ValueError, Video.DoesNotExist):
            pass  # someone else's passthrough: try the Mux ids
    if upload_id:
        video = videos.filter(mux_upload_id=upload_id).first()
        if video is not None:
            return video
    if asset_id:
        return videos.filter(mux_asset_id=asset_id).first()
    return None


def _is_current(video: Video, *, upload_id: str | None, asset_id: str | None) -> bool:
    """Whether a report is about the video's current upload or asset (or it has none yet)."""
    if not video.mux_upload_id and not video.mux_asset_id:
        return True
    return bool(
        (asset_id and asset_id == video.mux_asset_id)
        or (upload_id and upload_id == video.mux_upload_id)
        or (asset_id and not video.mux_asset_id and not upload_id)
    )
