"""Every call to the LLM provider: what it was for, its tokens, cost and outcome."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LLMCall(models.Model):
    """One chat completion asked of the provider (`assistant.llm`), whatever its outcome.

    Written when the call ends (a stream: when it ends, breaks or is closed), in autocommit,
    so the spend stays recorded whatever the caller does next; the monthly budget sums
    `cost_usd` of these rows.
    """

    class Status(models.TextChoices):
        OK = "ok", _("Answered")
        ERROR = "error", _("Provider error")
        TIMEOUT = "timeout", _("Timed out")
        # A stream its reader closed before the end (a learner left the page).
        CANCELLED = "cancelled", _("Closed before the end")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # What asked: "draft.notes", "draft.quiz", "tutor", ...
    purpose = models.CharField(_("purpose"), max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="llm_calls",
    )
    course = models.ForeignKey(
        "catalog.Course",
        verbose_name=_("course"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lesson = models.ForeignKey(
        "catalog.Lesson",
        verbose_name=_("lesson"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    model = models.CharField(_("model"), max_length=200)
    streamed = models.BooleanField(_("streamed"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    # A code of lms.errors (AI_PROVIDER_ERROR, AI_TIMEOUT) and what the provider said.
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.CharField(_("error message"), max_length=500, blank=True)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), default=0)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)
    # True when the provider reported no usage (a broken stream) and tokens were estimated
    # from the text (about 4 characters a token).
    usage_estimated = models.BooleanField(_("usage estimated"), default=False)
    cost_usd = models.DecimalField(
        _("cost (USD)"), max_digits=14, decimal_places=6, default=Decimal("0")
    )
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("provider call")
        verbose_name_plural = _("provider calls")

    def __str__(self) -> str:
        return f"{self.purpose} · {self.model} · {self.get_status_display()}"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
