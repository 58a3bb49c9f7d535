"""Billing in the admin: tiers, plans and tier grants are edited here; Stripe's records are not.

Customers and subscriptions are copies of what Stripe says (`billing.services.subscription_sync`
writes them), so their admins are read-only, link to the Stripe dashboard, and offer "Sync from
Stripe" to re-read a subscription now. The emails sent about a subscription are listed on it.
Only staff see any of this: the Instructors group holds no billing permission.
"""

import stripe
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.gateway import BillingNotConfiguredError, stripe_dashboard_url
from billing.models import BillingNotice, Customer, Plan, Subscription, Tier, TierGrant
from billing.services import subscription_sync, tier_grant_create
from lms.admin import ReadOnlyAdminMixin


def _stripe_link(path: str) -> str:
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        stripe_dashboard_url(path),
        _("View in Stripe"),
    )


# --- Tiers and plans: the catalogue of what can be bought --------------------------------


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "slug", "offline_video_downloads", "description", "plan_count")
    list_filter = ("offline_video_downloads",)
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tier]:
        return super().get_queryset(request).annotate(plan_count=Count("plans"))

    @admin.display(description=_("plans"), ordering="plan_count")
    def plan_count(self, tier: Tier) -> int:
        return tier.plan_count


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """The pricing page's plans. Prices themselves live in Stripe: a plan names the Stripe
    price ids a checkout uses, and the price shown on /pricing/. A plan somebody subscribed to
    cannot be deleted (its subscriptions point at it): take it off sale instead."""

    list_display = (
        "name",
        "tier",
        "display_price_monthly",
        "display_price_yearly",
        "stripe_price_monthly",
        "stripe_price_yearly",
        "subscription_count",
        "is_active",
        "order",
    )
    list_editable = ("is_active", "order")
    list_filter = ("is_active", "tier")
    list_select_related = ("tier",)
    search_fields = ("name", "slug", "=stripe_price_monthly", "=stripe_price_yearly")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "tier", "description", "features")}),
        (
            _("Stripe prices"),
            {
                "fields": ("stripe_price_monthly", "stripe_price_yearly"),
                "description": _(
                    "The ids of the recurring prices of this plan's product in Stripe "
                    "(Product catalogue, price_...). Give at least one."
                ),
            },
        ),
        (
            _("Pricing page"),
            {"fields": ("display_price_monthly", "display_price_yearly", "is_active", "order")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).annotate(subscription_count=Count("subscriptions"))

    @admin.display(description=_("subscriptions"), ordering="subscription_count")
    def subscription_count(self, plan: Plan) -> int:
        return plan.subscription_count

    def get_deleted_objects(self, objs, request: HttpRequest) -> tuple:
        """Name the real reason a subscribed plan stays: its subscriptions protect it. (Left
        alone, Django would blame the missing permission to delete subscriptions, which
        nobody holds, as if someone else could delete the plan.)"""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, (set() if protected else perms_needed), protected


# --- Tier grants: a tier for a while, given by staff --------------------------------------


class GrantStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> tuple:
        return (
            ("active", _("Active")),
            ("upcoming", _("Not started yet")),
            ("expired", _("Expired")),
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet[TierGrant]) -> QuerySet[TierGrant]:
        now = timezone.now()
        conditions = {
            "active": Q(starts_at__lte=now) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now)),
            "upcoming": Q(starts_at__gt=now),
            "expired": Q(expires_at__lte=now),
        }
        condition = conditions.get(self.value())
        return queryset if condition is None else queryset.filter(condition)


@admin.register(TierGrant)
class TierGrantAdmin(admin.ModelAdmin):
    """Staff give a user a tier for a period (or for good) without a subscription. New grants
    go through `tier_grant_create` with source "staff". A saved grant is shown, not edited, so
    what a user held stays on record: a mistaken one is deleted and granted again."""

    list_display = ("user", "tier", "source", "starts_at", "expires_at", "is_active")
    list_filter = (GrantStateFilter, "tier", "source")
    list_select_related = ("user", "tier")
    search_fields = ("user__email", "user__display_name")
    autocomplete_fields = ("user",)
    date_hierarchy = "starts_at"
    add_fields = ("user", "tier", "starts_at", "expires_at")
    readonly_fields = ("source", "source_id", "created_at")

    def get_fields(self, request: HttpRequest, obj: TierGrant | None = None) -> tuple:
        return self.add_fields if obj is None else (*self.add_fields, *self.readonly_fields)

    def has_change_permission(self, request: HttpRequest, obj: TierGrant | None = None) -> bool:
        return False

    @admin.display(description=_("active now"), boolean=True)
    def is_active(self, grant: TierGrant) -> bool:
        now = timezone.now()
        return grant.starts_at <= now and (grant.expires_at is None or grant.expires_at > now)

    def save_model(self, request: HttpRequest, obj: TierGrant, form, change: bool) -> None:
        grant = tier_grant_create(
            user=obj.user,
            tier=obj.tier,
            source=TierGrant.Source.STAFF,
            starts_at=obj.starts_at,
            expires_at=obj.expires_at,
        )
        # The admin logs and redirects to `obj`: make it the row the service created.
        for field in TierGrant._meta.concrete_fields:
            setattr(obj, field.attname, getattr(grant, field.attname))
        obj._state.adding = False
        obj._state.db = grant._state.db


# --- Stripe's records: read-only copies ---------------------------------------------------


class SubscriptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Subscription
    fields = (
        "stripe_id",
        "plan",
        "status",
        "interval",
        "current_period_end",
        "cancel_at_period_end",
        "synced_at",
    )
    readonly_fields = fields
    show_change_link = True
    extra = 0


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "stripe_id", "created_at", "stripe_link")
    list_select_related = ("user",)
    list_filter = ("subscriptions__status", "subscriptions__plan")
    search_fields = ("user__email", "=stripe_id")
    search_help_text = _("The user's email, or the Stripe customer id (cus_...) exactly.")
    fields = ("user", "stripe_id", "created_at", "stripe_link")
    readonly_fields = fields
    inlines = (SubscriptionInline,)

    @admin.display(description=_("Stripe"))
    def stripe_link(self, customer: Customer) -> str:
        return _stripe_link(f"customers/{customer.stripe_id}")


class BillingNoticeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BillingNotice
    fields = ("kind", "reference", "sent_at")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("emails sent")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "stripe_id",
        "user",
        "plan",
        "status",
        "interval",
        "current_period_end",
        "cancel_at_period_end",
        "past_due_since",
        "synced_at",
        "stripe_link",
    )
    list_filter = ("status", "plan", "interval", "cancel_at_period_end")
    list_select_related = ("user", "plan", "customer")
    search_fields = ("user__email", "=stripe_id", "=customer__stripe_id")
    search_help_text = _("The user's email, or a Stripe subscription or customer id exactly.")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("user", "customer", "plan", "status", "stripe_link")}),
        (
            _("Billing"),
            {
                "fields": (
                    "stripe_id",
                    "stripe_price_id",
                    "interval",
                    "current_period_end",
                    "cancel_at_period_end",
                    "canceled_at",
                    "ended_at",
                    "past_due_since",
                )
            },
        ),
        (_("Records"), {"fields": ("created_at", "synced_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Subscription | None = None):
        return flatten_fieldsets(self.fieldsets)  # every field shown, none editable

    inlines = (BillingNoticeInline,)
    actions = ("sync_from_stripe",)

    @admin.display(description=_("Stripe"))
    def stripe_link(self, subscription: Subscription) -> str:
        return _stripe_link(f"subscriptions/{subscription.stripe_id}")

    def has_sync_permission(self, request: HttpRequest) -> bool:
        # The rows are read-only here, but a sync writes them: those who hold the (unused)
        # change permission, i.e. staff, may ask for one.
        return request.user.has_perm("billing.change_subscription")

    @admin.action(description=_("Sync from Stripe"), permissions=["sync"])
    def sync_from_stripe(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        """Re-read each subscription from Stripe now, as a webhook would: the way to mend a
        row after a missed event without waiting for the hourly reconciliation."""
        for subscription in queryset.select_related("customer"):
            try:
                synced = subscription_sync(
                    subscription_id=subscription.stripe_id,
                    customer_id=subscription.customer.stripe_id,
                )
            except BillingNotConfiguredError:
                self.message_user(
                    request,
                    _("Stripe is not configured on this site: set STRIPE_SECRET_KEY."),
                    messages.ERROR,
                )
                return
            except stripe.StripeError as error:
                self.message_user(
                    request,
                    _("%(id)s: Stripe could not be read: %(error)s")
                    % {"id": subscription.stripe_id, "error": error.user_message or str(error)},
                    messages.ERROR,
                )
                continue
            if synced is None:
                self.message_user(
                    request,
                    _("%(id)s: Stripe does not know this subscription; nothing changed.")
                    % {"id": subscription.stripe_id},
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    _("%(id)s: synced, %(status)s.")
                    % {"id": synced.stripe_id, "status": synced.get_status_display()},
                    messages.SUCCESS,
                )
