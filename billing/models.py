import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """An access level. Paid courses require a tier; plans (billing issue) grant one.

    Tiers are compared by `rank`: a learner with rank 2 may open courses requiring 1 or 2.
    """

    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher ranks include everything lower ranks open.")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name


class TierGrant(models.Model):
    """A tier held by one user for a while, outside any subscription (e.g. from an invite).

    `billing.entitlements` counts a grant while `starts_at <= now < expires_at` (no
    `expires_at`: for good). `(source, source_id)` names what granted it, so granting twice
    for the same cause is caught by the database.
    """

    class Source(models.TextChoices):
        INVITE = "invite", _("Invite")
        STAFF = "staff", _("Staff")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="tier_grants",
    )
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="grants"
    )
    starts_at = models.DateTimeField(_("starts at"), default=timezone.now)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: the grant never ends.")
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    source_id = models.CharField(
        _("source id"), max_length=64, blank=True, help_text=_("E.g. the invite's id.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("tier grant")
        verbose_name_plural = _("tier grants")
        indexes = [models.Index(fields=["user", "expires_at"], name="tiergrant_user_expiry_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("starts_at")),
                name="tiergrant_expires_after_start",
                violation_error_message=_("A grant must end after it starts."),
            ),
            models.UniqueConstraint(
                fields=["user", "source", "source_id"],
                condition=~Q(source_id=""),
                name="tiergrant_unique_per_source",
                violation_error_message=_("This user already holds a grant from this source."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} for {self.user}"
