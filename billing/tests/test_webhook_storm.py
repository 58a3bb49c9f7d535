"""A storm of Stripe webhooks on PostgreSQL: redelivered, shuffled, concurrent, some forged.

Fifty learners live through a billing story in the fake Stripe (checkout, renewals, failed and
retried payments, plan switches, cancellations, a come-back); a tenth of them are customers
made in Stripe's dashboard, unknown here until their first event. The 500+ events Stripe would
send, 30% of them delivered twice and mixed with forged, stale and malformed deliveries, are
posted in a random order from 8 threads at once, each with its own test client and database
connection. Celery runs eagerly, so each event is processed in its request's thread right after
its commit, racing the others for the same customers.

Every genuine delivery must be acknowledged, every forged one refused with a 400, and the end
state must be Stripe's: each subscription as the fake has it, each learner's tier from it, and
each email sent once.
"""

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.entitlements import user_active_tier_rank
from billing.models import BillingNotice, Plan, Subscription
from billing.services import checkout_session_create, customer_ensure, plan_ensure, tier_ensure
from billing.tests.fake_stripe import (
    FakeStripe,
    fake_stripe_fixture,  # noqa: F401
    signature_header,
)
from lms.errors import ErrorCode
from lms.models import WebhookEvent
from lms.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = reverse("billing:stripe-webhook")
LEARNERS = 50
THREADS = 8
STORIES = (
    "upgraded",
    "recovered",
    "past_due",
    "unpaid",
    "leaving",
    "canceled",
    "came_back",
    "trial",
)
# Statuses whose plan opens its tier (past due: within the grace period, which starts now).
OPEN_STATUSES = ("active", "trialing", "past_due")


@dataclass
class Learner:
    user: User
    customer_id: str
    story: str
    plan: Plan
    dashboard: bool  # made in Stripe's dashboard: no Customer row here before the storm


@dataclass
class Delivery:
    body: str
    signature: str | None
    refusal: str | None = None  # the error code a forged delivery must get, None if genuine


def _plans(fake: FakeStripe) -> list[Plan]:
    plans = []
    for rank, name in enumerate(("Rookie", "Advanced", "Performer"), start=1):
        slug = name.lower()
        tier = tier_ensure(slug=slug, name=name, rank=rank)
        plans.append(
            plan_ensure(
                slug=slug,
                tier=tier,
                name=name,
                stripe_price_monthly=f"price_{slug}_month",
                stripe_price_yearly=f"price_{slug}_year",
            )
        )
        fake.prices[f"price_{slug}_year"] = {"interval": "year", "unit_amount": 10_000 * rank}
        fake.prices[f"price_{slug}_month"] = {"interval": "month", "unit_amount": 1_000 * rank}
    return plans


def _learner(fake: FakeStripe, *, index: int, plans: list[Plan]) -> Learner:
    user = UserFactory(email=f"storm{index}@example.com")
    dashboard = index % 10 == 9
    if dashboard:
        remote = fake.customer_create(email=user.email, metadata={"user_id": str(user.pk)})
        customer_id = remote["id"]
    else:
        customer_id = customer_ensure(user=user).stripe_id
    story = STORIES[index % len(STORIES)]
    return Learner(user, customer_id, story, plans[index % len(plans)], dashboard)


def _subscribe(
    fake: FakeStripe, learner: Learner, *, interval: str, trial: bool = False
) -> tuple[str, list[dict]]:
    """A new subscription to the learner's plan: through our checkout and the fake's payment
    page, or made in the dashboard (no checkout). Returns its id and Stripe's events."""
    if learner.dashboard:
        subscription, events = fake.subscription_create(
            customer=learner.customer_id,
            price=learner.plan.price_id(interval),
            status="trialing" if trial else "active",
            trial_days=14 if trial else None,
        )
        return subscription["id"], events
    url = checkout_session_create(
        user=learner.user,
        plan=learner.plan,
        interval=interval,
        success_url="http://testserver/billing/checkout/success/",
        cancel_url="http://testserver/billing/checkout/cancel/",
    )
    session_id = url.rsplit("/", 1)[1]
    events = fake.checkout_complete(session_id, trial=trial)
    return fake.checkout_sessions[session_id]["subscription"], events


def _story(fake: FakeStripe, learner: Learner, plans: list[Plan]) -> list[dict]:
    """The events Stripe sends, in order, while `learner` lives through their story."""
    story = learner.story
    sub, events = _subscribe(fake, learner, interval="month", trial=story == "trial")
    if story != "trial":
        for _ in range(3):  # renewals
            events += fake.invoice_paid(sub)
    if story == "upgraded":
        events += fake.subscription_change_price(sub, plans[-1].price_id("year"))
        events += fake.invoice_paid(sub)
    elif story == "recovered":  # a renewal failed, Stripe's retry succeeded
        events += fake.invoice_payment_failed(sub) + fake.invoice_paid(sub)
    elif story == "past_due":
        events += fake.invoice_payment_failed(sub)
    elif story == "unpaid":  # two renewals failed, Stripe gave up
        events += fake.invoice_payment_failed(sub) + fake.invoice_payment_failed(sub)
        events += fake.subscription_set_status(sub, "unpaid")
    elif story == "leaving":
        events += fake.subscription_change_price(sub, plans[0].price_id("month"))
        events += fake.subscription_cancel_at_period_end(sub)
    elif story == "canceled":
        events += fake.subscription_cancel_at_period_end(sub) + fake.subscription_cancel(sub)
    elif story == "came_back":
        events += fake.subscription_cancel(sub)
        sub, again = _subscribe(fake, learner, interval="year")
        events += again + fake.invoice_paid(sub)
    elif story == "trial":  # still trialing, switched to yearly billing
        events += fake.subscription_change_price(sub, learner.plan.price_id("year"))
        events += fake.subscription_cancel_at_period_end(sub)
    return events


def _signed(body: str, **kwargs) -> Delivery:
    return Delivery(body, signature_header(body, **kwargs))


def _forged(fake: FakeStripe, genuine: list[dict], rng: random.Random) -> list[Delivery]:
    """Deliveries we must refuse, each shaped like a real event but with an id of its own."""
    signature = ErrorCode.WEBHOOK_SIGNATURE_INVALID
    stale = ErrorCode.WEBHOOK_TIMESTAMP_STALE
    invalid = ErrorCode.WEBHOOK_PAYLOAD_INVALID
    forged = []
    for original in rng.sample(genuine, 6):
        event = fake.event(original["type"], original["data"]["object"])
        body = json.dumps(event)
        cases = [
            (Delivery(body, signature_header(body, secret="whsec_someone_else")), signature),
            (Delivery(body, None), signature),
            (Delivery(body, signature_header(json.dumps({**event, "type": "x"}))), signature),
            (_signed(body, timestamp=int(time.time()) - 600), stale),
            (_signed(body[:-7]), ErrorCode.PARSE_ERROR),
            (_signed(json.dumps([event])), invalid),
            (_signed(json.dumps({**event, "created": str(event["created"])})), invalid),
            (_signed(json.dumps({**event, "data": {"object": None}})), invalid),
            (_signed(json.dumps({**event, "type": "invoice.paid\u0000"})), invalid),
        ]
        for delivery, code in cases:
            delivery.refusal = str(code)
            forged.append(delivery)
    return forged


def _post_all(deliveries: list[Delivery]):
    def post() -> list[tuple[int, dict]]:
        client = Client(enforce_csrf_checks=True)
        answers = []
        for delivery in deliveries:
            headers = {"HTTP_STRIPE_SIGNATURE": delivery.signature} if delivery.signature else {}
            response = client.post(URL, delivery.body, content_type="application/json", **headers)
            answers.append((response.status_code, response.json()))
        return answers

    return post


def _timestamp(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


def test_a_storm_of_duplicated_shuffled_concurrent_events_ends_in_stripes_state_once_each(
    fake_stripe,
):
    plans = _plans(fake_stripe)
    learners = [_learner(fake_stripe, index=index, plans=plans) for index in range(LEARNERS)]
    events = [event for learner in learners for event in _story(fake_stripe, learner, plans)]
    assert len(events) >= 500
    rng = random.Random(7)
    duplicates = rng.choices(events, k=len(events) * 3 // 7)  # 30% of genuine deliveries
    forged = _forged(fake_stripe, events, rng)
    deliveries = [_signed(json.dumps(event)) for event in events + duplicates] + forged
    rng.shuffle(deliveries)

    batches = [deliveries[start::THREADS] for start in range(THREADS)]
    results = run_together([_post_all(batch) for batch in batches], timeout=120)

    answers = [
        (delivery, status, body)
        for batch, answered in zip(batches, results, strict=True)
        for delivery, (status, body) in zip(batch, answered, strict=True)
    ]
    assert len(answers) == len(deliveries)
    refusals = Counter(
        (status, body.get("error", {}).get("code"))
        for delivery, status, body in answers
        if delivery.refusal
    )
    assert refusals == Counter((400, delivery.refusal) for delivery in forged)
    acknowledged = [(status, body) for delivery, status, body in answers if not delivery.refusal]
    assert Counter(status for status, _ in acknowledged) == {200: len(events) + len(duplicates)}
    assert Counter(body["duplicate"] for _, body in acknowledged) == {
        False: len(events),
        True: len(duplicates),
    }

    stored = list(WebhookEvent.objects.all())
    assert sorted(event.event_id for event in stored) == sorted(event["id"] for event in events)
    assert Counter((event.status, event.attempts, event.last_error) for event in stored) == {
        ("processed", 1, ""): len(events)
    }

    plan_by_price = {plan.price_id(i): plan for plan in plans for i in ("month", "year")}
    owner = {learner.customer_id: learner.user.pk for learner in learners}
    expected_rows = {}
    for sub in fake_stripe.subscriptions.values():
        item = sub["items"]["data"][0]
        expected_rows[sub["id"]] = {
            "user": owner[sub["customer"]],
            "customer": sub["customer"],
            "plan": plan_by_price[item["price"]["id"]].pk,
            "price": item["price"]["id"],
            "interval": item["price"]["recurring"]["interval"],
            "status": sub["status"],
            "period_end": _timestamp(item["current_period_end"]),
            "cancel_at_period_end": sub["cancel_at_period_end"],
            "canceled_at": _timestamp(sub["canceled_at"]),
            "ended_at": _timestamp(sub["ended_at"]),
        }
    rows = {
        row.stripe_id: {
            "user": row.user_id,
            "customer": row.customer.stripe_id,
            "plan": row.plan_id,
            "price": row.stripe_price_id,
            "interval": row.interval,
            "status": row.status,
            "period_end": row.current_period_end,
            "cancel_at_period_end": row.cancel_at_period_end,
            "canceled_at": row.canceled_at,
            "ended_at": row.ended_at,
        }
        for row in Subscription.objects.select_related("customer")
    }
    assert rows == expected_rows
    assert Counter(row["status"] for row in rows.values()) == {
        "active": 26,
        "past_due": 6,
        "unpaid": 6,
        "canceled": 12,
        "trialing": 6,
    }

    ranks = {learner.user.pk: None for learner in learners}
    for row in expected_rows.values():
        if row["status"] in OPEN_STATUSES:
            rank = Plan.objects.get(pk=row["plan"]).tier.rank
            ranks[row["user"]] = max(rank, ranks[row["user"]] or 0)
    assert {
        user.pk: user_active_tier_rank(user=user) for user in User.objects.filter(pk__in=ranks)
    } == ranks
    by_story = {"upgraded": 3, "leaving": 1, "unpaid": None, "canceled": None}
    assert ranks == {
        learner.user.pk: by_story.get(learner.story, learner.plan.tier.rank) for learner in learners
    }

    # Emails: "started" while entitled, "canceled" once, "payment failed" per invoice still
    # unpaid at Stripe; each once, and every notice recorded is an email sent.
    failed_invoices = {
        (event["data"]["object"]["parent"]["subscription_details"]["subscription"], invoice_id)
        for event in events
        if event["type"] == "invoice.payment_failed"
        and fake_stripe.invoices[invoice_id := event["data"]["object"]["id"]]["status"] == "open"
    }
    kinds = {"active": "started", "trialing": "started", "canceled": "canceled"}
    expected_notices = {
        (sub_id, kinds[row["status"]], "")
        for sub_id, row in expected_rows.items()
        if row["status"] in kinds
    } | {(sub_id, "payment_failed", invoice_id) for sub_id, invoice_id in failed_invoices}
    notices = list(BillingNotice.objects.select_related("subscription__user"))
    assert sorted((n.subscription.stripe_id, n.kind, n.reference) for n in notices) == sorted(
        expected_notices
    )
    assert Counter(message.to[0] for message in mail.outbox) == Counter(
        notice.subscription.user.email for notice in notices
    )
    canceled_only = [learner.user.email for learner in learners if learner.story == "canceled"]
    assert {email: Counter(m.to[0] for m in mail.outbox)[email] for email in canceled_only} == {
        email: 1 for email in canceled_only
    }
