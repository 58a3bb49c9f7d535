"""A learner's download of everything the school holds about them (README "Your data")."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def data_export_path(instance: "DataExport", filename: str) -> str:
    # A random name per export: the file is private, and its name guesses nothing.
    return f"data-exports/{instance.user_id}/{uuid.uuid4().hex}.zip"


class DataExport(models.Model):
    """One requested export: built by a task into a ZIP in the default storage (private),
    announced by email with a signed link that expires at `expires_at`, then purged.

    A learner has at most one pending export at a time (a partial unique constraint, so two
    requests at once cannot both queue one)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="data_exports",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to=data_export_path, max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("last downloaded at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="data_export_one_pending_per_user",
                violation_error_message=_("An export is already being prepared."),
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-requested_at"], name="data_export_user_idx"),
            models.Index(fields=["status", "expires_at"], name="data_export_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Data export {self.pk} ({self.get_status_display()})"

    def is_downloadable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.READY
            and bool(self.file)
            and self.expires_at is not None
            and self.expires_at > now
        )
