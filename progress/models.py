"""The learner's side of a course: enrollments, invites, lesson progress, quiz attempts,
the XP ledger, streak days and certificates.

Invites live here, at the top of the dependency chain, because redeeming one touches three
apps: a role (accounts), an enrollment (here) and maybe a tier for a while (billing).
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from billing.models import Tier
from catalog.models import Course, Lesson


class Enrollment(models.Model):
    """A learner taking a course. One row per user and course, however they got there."""

    class Source(models.TextChoices):
        SELF = "self", _("Self-enrolled")
        INVITE = "invite", _("Invite")
        JOIN_CODE = "join_code", _("Join code")
        STAFF = "staff", _("Staff")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="enrollments",
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="enrollments"
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    created_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    # Unenrolling keeps the row (and all progress): enrolling again clears this.
    unenrolled_at = models.DateTimeField(_("unenrolled at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # "Continue where you left off": the lesson last worked on; its progress row has the
    # video position.
    last_lesson = models.ForeignKey(
        Lesson,
        verbose_name=_("last lesson"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"],
                name="enrollment_unique_user_course",
                violation_error_message=_("This user is already enrolled in this course."),
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-last_activity_at"], name="enrollment_user_activity_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"

    @property
    def is_active(self) -> bool:
        return self.unenrolled_at is None


class Invite(models.Model):
    """A code that grants a role, and optionally a course enrollment and a tier for a while.

    Codes are stored upper-case (a check constraint keeps them so), which makes the unique
    index case-insensitive and lets a redemption look a typed code up with `upper()`.
    `uses_count <= max_uses` is a database check too: the last use cannot be taken twice
    even by a write that bypassed the service's row lock.
    """

    Role = Role  # the roles of `accounts.roles`, least to most rights

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")
        USED_UP = "used_up", _("Used up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    role = models.CharField(
        _("role to grant"),
        max_length=12,
        choices=Role.choices,
        default=Role.LEARNER,
        help_text=_("Redeeming never lowers a role: staff stay staff."),
    )
    course = models.ForeignKey(
        Course,
        verbose_name=_("course to enroll into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invites",
    )
    cohort = models.ForeignKey(
        "progress.Cohort",
        verbose_name=_("cohort to join"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invites",
        help_text=_("Redeeming also adds the learner to this cohort of the course."),
    )
    tier = models.ForeignKey(
        Tier,
        verbose_name=_("tier to grant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invites",
    )
    tier_days = models.PositiveIntegerField(
        _("tier for (days)"),
        null=True,
        blank=True,
        help_text=_("How long the tier lasts from redemption. Required with a tier."),
    )
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: never expires.")
    )
    max_uses = models.PositiveIntegerField(
        _("max uses"), default=1, help_text=_("How many people can redeem it.")
    )
    uses_count = models.PositiveIntegerField(_("uses"), default=0, editable=False)
    email = models.EmailField(
        _("email"),
        blank=True,
        help_text=_(
            "Send the invite to this address when it is created. Only the account with this "
            "verified address can redeem it, unless it is open to anyone with the code."
        ),
    )
    # Only meaningful with an email: without one, an invite is open to anyone with the code.
    open_to_anyone = models.BooleanField(
        _("anyone with the code"),
        default=False,
        help_text=_(
            "Let anyone who has the code redeem it, not only the account of the email above. "
            "An invite without an email is always open to anyone with the code."
        ),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="invites_created",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="invites_revoked",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invite")
        verbose_name_plural = _("invites")
        constraints = [
            models.CheckConstraint(
                condition=Q(code=Upper("code")),
                name="invite_code_upper_case",
                violation_error_message=_("Invite codes are stored in upper case."),
            ),
            models.CheckConstraint(
                condition=Q(max_uses__gte=1),
                name="invite_max_uses_positive",
                violation_error_message=_("An invite must allow at least one use."),
            ),
            models.CheckConstraint(
                condition=Q(uses_count__lte=F("max_uses")),
                name="invite_uses_within_max",
                violation_error_message=_("An invite cannot be used more often than it allows."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(tier__isnull=True, tier_days__isnull=True)
                    # Spelled out: NULL >= 1 is unknown, which a check lets through.
                    | Q(tier__isnull=False, tier_days__isnull=False, tier_days__gte=1)
                ),
                name="invite_tier_has_duration",
                violation_error_message=_(
                    "A tier needs a duration of at least one day, and a duration needs a tier."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        """The redeem page with this code filled in (the link to share)."""
        return f"{reverse('progress:invite_redeem')}?code={self.code}"

    def clean(self) -> None:
        super().clean()
        if self._state.adding and self.expires_at is not None and self.expires_at <= timezone.now():
            raise ValidationError({"expires_at": _("Choose a time in the future.")})
        if self.addressee and self.max_uses > 1:
            raise ValidationError(
                {
                    "max_uses": _(
                        "An invite only for %(email)s can be used once. Open it to anyone "
                        "with the code to let it serve %(uses)s people."
                    )
                    % {"email": self.email, "uses": self.max_uses}
                }
            )

    @property
    def addressee(self) -> str:
        """The one email address whose account may redeem it; "" when anyone may."""
        return "" if self.open_to_anyone else self.email

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_used_up(self) -> bool:
        return self.uses_count >= self.max_uses

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def status(self) -> "Invite.Status":
        # Same precedence as a redemption's checks: revoked, then expired, then used up.
        if self.is_revoked:
            return self.Status.REVOKED
        if self.is_expired():
            return self.Status.EXPIRED
        if self.is_used_up:
            return self.Status.USED_UP
        return self.Status.ACTIVE


class InviteRedemption(models.Model):
    """One user's use of an invite, with what it gave them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invite = models.ForeignKey(
        Invite, verbose_name=_("invite"), on_delete=models.CASCADE, related_name="redemptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="invite_redemptions",
    )
    redeemed_at = models.DateTimeField(_("redeemed at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # What the redemption gave, for the answer to the user and for support.
    enrollment = models.ForeignKey(
        Enrollment,
        verbose_name=_("enrollment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    tier_grant = models.ForeignKey(
        "billing.TierGrant",
        verbose_name=_("tier grant"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-redeemed_at"]
        verbose_name = _("invite redemption")
        verbose_name_plural = _("invite redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["invite", "user"],
                name="invite_redemption_unique_user",
                violation_error_message=_("This user has already redeemed this invite."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invite} by {self.user}"


class LessonProgress(models.Model):
    """One learner's state in one lesson: a single row per (user, lesson), written by upsert.

    No row means "not started". For video lessons the row also keeps the player position and
    the parts of the video actually watched (merged `[start, end]` second ranges), from which
    the watched share is computed.
    """

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="lesson_progress",
    )
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.CASCADE, related_name="progress"
    )
    # Repeats `lesson.course`, so a course's progress is one indexed aggregate.
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS
    )
    position_seconds = models.FloatField(_("position (s)"), default=0)
    watched_seconds = models.FloatField(_("watched (s)"), default=0)
    watched_ranges = models.JSONField(_("watched ranges"), default=list, blank=True)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"],
                name="lesson_progress_unique_user_lesson",
                violation_error_message=_("This learner already has progress in this lesson."),
            ),
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False)
                | (~Q(status="completed") & Q(completed_at__isnull=True)),
                name="lesson_progress_completed_has_date",
                violation_error_message=_("A completed lesson needs a completion time."),
            ),
            models.CheckConstraint(
                condition=Q(position_seconds__gte=0, watched_seconds__gte=0),
                name="lesson_progress_positions_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["user", "course"], name="lesson_progress_user_course")]

    def __str__(self) -> str:
        return f"{self.user} in {self.lesson}: {self.get_status_display()}"

    @property
    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED


class QuizAttempt(models.Model):
    """One submission of a quiz: the answers as sent, the graded result and the score."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="quiz_attempts",
    )
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    # Sent by app clients so that a retried submission is stored once.
    client_id = models.UUIDField(_("client id"), null=True, blank=True, editable=False)
    answers = models.JSONField(_("answers"), default=dict)
    results = models.JSONField(_("results"), default=list)
    points = models.PositiveIntegerField(_("points"), default=0)
    max_points = models.PositiveIntegerField(_("max points"), default=0)
    score = models.PositiveSmallIntegerField(_("score (%)"), default=0)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=0)
    passed = models.BooleanField(_("passed"), default=False)
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_id"],
                condition=Q(client_id__isnull=False),
                name="quiz_attempt_unique_client_id",
            ),
            models.CheckConstraint(
                condition=Q(score__lte=100) & Q(points__lte=F("max_points")),
                name="quiz_attempt_score_in_range",
            ),
        ]
        indexes = [models.Index(fields=["user", "lesson"], name="quiz_attempt_user_lesson")]

    def __str__(self) -> str:
        return f"{self.user} on {self.lesson}: {self.score}%"


class QuizAttemptGrant(models.Model):
    """One more attempt at a quiz, granted to a learner by staff: each row adds one to the
    quiz's maximum for that learner. Written by `quiz_attempt_grant` and never edited, so the
    rows are also the audit trail of who granted what, when and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.CASCADE,
        related_name="quiz_attempt_grants",
    )
    lesson = models.ForeignKey(
        Lesson,
        verbose_name=_("lesson"),
        on_delete=models.CASCADE,
        related_name="quiz_attempt_grants",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("extra quiz attempt")
        verbose_name_plural = _("extra quiz attempts")
        indexes = [models.Index(fields=["user", "lesson"], name="quiz_grant_user_lesson")]

    def __str__(self) -> str:
        return f"{self.user} on {self.lesson}: +1 attempt"


class XPAward(models.Model):
    """The XP ledger. Each award has a source key that is unique per user, so replaying an
    event awards nothing twice and a learner's total is always the sum of their rows."""

    class Reason(models.TextChoices):
        LESSON_COMPLETED = "lesson_completed", _("Lesson completed")
        QUIZ_PASSED = "quiz_passed", _("Quiz passed")
        BOSS_BONUS = "boss_bonus", _("Boss lesson bonus")
        COURSE_COMPLETED = "course_completed", _("Course completed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="xp_awards",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    source_key = models.CharField(_("source"), max_length=80)
    amount = models.PositiveIntegerField(_("XP"))
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("awarded at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("XP award")
        verbose_name_plural = _("XP awards")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "source_key"],
                name="xp_award_unique_source",
                violation_error_message=_("This award has already been given."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} XP to {self.user}: {self.get_reason_display()}"


class ActivityDay(models.Model):
    """A calendar day, in the learner's time zone, on which they learned something."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="activity_days",
    )
    day = models.DateField(_("day"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("activity day")
        verbose_name_plural = _("activity days")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="activity_day_unique_user_day")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.day}"


class LearnerStats(models.Model):
    """A learner's running totals, kept in step with the ledger and the activity days.

    Every progress write locks this row first, which also queues one learner's parallel
    writes. `progress.services.learner_stats_rebuild` recomputes it from the ledger.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="learner_stats",
    )
    xp_total = models.PositiveIntegerField(_("XP"), default=0)
    current_streak = models.PositiveIntegerField(_("current streak (days)"), default=0)
    longest_streak = models.PositiveIntegerField(_("longest streak (days)"), default=0)
    last_active_day = models.DateField(_("last active day"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("learner stats")
        verbose_name_plural = _("learner stats")

    def __str__(self) -> str:
        return f"{self.user}: {self.xp_total} XP"


class Certificate(models.Model):
    """Issued once per learner and course on completion; anyone with the code can verify it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="certificates",
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="certificates"
    )
    # Frozen at issue time: a certificate says what was true when it was earned. The name is
    # empty when the learner had none yet: the certificate is issued (nothing of the course
    # is lost) and shows once its owner gives the name to print (`certificate_name_set`),
    # who may also correct it a few times (LMS_CERTIFICATE_NAME_CORRECTIONS), audited.
    learner_name = models.CharField(_("learner name"), max_length=200, blank=True)
    name_corrections = models.PositiveSmallIntegerField(
        _("name corrections"), default=0, editable=False
    )
    course_title = models.CharField(_("course title"), max_length=200)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"],
                name="certificate_unique_user_course",
                violation_error_message=_("This learner already has a certificate for it."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_title}: {self.learner_name or _('name to confirm')}"

    def get_absolute_url(self) -> str:
        return reverse("progress:certificate_detail", kwargs={"code": self.code})

    @property
    def name_pending(self) -> bool:
        """Issued without a name: shown and downloadable once its owner gives one."""
        return not self.learner_name


class ProgressEvent(models.Model):
    """A client event sent to the sync API, kept by its client id with what became of it.

    Only an `applied` event is final: sent again it is a duplicate and changes nothing. An
    event refused (not entitled yet, lesson not published yet, ...) or found stale is tried
    again whenever the client resends it, and its row keeps the latest outcome.
    """

    class Kind(models.TextChoices):
        COMPLETE = "complete", _("Lesson completed")
        POSITION = "position", _("Video position")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="progress_events",
    )
    client_id = models.UUIDField(_("client id"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("first received at"), default=timezone.now)
    last_received_at = models.DateTimeField(_("last received at"), default=timezone.now)
    # How often the client sent it until it was applied (retries after a refusal).
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    # What the latest attempt did: "applied", "stale", or the stable error code it was
    # refused with.
    result = models.CharField(_("result"), max_length=40)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("progress event")
        verbose_name_plural = _("progress events")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_id"], name="progress_event_unique_client_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id}"


# Cohorts, learning paths and release notices live beside the code that uses them.
from progress.cohorts.models import *  # noqa: E402, F403
from progress.paths.models import *  # noqa: E402, F403
