"""Email: rendered in the request that causes it, kept in an outbox row, delivered by a task.

Every email of the site (allauth's through `accounts.adapters`, invites, billing) goes
through `email_send_template` or `email_queue`, never `send_mail` directly, so that a slow
or failing mail server never holds up a request and a transient failure is retried.

Messages are rendered where the data is (templates may use models and the request) and
stored as an `OutboundEmail` row in the same transaction as the change they announce: no
email for a change rolled back, and no change whose email is lost. After commit the row's id
is published to the broker; the task `lms.tasks.email_deliver` claims the row, sends it and
marks it sent, so a task that runs twice (a broker redelivering the message of a worker that
died, the sweep) never sends a sent message again. A publish that fails (broker down) leaves
the row pending for `email_outbox_sweep` (beat), and never fails the request.
"""

import base64
import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from lms.models import OutboundEmail

logger = logging.getLogger(__name__)

# Email has its own Celery queue, so a backlog of webhooks never delays a sign-in code.
EMAIL_QUEUE = "email"
# A pending message whose task has not run this long after it was due is taken for lost
# (never published, or its broker message was lost) and queued again by the sweep.
EMAIL_DUE_GRACE = timedelta(minutes=1)


def email_layout_context(*, request: HttpRequest | None = None) -> dict[str, str]:
    """What the shared layout (`templates/email/base.*`) shows: the school's name and address
    (the request's, or `SITE_URL` for emails sent by workers)."""
    site_url = request.build_absolute_uri("/") if request is not None else settings.SITE_URL
    return {
        "site_name": settings.SITE_NAME,
        "site_url": site_url,
        "site_domain": urlsplit(site_url).netloc,
    }


def email_queue(*, message: EmailMessage, idempotency_key: str = "") -> OutboundEmail:
    """Store an already rendered message in the outbox and queue it once the transaction commits.

    Nothing is sent if the transaction rolls back: an email never announces data that was
    not saved. With `idempotency_key`, queueing the same key again returns the stored message
    and sends nothing more.
    """
    if idempotency_key:
        existing = OutboundEmail.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    key = idempotency_key or f"random:{uuid.uuid4().hex}"  # unique: no lookup needed
    email_id = uuid.uuid4()
    message_id = email_message_id(email_id=email_id, from_email=message.from_email)
    payload = email_payload(message)
    payload["headers"] = {**payload["headers"], "Message-ID": message_id}
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin leaves the caller's tx usable
            outbound = OutboundEmail.objects.create(
                id=email_id,
                idempotency_key=key,
                message_id=message_id,
                subject=payload["subject"][:255],
                to_domains=", ".join(email_recipient_domains(payload))[:255],
                payload=payload,
            )
    except IntegrityError:
        return OutboundEmail.objects.get(idempotency_key=key)
    transaction.on_commit(lambda: email_publish(email_id=email_id))
    return outbound


def email_message_id(*, email_id: uuid.UUID, from_email: str | None) -> str:
    """The Message-ID of the outbox row `email_id`: the same on every attempt, so a resend
    after an ambiguous failure is recognisable (by mail servers, clients and us)."""
    address = parseaddr(from_email or settings.DEFAULT_FROM_EMAIL)[1]
    domain = address.rpartition("@")[2] or urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{email_id.hex}@{domain}>"


def email_publish(*, email_id: uuid.UUID, countdown: float | None = None) -> bool:
    """Publish the delivery task of one outbox row; False when the broker refused.

    Never raises: it runs after the request's commit (sign-in, password reset), which must
    succeed while the broker is down; the row stays pending and the sweep queues it later.
    """
    from lms.tasks import email_deliver

    try:
        email_deliver.apply_async(
            kwargs={"email_id": str(email_id)}, queue=EMAIL_QUEUE, countdown=countdown
        )
    except Exception as error:  # the broker's many connection errors, and eager failures
        logger.warning(
            "Could not queue email %s (%s: %s); the outbox sweep will",
            email_id,
            type(error).__name__,
            error,
        )
        return False
    return True


def email_send_template(
    *,
    to: list[str] | str,
    template_prefix: str,
    context: dict,
    request: HttpRequest | None = None,
) -> None:
    """Render `<prefix>_subject.txt`, `<prefix>_message.txt` and `<prefix>_message.html`, queue it.

    The message templates extend `email/base.txt` and `email/base.html`, the shared layout;
    both parts are required, so every email reads well in any mail client. With `request`,
    context processors run and the layout links to the site.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    context = {**email_layout_context(request=request), **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context, request).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", context, request).strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string(f"{template_prefix}_message.html", context, request), "text/html"
    )
    email_queue(message=message)


def email_payload(message: EmailMessage) -> dict:
    """A message as JSON-serializable data for the broker (the inverse of `email_build`)."""
    attachments = []
    for attachment in message.attachments:
        # MIMEBase attachments would need pickling; nothing of ours builds them.
        if not isinstance(attachment, tuple):
            raise TypeError("Queued emails take (filename, content, mimetype) attachments only.")
        filename, content, mimetype = attachment
        data = content.encode() if isinstance(content, str) else bytes(content)
        attachments.append([filename, base64.b64encode(data).decode("ascii"), mimetype])
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "content_subtype": message.content_subtype,
        "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": {str(name): str(value) for name, value in message.extra_headers.items()},
        "alternatives": [
            [str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])
        ],
        "attachments": attachments,
    }


def email_build(payload: dict) -> EmailMultiAlternatives:
    """The message `email_payload` serialized, ready to send."""
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload.get("cc") or None,
        bcc=payload.get("bcc") or None,
        reply_to=payload.get("reply_to") or None,
        headers=payload.get("headers") or None,
    )
    message.content_subtype = payload.get("content_subtype", "plain")
    for content, mimetype in payload.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    for filename, data, mimetype in payload.get("attachments", []):
        message.attach(filename, base64.b64decode(data), mimetype)
    return message


def email_recipient_domains(payload: dict) -> list[str]:
    """The recipients' domains, for logs: never the full addresses (they are personal data)."""
    addresses = [*payload.get("to", []), *payload.get("cc", []), *payload.get("bcc", [])]
    return sorted({address.rpartition("@")[2].strip(" >").lower() for address in addresses})


# --- The outbox: claim, outcome, sweep ----------------------------------------------------


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.LMS_EMAIL_CLAIM_TIMEOUT)


def email_claim(*, email_id: uuid.UUID) -> OutboundEmail | None:
    """Take the message for sending (status `sending`, one attempt more); None when there is
    nothing to send: it is sent, failed for good, unknown, or claimed by a live worker.

    The claim is committed before the send, so a worker that dies mid-send leaves a claim
    that goes stale after LMS_EMAIL_CLAIM_TIMEOUT (below the broker's visibility timeout):
    the redelivered task, or the sweep, then takes the message over.
    """
    now = timezone.now()
    with transaction.atomic():
        outbound = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if outbound is None:
            logger.warning("Email %s is not in the outbox; nothing to send", email_id)
            return None
        if outbound.status in (OutboundEmail.Status.SENT, OutboundEmail.Status.FAILED):
            return None
        claimed = outbound.status == OutboundEmail.Status.SENDING
        if claimed and outbound.claimed_at and outbound.claimed_at > now - _claim_timeout():
            return None  # another worker is sending it right now
        if claimed and outbound.attempts > settings.EMAIL_DELIVERY_MAX_RETRIES:
            # A stale claim taken over, again and again: every worker that tried died
            # mid-send. A message that kills workers is not tried forever.
            outbound.status = OutboundEmail.Status.FAILED
            outbound.last_error = f"Gave up after {outbound.attempts} attempts lost mid-send"
            outbound.save(update_fields=["status", "last_error"])
            logger.error("Email %s given up: every attempt was lost mid-send", email_id)
            return None
        outbound.status = OutboundEmail.Status.SENDING
        outbound.claimed_at = now
        outbound.attempts += 1
        outbound.save(update_fields=["status", "claimed_at", "attempts"])
    return outbound


def email_mark_sent(*, email_id: uuid.UUID) -> None:
    OutboundEmail.objects.filter(pk=email_id).update(
        status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )


def email_mark_failed(*, email_id: uuid.UUID, error: str, retry_in: float | None) -> None:
    """Record a failed attempt: pending again, due in `retry_in` seconds, or (None) failed
    for good, left for a person (the admin's "send again")."""
    fields: dict = {"last_error": error[:10_000], "claimed_at": None}
    if retry_in is None:
        fields["status"] = OutboundEmail.Status.FAILED
    else:
        fields["status"] = OutboundEmail.Status.PENDING
        fields["next_attempt_at"] = timezone.now() + timedelta(seconds=retry_in)
    OutboundEmail.objects.filter(pk=email_id).update(**fields)


@transaction.atomic
def email_resend(*, email_id: uuid.UUID) -> OutboundEmail:
    """Send a message again (the admin's action): pending, due now, queued after commit.

    One more attempt: a message whose retries were used up is not retried automatically
    again if this attempt fails too.
    A sent message goes out again with its Message-ID (mail clients show it once if the
    first copy did arrive); a message being sent right now is left to its worker.
    """
    outbound = OutboundEmail.objects.select_for_update().get(pk=email_id)
    fresh_claim = outbound.claimed_at and outbound.claimed_at > timezone.now() - _claim_timeout()
    if outbound.status == OutboundEmail.Status.SENDING and fresh_claim:
        return outbound
    outbound.status = OutboundEmail.Status.PENDING
    outbound.next_attempt_at = timezone.now()
    outbound.claimed_at = None
    outbound.save(update_fields=["status", "next_attempt_at", "claimed_at"])
    transaction.on_commit(lambda: email_publish(email_id=outbound.pk))
    return outbound


def emails_due(*, limit: int = 500) -> list[uuid.UUID]:
    """Messages whose delivery should have happened by now, oldest first, made pending and
    due now: pending ones past due by EMAIL_DUE_GRACE (never published, or their broker
    message was lost) and ones whose claim went stale (their worker died mid-send).

    Rows locked by a worker right now are skipped. Marking them due now keeps the next sweep
    from queueing them again before their task had a chance to run.
    """
    now = timezone.now()
    with transaction.atomic():
        email_ids = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=OutboundEmail.Status.PENDING, next_attempt_at__lt=now - EMAIL_DUE_GRACE)
                | Q(status=OutboundEmail.Status.SENDING, claimed_at__lt=now - _claim_timeout())
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        OutboundEmail.objects.filter(pk__in=email_ids).update(
            status=OutboundEmail.Status.PENDING, next_attempt_at=now, claimed_at=None
        )
    return email_ids


def emails_sent_purge(*, limit: int = 1000) -> int:
    """Delete sent messages older than LMS_EMAIL_OUTBOX_KEEP_DAYS (they hold personal data,
    sign-in codes and reset links); a bounded batch. Returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.LMS_EMAIL_OUTBOX_KEEP_DAYS)
    old = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT, sent_at__lt=cutoff)
    email_ids = list(old.values_list("pk", flat=True)[:limit])
    deleted, _ = OutboundEmail.objects.filter(pk__in=email_ids).delete()
    return deleted
