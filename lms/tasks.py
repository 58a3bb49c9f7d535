"""Platform tasks: email delivery from the outbox and the webhook inbox."""

import logging
import smtplib
from uuid import UUID

from anymail.exceptions import AnymailAPIError
from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from lms.email import (
    email_build,
    email_claim,
    email_mark_failed,
    email_mark_sent,
    email_publish,
    emails_due,
    emails_sent_purge,
)
from lms.errors import TransientError
from lms.models import OutboundEmail, WebhookEvent
from lms.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BACKOFF,
    webhook_event_queue,
    webhook_events_lost,
    webhook_events_unprocessed,
)
from lms.webhooks import webhook_event_process as webhook_event_process_service

logger = logging.getLogger(__name__)


def email_error_is_transient(exc: BaseException) -> bool:
    """Whether trying the same message again later may succeed.

    Mail servers answer 4xx for "try again later" and 5xx for "never" (RFC 5321); HTTP APIs
    answer 429 and 5xx for overload and 4xx for a request that will never be accepted.
    Network errors (connection refused, timeouts, a dropped connection) are transient.
    Anything else, e.g. a malformed message (ValueError), is a bug, not bad luck.
    """
    if isinstance(exc, AnymailAPIError):
        # Checked first: anymail's requests-based errors are also OSErrors.
        status = exc.status_code or _boto_http_status(exc)
        return status is None or status in (408, 425, 429) or status >= 500
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. no STARTTLS: configuration
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return not 500 <= exc.smtp_code < 600
    return isinstance(exc, OSError)  # includes SMTPServerDisconnected and socket timeouts


def _boto_http_status(exc: BaseException) -> int | None:
    """Amazon SES errors carry botocore's parsed response rather than a status code."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


@shared_task(bind=True, max_retries=None)
def email_deliver(self, *, email_id: str = "", payload: dict | None = None) -> None:
    """Send one outbox message (see `lms.email.email_queue`, which routes it to "email").

    Claims the row, skips a message already sent (or being sent by a live worker), sends
    it and marks it sent. Transient failures are retried with exponential backoff and jitter,
    at most `EMAIL_DELIVERY_MAX_RETRIES` times, counted on the row; each is logged at
    WARNING. A countdown longer than LMS_TASK_COUNTDOWN_MAX is not given to the broker (it
    would be redelivered while waiting): the row waits, due, for the sweep. The last failure,
    or a permanent one, is logged at ERROR and leaves the row failed.

    `payload` is the message itself, as tasks queued before the outbox carried it.
    """
    if payload is not None:
        email_build(payload).send(fail_silently=False)
        return
    outbound = email_claim(email_id=UUID(email_id))
    if outbound is None:
        return
    try:
        email_build(outbound.payload).send(fail_silently=False)
    except Exception as exc:
        _email_delivery_failed(self, outbound=outbound, exc=exc)
        return
    email_mark_sent(email_id=outbound.pk)


def _email_delivery_failed(task, *, outbound: OutboundEmail, exc: Exception) -> None:
    """Log the failed attempt and record it; schedule the retry when there is one."""
    max_retries = settings.EMAIL_DELIVERY_MAX_RETRIES
    domains = outbound.to_domains
    error = f"{type(exc).__name__}: {exc}"
    transient = email_error_is_transient(exc)
    if not transient or outbound.attempts > max_retries:
        logger.error(
            "Email delivery to %s failed for good on attempt %d (%s)",
            domains,
            outbound.attempts,
            "transient error, retries exhausted" if transient else "permanent",
            exc_info=exc,
        )
        email_mark_failed(email_id=outbound.pk, error=error, retry_in=None)
        return
    countdown = get_exponential_backoff_interval(
        factor=settings.EMAIL_DELIVERY_RETRY_BACKOFF,
        retries=outbound.attempts - 1,
        maximum=settings.EMAIL_DELIVERY_RETRY_BACKOFF_MAX,
        full_jitter=True,
    )
    logger.warning(
        "Email delivery attempt %d of %d to %s failed (%s); retrying in %d s",
        outbound.attempts,
        max_retries + 1,
        domains,
        error,
        countdown,
    )
    email_mark_failed(email_id=outbound.pk, error=error, retry_in=countdown)
    if task.app.conf.task_always_eager:
        # No broker (development, tests): retry at once, in-process.
        email_deliver.apply(kwargs={"email_id": str(outbound.pk)})
    elif countdown <= settings.LMS_TASK_COUNTDOWN_MAX:
        email_publish(email_id=outbound.pk, countdown=countdown)
    # else: a long backoff waits in the database; the sweep queues it once due.


@shared_task
def email_outbox_sweep(*, limit: int = 500) -> int:
    """Queue the messages whose delivery is due but did not happen (periodic, on beat): never
    published (the broker was down), lost with their broker message, retried after a long
    backoff, or claimed by a worker that died mid-send. Also deletes old sent messages.

    Returns how many were queued; a bounded batch per run, the rest wait for the next run.
    """
    email_ids = emails_due(limit=limit)
    for email_id in email_ids:
        email_publish(email_id=email_id)
    if email_ids:
        logger.info("Queued %d outbox emails again", len(email_ids))
    emails_sent_purge()
    return len(email_ids)


@shared_task(
    bind=True,
    autoretry_for=(TransientError,),
    dont_autoretry_for=(WebhookEvent.DoesNotExist,),
    retry_backoff=WEBHOOK_RETRY_BACKOFF,
    retry_backoff_max=settings.LMS_TASK_COUNTDOWN_MAX,
    retry_jitter=True,
    max_retries=WEBHOOK_MAX_ATTEMPTS,
)
def webhook_event_process(self, *, event_id: str) -> None:
    """Process one stored webhook event (queued on "webhooks" by `webhook_event_store`).

    Safe to run twice: the service locks the event and returns when it is already done. Only
    a transient failure (the service raises TransientError: Stripe or Mux unreachable,
    overloaded, 5xx) is retried, with exponential backoff (5 s, 10 s, ... at most
    LMS_TASK_COUNTDOWN_MAX, below the broker's visibility timeout); a permanent one leaves
    the event failed. The service counts attempts and stops at WEBHOOK_MAX_ATTEMPTS whoever
    runs it: this chain, the reconcile or the recovery.
    """
    webhook_event_process_service(event_id=UUID(event_id))


@shared_task
def webhook_events_reconcile(*, limit: int = 500) -> int:
    """Queue again the events not processed a minute after they arrived (periodic, on beat):
    left received, or failed with attempts left.

    Returns how many were queued; a bounded batch per run, the rest wait for the next run.
    """
    event_ids = webhook_events_unprocessed(limit=limit)
    for event_id in event_ids:
        webhook_event_queue(event_id=event_id)
    if event_ids:
        logger.info("Queued %d unprocessed webhook events again", len(event_ids))
    return len(event_ids)


@shared_task
def webhook_events_recover(*, limit: int = 500) -> int:
    """Queue again the events whose task was lost (periodic, on beat, every
    LMS_WEBHOOK_RECOVER_SECONDS): still received, or with a retry overdue, for
    LMS_WEBHOOK_LOST_AFTER_SECONDS, and not being processed right now.

    With the defaults an event whose worker was killed mid-handler is processed again within
    about 90 seconds of the worker's death. Returns how many were queued.
    """
    event_ids = webhook_events_lost(limit=limit)
    for event_id in event_ids:
        webhook_event_queue(event_id=event_id)
    if event_ids:
        logger.warning("Queued %d webhook events whose task was lost", len(event_ids))
    return len(event_ids)
