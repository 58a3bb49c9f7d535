"""What the pricing and billing pages say each plan opens, read as a visitor reads them."""

import pytest

from accounts.tests.factories import UserFactory
from billing.tests.factories import CustomerFactory, PlanFactory, SubscriptionFactory, TierFactory
from billing.tests.test_pages import text_of
from catalog.models import Course
from catalog.tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

PRICING = "/pricing/"


def card(text: str, name: str, following: str | None) -> str:
    """The text of one plan card: from its name to the next plan's name (or the end)."""
    start = text.index(name)
    return text[start : text.index(following, start) if following else None]


@pytest.fixture(name="school")
def school_fixture(settings):
    """The demo school's shape: same-named tiers and plans, a paid course at Advanced only,
    a public and a members course, and a draft and an archived course that open nothing."""
    settings.STRIPE_SECRET_KEY = ""  # billing off: the cards still say what they open
    plans = {}
    for order, (slug, name, rank) in enumerate(
        (("rookie", "Rookie", 1), ("advanced", "Advanced", 2), ("performer", "Performer", 3))
    ):
        tier = TierFactory(slug=slug, name=name, rank=rank)
        plans[slug] = PlanFactory(slug=slug, name=name, tier=tier, order=order)
    CourseFactory(
        title="Bachata choreography",
        visibility=Course.Visibility.PAID,
        required_tier=plans["advanced"].tier,
    )
    CourseFactory(title="Salsa foundations", visibility=Course.Visibility.PUBLIC)
    CourseFactory(title="Members warmup", visibility=Course.Visibility.MEMBERS)
    CourseFactory(title="Secret draft", visibility=Course.Visibility.PUBLIC, draft=True)
    CourseFactory(
        title="Old paid course",
        visibility=Course.Visibility.PAID,
        required_tier=plans["rookie"].tier,
        status=Course.Status.ARCHIVED,
    )
    return plans


def test_each_plan_lists_the_paid_courses_it_opens_and_the_free_ones(client, school):
    text = text_of(client.get(PRICING))

    rookie = card(text, "Rookie", "Advanced")
    advanced = card(text, "Advanced", "Performer")
    performer = card(text, "Performer", None)
    assert "Includes the 2 free courses every member can take." in rookie
    assert "paid course" not in rookie
    assert "Opens 1 paid course: Bachata choreography" in advanced
    assert "Plus the 2 free courses every member can take." in advanced
    assert "Opens 1 paid course: Bachata choreography" in performer
    assert "Secret draft" not in text and "Old paid course" not in text


def test_no_card_says_nothing_is_published_when_free_courses_are(client, school):
    text = text_of(client.get(PRICING))

    assert "No paid courses are published" not in text
    assert "No courses are published for this plan yet." not in text


def test_a_plan_with_nothing_to_open_says_so(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(name="Early bird", tier=TierFactory(name="Early", rank=1))

    text = text_of(client.get(PRICING))

    assert "No courses are published for this plan yet." in text


def test_a_card_does_not_repeat_the_plan_name_above_its_title(client, school):
    page = client.get(PRICING).content.decode()

    assert 'class="plan-card__tier"' not in page
    assert text_of(client.get(PRICING)).count("Advanced") == 1  # the card's title only


def test_a_tier_named_otherwise_than_its_plan_is_named_once_above_it(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    PlanFactory(name="Monthly dancer", tier=TierFactory(name="Rookie", rank=1))

    page = client.get(PRICING).content.decode()

    assert '<p class="plan-card__tier">Rookie tier</p>' in page


def test_billing_page_names_the_plan_once(client, school):
    user = UserFactory()
    SubscriptionFactory(customer=CustomerFactory(user=user), plan=school["advanced"])
    client.force_login(user)

    text = text_of(client.get("/billing/"))

    assert "Plan Advanced Status" in text
    assert "(Advanced" not in text
