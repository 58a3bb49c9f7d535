"""A subscription keeps what one billing interval costs, read from Stripe's items, so the
analytics can sum revenue (MRR) by tier: the amount follows a plan switch and a quantity."""

import pytest

from accounts.tests.factories import UserFactory
from billing.models import Subscription
from billing.services import subscription_sync
from billing.tests.fake_stripe import FakeStripe, fake_stripe_fixture  # noqa: F401
from billing.tests.test_lifecycle import (  # noqa: F401
    deliver,
    plans_fixture,
    subscribe,
)

pytestmark = pytest.mark.django_db


def sync(fake: FakeStripe, subscription: Subscription) -> Subscription:
    remote = fake.subscriptions[subscription.stripe_id]
    return subscription_sync(subscription_id=remote["id"], customer_id=remote["customer"])


def test_the_amount_and_currency_come_from_stripes_price(fake_stripe, plans):
    subscription = subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])

    assert (subscription.amount_cents, subscription.currency) == (2000, "usd")

    deliver(fake_stripe.subscription_change_price(subscription.stripe_id, "price_performer_year"))
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.interval, subscription.amount_cents) == (
        plans["performer"],
        "year",
        30000,
    )


def test_the_amount_is_unit_amount_times_quantity_in_stripes_currency(fake_stripe, plans):
    subscription = subscribe(fake_stripe, user=UserFactory(), plan=plans["rookie"])
    remote = fake_stripe.subscriptions[subscription.stripe_id]
    remote["items"]["data"][0]["quantity"] = 3
    remote["items"]["data"][0]["price"]["currency"] = "EUR"

    stored = sync(fake_stripe, subscription)

    assert (stored.amount_cents, stored.currency) == (3000, "eur")


def test_a_price_without_a_unit_amount_leaves_the_amount_unknown(fake_stripe, plans):
    subscription = subscribe(fake_stripe, user=UserFactory(), plan=plans["rookie"])
    remote = fake_stripe.subscriptions[subscription.stripe_id]
    remote["items"]["data"][0]["price"]["unit_amount"] = None  # metered: known on the invoice

    stored = sync(fake_stripe, subscription)

    assert (stored.amount_cents, stored.currency) == (None, "usd")
