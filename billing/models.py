import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
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
    offline_video_downloads = models.BooleanField(
        _("offline video downloads"),
        default=False,
        help_text=_(
            "Learners holding this tier, or a higher one, may download lesson videos to watch "
            "offline in the apps (notes, quizzes and files are offline for every learner)."
        ),
    )

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


class Plan(models.Model):
    """What a learner can buy: a tier, billed monthly or yearly through Stripe prices.

    Prices live in Stripe; the ids here say which Stripe price a checkout uses and which plan
    (so which tier) a subscription Stripe reports belongs to. The display prices are what
    /pricing/ shows; Stripe's amounts win at checkout.
    """

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    name = models.CharField(_("name"), max_length=60)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="plans"
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    features = models.TextField(
        _("features"), blank=True, help_text=_("One per line, shown on the pricing page.")
    )
    stripe_price_monthly = models.CharField(
        _("Stripe monthly price id"), max_length=255, blank=True, help_text=_("price_...")
    )
    stripe_price_yearly = models.CharField(
        _("Stripe yearly price id"), max_length=255, blank=True, help_text=_("price_...")
    )
    display_price_monthly = models.CharField(
        _("monthly price shown"), max_length=30, blank=True, help_text=_('E.g. "$19".')
    )
    display_price_yearly = models.CharField(
        _("yearly price shown"), max_length=30, blank=True, help_text=_('E.g. "$190".')
    )
    is_active = models.BooleanField(
        _("on sale"), default=True, help_text=_("Inactive plans are hidden from the pricing page.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "tier__rank"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_price_monthly"],
                condition=~Q(stripe_price_monthly=""),
                name="plan_unique_monthly_price",
                violation_error_message=_("Another plan already uses this monthly price."),
            ),
            models.UniqueConstraint(
                fields=["stripe_price_yearly"],
                condition=~Q(stripe_price_yearly=""),
                name="plan_unique_yearly_price",
                violation_error_message=_("Another plan already uses this yearly price."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if not (self.stripe_price_monthly or self.stripe_price_yearly):
            raise ValidationError(_("Give at least one Stripe price id, monthly or yearly."))
        if self.stripe_price_monthly and self.stripe_price_monthly == self.stripe_price_yearly:
            raise ValidationError(_("The monthly and yearly prices must be different."))

    @property
    def feature_list(self) -> list[str]:
        return [line.strip() for line in self.features.splitlines() if line.strip()]

    def price_id(self, interval: str) -> str:
        """The Stripe price for `interval` ("month" or "year"); "" when not sold that way."""
        return (
            self.stripe_price_yearly
            if interval == self.Interval.YEAR
            else self.stripe_price_monthly
        )

    @property
    def intervals(self) -> list[str]:
        return [i for i in (self.Interval.MONTH, self.Interval.YEAR) if self.price_id(i)]


class Customer(models.Model):
    """The Stripe customer of one user, created once (at their first checkout) and reused."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="stripe_customer",
    )
    stripe_id = models.CharField(_("Stripe customer id"), max_length=255, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.user} ({self.stripe_id})"


class Subscription(models.Model):
    """Our copy of a Stripe subscription, always written from what Stripe returns on a fetch.

    Never edited by hand: webhooks, the success page and the reconciliation task re-read the
    subscription from Stripe and store it here (`billing.services.subscription_sync`).
    """

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")
        UNPAID = "unpaid", _("Unpaid")
        PAUSED = "paused", _("Paused")

    # Statuses Stripe never leaves: the reconciliation task stops re-reading these.
    FINAL_STATUSES = (Status.CANCELED, Status.INCOMPLETE_EXPIRED)
    # Statuses that open the plan's tier (past_due too, for the grace period).
    ENTITLED_STATUSES = (Status.ACTIVE, Status.TRIALING)

    stripe_id = models.CharField(_("Stripe subscription id"), max_length=255, unique=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    plan = models.ForeignKey(
        Plan,
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        help_text=_(
            "Empty when Stripe's price matches no plan here: the subscription opens nothing."
        ),
    )
    stripe_price_id = models.CharField(_("Stripe price id"), max_length=255, blank=True)
    interval = models.CharField(_("billed"), max_length=10, blank=True)
    # What one billing interval costs, from Stripe's items (unit amount x quantity, summed):
    # minor units of `currency` (lower case ISO code); None when Stripe sent no amount.
    amount_cents = models.PositiveBigIntegerField(_("amount (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # When we first saw it past due: access continues for LMS_BILLING_GRACE_DAYS after this.
    past_due_since = models.DateTimeField(_("past due since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    synced_at = models.DateTimeField(_("last read from Stripe"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [models.Index(fields=["user", "status"], name="subscription_user_status_idx")]

    def __str__(self) -> str:
        return f"{self.plan or self.stripe_price_id} for {self.user} ({self.status})"


class BillingNotice(models.Model):
    """An email we sent about a subscription, recorded so each is sent exactly once.

    `(subscription, kind, reference)` is unique: a redelivered or replayed event finds the row
    and sends nothing. `reference` tells apart notices that may recur (one per failed invoice).
    """

    class Kind(models.TextChoices):
        STARTED = "started", _("Subscription started")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        CANCELED = "canceled", _("Subscription cancelled")

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("billing email")
        verbose_name_plural = _("billing emails")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "reference"], name="billing_notice_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.subscription.user}"
