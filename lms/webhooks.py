"""The webhook inbox: verified events are stored once, acknowledged, then processed once.

A provider's view verifies the request and `webhook_receive` acknowledges it with one
statement: `webhook_event_insert` inserts the event unless its `(provider, event_id)` is
stored already (`INSERT ... ON CONFLICT DO NOTHING`; providers deliver at least once, and the
insert's row count tells a redelivery apart, with no SELECT) and queues its processing after
commit. Nothing is looked up or processed on the request. `webhook_event_process` runs the
handler the app registered for the event's type, exactly once: it locks the row and returns
early when the work is done. A publish lost between the commit and the broker is queued
again by the recovery (`webhook_events_lost`, `webhook_events_unprocessed`).

`lms` imports no app: apps register handlers in their `AppConfig.ready()`:

    @webhook_handler("mux", "video.asset.ready", "video.asset.errored")
    def mux_asset_changed(event: WebhookEvent) -> None: ...

Handlers must be idempotent and tolerate out-of-order delivery (an admin replay runs a
handler again); they run inside the transaction that marks the event processed.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from lms.api.exceptions import error_body
from lms.errors import ApplicationError, ErrorCode, TransientError, error_is_transient
from lms.inserts import rows_insert_new
from lms.models import WebhookEvent

logger = logging.getLogger(__name__)

# Webhooks have their own Celery queue, so a burst of events never delays an email.
WEBHOOK_QUEUE = "webhooks"
# After this many attempts a failed event is left for a person (the admin's Replay action),
# however they were made: the task's retries, the reconcile and the recovery together.
WEBHOOK_MAX_ATTEMPTS = 10
# Seconds before the first retry of a transient failure, doubled each time (with jitter), at
# most LMS_TASK_COUNTDOWN_MAX.
WEBHOOK_RETRY_BACKOFF = 5

WebhookHandler = Callable[[WebhookEvent], None]

_handlers: dict[tuple[str, str], WebhookHandler] = {}


class WebhookRejectedError(ApplicationError):
    """A delivery a provider's view refuses, with a code of the catalog (`lms.errors`)."""


def webhook_rejection_response(rejection: WebhookRejectedError) -> JsonResponse:
    """The refusal in the API's error envelope (providers log and show the body)."""
    return JsonResponse(
        error_body(rejection.code, rejection.message, rejection.fields), status=rejection.status
    )


def _storable(value: object) -> bool:
    """Whether PostgreSQL's jsonb can store the text in `value`: no NUL characters, no lone
    surrogates (JSON allows both as escapes)."""
    if isinstance(value, str):
        return "\x00" not in value and value.encode("utf-8", "replace").decode() == value
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def webhook_payload_parse(body: bytes) -> dict:
    """A delivery's body as a JSON object the inbox can store; raises WebhookRejectedError."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:  # also bytes that are not UTF-8, and NaN/Infinity
        raise WebhookRejectedError(ErrorCode.PARSE_ERROR) from None
    if not _storable(payload):
        raise WebhookRejectedError(
            ErrorCode.WEBHOOK_PAYLOAD_INVALID, "The payload is not storable text."
        )
    if not isinstance(payload, dict):
        raise WebhookRejectedError(
            ErrorCode.WEBHOOK_PAYLOAD_INVALID, "The payload is not a JSON object."
        )
    return payload


# What a provider's view gives `webhook_receive`: a function that verifies the raw body (and
# headers, which it closes over) and returns the event's (payload, id, type, time), raising
# WebhookRejectedError for anything it refuses.
WebhookVerifier = Callable[[bytes], tuple[dict, str, str, datetime | None]]


def webhook_receive(
    request: HttpRequest, *, provider: str, verify: WebhookVerifier | None, not_configured: str
) -> JsonResponse:
    """The shared body of every provider's webhook view: POST only, verify, store, acknowledge.

    `verify` is None when the provider's secrets are not configured (503 with
    `not_configured`). A refused delivery is logged and answered 400 with its code; a stored
    or redelivered one 200 with `duplicate` telling them apart.
    """
    if request.method != "POST":
        response = webhook_rejection_response(WebhookRejectedError(ErrorCode.METHOD_NOT_ALLOWED))
        response["Allow"] = "POST"
        return response
    if verify is None:
        return webhook_rejection_response(
            WebhookRejectedError(ErrorCode.WEBHOOK_NOT_CONFIGURED, not_configured)
        )
    try:
        payload, event_id, event_type, occurred_at = verify(request.body)
    except WebhookRejectedError as rejection:
        logger.warning("Refused a %s webhook: %s", provider, rejection.code)
        return webhook_rejection_response(rejection)
    # One statement, so no transaction of its own: in autocommit the publish follows the
    # insert's commit at once; inside a caller's transaction, it waits for that commit.
    created = webhook_event_insert(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        payload=payload,
    )
    return JsonResponse({"received": True, "duplicate": created is None})


def webhook_handler(provider: str, *event_types: str) -> Callable[[WebhookHandler], WebhookHandler]:
    """Register the decorated function as the handler of `event_types` from `provider`."""
    if not event_types:
        raise ImproperlyConfigured("webhook_handler needs at least one event type.")

    def register(handler: WebhookHandler) -> WebhookHandler:
        for event_type in event_types:
            existing = _handlers.get((provider, event_type))
            if existing is not None and _name(existing) != _name(handler):
                raise ImproperlyConfigured(
                    f"{provider} {event_type} already has a handler: {_name(existing)}."
                )
            _handlers[(provider, event_type)] = handler
        return handler

    return register


def _name(handler: WebhookHandler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def webhook_handler_get(*, provider: str, event_type: str) -> WebhookHandler | None:
    return _handlers.get((provider, event_type))


def webhook_event_insert(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    occurred_at: datetime | None,
    payload: dict,
) -> UUID | None:
    """Store a verified event unless it is stored already; the new row's id, else None.

    One `INSERT ... ON CONFLICT DO NOTHING` (SQLite: `INSERT OR IGNORE`), its row count
    telling a redelivery (0) from a new event (1): no SELECT, whatever the inbox holds. A
    new event is queued for processing once the transaction commits; a redelivered one is
    not queued again (the first copy's task, or the recovery, processes it).
    """
    event = WebhookEvent(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        payload=payload,
    )
    inserted, _rows = rows_insert_new(WebhookEvent, [event])
    if inserted != 1:
        return None
    event_pk = event.pk
    # robust: the event is stored and acknowledged even if the broker is unreachable or an
    # eager run fails; the recovery queues it again.
    transaction.on_commit(lambda: webhook_event_queue(event_id=event_pk), robust=True)
    return event_pk


def webhook_event_store(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    occurred_at: datetime | None,
    payload: dict,
) -> tuple[WebhookEvent, bool]:
    """`webhook_event_insert`, returning the stored event (the first copy for a redelivery,
    read back: one more query) and whether this call created it."""
    created = webhook_event_insert(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        payload=payload,
    )
    if created is not None:
        return WebhookEvent.objects.get(pk=created), True
    return WebhookEvent.objects.get(provider=provider, event_id=event_id), False


def webhook_event_queue(*, event_id: UUID) -> bool:
    """Queue the processing of one stored event on the webhooks queue; False when that failed.

    Never raises: the event is stored, and the recovery (beat) queues it again, so neither
    the provider's delivery nor a batch of the reconcile may fail on one event (a broker
    down; without a broker, eagerly run, the event's own failure, recorded on the event).
    """
    from lms.tasks import webhook_event_process as task

    try:
        task.apply_async(kwargs={"event_id": str(event_id)}, queue=WEBHOOK_QUEUE)
    except Exception as error:
        if task.app.conf.task_always_eager:
            return True  # it ran here and failed: recorded on the event, logged by the service
        logger.warning(
            "Could not queue webhook event %s (%s: %s)", event_id, type(error).__name__, error
        )
        return False
    return True


def webhook_event_process(*, event_id: UUID, replay: bool = False) -> WebhookEvent:
    """Run the event's handler once; return the event.

    The row is locked for the whole run, so two workers given the same event take turns and
    the second finds it processed; a worker killed mid-handler loses its lock (and its
    attempt) with its database connection. An event without a handler is marked ignored. An
    event that used up WEBHOOK_MAX_ATTEMPTS is not run again, whoever asks, except by a
    `replay`. A failing handler's writes are rolled back and the event is marked failed with
    the error: a transient failure with attempts left raises TransientError (the task
    retries it); a permanent one, or the last attempt, raises the handler's error and leaves
    the event for a person.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if not replay and not _event_due(event):
            return event
        failure = _event_run(event)
        event.save(
            update_fields=[
                "status",
                "attempts",
                "last_error",
                "processed_at",
                "retryable",
                "retry_at",
            ]
        )
    if failure is not None:
        _event_failure_raise(event, failure)
    return event


def _event_due(event: WebhookEvent) -> bool:
    """Whether the event still needs a run: not done, and attempts left (else mark it so)."""
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return False
    if event.status == WebhookEvent.Status.FAILED and not event.retryable:
        return False  # failed for good: only a replay runs it again
    if event.attempts >= WEBHOOK_MAX_ATTEMPTS:
        if event.retryable or event.retry_at is not None:
            event.retryable, event.retry_at = False, None
            event.save(update_fields=["retryable", "retry_at"])
        logger.warning("Webhook %s %s used up its attempts", event.provider, event.event_id)
        return False
    return True


def _event_run(event: WebhookEvent) -> Exception | None:
    """Run the handler (in a savepoint) and set the event's outcome; return its error."""
    handler = webhook_handler_get(provider=event.provider, event_type=event.event_type)
    event.attempts += 1
    event.retry_at = None
    if handler is None:
        _unhandled_type_log(provider=event.provider, event_type=event.event_type)
        event.status = WebhookEvent.Status.IGNORED
    else:
        try:
            with transaction.atomic():  # a savepoint: a failed handler leaves nothing
                handler(event)
        except Exception as error:
            event.status = WebhookEvent.Status.FAILED
            event.last_error = f"{type(error).__name__}: {error}"[:10_000]
            event.retryable = error_is_transient(error) and event.attempts < WEBHOOK_MAX_ATTEMPTS
            if event.retryable:
                event.retry_at = timezone.now() + timedelta(seconds=_retry_delay(event.attempts))
            return error
        event.status = WebhookEvent.Status.PROCESSED
    event.last_error = ""
    event.retryable = True
    event.processed_at = timezone.now()
    return None


def _retry_delay(attempts: int) -> float:
    """The task's backoff before retry `attempts` (without its jitter, so never shorter)."""
    return min(WEBHOOK_RETRY_BACKOFF * 2 ** (attempts - 1), settings.LMS_TASK_COUNTDOWN_MAX)


def _event_failure_raise(event: WebhookEvent, failure: Exception) -> None:
    if event.retryable:
        logger.warning(
            "Webhook %s %s (%s) failed on attempt %d, will retry: %s",
            event.provider,
            event.event_type,
            event.event_id,
            event.attempts,
            event.last_error,
        )
        raise TransientError(event.last_error) from failure
    logger.error(
        "Webhook %s %s (%s) failed for good on attempt %d (%s): %s",
        event.provider,
        event.event_type,
        event.event_id,
        event.attempts,
        "attempts used up" if error_is_transient(failure) else "permanent",
        event.last_error,
    )
    raise failure


# Unexpected event types (no handler: the provider's endpoint sends more types than we
# handle) are logged once per (provider, type) per LMS_WEBHOOK_UNHANDLED_LOG_SECONDS per
# process: enough to notice, never a log line per event in a storm.
_unhandled_logged: dict[tuple[str, str], float] = {}
_unhandled_lock = threading.Lock()


def _unhandled_type_log(*, provider: str, event_type: str) -> None:
    now = time.monotonic()
    interval = settings.LMS_WEBHOOK_UNHANDLED_LOG_SECONDS
    with _unhandled_lock:
        last = _unhandled_logged.get((provider, event_type))
        if last is not None and now - last < interval:
            return
        _unhandled_logged[(provider, event_type)] = now
    logger.warning(
        "No handler for %s webhook events of type %r; they are stored and ignored "
        "(stop the provider sending them, or add a handler)",
        provider,
        event_type,
    )


def webhook_event_replay(*, event_id: UUID) -> WebhookEvent:
    """Process an event again, whatever its status (the admin's Replay action).

    Handlers are idempotent, so replaying a processed event changes nothing unless the data
    it applies to changed since; a failed event gets another attempt. Raises as
    `webhook_event_process` does.
    """
    return webhook_event_process(event_id=event_id, replay=True)


def webhook_events_unprocessed(
    *, older_than: timedelta = timedelta(minutes=1), limit: int = 500
) -> list[UUID]:
    """Ids of events that should have been processed by now: still received (the worker was
    down, the broker lost the task) or failed with attempts left, oldest first; events being
    processed right now (their row is locked) are left to their worker."""
    cutoff = timezone.now() - older_than
    return _unlocked_ids(
        Q(status=WebhookEvent.Status.RECEIVED)
        | Q(
            status=WebhookEvent.Status.FAILED,
            retryable=True,
            attempts__lt=WEBHOOK_MAX_ATTEMPTS,
        ),
        received_at__lt=cutoff,
        limit=limit,
    )


def webhook_events_lost(*, limit: int = 500) -> list[UUID]:
    """Ids of events whose task was lost (its worker died, the broker lost it): still received
    LMS_WEBHOOK_LOST_AFTER_SECONDS after arriving, or failed with a retry overdue by as
    much, and not being processed right now. Oldest first.

    An event merely waiting behind a backlog that long is queued a second time too: that copy
    finds it processed and returns (a bounded batch per run keeps the extra copies few).
    """
    cutoff = timezone.now() - timedelta(seconds=settings.LMS_WEBHOOK_LOST_AFTER_SECONDS)
    return _unlocked_ids(
        Q(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
        | Q(
            status=WebhookEvent.Status.FAILED,
            retryable=True,
            attempts__lt=WEBHOOK_MAX_ATTEMPTS,
            retry_at__lt=cutoff,
        ),
        limit=limit,
    )


def _unlocked_ids(*conditions: Q, limit: int, **filters: object) -> list[UUID]:
    """The matching events' ids, skipping rows a worker holds locked (processing them now:
    a killed worker's lock goes with its connection)."""
    with transaction.atomic():
        return list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(*conditions, **filters)
            .order_by("received_at")
            .values_list("pk", flat=True)[:limit]
        )
