"""Shared infrastructure: the webhook inbox that Stripe and Mux events land in, and the outbox
every email leaves through."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.Model):
    """A verified webhook event, stored before it is acknowledged and processed once.

    `(provider, event_id)` is unique, so a redelivered event is recognised and never stored
    or processed twice. Processing happens in a Celery task after commit; a periodic task
    picks up events left unprocessed (the worker was down, a retry ran out).
    """

    class Provider(models.TextChoices):
        MUX = "mux", _("Mux")
        STRIPE = "stripe", _("Stripe")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    event_id = models.CharField(_("event id"), max_length=255)
    event_type = models.CharField(_("type"), max_length=100)
    # When the provider says the event happened: handlers compare it to ignore stale events.
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # False once a failure is permanent or the attempts ran out: only a replay runs it again.
    retryable = models.BooleanField(_("retryable"), default=True)
    # When the retry of a transient failure is due: a retry still not run a while after it
    # is taken for lost (its worker died) and queued again by `webhook_events_recover`.
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="webhook_event_unique_provider_event"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_event_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class OutboundEmail(models.Model):
    """One email to send, written in the transaction of the change it announces (the outbox).

    The row is the truth about delivery: the task claims it (`sending`), sends it and marks it
    `sent`, so a task run twice (a redelivered broker message, a sweep) never sends a sent
    message again. `message_id` is the Message-ID header, derived from the row, so even a
    resend after an ambiguous failure (the worker died after the server accepted the message)
    is recognisable as the same message. A message whose delivery is due but never ran (the
    broker was down, a worker died holding it) is queued again by `email_outbox_sweep`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The caller's key for "this message" (e.g. one per invoice), or a random one: a message
    # queued twice with one key is stored and sent once.
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    # Recipients' domains only, for lists and logs: addresses are personal data.
    to_domains = models.CharField(_("to (domains)"), max_length=255, blank=True)
    # The rendered message (lms.email.email_payload), never shown in the admin: it may hold
    # sign-in codes and password reset links.
    payload = models.JSONField(_("message"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # When the next delivery attempt is due (pending messages only).
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # When a task claimed the message to send it; a claim older than LMS_EMAIL_CLAIM_TIMEOUT
    # belongs to a worker that died mid-send.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_email_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.to_domains})"
