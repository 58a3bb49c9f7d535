"""A subscription's life, end to end: the real Stripe SDK against the loopback fake, Stripe's
events signed and posted to `/webhooks/stripe/`, and what the learner then sees on a paid
lesson page and in their inbox.

The helpers here (`plans`, `checkout`, `deliver`, `subscribe`) are shared by the webhook and
reconciliation tests of this folder.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.entitlements import user_active_tier_rank
from billing.models import BillingNotice, Customer, Plan, Subscription
from billing.services import checkout_session_create, plan_ensure, subscription_sync
from billing.tests.factories import TierFactory
from billing.tests.fake_stripe import (  # noqa: F401
    DAY,
    FakeStripe,
    fake_stripe_fixture,
    webhook_post,
)
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory
from lms.models import WebhookEvent
from lms.webhooks import webhook_event_replay

pytestmark = pytest.mark.django_db

LESSON_TEXT = "Step one: listen to the beat."
TIERS = (("rookie", "Rookie", 1), ("advanced", "Advanced", 2), ("performer", "Performer", 3))


@pytest.fixture(name="plans")
def plans_fixture(fake_stripe: FakeStripe) -> dict[str, Plan]:
    """Rookie < Advanced < Performer, each sold monthly and yearly (prices known to the fake)."""
    plans = {}
    for slug, name, rank in TIERS:
        fake_stripe.prices[f"price_{slug}_month"] = {
            "interval": "month",
            "unit_amount": rank * 1000,
        }
        fake_stripe.prices[f"price_{slug}_year"] = {"interval": "year", "unit_amount": rank * 10000}
        plans[slug] = plan_ensure(
            slug=slug,
            tier=TierFactory(slug=slug, name=name, rank=rank),
            name=name,
            stripe_price_monthly=f"price_{slug}_month",
            stripe_price_yearly=f"price_{slug}_year",
        )
    return plans


def paid_lesson(plan: Plan) -> Lesson:
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=plan.tier)
    return LessonFactory(section__course=course, body=LESSON_TEXT)


def checkout(*, user: User, plan: Plan, interval: str = "month") -> str:
    """Start a checkout as the checkout page does; the id of the session the learner pays."""
    url = checkout_session_create(
        user=user,
        plan=plan,
        interval=interval,
        success_url="http://testserver/billing/checkout/success/",
        cancel_url="http://testserver/billing/checkout/cancel/",
    )
    return url.rsplit("/", 1)[-1]


def deliver(events: list[dict]) -> list[dict]:
    """Post Stripe's events to our endpoint one by one, as Stripe does; each is processed after
    its request commits (the Celery task runs eagerly). The acknowledgements, in order."""
    stripe = Client()
    answers = []
    for event in events:
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = webhook_post(stripe, event)
        assert response.status_code == 200, response.content
        answers.append(response.json())
    return answers


def subscribe(fake: FakeStripe, *, user: User, plan: Plan, interval: str = "month") -> Subscription:
    """Check out, pay at Stripe and let Stripe's events arrive: the subscription we store."""
    deliver(fake.checkout_complete(checkout(user=user, plan=plan, interval=interval)))
    return Subscription.objects.get(user=user, status=Subscription.Status.ACTIVE)


def rank(user: User) -> int | None:
    """The user's tier as a new request sees it (the answer is remembered per user object)."""
    return user_active_tier_rank(user=User.objects.get(pk=user.pk))


def lesson_page(user: User, lesson: Lesson):
    browser = Client()
    browser.force_login(user)
    return browser.get(lesson.get_absolute_url())


def sent(user: User) -> list[str]:
    """Subjects of the emails sent to `user`, in order."""
    return [message.subject for message in mail.outbox if message.to == [user.email]]


def notices(subscription: Subscription) -> list[tuple[str, str]]:
    return sorted(subscription.notices.values_list("kind", "reference"))


def started(plan: str) -> str:
    return f"Welcome to {plan} at {settings.SITE_NAME}"


def ended(plan: str) -> str:
    return f"Your {plan} subscription has ended"


def card_failed(plan: str) -> str:
    return f"We couldn't charge your card for {plan}"


def _timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


# --- Must-show 1 ----------------------------------------------------------------------------


def test_a_learner_pays_opens_the_paid_lesson_and_loses_it_when_cancelled(fake_stripe, plans):
    learner = UserFactory(email="ana@example.com")
    lesson = paid_lesson(plans["advanced"])
    assert lesson_page(learner, lesson).status_code == 403

    session_id = checkout(user=learner, plan=plans["advanced"])
    session = fake_stripe.checkout_sessions[session_id]
    assert (session["line_items_price"], session["metadata"]["user_id"]) == (
        "price_advanced_month",
        str(learner.pk),
    )
    events = fake_stripe.checkout_complete(session_id)
    answers = deliver(events)

    assert answers == [{"received": True, "duplicate": False}] * 3
    assert [e.event_type for e in WebhookEvent.objects.order_by("received_at")] == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    subscription = Subscription.objects.get(user=learner)
    remote = fake_stripe.subscriptions[subscription.stripe_id]
    assert subscription.customer == Customer.objects.get(user=learner, stripe_id=remote["customer"])
    assert (
        subscription.plan,
        subscription.stripe_price_id,
        subscription.interval,
        subscription.status,
        subscription.current_period_end,
        subscription.cancel_at_period_end,
    ) == (
        plans["advanced"],
        "price_advanced_month",
        "month",
        "active",
        _timestamp(remote["items"]["data"][0]["current_period_end"]),
        False,
    )
    assert rank(learner) == 2
    page = lesson_page(learner, lesson)
    assert page.status_code == 200
    assert LESSON_TEXT in page.content.decode()
    assert sent(learner) == [started("Advanced")]  # once for three events

    deliver(fake_stripe.subscription_cancel(subscription.stripe_id))

    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert subscription.ended_at == _timestamp(remote["ended_at"])
    assert rank(learner) is None
    locked = lesson_page(learner, lesson)
    assert locked.status_code == 403
    assert LESSON_TEXT not in locked.content.decode()
    assert reverse("billing:pricing") in locked.content.decode()  # the way back in
    assert notices(subscription) == [("canceled", ""), ("started", "")]
    assert sent(learner) == [started("Advanced"), ended("Advanced")]
    assert [m.to for m in mail.outbox] == [["ana@example.com"]] * 2


def test_a_learner_who_cancelled_can_subscribe_again(fake_stripe, plans):
    learner = UserFactory()
    lesson = paid_lesson(plans["advanced"])
    first = subscribe(fake_stripe, user=learner, plan=plans["advanced"])
    deliver(fake_stripe.subscription_cancel(first.stripe_id))

    second = subscribe(fake_stripe, user=learner, plan=plans["advanced"])

    assert second.pk != first.pk
    assert second.customer == first.customer  # one Stripe customer per learner
    assert len(fake_stripe.customers) == 1
    assert lesson_page(learner, lesson).status_code == 200
    assert sent(learner) == [started("Advanced"), ended("Advanced"), started("Advanced")]


def test_a_trial_opens_the_plan_like_a_paid_subscription(fake_stripe, plans):
    learner = UserFactory()
    lesson = paid_lesson(plans["rookie"])

    deliver(fake_stripe.checkout_complete(checkout(user=learner, plan=plans["rookie"]), trial=True))

    assert Subscription.objects.get(user=learner).status == "trialing"
    assert rank(learner) == 1
    assert lesson_page(learner, lesson).status_code == 200
    assert sent(learner) == [started("Rookie")]


# --- Payment failures and the grace period ---------------------------------------------------


def test_a_failed_payment_keeps_access_for_the_grace_period_then_locks_until_paid(
    fake_stripe, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    learner = UserFactory()
    lesson = paid_lesson(plans["advanced"])
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])

    failed = fake_stripe.invoice_payment_failed(subscription.stripe_id)
    deliver(failed)

    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert timezone.now() - subscription.past_due_since < timedelta(minutes=1)
    assert rank(learner) == 2  # Stripe is still retrying: the learner keeps their lessons
    assert lesson_page(learner, lesson).status_code == 200
    invoice = failed[0]["data"]["object"]
    assert sent(learner) == [started("Advanced"), card_failed("Advanced")]
    assert invoice["hosted_invoice_url"] in mail.outbox[-1].body

    # The same failure again: redelivered, sent anew by Stripe (a new event id for the same
    # invoice, as on a retried charge), and replayed from the admin. No second email.
    redelivered = deliver(failed)
    deliver([fake_stripe.event("invoice.payment_failed", fake_stripe.invoices[invoice["id"]])])
    with TestCase.captureOnCommitCallbacks(execute=True):
        webhook_event_replay(event_id=WebhookEvent.objects.get(event_id=failed[0]["id"]).pk)

    assert redelivered == [{"received": True, "duplicate": True}] * 2
    assert sent(learner) == [started("Advanced"), card_failed("Advanced")]
    assert notices(subscription) == [("payment_failed", invoice["id"]), ("started", "")]

    # The grace period runs out while Stripe still has the subscription past due.
    Subscription.objects.filter(pk=subscription.pk).update(
        past_due_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    assert rank(learner) is None
    assert lesson_page(learner, lesson).status_code == 403

    deliver(fake_stripe.invoice_paid(subscription.stripe_id))

    subscription.refresh_from_db()
    assert (subscription.status, subscription.past_due_since) == ("active", None)
    assert rank(learner) == 2
    assert lesson_page(learner, lesson).status_code == 200
    assert sent(learner) == [started("Advanced"), card_failed("Advanced")]  # no new "started"


def test_the_grace_period_runs_from_the_unpaid_invoice_not_from_when_we_heard_of_it(
    fake_stripe, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    learner = UserFactory()
    lesson = paid_lesson(plans["advanced"])
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])
    failed = fake_stripe.invoice_payment_failed(subscription.stripe_id)
    # The worker was down: Stripe issued the invoice four days before we process the event.
    issued = timezone.now() - timedelta(days=4)
    fake_stripe.invoices[failed[0]["data"]["object"]["id"]]["created"] = int(issued.timestamp())

    deliver(failed)

    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert abs(subscription.past_due_since - issued) < timedelta(seconds=1)
    assert rank(learner) is None  # four days past due with three days of grace: locked
    assert lesson_page(learner, lesson).status_code == 403


def test_each_failed_invoice_is_emailed_once(fake_stripe, plans):
    learner = UserFactory()
    subscription = subscribe(fake_stripe, user=learner, plan=plans["rookie"])

    first = fake_stripe.invoice_payment_failed(subscription.stripe_id)
    deliver(first)
    deliver(fake_stripe.invoice_paid(subscription.stripe_id))
    second = fake_stripe.invoice_payment_failed(subscription.stripe_id)  # next month's
    deliver(second)

    references = [e[0]["data"]["object"]["id"] for e in (first, second)]
    assert notices(subscription) == sorted(
        [("payment_failed", references[0]), ("payment_failed", references[1]), ("started", "")]
    )
    assert sent(learner) == [started("Rookie"), card_failed("Rookie"), card_failed("Rookie")]


def test_a_failure_event_arriving_after_the_invoice_was_paid_sends_no_email(fake_stripe, plans):
    learner = UserFactory()
    subscription = subscribe(fake_stripe, user=learner, plan=plans["rookie"])
    failed = fake_stripe.invoice_payment_failed(subscription.stripe_id)
    paid = fake_stripe.invoice_paid(subscription.stripe_id)

    deliver([*paid, *failed])  # Stripe's retry paid it before the failure was delivered

    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert notices(subscription) == [("started", "")]
    assert sent(learner) == [started("Rookie")]


# --- Order, plan changes, cancellation at period end ----------------------------------------


def test_a_cancellation_delivered_before_the_checkout_events_leaves_it_cancelled(
    fake_stripe, plans
):
    learner = UserFactory()
    lesson = paid_lesson(plans["advanced"])
    completed = fake_stripe.checkout_complete(checkout(user=learner, plan=plans["advanced"]))
    subscription_id = completed[0]["data"]["object"]["subscription"]
    deleted = fake_stripe.subscription_cancel(subscription_id)

    deliver([*deleted, *completed])

    subscription = Subscription.objects.get(user=learner)
    assert (subscription.stripe_id, subscription.status) == (subscription_id, "canceled")
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert rank(learner) is None
    assert lesson_page(learner, lesson).status_code == 403
    assert notices(subscription) == [("canceled", "")]  # never told it started
    assert sent(learner) == [ended("Advanced")]


def test_switching_plans_at_stripe_moves_the_learner_up_and_down_the_tiers(fake_stripe, plans):
    learner = UserFactory()
    advanced, performer = paid_lesson(plans["advanced"]), paid_lesson(plans["performer"])
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])
    assert [lesson_page(learner, lesson).status_code for lesson in (advanced, performer)] == [
        200,
        403,
    ]

    deliver(fake_stripe.subscription_change_price(subscription.stripe_id, "price_performer_year"))

    subscription.refresh_from_db()
    assert (subscription.plan, subscription.interval) == (plans["performer"], "year")
    assert rank(learner) == 3
    assert [lesson_page(learner, lesson).status_code for lesson in (advanced, performer)] == [
        200,
        200,
    ]

    deliver(fake_stripe.subscription_change_price(subscription.stripe_id, "price_rookie_month"))

    subscription.refresh_from_db()
    assert (subscription.plan, subscription.interval) == (plans["rookie"], "month")
    assert rank(learner) == 1
    assert [lesson_page(learner, lesson).status_code for lesson in (advanced, performer)] == [
        403,
        403,
    ]
    assert sent(learner) == [started("Advanced")]  # a plan switch is not a new start


def test_a_price_no_plan_uses_is_stored_but_opens_nothing(fake_stripe, plans):
    learner = UserFactory()
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])

    deliver(fake_stripe.subscription_change_price(subscription.stripe_id, "price_legacy"))

    subscription.refresh_from_db()
    assert (subscription.status, subscription.plan, subscription.stripe_price_id) == (
        "active",
        None,
        "price_legacy",
    )
    assert rank(learner) is None


def test_cancelling_at_period_end_keeps_access_until_stripe_ends_it(fake_stripe, plans):
    learner = UserFactory()
    lesson = paid_lesson(plans["advanced"])
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])

    deliver(fake_stripe.subscription_cancel_at_period_end(subscription.stripe_id))

    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert rank(learner) == 2
    assert lesson_page(learner, lesson).status_code == 200
    assert notices(subscription) == [("started", "")]

    deliver(fake_stripe.subscription_cancel(subscription.stripe_id))

    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert lesson_page(learner, lesson).status_code == 403
    assert notices(subscription) == [("canceled", ""), ("started", "")]


# --- Customers that are not ours ------------------------------------------------------------


def test_events_about_a_customer_we_do_not_know_are_processed_and_store_nothing(fake_stripe, plans):
    stranger = fake_stripe.customer_create(email="someone@elsewhere.example")
    _, events = fake_stripe.subscription_create(
        customer=stranger["id"], price="price_advanced_month"
    )

    deliver(events)

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert (
        Customer.objects.count(),
        Subscription.objects.count(),
        BillingNotice.objects.count(),
    ) == (
        0,
        0,
        0,
    )
    assert fake_stripe.requests_to("GET", f"/v1/customers/{stranger['id']}")
    assert not fake_stripe.requests_to("GET", "/v1/subscriptions/")
    assert mail.outbox == []


def test_a_customer_made_in_the_dashboard_for_a_user_is_linked_by_its_metadata(fake_stripe, plans):
    learner = UserFactory()
    remote = fake_stripe.customer_create(email=learner.email, metadata={"user_id": str(learner.pk)})
    _, events = fake_stripe.subscription_create(customer=remote["id"], price="price_rookie_month")

    deliver(events)

    assert Customer.objects.get(user=learner).stripe_id == remote["id"]
    assert Subscription.objects.get(user=learner).plan == plans["rookie"]
    assert rank(learner) == 1


def test_a_customer_whose_metadata_names_no_user_of_ours_is_ignored(fake_stripe, plans):
    remote = fake_stripe.customer_create(email="x@example.com", metadata={"user_id": "not-a-uuid"})
    _, events = fake_stripe.subscription_create(customer=remote["id"], price="price_rookie_month")

    deliver(events)

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert (Customer.objects.count(), Subscription.objects.count()) == (0, 0)


# --- A period that ended without a renewal reaching us --------------------------------------

UPGRADE_REQUIRED = {
    "error": {
        "code": "UPGRADE_REQUIRED",
        "message": "This lesson needs a higher plan.",
        "fields": {},
    }
}


def lesson_api(user: User, lesson: Lesson):
    """The app asks for the lesson; what the request queued after commit runs (eagerly)."""
    app = APIClient()
    app.force_authenticate(User.objects.get(pk=user.pk))
    with TestCase.captureOnCommitCallbacks(execute=True):
        return app.get(f"/api/v1/lessons/{lesson.pk}/")


def subscription_reads(fake: FakeStripe, subscription: Subscription) -> int:
    return len(fake.requests_to("GET", f"/v1/subscriptions/{subscription.stripe_id}"))


def lapsed_subscription(fake: FakeStripe, plan: Plan, *, ended_days_ago: float) -> Subscription:
    """A learner's subscription whose month ended `ended_days_ago`, as we last read it: active,
    and nothing since (the renewal's events were lost, or beat and the worker were down)."""
    subscription = subscribe(fake, user=UserFactory(), plan=plan)
    fake.subscription_period_elapse(
        subscription.stripe_id, ended_seconds_ago=int(ended_days_ago * DAY)
    )
    subscription_sync(
        subscription_id=subscription.stripe_id, customer_id=subscription.customer.stripe_id
    )
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.current_period_end < timezone.now()
    return subscription


def test_a_period_over_for_longer_than_the_grace_locks_the_lesson_and_a_renewal_read_reopens_it(
    fake_stripe, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    lesson = paid_lesson(plans["advanced"])
    subscription = lapsed_subscription(fake_stripe, plans["advanced"], ended_days_ago=4)
    learner = subscription.user
    fake_stripe.subscription_renew(subscription.stripe_id)  # at Stripe; the events never came
    reads = subscription_reads(fake_stripe, subscription)

    locked = lesson_api(learner, lesson)

    assert locked.status_code == 403
    assert locked.json() == UPGRADE_REQUIRED
    # The refusal queued a re-read from Stripe, which found the renewal.
    assert subscription_reads(fake_stripe, subscription) == reads + 1
    subscription.refresh_from_db()
    renewed_end = fake_stripe.subscriptions[subscription.stripe_id]["items"]["data"][0][
        "current_period_end"
    ]
    assert (subscription.status, subscription.current_period_end) == (
        "active",
        _timestamp(renewed_end),
    )
    assert subscription.current_period_end > timezone.now()
    assert lesson_api(learner, lesson).status_code == 200
    page = lesson_page(learner, lesson)
    assert page.status_code == 200
    assert LESSON_TEXT in page.content.decode()
    assert subscription_reads(fake_stripe, subscription) == reads + 1  # nothing more to ask
    assert sent(learner) == [started("Advanced")]  # a renewal is no new subscription


def test_a_lapsed_subscription_stripe_has_not_renewed_stays_locked_and_is_asked_about_once(
    fake_stripe, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    lesson = paid_lesson(plans["advanced"])
    # Two days after the period ended, within the grace period: open, and Stripe not asked.
    subscription = lapsed_subscription(fake_stripe, plans["advanced"], ended_days_ago=2)
    learner = subscription.user
    reads = subscription_reads(fake_stripe, subscription)
    assert lesson_api(learner, lesson).status_code == 200
    assert subscription_reads(fake_stripe, subscription) == reads

    # Four days after, with Stripe still reporting the old period (no renewal yet).
    fake_stripe.subscription_period_elapse(subscription.stripe_id, ended_seconds_ago=4 * DAY)
    subscription_sync(
        subscription_id=subscription.stripe_id, customer_id=subscription.customer.stripe_id
    )
    reads = subscription_reads(fake_stripe, subscription)
    answers = [lesson_api(learner, lesson).status_code for _ in range(5)]
    page = lesson_page(learner, lesson)

    assert answers == [403] * 5
    assert page.status_code == 403
    assert LESSON_TEXT not in page.content.decode()
    assert reverse("billing:pricing") in page.content.decode()
    # A busy learner does not make a busy Stripe: one re-read for all those requests.
    assert subscription_reads(fake_stripe, subscription) == reads + 1
    assert rank(learner) is None
    app = APIClient()
    app.force_authenticate(learner)
    mine = app.get("/api/v1/billing/subscription/").json()
    assert (mine["subscription"]["status"], mine["subscription"]["entitled"], mine["tier"]) == (
        "active",
        False,
        None,
    )


def test_a_lapsed_subscription_read_while_stripe_is_down_still_answers_the_lesson(
    fake_stripe, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    lesson = paid_lesson(plans["advanced"])
    subscription = lapsed_subscription(fake_stripe, plans["advanced"], ended_days_ago=4)
    fake_stripe.subscription_renew(subscription.stripe_id)
    fake_stripe.fail_next(times=3)  # the SDK's try and its two retries

    locked = lesson_api(subscription.user, lesson)

    assert locked.status_code == 403
    assert locked.json() == UPGRADE_REQUIRED
    before = subscription.current_period_end
    subscription.refresh_from_db()
    assert subscription.current_period_end == before  # nothing stored from a failed read
