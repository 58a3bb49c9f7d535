"""Videos on Mux and images/files on the default storage (S3-compatible in production)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Video(models.Model):
    """A lesson or preview video, from one of two sources.

    Mux (production's path): the bytes never pass through our servers: the admin's browser
    uploads them straight to a Mux direct upload, and Mux's webhooks fill in the rest.
    File: an MP4 or WebM file in the default storage (local files in development, S3 in
    production), played by the browser's own <video>; ready as soon as it is stored and its
    duration read from its header (`media.probe`).
    """

    class Source(models.TextChoices):
        MUX = "mux", _("Mux")
        FILE = "file", _("File")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for upload")
        PREPARING = "preparing", _("Preparing")
        READY = "ready", _("Ready")
        ERRORED = "errored", _("Errored")
        DELETED = "deleted", _("Deleted")

    class PlaybackPolicy(models.TextChoices):
        SIGNED = "signed", _("Signed (lesson videos)")
        PUBLIC = "public", _("Public (course previews)")

    class StaticRenditionsStatus(models.TextChoices):
        NONE = "", _("None")
        PREPARING = "preparing", _("Preparing")
        READY = "ready", _("Ready")
        ERRORED = "errored", _("Errored")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(
        _("source"), max_length=4, choices=Source.choices, default=Source.MUX, editable=False
    )
    # The file's storage name (source "file"), its sniffed type and size.
    file = models.FileField(_("file"), max_length=300, blank=True, editable=False)
    file_content_type = models.CharField(_("file type"), max_length=20, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(
        _("file size (bytes)"), null=True, blank=True, editable=False
    )
    mux_upload_id = models.CharField(
        _("Mux upload id"), max_length=255, unique=True, null=True, blank=True, editable=False
    )
    mux_asset_id = models.CharField(
        _("Mux asset id"), max_length=255, unique=True, null=True, blank=True, editable=False
    )
    playback_id = models.CharField(_("playback id"), max_length=255, blank=True, editable=False)
    playback_policy = models.CharField(
        _("playback policy"),
        max_length=8,
        choices=PlaybackPolicy.choices,
        default=PlaybackPolicy.SIGNED,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True, editable=False)
    aspect_ratio = models.CharField(_("aspect ratio"), max_length=16, blank=True, editable=False)
    error = models.TextField(_("error"), blank=True, editable=False)
    # The provider time of the newest event applied: an older event never overwrites it.
    state_at = models.DateTimeField(_("state as of"), null=True, blank=True, editable=False)
    # Mux static renditions (MP4 downloads), as Mux reports them (`media.renditions`): a list
    # of {"name", "ext", "resolution", "width", "height", "bitrate", "size_bytes", "status",
    # "id", "at"}, one per name, each at the provider time of its newest report.
    static_renditions = models.JSONField(
        _("static renditions"), default=list, blank=True, editable=False
    )
    # At a glance (`media.renditions.renditions_status`): filters, and the reconciliation of
    # renditions still preparing.
    static_renditions_status = models.CharField(
        _("downloads"),
        max_length=10,
        choices=StaticRenditionsStatus.choices,
        default=StaticRenditionsStatus.NONE,
        blank=True,
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("video")
        verbose_name_plural = _("videos")
        indexes = [models.Index(fields=["status", "updated_at"], name="video_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(source="mux") | ~Q(playback_id=""),
                name="video_ready_has_playback_id",
                violation_error_message=_("A ready video needs a playback id."),
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(source="file") | ~Q(file=""),
                name="video_ready_file_has_file",
                violation_error_message=_("A ready file video needs its file."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY and self.deleted_at is None

    @property
    def is_file(self) -> bool:
        return self.source == self.Source.FILE


class StoredFile(models.Model):
    """An image or file uploaded to the default storage, directly by a client when it is
    configured for S3 (a presigned POST), then confirmed."""

    class Purpose(models.TextChoices):
        AVATAR = "avatars", _("Avatar")
        THUMBNAIL = "thumbnails", _("Thumbnail")
        ATTACHMENT = "attachments", _("Lesson attachment (private)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for upload")
        CONFIRMED = "confirmed", _("Uploaded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    key = models.CharField(_("storage key"), max_length=300, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The stored bytes' SHA-256 (hex), computed once by `media.downloads.file_sha256_ensure`.
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("file")
        verbose_name_plural = _("files")

    def __str__(self) -> str:
        return self.title or self.key
