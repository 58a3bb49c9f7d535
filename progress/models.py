"""Enrollments and invites. Progress, quizzes, XP, streaks and certificates join them later.

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
from catalog.models import Course


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

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"


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
        _("email"), blank=True, help_text=_("Send the invite to this address when it is created.")
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
