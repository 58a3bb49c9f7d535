"""billing's part of a person's data (`accounts.personal_data`): their Stripe customer,
subscriptions, tier grants and billing notices. All exported; on deletion all are KEPT,
attached to the anonymous tombstone: the school must keep its accounting records (and
`Subscription.user` is PROTECT). An account whose subscription Stripe still bills cannot
be deleted until it is cancelled (else it would go on being charged)."""

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from billing.models import BillingNotice, Customer, Subscription, TierGrant
from billing.selectors import subscription_blocks_checkout


def _export(user: User) -> dict[str, Any]:
    return {
        "customer": Customer.objects.filter(user=user).values("stripe_id", "created_at").first(),
        "subscriptions": list(
            Subscription.objects.filter(user=user)
            .order_by("created_at")
            .values(
                "stripe_id",
                "plan__name",
                "plan__tier__name",
                "interval",
                "status",
                "current_period_end",
                "cancel_at_period_end",
                "canceled_at",
                "ended_at",
                "created_at",
            )
        ),
        "tier_grants": list(
            TierGrant.objects.filter(user=user).values(
                "tier__name", "starts_at", "expires_at", "source", "created_at"
            )
        ),
        "notices": list(
            BillingNotice.objects.filter(subscription__user=user).values(
                "kind", "reference", "sent_at"
            )
        ),
    }


def _erase(user: User) -> None:
    """Nothing to erase: the rows name no one once the user row is a tombstone."""


def _blocker(user: User) -> str | None:
    if subscription_blocks_checkout(user=user):
        return _(
            "You have a subscription that is still billed: cancel it in the billing portal "
            "first, then delete your account."
        )
    return None


personal_data_register(
    Section(
        name="billing",
        title="Your billing: Stripe customer id, subscriptions, tier grants and billing notices.",
        export=_export,
        erase=_erase,
        blocker=_blocker,
        on_deletion="Your subscription history is kept, without your name or email, because "
        "the school must keep its accounting records. Card details are never stored here "
        "(Stripe holds them).",
        covers=("billing.Customer.user", "billing.Subscription.user", "billing.TierGrant.user"),
    )
)
