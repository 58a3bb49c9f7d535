"""Announcements: what a course's instructors (or staff) tell its learners.

A draft is written, then published once (`community.services.announcements`): publishing
notifies every learner who may open the course and posts it to the course's chat.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from catalog.models import Course
from lms.markdown import render_markdown


class Announcement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(
        Course,
        verbose_name=_("course"),
        on_delete=models.CASCADE,
        related_name="announcements",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("body"), blank=True, help_text=_("Markdown; shown sanitized, as lesson notes are.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Makes a retried create from the API safe: the same id is stored once per course.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [
            models.Index(
                fields=["course", "-published_at"],
                condition=Q(status="published"),
                name="announcement_course_pub_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="announcement_published_has_date",
                violation_error_message=_("A published announcement needs a date."),
            ),
            models.UniqueConstraint(
                fields=["course", "client_id"],
                condition=Q(client_id__isnull=False),
                name="announcement_unique_client_id",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"{self.course.get_absolute_url()}#announcement-{self.pk}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def body_html(self) -> SafeString:
        """The body as sanitized HTML (`lms.markdown`, pure and cached)."""
        return render_markdown(self.body)
