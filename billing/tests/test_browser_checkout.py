"""Buying a plan in real headless Chromium, against the loopback fake of Stripe (must-show 5).

A signed-in learner opens a paid lesson, finds it locked with the way to the plans, picks the
plan the lesson needs on /pricing/ and is sent to (fake) Stripe's checkout page. The test then
plays Stripe: it completes the checkout in the fake and delivers the signed events to the live
server over HTTP, as Stripe would. Back in the browser the lesson opens, and the page Stripe
sends the learner back to confirms the plan.

Screenshots of the locked lesson, the pricing page and the success page land in /tmp/screens
(LMS_SCREENSHOT_DIR) for a human look.
"""

import json
import re

import pytest
import requests

from accounts.tests.factories import UserFactory
from billing.services import plan_ensure, tier_ensure
from billing.tests.fake_stripe import fake_stripe_fixture, signature_header  # noqa: F401
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "rosa@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password
COURSE_TITLE = "Advanced Salsa Shines"
LESSON_TITLE = "Shines on the and-count"
NOTES = "Cross, step back and hold the and-count before the turn."


@pytest.fixture
def lesson_url(transactional_db) -> str:
    """Three plans on sale and a paid lesson that needs the middle one (Advanced)."""
    tiers = {
        slug: tier_ensure(slug=slug, name=slug.title(), rank=rank)
        for slug, rank in (("rookie", 1), ("advanced", 2), ("performer", 3))
    }
    for order, (slug, tier) in enumerate(tiers.items()):
        plan_ensure(
            slug=slug,
            tier=tier,
            name=f"{tier.name} plan",
            order=order,
            description=f"Everything for {slug} dancers.",
            stripe_price_monthly=f"price_{slug}_month",
            stripe_price_yearly=f"price_{slug}_year",
            display_price_monthly=f"${9 * (order + 1)}",
            display_price_yearly=f"${90 * (order + 1)}",
        )
    course = CourseFactory(
        title=COURSE_TITLE,
        slug="advanced-salsa-shines",
        visibility=Course.Visibility.PAID,
        required_tier=tiers["advanced"],
    )
    lesson = LessonFactory(
        section=SectionFactory(course=course, title="Footwork", order=0),
        title=LESSON_TITLE,
        slug="shines-on-the-and-count",
        body=NOTES,
        order=0,
    )
    return lesson.get_absolute_url()


def _deliver(base_url: str, events: list[dict]) -> None:
    """Post Stripe's signed events to the live server over HTTP, one by one, in order."""
    for event in events:
        body = json.dumps(event)
        response = requests.post(
            f"{base_url}/webhooks/stripe/",
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header(body),
            },
            timeout=10,
        )
        assert response.status_code == 200, (event["type"], response.text)
        assert response.json()["received"] is True


def test_learner_buys_the_plan_a_locked_lesson_needs_and_the_lesson_opens(
    browser, live_server, fake_stripe, lesson_url
):
    from playwright.sync_api import expect

    UserFactory(email=EMAIL, verified_email=True)
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, base, email=EMAIL, password=PASSWORD)

    # The paid lesson is locked: no notes, the plan it needs named, the way to the plans.
    page.goto(f"{base}{lesson_url}")
    expect(page.get_by_role("heading", level=1)).to_have_text(LESSON_TITLE)
    locked = page.get_by_role("region", name="This lesson needs the Advanced plan")
    expect(locked).to_be_visible()
    expect(page.get_by_text(NOTES)).to_have_count(0)
    screenshot(page, "billing-locked-lesson")
    locked.get_by_role("link", name="See plans").click()
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/pricing/"))

    # /pricing/: every plan on sale; the learner picks the one the lesson needs.
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans and pricing")
    cards = page.locator("#plans > li")
    expect(cards).to_have_count(3)
    card = cards.filter(has=page.get_by_role("heading", name="Advanced plan", exact=True))
    expect(card).to_have_count(1)
    expect(card).to_contain_text("$18")
    expect(card).to_contain_text(COURSE_TITLE)
    screenshot(page, "billing-pricing")
    card.get_by_role("button", name="Choose Advanced plan monthly").click()

    # Stripe's (fake) checkout page, for the monthly price of the Advanced plan.
    page.wait_for_url(f"{fake_stripe.url}/pay/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fake Stripe Checkout")
    expect(page.get_by_text("price_advanced_month")).to_be_visible()
    session_id = page.url.rsplit("/", 1)[1]
    assert session_id.startswith("cs_test_")

    # Stripe: the learner paid. It sends its events to our webhook.
    _deliver(base, fake_stripe.checkout_complete(session_id))

    # Back on our site the lesson opens: its notes, no locked panel.
    page.goto(f"{base}{lesson_url}")
    expect(page.get_by_role("heading", level=1)).to_have_text(LESSON_TITLE)
    expect(page.get_by_text(NOTES)).to_be_visible()
    expect(page.locator(".locked-panel")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark as complete")).to_be_visible()

    # Where Stripe sends the learner after paying: the plan confirmed, the course listed.
    success_url = fake_stripe.checkout_sessions[session_id]["success_url"]
    page.goto(success_url.replace("{CHECKOUT_SESSION_ID}", session_id))
    assert page.url.startswith(f"{base}/billing/checkout/success/?session_id={session_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Advanced plan")
    expect(page.get_by_role("link", name=COURSE_TITLE)).to_be_visible()
    screenshot(page, "billing-checkout-success")
