"""Writing events: the server's own (from `lms.events.server_event`) and, later, client
batches."""

import uuid
from datetime import datetime
from typing import Any

from analytics.models import Event

# Server events get a UUID derived from their key, so writing the same fact twice (a
# replayed webhook, a retried task) stores it once.
SERVER_EVENT_NAMESPACE = uuid.UUID("5b0d3c52-7f1e-4b8e-9a51-6f3a2f0c9e11")


def server_event_store(
    *,
    sender: Any,
    type: str,
    key: str,
    user_id: uuid.UUID | None,
    occurred_at: datetime,
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    properties: dict | None = None,
    **_: Any,
) -> None:
    Event.objects.bulk_create(
        [
            Event(
                event_id=uuid.uuid5(SERVER_EVENT_NAMESPACE, f"{type}:{key}"),
                type=type,
                source=Event.Source.SERVER,
                user_id=user_id,
                app="server",
                course_id=course_id,
                lesson_id=lesson_id,
                occurred_at=occurred_at,
                properties=properties or {},
            )
        ],
        ignore_conflicts=True,
    )
