"""In-app notifications, each learner's email preferences per kind, and the digests sent."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.kinds import Delivery


class Notification(models.Model):
    """One thing a learner is told about: shown in-app, emailed by their preference.

    `source` names what caused it ("reply:<post id>", "certificate:<code>"): one notification
    per user and source, so a sender that runs twice tells nobody twice. `email_delivery` is
    how it is (or was) to be emailed, fixed when it is created and updated while it waits for
    a digest when the learner changes their preference; `emailed_at` is when it went out
    (alone, or in `digest`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    source = models.CharField(_("source"), max_length=200)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    email_delivery = models.CharField(
        _("email delivery"), max_length=12, choices=Delivery.CHOICES, default=Delivery.OFF
    )
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    digest = models.ForeignKey(
        "notifications.Digest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("digest"),
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "source"], name="notification_user_source"),
        ]
        indexes = [
            # The list (newest first) and the bell's unread COUNT.
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            # Emails still to send: the digests' and the immediate emails' sweep.
            models.Index(
                fields=["email_delivery", "created_at"],
                condition=Q(emailed_at__isnull=True) & ~Q(email_delivery=Delivery.OFF),
                name="notification_email_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A learner's choice of email delivery for one kind; no row means the kind's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    delivery = models.CharField(_("email delivery"), max_length=12, choices=Delivery.CHOICES)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_user_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.delivery}"


class Digest(models.Model):
    """One digest email per learner and period: the row is the lock that keeps it single.

    Created (unique user, period, period_start) before its notifications are picked, in the
    same transaction; a second run of the beat task, or a concurrent one, finds the row and
    sends nothing. A digest with no notifications sends no email (`item_count` 0).
    """

    class Period(models.TextChoices):
        DAILY = Delivery.DAILY, _("Daily")
        WEEKLY = Delivery.WEEKLY, _("Weekly")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_digests",
        verbose_name=_("user"),
    )
    period = models.CharField(_("period"), max_length=12, choices=Period.choices)
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    item_count = models.PositiveIntegerField(_("notifications"), default=0)
    email_id = models.UUIDField(_("outbox email"), null=True, blank=True)

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        ordering = ["-period_start", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period", "period_start"], name="digest_user_period_start"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="digest_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} digest from {self.period_start:%Y-%m-%d}"
