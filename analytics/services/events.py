"""Writing the server's own events (from `lms.events.server_event`). Client batches are
`analytics.services.ingest`."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Subquery
from django.utils import timezone

from analytics.models import Event
from lms.events import ServerEvent

# Server events get a UUID derived from their key, so writing the same fact twice (a
# replayed webhook, a retried task) stores it once.
SERVER_EVENT_NAMESPACE = uuid.UUID("5b0d3c52-7f1e-4b8e-9a51-6f3a2f0c9e11")


def server_event_id(*, type: str, key: str) -> uuid.UUID:
    return uuid.uuid5(SERVER_EVENT_NAMESPACE, f"{type}:{key}")


def server_event_store(*, sender: Any, events: Sequence[ServerEvent], **_: Any) -> None:
    """Insert the events in the caller's transaction, one INSERT; known keys are skipped."""
    Event.objects.bulk_create(
        [
            Event(
                event_id=server_event_id(type=event.type, key=event.key),
                type=event.type,
                source=Event.Source.SERVER,
                user_id=event.user_id,
                app="server",
                course_id=event.course_id,
                lesson_id=event.lesson_id,
                occurred_at=event.occurred_at,
                properties=event.properties or {},
            )
            for event in events
        ],
        ignore_conflicts=True,
    )


def events_purge_expired(*, batch_size: int, now: datetime | None = None) -> int:
    """Delete up to `batch_size` of the oldest events received more than
    LMS_ANALYTICS_RETENTION_DAYS ago (0: keep forever), oldest first. The rows are in arrival
    order, so the batch is the start of the primary key: a short index range scan, however
    big the table. Returns how many were deleted."""
    days = settings.LMS_ANALYTICS_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    oldest = Event.objects.filter(received_at__lt=cutoff).order_by("id").values("id")
    deleted, _ = Event.objects.filter(id__in=Subquery(oldest[:batch_size])).delete()
    return deleted
