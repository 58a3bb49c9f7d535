"""The server's own analytics events, without the writing apps importing `analytics`.

`progress` and `billing` sit below `analytics` in the dependency chain, yet their changes
(an enrollment, a completion, a quiz attempt, a subscription change) belong in the event
store. They call `server_event_record` (or `server_events_record` for several at once)
inside the transaction that makes the change; the analytics app listens and inserts the
rows in that same transaction (one INSERT however many), so the events are committed with
the change or not at all. Without a listener (an app not installed) nothing happens.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.dispatch import Signal

# Sent with: events (a list of ServerEvent).
server_event = Signal()


@dataclass(frozen=True)
class ServerEvent:
    """`type` happened (a type of `analytics.catalog`). `key` names the fact (an enrollment
    id and its time, a quiz attempt id): recording the same key twice stores one event."""

    type: str
    key: str
    user_id: uuid.UUID | None
    occurred_at: datetime
    course_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    properties: dict = field(default_factory=dict)


def server_events_record(*, events: Sequence[ServerEvent]) -> None:
    """Record these events (one INSERT in the analytics store); an empty list costs nothing."""
    if events:
        server_event.send(sender=None, events=list(events))


def server_event_record(
    *,
    type: str,
    key: str,
    user_id: uuid.UUID | None,
    occurred_at: datetime,
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    properties: dict | None = None,
) -> None:
    """Record that `type` happened (see ServerEvent)."""
    server_events_record(
        events=[
            ServerEvent(
                type=type,
                key=key,
                user_id=user_id,
                occurred_at=occurred_at,
                course_id=course_id,
                lesson_id=lesson_id,
                properties=properties or {},
            )
        ]
    )
