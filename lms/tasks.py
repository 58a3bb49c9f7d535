"""Platform tasks: email delivery and the webhook inbox."""

import logging
import smtplib
from uuid import UUID

from anymail.exceptions import AnymailAPIError
from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from lms.email import email_build, email_recipient_domains
from lms.models import WebhookEvent
from lms.webhooks import webhook_event_process as webhook_event_process_service
from lms.webhooks import webhook_event_queue, webhook_events_unprocessed

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
def email_deliver(self, *, payload: dict) -> None:
    """Send one rendered email (see `lms.email.email_queue`, which routes it to the "email" queue).

    Transient failures are retried with exponential backoff and jitter, at most
    `EMAIL_DELIVERY_MAX_RETRIES` times; each is logged at WARNING. The last failure, or a
    permanent one, is logged at ERROR and raised, so the task fails visibly in the worker.
    Delivery is at least once: a worker lost mid-send (late acks) sends the email again.
    """
    try:
        email_build(payload).send(fail_silently=False)
    except Exception as exc:
        attempt = self.request.retries + 1
        max_retries = settings.EMAIL_DELIVERY_MAX_RETRIES
        domains = ", ".join(email_recipient_domains(payload))
        if email_error_is_transient(exc) and self.request.retries < max_retries:
            countdown = get_exponential_backoff_interval(
                factor=settings.EMAIL_DELIVERY_RETRY_BACKOFF,
                retries=self.request.retries,
                maximum=settings.EMAIL_DELIVERY_RETRY_BACKOFF_MAX,
                full_jitter=True,
            )
            logger.warning(
                "Email delivery attempt %d of %d to %s failed (%s: %s); retrying in %d s",
                attempt,
                max_retries + 1,
                domains,
                type(exc).__name__,
                exc,
                countdown,
            )
            if self.request.is_eager:
                # Eagerly run (development without a broker, tests), Celery re-raises the
                # Retry instead of running it when errors propagate: run the retry here.
                retry = self.retry(
                    exc=exc, countdown=countdown, max_retries=max_retries, throw=False
                )
                outcome = retry.sig.apply()  # raises at once when errors propagate
                if outcome.failed():
                    raise outcome.result from exc
                return
            raise self.retry(exc=exc, countdown=countdown, max_retries=max_retries) from exc
        logger.error(
            "Email delivery to %s failed for good on attempt %d (%s)",
            domains,
            attempt,
            "transient error, retries exhausted" if email_error_is_transient(exc) else "permanent",
            exc_info=exc,
        )
        raise


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    dont_autoretry_for=(WebhookEvent.DoesNotExist,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def webhook_event_process(self, *, event_id: str) -> None:
    """Process one stored webhook event (queued on "webhooks" by `webhook_event_store`).

    Safe to run twice: the service locks the event and returns when it is already done. A
    failing handler is retried with exponential backoff (5 s, 10 s, ... at most 10 min);
    after the last retry the event stays failed and `webhook_events_reconcile` tries again.
    """
    webhook_event_process_service(event_id=UUID(event_id))


@shared_task
def webhook_events_reconcile(*, limit: int = 500) -> int:
    """Queue again the events not processed a minute after they arrived (periodic, on beat).

    Returns how many were queued; a bounded batch per run, the rest wait for the next run.
    """
    event_ids = webhook_events_unprocessed(limit=limit)
    for event_id in event_ids:
        webhook_event_queue(event_id=event_id)
    if event_ids:
        logger.info("Queued %d unprocessed webhook events again", len(event_ids))
    return len(event_ids)
