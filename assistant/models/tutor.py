"""The lesson tutor: daily question quotas per tier, their use per learner and local day, and
the conversations a learner keeps per lesson (deletable by them; flagged answers reviewed by
staff)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Tier
from catalog.models import Lesson


class TutorQuota(models.Model):
    """Questions a day for the learners of one tier; the row without a tier is for learners
    who hold none. A tier without a row gets `LMS_TUTOR_QUESTIONS_PER_DAY`. Zero switches the
    tutor off for that tier ("not in your plan")."""

    tier = models.OneToOneField(
        Tier,
        verbose_name=_("tier"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tutor_quota",
        help_text=_("Empty: learners without a tier."),
    )
    questions_per_day = models.PositiveIntegerField(
        _("questions per day"),
        help_text=_("0: no tutor for these learners. Days are the learner's own calendar days."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = [F("tier__rank").asc(nulls_first=True)]
        verbose_name = _("tutor quota")
        verbose_name_plural = _("tutor quotas")
        constraints = [
            # One row per tier, and one for "no tier" (a NULL is otherwise distinct).
            models.UniqueConstraint(
                Coalesce("tier", Value(0)),
                name="tutorquota_one_per_tier",
                violation_error_message=_("This tier already has a tutor quota."),
            ),
        ]

    def __str__(self) -> str:
        tier = self.tier.name if self.tier_id else _("No tier")
        return f"{tier}: {self.questions_per_day}/day"


class TutorUsage(models.Model):
    """Questions a learner asked on one calendar day of their own time zone. Taken with one
    conditional UPDATE (`count < limit`), so parallel requests never go over the quota."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="tutor_usage",
    )
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("questions"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("tutor usage")
        verbose_name_plural = _("tutor usage")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="tutorusage_one_per_user_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.count}"


class Conversation(models.Model):
    """A learner's questions to the tutor about one lesson, with its answers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="tutor_conversations",
    )
    lesson = models.ForeignKey(
        Lesson,
        verbose_name=_("lesson"),
        on_delete=models.CASCADE,
        related_name="tutor_conversations",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("tutor conversation")
        verbose_name_plural = _("tutor conversations")
        indexes = [
            models.Index(
                fields=["user", "lesson", "-updated_at"], name="tutorconv_user_lesson_idx"
            ),
            models.Index(fields=["user", "-updated_at"], name="tutorconv_user_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.lesson_id}"


class Message(models.Model):
    """One turn of a conversation: the learner's question, or the tutor's answer with the
    lessons it cites (`[{"lesson": uuid, "title": str, "url": str}]`, numbered as in the
    answer's [1], [2])."""

    class Role(models.TextChoices):
        USER = "user", _("Learner")
        ASSISTANT = "assistant", _("Tutor")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation,
        verbose_name=_("conversation"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    text = models.TextField(_("text"))
    citations = models.JSONField(_("citations"), default=list, blank=True)
    llm_call = models.ForeignKey(
        "assistant.LLMCall",
        verbose_name=_("provider call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    flagged_at = models.DateTimeField(_("flagged at"), null=True, blank=True)
    flag_reason = models.CharField(_("flag reason"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["conversation", "created_at"]
        verbose_name = _("tutor message")
        verbose_name_plural = _("tutor messages")
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="tutormsg_conv_created_idx"),
            models.Index(
                fields=["-flagged_at"],
                condition=Q(flagged_at__isnull=False),
                name="tutormsg_flagged_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_flagged(self) -> bool:
        return self.flagged_at is not None
