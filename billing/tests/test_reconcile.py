"""Reconciliation: what no webhook told us is read from Stripe; lost events are processed."""

from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Subscription
from billing.services import customer_ensure
from billing.tasks import subscriptions_reconcile
from billing.tests.fake_stripe import FakeStripe, fake_stripe_fixture, webhook_post  # noqa: F401
from billing.tests.test_lifecycle import (  # noqa: F401
    checkout,
    deliver,
    plans_fixture,
    rank,
    subscribe,
)
from lms.models import WebhookEvent
from lms.tasks import webhook_events_reconcile

pytestmark = pytest.mark.django_db

# One failed API call: the SDK's first try and its two retries (billing.gateway).
ONE_CALL = 3


def _reads(fake: FakeStripe, subscription: Subscription) -> int:
    return len(fake.requests_to("GET", f"/v1/subscriptions/{subscription.stripe_id}"))


def _read_first(*subscriptions: Subscription) -> None:
    """Make the task read these in this order (it reads the least recently synced first)."""
    now = timezone.now()
    for age, subscription in enumerate(reversed(subscriptions), start=1):
        Subscription.objects.filter(pk=subscription.pk).update(synced_at=now - timedelta(hours=age))


def test_changes_no_event_announced_are_read_from_stripe(fake_stripe, plans):
    lapsed_learner, leaving_learner = UserFactory(), UserFactory()
    lapsed = subscribe(fake_stripe, user=lapsed_learner, plan=plans["advanced"])
    leaving = subscribe(fake_stripe, user=leaving_learner, plan=plans["rookie"])
    # Stripe changed both; the events never reached us.
    fake_stripe.subscription_set_status(lapsed.stripe_id, "unpaid")
    fake_stripe.subscription_cancel_at_period_end(leaving.stripe_id)

    assert subscriptions_reconcile.delay().get() == 2

    lapsed.refresh_from_db()
    leaving.refresh_from_db()
    assert lapsed.status == "unpaid"
    assert rank(lapsed_learner) is None
    assert (leaving.status, leaving.cancel_at_period_end) == ("active", True)
    assert rank(leaving_learner) == 1
    assert lapsed.synced_at > timezone.now() - timedelta(minutes=1)


def test_a_subscription_that_went_past_due_unannounced_starts_its_grace_period(fake_stripe, plans):
    learner = UserFactory()
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])
    fake_stripe.subscription_set_status(subscription.stripe_id, "past_due")

    subscriptions_reconcile.delay().get()

    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert subscription.past_due_since > timezone.now() - timedelta(minutes=1)
    assert rank(learner) == 2


def test_subscriptions_in_a_final_status_are_not_read_again(fake_stripe, plans):
    ended = subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])
    deliver(fake_stripe.subscription_cancel(ended.stripe_id))
    # A first payment that never went through: Stripe expires the subscription for good.
    customer = customer_ensure(user=UserFactory())
    remote, events = fake_stripe.subscription_create(
        customer=customer.stripe_id, price="price_rookie_month", status="incomplete"
    )
    deliver([*events, *fake_stripe.subscription_set_status(remote["id"], "incomplete_expired")])
    expired = Subscription.objects.get(stripe_id=remote["id"], status="incomplete_expired")
    ongoing = subscribe(fake_stripe, user=UserFactory(), plan=plans["rookie"])
    reads_before = [_reads(fake_stripe, s) for s in (ended, expired, ongoing)]

    assert subscriptions_reconcile.delay().get() == 1

    assert [_reads(fake_stripe, s) for s in (ended, expired, ongoing)] == [
        reads_before[0],
        reads_before[1],
        reads_before[2] + 1,
    ]


def test_one_subscription_stripe_fails_to_return_does_not_stop_the_others(fake_stripe, plans):
    first_learner, second_learner = UserFactory(), UserFactory()
    first = subscribe(fake_stripe, user=first_learner, plan=plans["advanced"])
    second = subscribe(fake_stripe, user=second_learner, plan=plans["advanced"])
    for subscription in (first, second):
        fake_stripe.subscription_set_status(subscription.stripe_id, "unpaid")
    _read_first(first, second)
    fake_stripe.fail_next(times=ONE_CALL)

    assert subscriptions_reconcile.delay().get() == 1

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("active", "unpaid")

    assert subscriptions_reconcile.delay().get() == 2  # the next run catches up

    first.refresh_from_db()
    assert first.status == "unpaid"
    assert rank(first_learner) is None


def test_a_status_we_do_not_know_yet_does_not_stop_the_others(fake_stripe, plans):
    odd = subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])
    other = subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])
    fake_stripe.subscription_set_status(odd.stripe_id, "on_hold")  # a status Stripe adds later
    fake_stripe.subscription_set_status(other.stripe_id, "unpaid")
    _read_first(odd, other)

    assert subscriptions_reconcile.delay().get() == 1

    other.refresh_from_db()
    assert other.status == "unpaid"


def test_a_subscription_stripe_no_longer_has_is_left_as_it_was(fake_stripe, plans):
    subscription = subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])
    del fake_stripe.subscriptions[subscription.stripe_id]

    subscriptions_reconcile.delay().get()

    subscription.refresh_from_db()
    assert subscription.status == "active"


def test_without_stripe_configured_nothing_is_read(fake_stripe, plans, settings):
    subscribe(fake_stripe, user=UserFactory(), plan=plans["advanced"])
    requests_before = len(fake_stripe.requests)
    settings.STRIPE_SECRET_KEY = ""

    assert subscriptions_reconcile.delay().get() == 0
    assert len(fake_stripe.requests) == requests_before


# --- Webhook events left unprocessed ---------------------------------------------------------


def test_stripe_events_whose_processing_was_lost_are_processed_by_the_inbox_task(
    fake_stripe, plans
):
    learner = UserFactory()
    events = fake_stripe.checkout_complete(checkout(user=learner, plan=plans["advanced"]))
    # Stored and acknowledged, but the queued processing never ran (a broker lost the task):
    # the on-commit callbacks are captured and dropped.
    with TestCase.captureOnCommitCallbacks(execute=False):
        for event in events:
            assert webhook_post(Client(), event).status_code == 200
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"received"}
    assert webhook_events_reconcile.delay().get() == 0  # under a minute old: not yet
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert webhook_events_reconcile.delay().get() == 3

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert Subscription.objects.get(user=learner).status == "active"
    assert rank(learner) == 2


def test_a_stripe_event_that_failed_during_an_outage_is_processed_by_the_inbox_task(
    fake_stripe, plans
):
    learner = UserFactory()
    events = fake_stripe.checkout_complete(checkout(user=learner, plan=plans["advanced"]))
    created = next(e for e in events if e["type"] == "customer.subscription.created")
    fake_stripe.fail_next(times=ONE_CALL)
    deliver([created])
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("failed", 1)
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert webhook_events_reconcile.delay().get() == 1

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 2)
    assert event.payload == created
    assert rank(learner) == 2
