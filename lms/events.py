"""The server's own analytics events, without the writing apps importing `analytics`.

`progress` and `billing` sit below `analytics` in the dependency chain, yet their changes
(an enrollment, a completion, a quiz attempt, a subscription change) belong in the event
store. They call `server_event_record` inside the transaction that makes the change; the
analytics app listens and inserts the row in that same transaction, so the event is
committed with the change or not at all. Without a listener (an app not installed) nothing
happens.
"""

import uuid
from datetime import datetime

from django.dispatch import Signal

# Sent with: type, key, user_id, occurred_at, course_id, lesson_id, properties.
server_event = Signal()


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
    """Record that `type` happened. `key` names the fact (an enrollment id and its time, a
    quiz attempt id): recording the same key twice stores one event."""
    server_event.send(
        sender=None,
        type=type,
        key=key,
        user_id=user_id,
        occurred_at=occurred_at,
        course_id=course_id,
        lesson_id=lesson_id,
        properties=properties or {},
    )
