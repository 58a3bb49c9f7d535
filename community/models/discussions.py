"""Lesson discussions: threads under a lesson, their replies, and learners' reports."""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 10_000


class Thread(models.Model):
    """A question or topic under a lesson. `deleted_at` marks a soft delete (by its author
    or a moderator); `is_hidden` a moderator's hide. Neither is shown to learners."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lesson = models.ForeignKey(
        "catalog.Lesson",
        verbose_name=_("lesson"),
        on_delete=models.CASCADE,
        related_name="discussion_threads",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.CASCADE,
        related_name="discussion_threads",
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    body = models.TextField(
        _("body"),
        max_length=BODY_MAX_LENGTH,
        validators=[MaxLengthValidator(BODY_MAX_LENGTH)],
        help_text=_("Markdown."),
    )
    timestamp_seconds = models.PositiveIntegerField(
        _("video timestamp (seconds)"),
        null=True,
        blank=True,
        help_text=_("A moment of the lesson's video the thread is about."),
    )
    is_pinned = models.BooleanField(_("pinned"), default=False)
    is_locked = models.BooleanField(
        _("locked"), default=False, help_text=_("Locked threads take no new replies.")
    )
    is_hidden = models.BooleanField(_("hidden"), default=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    # The last reply's time (or the creation's): lists show the liveliest threads first.
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)

    class Meta:
        ordering = ["-is_pinned", "-last_activity_at"]
        verbose_name = _("discussion thread")
        verbose_name_plural = _("discussion threads")
        indexes = [
            models.Index(
                fields=["lesson", "-is_pinned", "-last_activity_at"],
                name="thread_lesson_list_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="thread_title_not_empty"),
            models.CheckConstraint(condition=~Q(body=""), name="thread_body_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        lesson = self.lesson
        return reverse(
            "community:thread_detail",
            kwargs={
                "course_slug": lesson.course.slug,
                "lesson_slug": lesson.slug,
                "thread_id": self.pk,
            },
        )

    @property
    def is_visible(self) -> bool:
        return not self.is_hidden and self.deleted_at is None


class Reply(models.Model):
    """An answer in a thread. `is_instructor_answer` is set when the author teaches the
    course (or is staff) at the time of posting, or when such a person marks it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(
        Thread, verbose_name=_("thread"), on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.CASCADE,
        related_name="discussion_replies",
    )
    body = models.TextField(
        _("body"),
        max_length=BODY_MAX_LENGTH,
        validators=[MaxLengthValidator(BODY_MAX_LENGTH)],
        help_text=_("Markdown."),
    )
    is_instructor_answer = models.BooleanField(_("instructor's answer"), default=False)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("discussion reply")
        verbose_name_plural = _("discussion replies")
        indexes = [models.Index(fields=["thread", "created_at"], name="reply_thread_list_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="reply_body_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Reply to {self.thread_id}"

    @property
    def is_visible(self) -> bool:
        return not self.is_hidden and self.deleted_at is None


class Report(models.Model):
    """A learner's report of a thread or a reply, handled in the admin's moderation queue."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        ABUSE = "abuse", _("Harassment or abuse")
        OFF_TOPIC = "off_topic", _("Off topic")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved: action taken")
        DISMISSED = "dismissed", _("Dismissed: no action")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(
        Thread,
        verbose_name=_("thread"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
    )
    reply = models.ForeignKey(
        Reply,
        verbose_name=_("reply"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.CASCADE,
        related_name="discussion_reports",
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    details = models.TextField(
        _("details"), max_length=1000, blank=True, validators=[MaxLengthValidator(1000)]
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue_idx")]
        constraints = [
            # A report is about exactly one post: a thread (its opening post) or a reply.
            models.CheckConstraint(
                condition=Q(thread__isnull=False, reply__isnull=True)
                | Q(thread__isnull=True, reply__isnull=False),
                name="report_one_post",
            ),
            models.CheckConstraint(
                condition=Q(status="open", handled_at__isnull=True)
                | (~Q(status="open") & Q(handled_at__isnull=False)),
                name="report_handled_when_closed",
            ),
            # One open report per person and post: reporting again changes nothing.
            models.UniqueConstraint(
                fields=["reporter", "thread"],
                condition=Q(status="open", thread__isnull=False),
                name="report_one_open_per_thread",
            ),
            models.UniqueConstraint(
                fields=["reporter", "reply"],
                condition=Q(status="open", reply__isnull=False),
                name="report_one_open_per_reply",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_status_display()})"

    @property
    def post(self) -> Thread | Reply:
        return self.thread if self.thread_id else self.reply
