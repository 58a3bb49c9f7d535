"""The webhook inbox: verified events are stored once, acknowledged, then processed once.

A provider's view verifies the request and calls `webhook_event_store`, which inserts the
event (or finds the copy already stored: providers deliver at least once) and queues its
processing after commit. `webhook_event_process` runs the handler the app registered for the
event's type, exactly once: it locks the row and returns early when the work is done.

`lms` imports no app: apps register handlers in their `AppConfig.ready()`:

    @webhook_handler("mux", "video.asset.ready", "video.asset.errored")
    def mux_asset_changed(event: WebhookEvent) -> None: ...

Handlers must be idempotent and tolerate out-of-order delivery (an admin replay runs a
handler again); they run inside the transaction that marks the event processed.
"""

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from lms.api.exceptions import error_body
from lms.errors import ApplicationError, ErrorCode
from lms.models import WebhookEvent

logger = logging.getLogger(__name__)

# Webhooks have their own Celery queue, so a burst of events never delays an email.
WEBHOOK_QUEUE = "webhooks"
# After this many attempts a failed event is left for a person (the admin's Replay action).
WEBHOOK_MAX_ATTEMPTS = 10

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
    with transaction.atomic():
        _, created = webhook_event_store(
            provider=provider,
            event_id=event_id,
            event_type=event_type,
            occurred_at=occurred_at,
            payload=payload,
        )
    return JsonResponse({"received": True, "duplicate": not created})


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


def webhook_event_store(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    occurred_at: datetime | None,
    payload: dict,
) -> tuple[WebhookEvent, bool]:
    """Store a verified event, or return the copy already stored (`created` False).

    A new event is queued for processing once the transaction commits; a redelivered one is
    not queued again (the first copy's task, or the reconciliation task, processes it).
    """
    event, created = WebhookEvent.objects.get_or_create(
        provider=provider,
        event_id=event_id,
        defaults={"event_type": event_type, "occurred_at": occurred_at, "payload": payload},
    )
    if created:
        event_pk = event.pk
        # robust: the event is stored and acknowledged even if the broker is unreachable or
        # an eager run fails; the reconciliation task queues it again.
        transaction.on_commit(lambda: webhook_event_queue(event_id=event_pk), robust=True)
    return event, created


def webhook_event_queue(*, event_id: UUID) -> None:
    """Queue the processing of one stored event on the webhooks queue."""
    from lms.tasks import webhook_event_process as task

    task.apply_async(kwargs={"event_id": str(event_id)}, queue=WEBHOOK_QUEUE)


def webhook_event_process(*, event_id: UUID) -> WebhookEvent:
    """Run the event's handler once; return the event.

    The row is locked for the whole run, so two workers given the same event take turns and
    the second finds it processed. An event without a handler is marked ignored. A failing
    handler's writes are rolled back, the event is marked failed with the error and its
    attempts, and the exception is raised again for the task to retry.
    """
    failure: Exception | None = None
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return event
        handler = webhook_handler_get(provider=event.provider, event_type=event.event_type)
        event.attempts += 1
        if handler is None:
            event.status = WebhookEvent.Status.IGNORED
        else:
            try:
                with transaction.atomic():  # a savepoint: a failed handler leaves nothing
                    handler(event)
            except Exception as error:
                failure = error
                event.status = WebhookEvent.Status.FAILED
                event.last_error = f"{type(error).__name__}: {error}"[:10_000]
            else:
                event.status = WebhookEvent.Status.PROCESSED
        if failure is None:
            event.last_error = ""
            event.processed_at = timezone.now()
        event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    if failure is not None:
        logger.warning(
            "Webhook %s %s (%s) failed on attempt %d: %s",
            event.provider,
            event.event_type,
            event.event_id,
            event.attempts,
            event.last_error,
        )
        raise failure
    return event


def webhook_event_replay(*, event_id: UUID) -> WebhookEvent:
    """Process an event again, whatever its status (the admin's Replay action).

    Handlers are idempotent, so replaying a processed event changes nothing unless the data
    it applies to changed since; a failed event gets another attempt. Raises as
    `webhook_event_process` does.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        event.status = WebhookEvent.Status.RECEIVED
        event.save(update_fields=["status"])
    return webhook_event_process(event_id=event_id)


def webhook_events_unprocessed(
    *, older_than: timedelta = timedelta(minutes=1), limit: int = 500
) -> list[UUID]:
    """Ids of events that should have been processed by now: still received (the worker was
    down, the broker lost the task) or failed with attempts left, oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        WebhookEvent.objects.filter(
            Q(status=WebhookEvent.Status.RECEIVED)
            | Q(status=WebhookEvent.Status.FAILED, attempts__lt=WEBHOOK_MAX_ATTEMPTS),
            received_at__lt=cutoff,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
