"""analytics' part of a person's data (`accounts.personal_data`): the events recorded about
them (sent by their apps or written by the server) and their data exports.

On deletion, events stay attached to the anonymous tombstone, so rollups recomputed later
still count the learner (anonymously), but what they typed goes: the string properties of
client events (search queries, ...) are removed; numbers, booleans and the server's own
codes (a subscription's status, ...) stay. Their data exports are deleted, files included.
"""

from typing import Any

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from analytics.models import DataExport, Event
from analytics.services.exports import data_exports_erase

SCRUB_BATCH = 1000


def _export(user: User) -> dict[str, Any]:
    return {
        "events": list(
            Event.objects.filter(user=user)
            .order_by("occurred_at", "id")
            .values(
                "event_id",
                "type",
                "source",
                "app",
                "app_version",
                "course_id",
                "lesson_id",
                "occurred_at",
                "received_at",
                "properties",
            )
            .iterator(chunk_size=2000)
        ),
        "data_exports": list(
            DataExport.objects.filter(user=user)
            .order_by("requested_at")
            .values("id", "status", "requested_at", "ready_at", "expires_at", "downloaded_at")
        ),
    }


def _scrubbed(properties: dict) -> dict:
    return {key: value for key, value in properties.items() if not isinstance(value, str)}


def events_scrub(*, user: User) -> int:
    """Remove the free text (string properties) from the user's client events; returns how
    many events changed."""
    events = (
        Event.objects.filter(user=user, source=Event.Source.CLIENT)
        .exclude(properties={})
        .only("id", "properties")
    )
    changed: list[Event] = []
    count = 0
    for event in events.iterator(chunk_size=SCRUB_BATCH):
        cleaned = _scrubbed(event.properties or {})
        if cleaned != event.properties:
            event.properties = cleaned
            changed.append(event)
        if len(changed) >= SCRUB_BATCH:
            Event.objects.bulk_update(changed, ["properties"])
            count, changed = count + len(changed), []
    if changed:
        Event.objects.bulk_update(changed, ["properties"])
        count += len(changed)
    return count


def _erase(user: User) -> None:
    events_scrub(user=user)
    data_exports_erase(user=user)


personal_data_register(
    Section(
        name="activity",
        title="Events recorded while you used the site and the apps (lessons viewed, video "
        "plays and seeks, searches, enrollments, completions, ...), and your data exports.",
        export=_export,
        erase=_erase,
        on_deletion="Usage events stay as anonymous numbers in the statistics; what you "
        "typed (searches) is removed from them. Your data exports are deleted.",
        covers=("analytics.Event.user", "analytics.DataExport.user"),
    )
)
