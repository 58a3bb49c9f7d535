"""The event store: one append-only, time-ordered table for client and server events."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One thing that happened: sent by an app (client) or written by the server itself.

    Rows are only ever inserted (and, past the retention period, deleted in bulk), in the
    order they arrive, so the big-integer key and `received_at` grow together and a BRIN
    index (PostgreSQL) covers time ranges at a fraction of a B-tree's size. Course and lesson
    are plain ids, not foreign keys: events outlive the content they mention, and inserting
    checks no other table.
    """

    class Source(models.TextChoices):
        CLIENT = "client", _("Client")
        SERVER = "server", _("Server")

    id = models.BigAutoField(primary_key=True)
    # The client's UUID (or one derived from the server's own key): unique, so a replayed
    # batch inserts nothing twice.
    event_id = models.UUIDField(_("event id"), unique=True, default=uuid.uuid4)
    type = models.CharField(_("type"), max_length=40)
    source = models.CharField(_("source"), max_length=6, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # event_user_occurred covers it
        # No database constraint: every insert would check the user row (a tenth of an
        # ingestion's database time), and only signed-in users' events are ever written.
        db_constraint=False,
    )
    app = models.CharField(_("app"), max_length=32, blank=True)
    app_version = models.CharField(_("app version"), max_length=32, blank=True)
    course_id = models.UUIDField(_("course id"), null=True, blank=True)
    lesson_id = models.UUIDField(_("lesson id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    properties = models.JSONField(_("properties"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            # A learner's own events (their data export, account deletion). Nothing else:
            # every index slows each insert, and time ranges have the BRIN indexes.
            models.Index(fields=["user", "occurred_at"], name="event_user_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"
