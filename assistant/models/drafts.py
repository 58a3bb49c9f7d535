"""Drafts: lesson notes or quiz questions a model proposed, waiting for a person.

A draft changes nothing in the catalog. It keeps what was asked (the brief, the target
length, the exact messages sent), what came back (the output, and for a quiz the questions
checked into the catalog's shape), and the editor's changes. Only approval
(`assistant.services.drafts.draft_approve`) writes into the lesson or its quiz, through the
catalog's services, with an audit row naming who approved which draft.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Draft(models.Model):
    class Kind(models.TextChoices):
        NOTES = "notes", _("Lesson notes")
        QUIZ = "quiz", _("Quiz questions")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Drafting")
        READY = "ready", _("Ready for review")
        FAILED = "failed", _("Failed")
        APPROVED = "approved", _("Approved")
        DISCARDED = "discarded", _("Discarded")

    # Bounds a form and the database both hold to.
    TARGET_WORDS_MIN, TARGET_WORDS_MAX, TARGET_WORDS_DEFAULT = 50, 3000, 400
    QUESTIONS_MIN, QUESTIONS_MAX, QUESTIONS_DEFAULT = 1, 20, 5
    BRIEF_MAX_LENGTH = 2000

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lesson = models.ForeignKey(
        "catalog.Lesson",
        verbose_name=_("lesson"),
        on_delete=models.CASCADE,
        related_name="assistant_drafts",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.NOTES)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    brief = models.TextField(
        _("goals"),
        max_length=BRIEF_MAX_LENGTH,
        blank=True,
        help_text=_("What learners should take away from this lesson: sent with the outline."),
    )
    target_words = models.PositiveIntegerField(
        _("target length (words)"),
        default=TARGET_WORDS_DEFAULT,
        validators=[MinValueValidator(TARGET_WORDS_MIN), MaxValueValidator(TARGET_WORDS_MAX)],
        help_text=_("About how long the notes should be (50 to 3,000 words)."),
    )
    question_count = models.PositiveSmallIntegerField(
        _("questions"),
        default=QUESTIONS_DEFAULT,
        validators=[MinValueValidator(QUESTIONS_MIN), MaxValueValidator(QUESTIONS_MAX)],
        help_text=_("How many questions to propose (1 to 20)."),
    )
    # What was sent, exactly: [{"role": ..., "content": ...}, ...].
    prompt = models.JSONField(_("prompt sent"), default=list, blank=True)
    # The lesson's notes (or its quiz, as text) when the draft was asked for: a later edit
    # of the lesson shows up as a warning on the draft's page.
    base_text = models.TextField(_("current text when drafted"), blank=True)
    output = models.TextField(_("model output"), blank=True)
    # A quiz draft's questions in the catalog's shape (`assistant.services.drafts`).
    questions = models.JSONField(_("proposed questions"), null=True, blank=True)
    edited_text = models.TextField(_("draft"), blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    llm_call = models.ForeignKey(
        "assistant.LLMCall",
        verbose_name=_("provider call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="drafts",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("discarded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    discarded_at = models.DateTimeField(_("discarded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        indexes = [models.Index(fields=["lesson", "-created_at"], name="draft_lesson_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["notes", "quiz"]), name="draft_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["queued", "running", "ready", "failed", "approved", "discarded"]
                ),
                name="draft_status_known",
            ),
            models.CheckConstraint(
                condition=Q(target_words__gte=50, target_words__lte=3000),
                name="draft_target_words_range",
                violation_error_message=_("The target length is 50 to 3,000 words."),
            ),
            models.CheckConstraint(
                condition=Q(question_count__gte=1, question_count__lte=20),
                name="draft_question_count_range",
                violation_error_message=_("Ask for 1 to 20 questions."),
            ),
            # An approval always says when; who stays even if the account goes.
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_at__isnull=False),
                name="draft_approved_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="discarded") | Q(discarded_at__isnull=False),
                name="draft_discarded_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.lesson}"

    @property
    def is_open(self) -> bool:
        """Still waiting for someone: queued, drafting or ready."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.READY)

    @property
    def is_reviewable(self) -> bool:
        return self.status == self.Status.READY
