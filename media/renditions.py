"""Mux static renditions (MP4/M4A downloads) as Mux reports them, merged in time order.

Two kinds of report carry them:
- one rendition: the `data` of a `video.asset.static_rendition.*` webhook (created, ready,
  errored, skipped, deleted), or Mux's answer when we ask for one;
- all of an asset's renditions: the `static_renditions` object of an asset (`files`, and the
  asset-wide `status` of the older `mp4_support` API), in `video.asset.*` webhooks and in
  `GET /video/v1/assets/{id}` (the refresh and the reconciliation).

A video keeps one entry per file name (`Video.static_renditions`), each with the provider time
of its newest report (`at`). A report older than the entry it is about changes nothing, so a
late or redelivered event never undoes a newer one; at the same time a later stage wins
(ready over preparing, deleted over ready). A rendition missing from a full report is marked
deleted, if its entry is older than the report. Deleted entries stay as tombstones, so a late
"ready" cannot bring a deleted file back. Pure functions: `media.state` locks and saves.
"""

from datetime import datetime
from typing import Any

from media.models import Video

PREPARING, READY, ERRORED, SKIPPED, DELETED = "preparing", "ready", "errored", "skipped", "deleted"
_STAGE = {PREPARING: 0, READY: 1, ERRORED: 1, SKIPPED: 1, DELETED: 2}
# The asset-wide status of the older API, which its files inherit (they carry none).
_ASSET_STATUSES = {PREPARING, READY, ERRORED}
_FIELDS = ("ext", "resolution", "width", "height", "bitrate", "size_bytes", "id")
_MAX_NAME = 40

Status = Video.StaticRenditionsStatus


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    """A non-negative integer from Mux's JSON (`filesize` is a string of digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def rendition_from_mux(data: Any, *, default_status: str = READY) -> dict | None:
    """One rendition as we keep it, or None when the report is not a usable one."""
    if not isinstance(data, dict):
        return None
    name = _str(data.get("name"))
    status = _str(data.get("status")) or default_status
    if not name or len(name) > _MAX_NAME or "/" in name or status not in _STAGE:
        return None
    return {
        "name": name,
        "ext": _str(data.get("ext")) or name.rpartition(".")[2],
        "resolution": _str(data.get("resolution")) or "",
        "width": _count(data.get("width")),
        "height": _count(data.get("height")),
        "bitrate": _count(data.get("bitrate")),
        "size_bytes": _count(data.get("filesize")),
        "status": status,
        "id": _str(data.get("id")) or "",
    }


def renditions_from_asset(asset: dict[str, Any]) -> list[dict] | None:
    """All renditions an asset reports, or None when it says nothing about them."""
    block = asset.get("static_renditions")
    if not isinstance(block, dict):
        return None
    files = block.get("files", [])
    if not isinstance(files, list):
        return None
    status = _str(block.get("status"))
    default = status if status in _ASSET_STATUSES else READY
    renditions = [rendition_from_mux(item, default_status=default) for item in files]
    return [rendition for rendition in renditions if rendition is not None]


def _entries(current: Any) -> dict[str, dict]:
    if not isinstance(current, list):
        return {}
    return {
        entry["name"]: entry
        for entry in current
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    }


def _is_newer(*, status: str, at: datetime, entry: dict) -> bool:
    try:
        entry_at = datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return True
    if at != entry_at:
        return at > entry_at
    return _STAGE[status] >= _STAGE.get(entry.get("status"), 0)


def _sorted(entries: dict[str, dict]) -> list[dict]:
    return [entries[name] for name in sorted(entries)]


def _merge(entries: dict[str, dict], rendition: dict, at: datetime) -> None:
    old = entries.get(rendition["name"])
    if old is not None and not _is_newer(status=rendition["status"], at=at, entry=old):
        return
    merged = {**rendition, "at": at.isoformat()}
    if old is not None:
        # Reports of one file differ in detail (a "created" event has no size): keep what an
        # earlier report said when this one is silent.
        for name in _FIELDS:
            if merged.get(name) in (None, "") and old.get(name) not in (None, ""):
                merged[name] = old[name]
    entries[rendition["name"]] = merged


def renditions_merge(*, current: Any, rendition: dict, at: datetime) -> list[dict]:
    """The entries after one rendition's report at `at`."""
    entries = _entries(current)
    _merge(entries, rendition, at)
    return _sorted(entries)


def renditions_merge_all(*, current: Any, reported: list[dict], at: datetime) -> list[dict]:
    """The entries after a report of all the asset's renditions at `at`."""
    entries = _entries(current)
    for rendition in reported:
        _merge(entries, rendition, at)
    listed = {rendition["name"] for rendition in reported}
    for name, entry in list(entries.items()):
        gone = name not in listed and entry.get("status") != DELETED
        if gone and _is_newer(status=DELETED, at=at, entry=entry):
            entries[name] = {**entry, "status": DELETED, "at": at.isoformat()}
    return _sorted(entries)


def renditions_status(entries: list[dict]) -> str:
    """The video's downloads at a glance: preparing while any file is, else ready when one is,
    else errored when one failed, else none (skipped ones: above the asset's resolution)."""
    statuses = {entry.get("status") for entry in entries}
    if PREPARING in statuses:
        return Status.PREPARING
    if READY in statuses:
        return Status.READY
    if ERRORED in statuses:
        return Status.ERRORED
    return Status.NONE
