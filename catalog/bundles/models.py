"""The offline bundles' tables (imported by `catalog.models`, so they belong to `catalog`)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["SectionBundle"]


class SectionBundle(models.Model):
    """One version of one section's offline bundle: its manifest, addressed by its content.

    `version` is the SHA-256 of the manifest's canonical JSON (`catalog.bundles.manifest`),
    so a build that finds the same content finds the same version and stores nothing. A
    section has at most one current bundle (`superseded_at` empty); the ones it replaced stay
    downloadable for `LMS_BUNDLE_KEEP_HOURS` (a download that started from an older check
    still finishes), then the purge deletes them. Only `catalog.bundles.services` writes here.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(
        "catalog.Course",
        verbose_name=_("course"),
        on_delete=models.CASCADE,
        related_name="bundles",
    )
    section = models.ForeignKey(
        "catalog.Section",
        verbose_name=_("section"),
        on_delete=models.CASCADE,
        related_name="bundles",
    )
    version = models.CharField(
        _("version"), max_length=64, help_text=_("SHA-256 of the manifest's canonical JSON.")
    )
    manifest = models.JSONField(_("manifest"))
    manifest_size = models.PositiveIntegerField(
        _("manifest size (bytes)"), help_text=_("The canonical JSON's length in bytes.")
    )
    size = models.PositiveBigIntegerField(
        _("size (bytes)"), help_text=_("The manifest and its attachments (videos not counted).")
    )
    previews_only = models.BooleanField(
        _("free previews only"),
        default=False,
        help_text=_("Every lesson is a free preview: open to anyone who may see the course."),
    )
    built_at = models.DateTimeField(
        _("built at"), default=timezone.now, help_text=_("When this version became current.")
    )
    superseded_at = models.DateTimeField(
        _("superseded at"),
        null=True,
        blank=True,
        help_text=_("Empty for the current version; kept a while after, then purged."),
    )

    class Meta:
        ordering = ["course", "section__order", "-built_at"]
        verbose_name = _("section bundle")
        verbose_name_plural = _("section bundles")
        constraints = [
            models.UniqueConstraint(
                fields=["section", "version"],
                name="bundle_unique_version_per_section",
                violation_error_message=_("This section already has a bundle of this version."),
            ),
            models.UniqueConstraint(
                fields=["section"],
                condition=Q(superseded_at__isnull=True),
                name="bundle_one_current_per_section",
                violation_error_message=_("This section already has a current bundle."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["course"],
                condition=Q(superseded_at__isnull=True),
                name="bundle_current_course_idx",
            ),
            models.Index(
                fields=["superseded_at"],
                condition=Q(superseded_at__isnull=False),
                name="bundle_superseded_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section_id} @ {self.version[:12]}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None
