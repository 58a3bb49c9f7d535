"""The billing API (`/api/v1/billing/...`) with the real Stripe SDK against the loopback fake."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Customer, Plan, Subscription
from billing.services import checkout_session_confirm, tier_grant_create
from billing.tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory, TierFactory
from billing.tests.fake_stripe import FakeStripe, fake_stripe_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/billing/plans/"
SUBSCRIPTION = "/api/v1/billing/subscription/"
CHECKOUT = "/api/v1/billing/checkout/"
PORTAL = "/api/v1/billing/portal/"


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


NOT_AUTHENTICATED = error("NOT_AUTHENTICATED", "Sign in to continue.")
PLAN_NOT_FOUND = error("PLAN_NOT_FOUND", "There is no plan on sale with this id and billing.")
UNAVAILABLE = error(
    "BILLING_UNAVAILABLE", "Our payment provider could not be reached. Try again in a moment."
)
NOT_CONFIGURED = error("BILLING_NOT_CONFIGURED", "Payments are not set up on this site yet.")


@pytest.fixture(name="plans")
def plans_fixture(fake_stripe: FakeStripe) -> dict[str, Plan]:
    plans = {}
    for order, (slug, name, rank) in enumerate(
        (("rookie", "Rookie", 1), ("advanced", "Advanced", 2))
    ):
        plans[slug] = PlanFactory(
            slug=slug,
            name=f"{name} plan",
            tier=TierFactory(slug=slug, name=name, rank=rank),
            description=f"The {name} courses.",
            features=f"All {name} courses\n\nDownloads\n",
            display_price_monthly=f"${rank * 10}",
            display_price_yearly=f"${rank * 100}",
            order=order,
        )
        fake_stripe.prices[plans[slug].stripe_price_yearly] = {"interval": "year"}
    return plans


@pytest.fixture(name="learner")
def learner_fixture(api_client):
    user = UserFactory()
    api_client.force_authenticate(user)
    return user


def subscribe(api_client, fake: FakeStripe, plan: Plan, interval: str = "month") -> Subscription:
    """Check out through the API, pay at Stripe, and let the success page confirm it."""
    response = api_client.post(CHECKOUT, {"plan": plan.slug, "interval": interval}, format="json")
    assert response.status_code == 201, response.json()
    session_id = response.json()["url"].rsplit("/", 1)[-1]
    fake.checkout_complete(session_id)
    user = Customer.objects.get(stripe_id=fake.checkout_sessions[session_id]["customer"]).user
    return checkout_session_confirm(user=user, session_id=session_id)


# --- Plans -------------------------------------------------------------------------------------
def test_anyone_lists_the_plans_on_sale_in_order(api_client, plans):
    Plan.objects.filter(pk=plans["advanced"].pk).update(stripe_price_yearly="")
    PlanFactory(slug="retired", is_active=False)

    response = api_client.get(PLANS)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "billing_enabled": True,
        "results": [
            {
                "slug": "rookie",
                "name": "Rookie plan",
                "tier": {"slug": "rookie", "name": "Rookie", "rank": 1},
                "description": "The Rookie courses.",
                "features": ["All Rookie courses", "Downloads"],
                "prices": {
                    "month": {"display": "$10", "available": True},
                    "year": {"display": "$100", "available": True},
                },
            },
            {
                "slug": "advanced",
                "name": "Advanced plan",
                "tier": {"slug": "advanced", "name": "Advanced", "rank": 2},
                "description": "The Advanced courses.",
                "features": ["All Advanced courses", "Downloads"],
                "prices": {
                    "month": {"display": "$20", "available": True},
                    "year": {"display": "$200", "available": False},
                },
            },
        ],
    }


def test_plans_say_when_payments_are_off(api_client, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(slug="rookie")

    body = api_client.get(PLANS).json()

    assert body["billing_enabled"] is False
    assert [plan["slug"] for plan in body["results"]] == ["rookie"]


def test_plans_are_paginated(api_client, plans):
    body = api_client.get(PLANS, {"page_size": 1, "page": 2}).json()

    assert body["count"] == 2
    assert [plan["slug"] for plan in body["results"]] == ["advanced"]
    assert body["next"] is None and body["previous"] is not None


def test_plans_page_out_of_range_is_an_enveloped_404(api_client, plans):
    response = api_client.get(PLANS, {"page": 9})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PAGE_NOT_FOUND"


# --- My subscription ---------------------------------------------------------------------------
def test_subscription_needs_sign_in(api_client):
    response = api_client.get(SUBSCRIPTION)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


def test_learner_without_subscription_has_none(api_client, learner):
    assert api_client.get(SUBSCRIPTION).json() == {"subscription": None, "tier": None}


def test_learner_with_a_granted_tier_shows_it_without_subscription(api_client, learner):
    tier = TierFactory(slug="rookie", name="Rookie", rank=1)
    tier_grant_create(user=learner, tier=tier, source="staff")

    assert api_client.get(SUBSCRIPTION).json() == {
        "subscription": None,
        "tier": {"slug": "rookie", "name": "Rookie", "rank": 1},
    }


def test_subscriber_sees_their_subscription_as_stripe_reported_it(
    api_client, learner, plans, fake_stripe
):
    subscription = subscribe(api_client, fake_stripe, plans["advanced"], "year")

    body = api_client.get(SUBSCRIPTION).json()

    remote = fake_stripe.subscriptions[subscription.stripe_id]
    period_end = remote["items"]["data"][0]["current_period_end"]
    assert datetime.fromisoformat(body["subscription"]["current_period_end"]) == (
        datetime.fromtimestamp(period_end, tz=UTC)
    )
    assert body == {
        "subscription": {
            "id": subscription.stripe_id,
            "plan": "advanced",
            "status": "active",
            "interval": "year",
            "current_period_end": body["subscription"]["current_period_end"],
            "cancel_at_period_end": False,
            "past_due_since": None,
            "grace_ends_at": None,
            "entitled": True,
        },
        "tier": {"slug": "advanced", "name": "Advanced", "rank": 2},
    }


@pytest.mark.parametrize(
    ("days_past_due", "entitled", "tier"),
    [(2, True, "rookie"), (9, False, None)],
    ids=["in-grace", "grace-over"],
)
def test_past_due_subscription_shows_its_grace_period(
    api_client, learner, plans, settings, days_past_due, entitled, tier
):
    settings.LMS_BILLING_GRACE_DAYS = 7
    since = timezone.now() - timedelta(days=days_past_due)
    SubscriptionFactory(
        customer=CustomerFactory(user=learner),
        plan=plans["rookie"],
        status=Subscription.Status.PAST_DUE,
        past_due_since=since,
    )

    body = api_client.get(SUBSCRIPTION).json()

    assert body["subscription"]["status"] == "past_due"
    grace_ends_at = datetime.fromisoformat(body["subscription"]["grace_ends_at"])
    assert grace_ends_at == since + timedelta(days=7)
    assert body["subscription"]["entitled"] is entitled
    assert (body["tier"] or {}).get("slug") == tier


# --- Checkout ----------------------------------------------------------------------------------
def test_checkout_returns_the_stripe_url_with_site_pages_by_default(
    api_client, learner, plans, fake_stripe
):
    response = api_client.post(CHECKOUT, {"plan": "advanced", "interval": "year"}, format="json")

    assert response.status_code == 201
    (session,) = fake_stripe.checkout_sessions.values()
    assert response.json() == {"url": session["url"]}
    assert session["customer"] == Customer.objects.get(user=learner).stripe_id
    assert session["client_reference_id"] == str(learner.pk)
    assert session["metadata"] == {"user_id": str(learner.pk), "plan": "advanced"}
    assert session["subscription_data"]["metadata"] == session["metadata"]
    assert session["allow_promotion_codes"] is True
    assert session["line_items_price"] == plans["advanced"].stripe_price_yearly
    assert session["success_url"] == (
        "http://testserver/billing/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session["cancel_url"] == "http://testserver/billing/checkout/cancel/"


def test_checkout_takes_return_urls_on_this_site(api_client, learner, plans, fake_stripe):
    response = api_client.post(
        CHECKOUT,
        {
            "plan": "rookie",
            "interval": "month",
            "success_url": "http://testserver/app/paid/?from=app",
            "cancel_url": "http://testserver/app/cancelled/",
        },
        format="json",
    )

    assert response.status_code == 201
    (session,) = fake_stripe.checkout_sessions.values()
    assert session["success_url"] == (
        "http://testserver/app/paid/?from=app&session_id={CHECKOUT_SESSION_ID}"
    )
    assert session["cancel_url"] == "http://testserver/app/cancelled/"


def test_checkout_reuses_the_customer(api_client, learner, plans, fake_stripe):
    for _ in range(2):
        api_client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, format="json")

    first, second = fake_stripe.checkout_sessions.values()
    assert first["customer"] == second["customer"]
    assert len(fake_stripe.customers) == 1


ON_THIS_SITE = "Give an absolute http(s) URL on this site (testserver)."


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"plan": ["This field is required."], "interval": ["This field is required."]}),
        (
            {"plan": "rookie", "interval": "week"},
            {"interval": ['"week" is not a valid choice.']},
        ),
        (
            {"plan": "rookie", "interval": "month", "success_url": "https://evil.example/x"},
            {"success_url": [ON_THIS_SITE]},
        ),
        (
            {"plan": "rookie", "interval": "month", "cancel_url": "ftp://testserver/x"},
            {"cancel_url": [ON_THIS_SITE]},
        ),
        (
            {"plan": "rookie", "interval": "month", "success_url": "/relative/"},
            {"success_url": [ON_THIS_SITE]},
        ),
    ],
    ids=["missing", "bad-interval", "foreign-success", "ftp-cancel", "relative"],
)
def test_checkout_rejects_bad_input(api_client, learner, plans, fake_stripe, data, fields):
    response = api_client.post(CHECKOUT, data, format="json")

    assert response.status_code == 400
    assert response.json() == error("VALIDATION_ERROR", "Some fields are invalid.", fields)
    assert fake_stripe.requests == []


@pytest.mark.parametrize(
    ("plan", "interval"),
    [("nope", "month"), ("retired", "month"), ("monthly-only", "year")],
    ids=["unknown", "inactive", "interval-not-sold"],
)
def test_checkout_of_a_plan_not_on_sale_is_404(
    api_client, learner, plans, fake_stripe, plan, interval
):
    PlanFactory(slug="retired", is_active=False)
    PlanFactory(slug="monthly-only", stripe_price_yearly="")

    response = api_client.post(CHECKOUT, {"plan": plan, "interval": interval}, format="json")

    assert response.status_code == 404
    assert response.json() == PLAN_NOT_FOUND
    assert fake_stripe.requests == []


def test_checkout_when_already_subscribed_is_409(api_client, learner, plans, fake_stripe):
    subscribe(api_client, fake_stripe, plans["rookie"])

    response = api_client.post(CHECKOUT, {"plan": "advanced", "interval": "month"}, format="json")

    assert response.status_code == 409
    assert response.json() == error(
        "ALREADY_SUBSCRIBED",
        "You already have a subscription: switch plans from the billing portal.",
    )


def test_checkout_while_stripe_is_down_is_502_and_stores_nothing(
    api_client, learner, plans, fake_stripe
):
    fake_stripe.fail_next(status=500, times=10)

    response = api_client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, format="json")

    assert response.status_code == 502
    assert response.json() == UNAVAILABLE
    assert not Customer.objects.exists()


def test_checkout_without_stripe_is_503(api_client, learner, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(slug="rookie")

    response = api_client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, format="json")

    assert response.status_code == 503
    assert response.json() == NOT_CONFIGURED


def test_checkout_needs_sign_in(api_client, plans, fake_stripe):
    response = api_client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, format="json")

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert fake_stripe.requests == []


# --- Portal ------------------------------------------------------------------------------------
def test_portal_returns_the_stripe_url_back_to_the_billing_page(
    api_client, learner, plans, fake_stripe
):
    subscribe(api_client, fake_stripe, plans["rookie"])

    response = api_client.post(PORTAL)

    assert response.status_code == 201
    (session,) = fake_stripe.portal_sessions.values()
    assert response.json() == {"url": session["url"]}
    assert session["customer"] == Customer.objects.get(user=learner).stripe_id
    assert session["return_url"] == "http://testserver/billing/"


def test_portal_without_a_billing_account_is_409(api_client, learner, fake_stripe):
    response = api_client.post(PORTAL)

    assert response.status_code == 409
    assert response.json() == error(
        "NO_BILLING_ACCOUNT", "You have no billing account yet: choose a plan first."
    )


def test_portal_while_stripe_is_down_is_502(api_client, learner, plans, fake_stripe):
    subscribe(api_client, fake_stripe, plans["rookie"])
    fake_stripe.fail_next(status=500, times=10)

    response = api_client.post(PORTAL)

    assert response.status_code == 502
    assert response.json() == UNAVAILABLE


@pytest.mark.parametrize("has_customer", [False, True], ids=["never-checked-out", "customer"])
def test_portal_without_stripe_is_503_like_checkout(api_client, learner, settings, has_customer):
    settings.STRIPE_SECRET_KEY = ""
    if has_customer:
        CustomerFactory(user=learner)

    response = api_client.post(PORTAL)

    assert response.status_code == 503
    assert response.json() == NOT_CONFIGURED


def test_portal_needs_sign_in(api_client):
    response = api_client.post(PORTAL)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
