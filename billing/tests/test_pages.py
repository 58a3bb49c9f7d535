"""The billing pages: pricing, checkout and back, the billing page and the portal, with the
real Stripe SDK talking to the loopback fake. No webhook is posted here: the success page asks
Stripe itself."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.tests.factories import UserFactory
from billing.models import Customer, Plan, Subscription
from billing.tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory, TierFactory
from billing.tests.fake_stripe import FakeStripe, fake_stripe_fixture  # noqa: F401
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory

pytestmark = pytest.mark.django_db

PRICING = "/pricing/"
ACCOUNT = "/billing/"
CHECKOUT = "/billing/checkout/"
SUCCESS = "/billing/checkout/success/"
PORTAL = "/billing/portal/"
TIERS = (("rookie", "Rookie", 1), ("advanced", "Advanced", 2), ("performer", "Performer", 3))


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed, so assertions read like the page."""
    page = response.content.decode()
    page = re.sub(r"<(head|script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(re.sub(r"\s+", " ", page).strip())


def checkout_forms(response) -> list[tuple[str, str]]:
    """The (plan, interval) pairs of the checkout forms on a page."""
    page = response.content.decode()
    forms = re.findall(rf'<form method="post" action="{CHECKOUT}">(.*?)</form>', page, re.S)
    return [
        (
            re.search(r'name="plan" value="([^"]+)"', form).group(1),
            re.search(r'name="interval" value="([^"]+)"', form).group(1),
        )
        for form in forms
    ]


@pytest.fixture(name="plans")
def plans_fixture(fake_stripe: FakeStripe) -> dict[str, Plan]:
    """Rookie < Advanced < Performer, monthly and yearly, the fake knowing their intervals."""
    plans = {}
    for order, (slug, name, rank) in enumerate(TIERS):
        plan = PlanFactory(
            slug=slug,
            name=f"{name} plan",
            tier=TierFactory(slug=slug, name=name, rank=rank),
            description=f"The {name} courses.",
            features=f"All {name} courses\nDownloads",
            display_price_monthly=f"${rank * 10}",
            display_price_yearly=f"${rank * 100}",
            order=order,
        )
        fake_stripe.prices[plan.stripe_price_monthly] = {"interval": "month", "unit_amount": 1000}
        fake_stripe.prices[plan.stripe_price_yearly] = {"interval": "year", "unit_amount": 10000}
        plans[slug] = plan
    return plans


def paid_course(plan: Plan, title: str, **kwargs) -> Course:
    return CourseFactory(
        title=title, visibility=Course.Visibility.PAID, required_tier=plan.tier, **kwargs
    )


def start_checkout(client, plan: Plan, interval: str = "month") -> str:
    response = client.post(CHECKOUT, {"plan": plan.slug, "interval": interval})
    assert response.status_code == 303, response
    return response["Location"].rsplit("/", 1)[-1]


def subscribe(client, fake: FakeStripe, plan: Plan, interval: str = "month") -> Subscription:
    """What a learner does: choose, pay at Stripe, come back to the success page."""
    session_id = start_checkout(client, plan, interval)
    fake.checkout_complete(session_id)
    assert "Welcome to" in text_of(client.get(SUCCESS, {"session_id": session_id}))
    return Subscription.objects.get(stripe_id=fake.checkout_sessions[session_id]["subscription"])


# --- Pricing -----------------------------------------------------------------------------------
def test_pricing_shows_plans_in_order_with_prices_features_and_what_they_open(client, plans):
    paid_course(plans["rookie"], "Salsa basics")
    paid_course(plans["advanced"], "Salsa turns")
    paid_course(plans["performer"], "Stage show")
    paid_course(plans["rookie"], "Draft salsa", draft=True)
    CourseFactory(title="Free warmup")

    text = text_of(client.get(PRICING))

    assert text.index("Rookie plan") < text.index("Advanced plan") < text.index("Performer plan")
    assert "The Advanced courses." in text
    assert "All Advanced courses" in text and "Downloads" in text
    assert "$20 a month" in text and "$200 a year" in text
    rookie = text[text.index("Rookie plan") : text.index("Advanced plan")]
    assert "Opens 1 paid course: Salsa basics" in rookie
    performer = text[text.index("Performer plan") :]
    assert "Opens 3 paid courses" in performer
    assert "Stage show" in performer and "Salsa turns" in performer
    assert "Draft salsa" not in text and "Free warmup" not in text
    assert "Payments are not set up" not in text


def test_pricing_names_a_few_courses_and_counts_the_rest(client, plans):
    for number in range(5):
        paid_course(plans["rookie"], f"Course number {number}")

    text = text_of(client.get(PRICING))

    assert "Opens 5 paid courses" in text
    assert "and 2 more" in text


def test_pricing_hides_inactive_plans(client, plans):
    Plan.objects.filter(pk=plans["advanced"].pk).update(is_active=False)

    text = text_of(client.get(PRICING))

    assert "Rookie plan" in text and "Advanced plan" not in text


def test_visitors_are_sent_to_sign_in_and_back_to_pricing(client, plans):
    response = client.get(PRICING)

    assert checkout_forms(response) == []
    assert f'href="/accounts/login/?next={PRICING}"' in response.content.decode()
    assert "Sign in to choose monthly" in text_of(response)


def test_learners_get_a_checkout_form_per_plan_and_billing(client, plans):
    Plan.objects.filter(pk=plans["performer"].pk).update(stripe_price_yearly="")
    client.force_login(UserFactory())

    response = client.get(PRICING)

    assert checkout_forms(response) == [
        ("rookie", "month"),
        ("rookie", "year"),
        ("advanced", "month"),
        ("advanced", "year"),
        ("performer", "month"),
    ]
    assert "csrfmiddlewaretoken" in response.content.decode()


def test_pricing_without_stripe_shows_plans_and_says_payments_are_off(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(name="Rookie plan", tier=TierFactory(name="Rookie", rank=1))
    client.force_login(UserFactory())

    response = client.get(PRICING)

    assert response.status_code == 200
    assert "Payments are not set up on this site yet" in text_of(response)
    assert "Rookie plan" in text_of(response)
    assert checkout_forms(response) == []


@pytest.mark.parametrize(
    ("size", "subscription_status"),
    [(1, "active"), (4, "active"), (4, "canceled"), (4, None)],
    ids=["small", "large", "large-cancelled", "large-never-subscribed"],
)
def test_pricing_queries_do_not_grow_with_plans_or_courses(
    client, fake_stripe, size, subscription_status, django_assert_max_num_queries
):
    for rank in range(1, 3 * size + 1):
        plan = PlanFactory(tier=TierFactory(rank=rank))
        for _ in range(size):
            paid_course(plan, f"Course {rank}-{_}")
    user = UserFactory()
    if subscription_status:
        SubscriptionFactory(
            customer=CustomerFactory(user=user),
            plan=Plan.objects.first(),
            status=subscription_status,
        )
    client.force_login(user)

    # Session and user, the subscription, the paid courses, the plans, the bell's unread count.
    with django_assert_max_num_queries(6):
        response = client.get(PRICING)

    assert response.status_code == 200


def test_subscriber_sees_their_plan_renewal_and_manage_billing(client, plans):
    user = UserFactory()
    subscription = SubscriptionFactory(customer=CustomerFactory(user=user), plan=plans["advanced"])
    client.force_login(user)

    response = client.get(PRICING)
    text = text_of(response)

    assert "Your plan" in text and "Active" in text
    renews = date_format(subscription.current_period_end, "N j, Y")
    assert f"Renews on {renews}" in text
    assert f'action="{PORTAL}"' in response.content.decode()
    assert "Manage billing" in text
    # A paying subscriber switches plans in the portal: a second checkout would bill twice.
    assert checkout_forms(response) == []


def test_subscriber_who_cancelled_sees_when_it_ends(client, plans):
    user = UserFactory()
    SubscriptionFactory(
        customer=CustomerFactory(user=user), plan=plans["rookie"], cancel_at_period_end=True
    )
    client.force_login(user)

    text = text_of(client.get(PRICING))

    assert "Cancels on" in text and "will not renew" in text


def test_past_due_subscriber_is_told_until_when_access_lasts(client, plans, settings):
    settings.LMS_BILLING_GRACE_DAYS = 7
    user = UserFactory()
    since = timezone.now() - timedelta(days=2)
    SubscriptionFactory(
        customer=CustomerFactory(user=user),
        plan=plans["rookie"],
        status=Subscription.Status.PAST_DUE,
        past_due_since=since,
    )
    client.force_login(user)

    text = text_of(client.get(PRICING))

    assert "Your last payment failed" in text
    assert f"before {date_format(since + timedelta(days=7), 'N j, Y')}" in text


# --- Checkout ----------------------------------------------------------------------------------
def test_checkout_sends_the_learner_to_stripe_with_everything_stripe_needs(
    client, plans, fake_stripe
):
    user = UserFactory()
    client.force_login(user)

    response = client.post(CHECKOUT, {"plan": "advanced", "interval": "year"})

    assert response.status_code == 303
    assert response["Location"].startswith(f"{fake_stripe.url}/pay/cs_test_")
    customer = Customer.objects.get(user=user)
    (request,) = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    params = request.params
    assert params["customer"] == customer.stripe_id
    assert params["client_reference_id"] == str(user.pk)
    assert params["metadata"] == {"user_id": str(user.pk), "plan": "advanced"}
    assert params["subscription_data"]["metadata"] == {"user_id": str(user.pk), "plan": "advanced"}
    assert params["allow_promotion_codes"] == "true"
    assert params["line_items"][0]["price"] == plans["advanced"].stripe_price_yearly
    assert params["success_url"] == (
        "http://testserver/billing/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "http://testserver/billing/checkout/cancel/"


def test_a_second_checkout_reuses_the_stripe_customer(client, plans, fake_stripe):
    client.force_login(UserFactory())

    start_checkout(client, plans["rookie"])
    start_checkout(client, plans["advanced"], "year")

    first, second = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert first.params["customer"] == second.params["customer"]
    assert len(fake_stripe.customers) == 1
    assert Customer.objects.count() == 1


def test_visitors_who_post_a_checkout_are_sent_to_sign_in(client, plans, fake_stripe):
    response = client.post(CHECKOUT, {"plan": "rookie", "interval": "month"})

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PRICING}"
    assert fake_stripe.requests == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"plan": "nope", "interval": "month"}, "There is no plan on sale with this id"),
        ({"plan": "rookie", "interval": "week"}, "Billing: Select a valid choice."),
        ({"plan": "rookie"}, "Billing: This field is required."),
        ({}, "Plan: This field is required."),
        ({"plan": "not a slug!", "interval": "month"}, "Plan: Enter a valid"),
        ({"plan": "hidden", "interval": "month"}, "There is no plan on sale with this id"),
        ({"plan": "monthly-only", "interval": "year"}, "There is no plan on sale with this id"),
    ],
    ids=[
        "unknown-plan",
        "bad-interval",
        "no-interval",
        "nothing",
        "bad-slug",
        "inactive",
        "no-price",
    ],
)
def test_bad_checkout_input_returns_to_pricing_with_the_error(
    client, plans, fake_stripe, data, message
):
    PlanFactory(slug="hidden", is_active=False)
    PlanFactory(slug="monthly-only", stripe_price_yearly="")
    client.force_login(UserFactory())

    response = client.post(CHECKOUT, data, follow=True)

    assert response.redirect_chain == [(PRICING, 302)]
    assert message in text_of(response)
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []


def test_subscribers_cannot_start_a_second_checkout(client, plans, fake_stripe):
    client.force_login(UserFactory())
    subscribe(client, fake_stripe, plans["rookie"])

    response = client.post(CHECKOUT, {"plan": "advanced", "interval": "month"}, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert "You already have a subscription" in text_of(response)
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1


def test_checkout_while_stripe_is_down_says_so_and_stores_nothing(client, plans, fake_stripe):
    client.force_login(UserFactory())
    fake_stripe.fail_next(status=500, times=10)

    response = client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, follow=True)

    assert response.redirect_chain == [(PRICING, 302)]
    assert "Our payment provider could not be reached" in text_of(response)
    assert Customer.objects.count() == 0
    assert fake_stripe.customers == {} and fake_stripe.checkout_sessions == {}


def test_checkout_without_stripe_says_payments_are_off(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(slug="rookie")
    client.force_login(UserFactory())

    response = client.post(CHECKOUT, {"plan": "rookie", "interval": "month"}, follow=True)

    assert response.redirect_chain == [(PRICING, 302)]
    assert "Payments are not set up on this site yet" in text_of(response)
    assert Customer.objects.count() == 0


def test_checkout_is_post_only(client, plans):
    client.force_login(UserFactory())

    assert client.get(CHECKOUT).status_code == 405


# --- Back from Stripe --------------------------------------------------------------------------
def test_success_page_shows_processing_until_stripe_completes_then_the_plan(
    client, plans, fake_stripe
):
    opened = paid_course(plans["rookie"], "Salsa basics")
    paid_course(plans["performer"], "Stage show")
    client.force_login(UserFactory())
    session_id = start_checkout(client, plans["advanced"])

    waiting = client.get(SUCCESS, {"session_id": session_id})

    assert waiting.status_code == 200
    assert "Processing your payment" in text_of(waiting)
    page = waiting.content.decode()
    again = f"{SUCCESS}?session_id={session_id}&amp;checks=1"
    assert f'http-equiv="refresh" content="3;url={again}"' in page
    assert f'href="{again}"' in page
    assert not Subscription.objects.exists()

    fake_stripe.checkout_complete(session_id)
    done = client.get(SUCCESS, {"session_id": session_id})

    text = text_of(done)
    assert "Welcome to Advanced plan" in text
    assert "Salsa basics" in text and "Stage show" not in text
    assert f'href="{opened.get_absolute_url()}"' in done.content.decode()
    assert 'http-equiv="refresh"' not in done.content.decode()
    subscription = Subscription.objects.get()
    assert (subscription.plan, subscription.status) == (plans["advanced"], "active")


def test_success_page_stops_refreshing_after_two_minutes_and_says_what_happens_next(
    client, plans, fake_stripe
):
    client.force_login(UserFactory())
    session_id = start_checkout(client, plans["rookie"])

    still = client.get(SUCCESS, {"session_id": session_id, "checks": 39})
    last = client.get(SUCCESS, {"session_id": session_id, "checks": 40})
    forged = client.get(SUCCESS, {"session_id": session_id, "checks": "-1"})

    assert 'http-equiv="refresh"' in still.content.decode()
    assert 'http-equiv="refresh"' not in last.content.decode()
    assert "taking longer than usual" in text_of(last)
    assert "we will email you" in text_of(last)
    assert "checks=1" in forged.content.decode()  # a bad counter starts again from zero


def test_a_checkout_whose_payment_needs_action_leads_to_billing_not_to_a_welcome(
    client, plans, fake_stripe
):
    client.force_login(UserFactory())
    session_id = start_checkout(client, plans["advanced"])
    fake_stripe.checkout_complete(session_id)
    subscription_id = fake_stripe.checkout_sessions[session_id]["subscription"]
    fake_stripe.subscription_set_status(subscription_id, "incomplete")

    response = client.get(SUCCESS, {"session_id": session_id}, follow=True)

    assert response.redirect_chain == [(reverse("billing:account"), 302)]
    assert "Your payment needs attention" in text_of(response)
    assert "Welcome to" not in text_of(response)
    assert Subscription.objects.get().status == "incomplete"


def test_success_page_with_stripe_down_keeps_processing_and_explains(client, plans, fake_stripe):
    client.force_login(UserFactory())
    session_id = start_checkout(client, plans["rookie"])
    fake_stripe.checkout_complete(session_id)
    fake_stripe.fail_next(status=500, times=10)

    response = client.get(SUCCESS, {"session_id": session_id})

    assert response.status_code == 200
    text = text_of(response)
    assert "Processing your payment" in text
    assert "We could not reach our payment provider" in text
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "session_id",
    ["", "cs_test_unknown", "not-a-session", "foreign"],
    ids=["missing", "unknown", "malformed", "another-users"],
)
def test_success_page_for_a_checkout_that_is_not_yours_is_404(
    client, plans, fake_stripe, session_id
):
    other = UserFactory()
    client.force_login(other)
    foreign = start_checkout(client, plans["rookie"])
    fake_stripe.checkout_complete(foreign)
    client.force_login(UserFactory())
    start_checkout(client, plans["rookie"])  # this learner has a customer too

    response = client.get(
        SUCCESS, {"session_id": foreign if session_id == "foreign" else session_id}
    )

    assert response.status_code == 404
    assert not Subscription.objects.exists()


def test_success_page_needs_sign_in(client, plans):
    response = client.get(SUCCESS, {"session_id": "cs_test_x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_cancel_page_says_nothing_was_charged(client):
    response = client.get(reverse("billing:checkout-cancel"))

    assert "Checkout cancelled, nothing was charged." in text_of(response)
    assert f'href="{PRICING}"' in response.content.decode()


# --- Billing page and portal -------------------------------------------------------------------
def test_billing_page_without_subscription_points_to_pricing(client, fake_stripe):
    client.force_login(UserFactory())

    response = client.get(ACCOUNT)

    assert "You have no subscription." in text_of(response)
    assert f'href="{PRICING}"' in response.content.decode()
    assert f'action="{PORTAL}"' not in response.content.decode()


def test_billing_page_shows_the_subscription_and_the_portal_button(client, plans, fake_stripe):
    client.force_login(UserFactory())
    subscription = subscribe(client, fake_stripe, plans["performer"], "year")

    response = client.get(ACCOUNT)
    text = text_of(response)

    assert "Performer plan" in text and "Active" in text and "Yearly" in text
    assert f"Renews on {date_format(subscription.current_period_end, 'N j, Y')}" in text
    assert f'action="{PORTAL}"' in response.content.decode()


def test_billing_page_shows_the_grace_period_of_a_failed_payment(client, plans, settings):
    settings.LMS_BILLING_GRACE_DAYS = 5
    user = UserFactory()
    since = timezone.now() - timedelta(days=1)
    SubscriptionFactory(
        customer=CustomerFactory(user=user),
        plan=plans["rookie"],
        status=Subscription.Status.PAST_DUE,
        past_due_since=since,
    )
    client.force_login(user)

    text = text_of(client.get(ACCOUNT))

    assert "Past due" in text
    assert f"before {date_format(since + timedelta(days=5), 'N j, Y')}" in text


def test_billing_page_without_stripe_says_payments_are_off(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(UserFactory())

    assert "Payments are not set up on this site yet" in text_of(client.get(ACCOUNT))


def test_billing_page_needs_sign_in(client):
    response = client.get(ACCOUNT)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={ACCOUNT}"


def test_portal_sends_the_subscriber_to_stripe_and_back_to_billing(client, plans, fake_stripe):
    client.force_login(UserFactory())
    subscribe(client, fake_stripe, plans["rookie"])

    response = client.post(PORTAL)

    assert response.status_code == 303
    assert response["Location"].startswith(f"{fake_stripe.url}/portal/bps_")
    (request,) = fake_stripe.requests_to("POST", "/v1/billing_portal/sessions")
    assert request.params["return_url"] == "http://testserver/billing/"


def test_portal_without_a_billing_account_says_choose_a_plan(client, fake_stripe):
    client.force_login(UserFactory())

    response = client.post(PORTAL, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert "You have no billing account yet" in text_of(response)


def test_portal_while_stripe_is_down_says_so(client, plans, fake_stripe):
    client.force_login(UserFactory())
    subscribe(client, fake_stripe, plans["rookie"])
    fake_stripe.fail_next(status=500, times=10)

    response = client.post(PORTAL, follow=True)

    assert response.redirect_chain == [(ACCOUNT, 302)]
    assert "Our payment provider could not be reached" in text_of(response)


def test_visitors_who_post_to_the_portal_are_sent_to_sign_in(client, fake_stripe):
    response = client.post(PORTAL)

    assert response["Location"] == f"/accounts/login/?next={ACCOUNT}"
    assert fake_stripe.requests == []


# --- Upgrade paths elsewhere -------------------------------------------------------------------
def test_locked_lesson_names_the_plan_and_links_to_pricing_without_the_content(client, plans):
    course = paid_course(plans["advanced"], "Salsa turns")
    lesson = LessonFactory(section__course=course, body="Secret step sequence")
    client.force_login(UserFactory())

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 403
    text = text_of(response)
    assert "This lesson needs the Advanced plan" in text
    assert "See plans" in text
    assert f'href="{PRICING}#plans"' in response.content.decode()
    assert "Secret step sequence" not in response.content.decode()


def test_subscribing_opens_the_locked_lesson(client, plans, fake_stripe):
    course = paid_course(plans["advanced"], "Salsa turns")
    lesson = LessonFactory(section__course=course, body="Secret step sequence")
    client.force_login(UserFactory())
    assert client.get(lesson.get_absolute_url()).status_code == 403

    subscribe(client, fake_stripe, plans["advanced"])

    response = client.get(lesson.get_absolute_url())
    assert response.status_code == 200
    assert "Secret step sequence" in text_of(response)


def test_main_navigation_links_to_pricing(client):
    response = client.get(reverse("catalog:home"))

    assert f'href="{PRICING}"' in response.content.decode()
    assert "Pricing" in text_of(response)


def test_locked_paid_course_page_points_learners_to_pricing(client, plans):
    course = paid_course(plans["performer"], "Stage show")
    LessonFactory(section__course=course)
    client.force_login(UserFactory())

    response = client.get(course.get_absolute_url())

    assert "Part of the Performer plan" in text_of(response)
    assert f'href="{PRICING}#plans"' in response.content.decode()


def test_open_paid_course_page_has_no_upgrade_notice(client, plans, fake_stripe):
    course = paid_course(plans["rookie"], "Salsa basics")
    LessonFactory(section__course=course)
    client.force_login(UserFactory())
    subscribe(client, fake_stripe, plans["rookie"])

    assert "Part of the" not in text_of(client.get(course.get_absolute_url()))


def test_billing_page_of_a_lapsed_subscription_says_the_renewal_is_being_confirmed(
    client, plans, settings
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    user = UserFactory()
    ended = timezone.now() - timedelta(days=4)
    SubscriptionFactory(
        customer=CustomerFactory(user=user),
        plan=plans["rookie"],
        status=Subscription.Status.ACTIVE,
        current_period_end=ended,
    )
    client.force_login(user)

    text = text_of(client.get(ACCOUNT))

    assert f"Period ended on {date_format(ended, 'N j, Y')}" in text
    assert "Renews on" not in text
    assert "We are confirming your renewal" in text
