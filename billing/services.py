"""Every write to billing: tiers, tier grants, Stripe customers, checkout and subscriptions.

Subscriptions are never written from what a webhook or a redirect claims: `subscription_sync`
re-reads the subscription from Stripe and stores that. It holds a lock on the customer's row
while it reads and writes, so two events of one customer are applied one after the other, each
from a fresh read; whatever order events arrive in, the last sync stores Stripe's latest state.
"""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing.entitlements import (
    subscription_grace_ends_at,
    subscription_is_lapsed,
    user_entitlements_forget,
)
from billing.gateway import (
    BillingNotConfiguredError,
    BillingUnavailableError,
    billing_enabled,
    stripe_client,
    stripe_error_is_missing,
    stripe_object_id,
)
from billing.models import BillingNotice, Customer, Plan, Subscription, Tier, TierGrant
from billing.selectors import subscription_blocks_checkout
from billing.signals import entitlements_changed
from lms.email import email_send_template
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from lms.events import server_event_record
from notifications.services import notification_send

logger = logging.getLogger(__name__)


@transaction.atomic
def tier_ensure(*, slug: str, name: str, rank: int, description: str = "") -> Tier:
    """Create the tier with this slug, or bring an existing one to these values.

    Idempotent, for the demo school and fixtures: running it twice leaves one unchanged row.
    """
    wanted = {"name": name, "rank": rank, "description": description}
    tier, created = Tier.objects.select_for_update().get_or_create(slug=slug, defaults=wanted)
    changed = [field for field, value in wanted.items() if getattr(tier, field) != value]
    if not created and changed:
        for field in changed:
            setattr(tier, field, wanted[field])
        tier.full_clean()
        tier.save(update_fields=changed)
    return tier


@transaction.atomic
def tier_grant_create(
    *,
    user: User,
    tier: Tier,
    source: str,
    source_id: str = "",
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> TierGrant:
    """Give the user `tier` from `starts_at` (default now) until `expires_at` (None: for good).

    With a `source_id`, granting again for the same source returns the existing grant
    unchanged: a retried redemption must not stack a second period on the first.
    """
    if source_id:
        existing = TierGrant.objects.filter(user=user, source=source, source_id=source_id).first()
        if existing is not None:
            return existing
    grant = TierGrant(
        user=user,
        tier=tier,
        starts_at=starts_at or timezone.now(),
        expires_at=expires_at,
        source=source,
        source_id=source_id,
    )
    grant.full_clean()
    grant.save()
    _entitlements_changed(user=user)
    return grant


def _entitlements_changed(*, user: User) -> None:
    """Forget the remembered tier and tell the apps above (`billing.signals`), on commit."""
    user_entitlements_forget(user=user)
    user_id = user.pk
    transaction.on_commit(lambda: entitlements_changed.send_robust(sender=User, user_id=user_id))


@transaction.atomic
def plan_ensure(*, slug: str, tier: Tier, **fields: Any) -> Plan:
    """Create the plan with this slug, or bring an existing one to these values (seed data)."""
    plan, created = Plan.objects.select_for_update().get_or_create(
        slug=slug, defaults={"tier": tier, **fields}
    )
    changed = [
        name for name, value in {"tier": tier, **fields}.items() if getattr(plan, name) != value
    ]
    if not created and changed:
        for name in changed:
            setattr(plan, name, {"tier": tier, **fields}[name])
        plan.full_clean()
        plan.save(update_fields=changed)
    return plan


# --- Customers and checkout ---------------------------------------------------------------


def customer_ensure(*, user: User) -> Customer:
    """The user's Stripe customer, created at Stripe the first time and reused ever after.

    No lock is held over the call to Stripe: the idempotency key makes concurrent first
    checkouts (or a retry after a lost answer) get the same Stripe customer, and
    `get_or_create` on the one-per-user row settles them on one row, as it does for a customer
    linked by a webhook meanwhile.
    """
    existing = Customer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        remote = stripe_client().v1.customers.create(
            params={
                "email": user.email,
                "name": user.get_full_name() or user.email,
                "metadata": {"user_id": str(user.pk)},
            },
            options={"idempotency_key": f"lms-customer-{user.pk}"},
        )
    except stripe.StripeError as error:
        logger.warning("Creating the Stripe customer of user %s failed: %s", user.pk, error)
        raise BillingUnavailableError from error
    customer, _ = Customer.objects.get_or_create(user=user, defaults={"stripe_id": remote.id})
    return customer


def plan_for_checkout(*, slug: str, interval: str) -> Plan:
    """The plan on sale with this slug and a Stripe price for `interval`, or PLAN_NOT_FOUND."""
    plan = Plan.objects.select_related("tier").filter(slug=slug, is_active=True).first()
    if plan is None or interval not in Plan.Interval.values or not plan.price_id(interval):
        raise NotFoundError(ErrorCode.PLAN_NOT_FOUND)
    return plan


def checkout_session_create(
    *, user: User, plan: Plan, interval: str, success_url: str, cancel_url: str
) -> str:
    """Start a Stripe Checkout for `plan`; return the URL to send the learner to.

    `success_url` gets `session_id={CHECKOUT_SESSION_ID}` appended (Stripe fills it in), so
    the success page can ask Stripe how the checkout went. A learner with a subscription that
    is still billed (even past due, while Stripe retries) changes plan or pays in the customer
    portal instead (ALREADY_SUBSCRIBED): two subscriptions would bill them twice.
    """
    if subscription_blocks_checkout(user=user):
        raise ApplicationError(ErrorCode.ALREADY_SUBSCRIBED)
    customer = customer_ensure(user=user)
    references = {"user_id": str(user.pk), "plan": plan.slug}
    separator = "&" if "?" in success_url else "?"
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer.stripe_id,
                "client_reference_id": str(user.pk),
                "line_items": [{"price": plan.price_id(interval), "quantity": 1}],
                "allow_promotion_codes": True,
                "metadata": references,
                "subscription_data": {"metadata": references},
                "success_url": f"{success_url}{separator}session_id={{CHECKOUT_SESSION_ID}}",
                "cancel_url": cancel_url,
            }
        )
    except stripe.StripeError as error:
        logger.warning("Creating a Stripe checkout for user %s failed: %s", user.pk, error)
        raise BillingUnavailableError from error
    return session.url


def portal_session_create(*, user: User, return_url: str) -> str:
    """A Stripe customer portal session (payment method, plan switch, cancel); its URL.

    With payments off, BILLING_NOT_CONFIGURED whether or not the user has a customer row (as
    checkout), so a client is told the site takes no payments, not to go and choose a plan."""
    if not billing_enabled():
        raise BillingNotConfiguredError
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        raise ApplicationError(ErrorCode.NO_BILLING_ACCOUNT)
    try:
        session = stripe_client().v1.billing_portal.sessions.create(
            params={"customer": customer.stripe_id, "return_url": return_url}
        )
    except stripe.StripeError as error:
        logger.warning("Opening the Stripe portal for user %s failed: %s", user.pk, error)
        raise BillingUnavailableError from error
    return session.url


def checkout_session_confirm(*, user: User, session_id: str) -> Subscription | None:
    """Ask Stripe how the user's checkout went; store and return its subscription when done.

    The success page calls this rather than trusting the redirect: None means Stripe has not
    completed the checkout yet (the page keeps showing "processing"). A session of another
    customer is CHECKOUT_NOT_FOUND, as is one Stripe does not know.
    """
    customer = Customer.objects.filter(user=user).first()
    if customer is None or not session_id.startswith("cs_"):
        raise NotFoundError(ErrorCode.CHECKOUT_NOT_FOUND)
    try:
        session = stripe_client().v1.checkout.sessions.retrieve(session_id).to_dict()
    except stripe.StripeError as error:
        if stripe_error_is_missing(error):
            raise NotFoundError(ErrorCode.CHECKOUT_NOT_FOUND) from error
        raise BillingUnavailableError from error
    if stripe_object_id(session.get("customer")) != customer.stripe_id:
        raise NotFoundError(ErrorCode.CHECKOUT_NOT_FOUND)
    subscription_id = stripe_object_id(session.get("subscription"))
    if session.get("status") != "complete" or not subscription_id:
        return None
    try:
        return subscription_sync(subscription_id=subscription_id, customer_id=customer.stripe_id)
    except stripe.StripeError as error:
        raise BillingUnavailableError from error


# --- Subscriptions ------------------------------------------------------------------------


def _datetime(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int | float) else None


def _customer_locked(*, customer_id: str, user_id: str | None) -> Customer | None:
    """Our row for Stripe customer `customer_id`, locked; None when it belongs to no user.

    A customer made by this site is already here. One made elsewhere (the dashboard) is linked
    to the user named by the event or by the customer's `user_id` metadata, unless that user
    already has another customer.
    """
    customer = Customer.objects.select_for_update().filter(stripe_id=customer_id).first()
    if customer is not None:
        return customer
    if not user_id:
        remote = stripe_client().v1.customers.retrieve(customer_id).to_dict()
        user_id = (remote.get("metadata") or {}).get("user_id")
    try:
        user = User.objects.filter(pk=uuid.UUID(str(user_id))).first() if user_id else None
    except ValueError:
        user = None
    if user is None:
        logger.warning("Stripe customer %s belongs to no user here; ignored", customer_id)
        return None
    customer, _ = Customer.objects.get_or_create(user=user, defaults={"stripe_id": customer_id})
    if customer.stripe_id != customer_id:
        logger.warning(
            "Stripe customer %s names user %s, who is customer %s; ignored",
            customer_id,
            user.pk,
            customer.stripe_id,
        )
        return None
    return Customer.objects.select_for_update().get(pk=customer.pk)


@transaction.atomic
def subscription_sync(
    *, subscription_id: str, customer_id: str, user_id: str | None = None
) -> Subscription | None:
    """Re-read subscription `subscription_id` from Stripe and store it; return our row.

    The customer's row stays locked until the transaction ends, so syncs of one customer never
    interleave. Sends the "started" and "cancelled" emails the first time the subscription is
    seen giving access or cancelled. Returns None when the customer is no user of ours or Stripe
    does not know the subscription. Stripe errors other than "missing" are raised: the webhook
    task retries them.
    """
    customer = _customer_locked(customer_id=customer_id, user_id=user_id)
    if customer is None:
        return None
    try:
        remote = stripe_client().v1.subscriptions.retrieve(subscription_id).to_dict()
    except stripe.StripeError as error:
        if stripe_error_is_missing(error):
            logger.warning("Stripe has no subscription %s; nothing stored", subscription_id)
            return None
        raise
    if stripe_object_id(remote.get("customer")) != customer.stripe_id:
        logger.warning(
            "Subscription %s is not customer %s's; ignored", subscription_id, customer.stripe_id
        )
        return None
    subscription = Subscription.objects.filter(stripe_id=subscription_id).first()
    fields = _subscription_fields(remote)
    before = _subscription_facts(subscription) if subscription else None
    if subscription is None:
        subscription = Subscription(
            stripe_id=subscription_id, customer=customer, user=customer.user
        )
    if fields["status"] != Subscription.Status.PAST_DUE:
        subscription.past_due_since = None
    elif subscription.past_due_since is None:
        subscription.past_due_since = _unpaid_since(remote)
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.synced_at = timezone.now()
    subscription.save()
    _subscription_changed_record(subscription=subscription, before=before)
    _entitlements_changed(user=customer.user)
    if subscription.status in Subscription.ENTITLED_STATUSES and subscription.plan is not None:
        _notify(subscription=subscription, kind=BillingNotice.Kind.STARTED)
    elif subscription.status == Subscription.Status.CANCELED:
        _notify(subscription=subscription, kind=BillingNotice.Kind.CANCELED)
    return subscription


def _subscription_facts(subscription: Subscription) -> tuple:
    """What a `subscription.changed` event is about: a change in any of these is one."""
    return (
        subscription.status,
        subscription.plan_id,
        subscription.interval,
        subscription.amount_cents,
        subscription.currency,
    )


def _subscription_changed_record(*, subscription: Subscription, before: tuple | None) -> None:
    """The analytics event of a new or changed subscription, in the sync's transaction. A
    sync that changes none of the facts (a replayed webhook, the reconciliation) records
    nothing; the key (the row and the sync's time) keeps a retried write to one event."""
    if before is not None and before == _subscription_facts(subscription):
        return
    plan = subscription.plan
    server_event_record(
        type="subscription.changed",
        key=f"{subscription.stripe_id}:{subscription.synced_at.isoformat()}",
        user_id=subscription.user_id,
        occurred_at=subscription.synced_at,
        properties={
            "tier": plan.tier.slug if plan else None,
            "plan": plan.slug if plan else None,
            "status": subscription.status,
            "previous_status": before[0] if before else None,
            "interval": subscription.interval,
            "amount_cents": subscription.amount_cents,
            "currency": subscription.currency,
        },
    )


def subscription_refresh(*, subscription_id: str) -> Subscription | None:
    """Re-read subscription `subscription_id` (Stripe's id), one we already store, from Stripe.

    Asked for by `billing.entitlements` when our copy looks lapsed (active, its period over
    for longer than the grace period). Returns the row as Stripe now has it, or None when we
    do not store it or Stripe no longer has it. Stripe errors are raised, as by
    `subscription_sync`.
    """
    stored = (
        Subscription.objects.select_related("customer").filter(stripe_id=subscription_id).first()
    )
    if stored is None:
        return None
    subscription = subscription_sync(
        subscription_id=subscription_id, customer_id=stored.customer.stripe_id
    )
    if subscription is not None and subscription_is_lapsed(subscription=subscription):
        # Stripe itself has not moved the period on: it opens nothing until Stripe does.
        logger.warning(
            "Stripe still reports subscription %s %s with a period that ended at %s; "
            "it gives no access until renewed",
            subscription_id,
            subscription.status,
            subscription.current_period_end,
        )
    return subscription


def _unpaid_since(remote: dict) -> datetime:
    """When the unpaid invoice of a past-due subscription was issued: the grace period runs
    from then, not from when we heard of it (a worker down for a day must not extend it)."""
    now = timezone.now()
    invoice_id = stripe_object_id(remote.get("latest_invoice"))
    if not invoice_id:
        return now
    invoice = stripe_client().v1.invoices.retrieve(invoice_id).to_dict()
    issued = _datetime(invoice.get("created"))
    return min(issued, now) if invoice.get("status") == "open" and issued else now


def _subscription_fields(remote: dict) -> dict[str, Any]:
    """Our columns from a Stripe subscription (API 2025+: the period lives on the item)."""
    items = (remote.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    price_id = stripe_object_id(price)
    plan = (
        Plan.objects.filter(Q(stripe_price_monthly=price_id) | Q(stripe_price_yearly=price_id))
        .order_by("pk")
        .first()
        if price_id
        else None
    )
    if price_id and plan is None:
        logger.warning("Stripe price %s matches no plan; the subscription opens nothing", price_id)
    status = remote.get("status")
    if status not in Subscription.Status.values:
        raise ValueError(f"Unknown Stripe subscription status {status!r}")
    return {
        "plan": plan,
        "stripe_price_id": price_id,
        "interval": ((price.get("recurring") or {}) if isinstance(price, dict) else {}).get(
            "interval", ""
        )
        or "",
        "status": status,
        **_subscription_amount(remote, items),
        "current_period_end": _datetime(
            item.get("current_period_end") or remote.get("current_period_end")
        ),
        "cancel_at_period_end": bool(remote.get("cancel_at_period_end")),
        "canceled_at": _datetime(remote.get("canceled_at")),
        "ended_at": _datetime(remote.get("ended_at")),
    }


def _subscription_amount(remote: dict, items: list[dict]) -> dict[str, Any]:
    """What one billing interval costs: each item's unit amount times its quantity, summed, in
    minor units of the subscription's currency. None when an item has no unit amount (a
    metered or tiered price: its amount is only known on the invoice)."""
    total = 0
    for item in items:
        price = item.get("price") if isinstance(item.get("price"), dict) else {}
        unit_amount = price.get("unit_amount")
        if unit_amount is None:
            total = None
            break
        total += int(unit_amount) * int(item.get("quantity") or 1)
    first_price = (items[0].get("price") if items else None) or {}
    currency = remote.get("currency") or (
        first_price.get("currency", "") if isinstance(first_price, dict) else ""
    )
    return {"amount_cents": total if items else None, "currency": (currency or "").lower()}


def invoice_payment_failed_notify(
    *, subscription: Subscription, invoice_id: str
) -> BillingNotice | None:
    """Email "payment failed" once per invoice, if Stripe still has it unpaid.

    The invoice is re-read: a failure event delivered after the retry that paid it sends
    nothing. Returns the notice when this call sent it.
    """
    invoice = stripe_client().v1.invoices.retrieve(invoice_id).to_dict()
    if invoice.get("status") not in ("open", "uncollectible"):
        return None
    notice = _notify(
        subscription=subscription,
        kind=BillingNotice.Kind.PAYMENT_FAILED,
        reference=invoice_id,
        context={"hosted_invoice_url": invoice.get("hosted_invoice_url") or ""},
    )
    if notice is not None:
        # The bell's side of the email above: kind `payment_problem` is in-app only, so the
        # learner gets this news by email once (billing's), never twice.
        notification_send(
            user=subscription.user,
            kind="payment_problem",
            title="We couldn't charge your card",
            body="Update your payment method to keep your courses open.",
            url=reverse("billing:account"),
            source=f"payment_failed:{invoice_id}",
        )
    return notice


def _notify(
    *,
    subscription: Subscription,
    kind: str,
    reference: str = "",
    context: dict | None = None,
) -> BillingNotice | None:
    """Send the `kind` email about `subscription` unless it was already sent; the notice."""
    notice, created = BillingNotice.objects.get_or_create(
        subscription=subscription, kind=kind, reference=reference
    )
    if not created:
        return None
    user = subscription.user
    email_send_template(
        to=user.email,
        template_prefix=f"billing/email/{kind}",
        context={
            "user": user,
            "subscription": subscription,
            "plan": subscription.plan,
            "billing_url": _absolute(reverse("billing:account")),
            "learn_url": _absolute(reverse("progress:dashboard")),
            "grace_ends_at": subscription_grace_ends_at(subscription=subscription),
            "pricing_url": _absolute(reverse("billing:pricing")),
            **(context or {}),
        },
    )
    return notice


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"
