"""The billing emails, sent the real way: Stripe (the loopback fake) changes a subscription,
`subscription_sync` / `invoice_payment_failed_notify` re-read it and queue the email, the eager
Celery task delivers it to the locmem outbox."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from billing.services import invoice_payment_failed_notify, subscription_sync
from billing.tests.factories import CustomerFactory, PlanFactory, TierFactory
from billing.tests.fake_stripe import fake_stripe_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

SITE = "https://school.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SITE_NAME = "Dance School"


@pytest.fixture
def plan():
    return PlanFactory(
        name="Advanced",
        slug="advanced",
        tier=TierFactory(name="Advanced", slug="advanced", rank=2),
        features="Every choreography\nDownloads",
        stripe_price_monthly="price_advanced_monthly",
    )


@pytest.fixture
def customer(fake_stripe):
    user = UserFactory(email="lee@example.com")
    remote = fake_stripe.customer_create(email=user.email, metadata={"user_id": str(user.pk)})
    return CustomerFactory(user=user, stripe_id=remote["id"])


def _sync(capture, sub_id: str, customer):
    with capture(execute=True):
        return subscription_sync(subscription_id=sub_id, customer_id=customer.stripe_id)


def _sent():
    """(subject, text, html) of each email sent, in order."""
    return [
        (message.subject, message.body, message.alternatives[0].content) for message in mail.outbox
    ]


def test_a_new_subscription_sends_a_welcome_with_what_it_opens(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )

    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    [(subject, text, html)] = _sent()
    assert mail.outbox[0].to == ["lee@example.com"]
    assert subject == "Welcome to Advanced at Dance School"
    assert "Your Advanced subscription is active." in text
    assert "It opens every course up to the Advanced tier." in text
    assert "- Every choreography\n- Downloads" in text
    assert "Your next payment is due on" in text
    assert f"{SITE}/billing/" in text
    assert "Start learning" in text and SITE in text
    assert "<li>Every choreography</li>" in html
    assert f'href="{SITE}/billing/"' in html
    assert "Welcome to Advanced</h1>" in html


def test_a_trial_says_when_the_first_payment_is_taken(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id,
        price=plan.stripe_price_monthly,
        status="trialing",
        trial_days=14,
    )

    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    [(_, text, html)] = _sent()
    assert "Your free trial runs until" in text
    assert "Your free trial runs until" in html


def test_syncing_again_sends_no_second_welcome(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )
    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    assert len(mail.outbox) == 1


def test_a_failed_payment_asks_to_update_the_card_and_links_the_invoice(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )
    _sync(django_capture_on_commit_callbacks, sub["id"], customer)
    mail.outbox.clear()
    failed, _updated = fake_stripe.invoice_payment_failed(sub["id"])
    invoice = failed["data"]["object"]
    subscription = _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_payment_failed_notify(subscription=subscription, invoice_id=invoice["id"])

    [(subject, text, html)] = _sent()
    assert subject == "We couldn't charge your card for Advanced"
    assert "We couldn't charge your card for your Advanced subscription." in text
    assert "Your courses stay open" in text
    assert f"update your payment method:\n{SITE}/billing/" in text
    assert f"Or pay the invoice now:\n{invoice['hosted_invoice_url']}" in text
    assert f'href="{SITE}/billing/"' in html
    assert f'href="{invoice["hosted_invoice_url"]}"' in html


def test_a_failure_email_goes_once_per_invoice(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )
    subscription = _sync(django_capture_on_commit_callbacks, sub["id"], customer)
    mail.outbox.clear()
    invoice = fake_stripe.invoice_payment_failed(sub["id"])[0]["data"]["object"]

    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            invoice_payment_failed_notify(subscription=subscription, invoice_id=invoice["id"])

    assert [subject for subject, _, _ in _sent()] == ["We couldn't charge your card for Advanced"]


def test_a_cancelled_subscription_says_access_ended_and_links_the_plans(
    fake_stripe, plan, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )
    _sync(django_capture_on_commit_callbacks, sub["id"], customer)
    mail.outbox.clear()
    fake_stripe.subscription_cancel(sub["id"])

    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    [(subject, text, html)] = _sent()
    assert subject == "Your Advanced subscription has ended"
    assert "Your Advanced subscription has been cancelled and ended on" in text
    assert "You will not be charged again." in text
    assert "Advanced courses are no longer open to you." in text
    assert f"Come back any time:\n{SITE}/pricing/" in text
    assert f'href="{SITE}/pricing/"' in html


def test_a_subscription_to_an_unknown_price_gets_no_welcome_but_a_plain_goodbye(
    fake_stripe, customer, django_capture_on_commit_callbacks
):
    sub, _ = fake_stripe.subscription_create(customer=customer.stripe_id, price="price_elsewhere")
    _sync(django_capture_on_commit_callbacks, sub["id"], customer)
    assert mail.outbox == []
    fake_stripe.subscription_cancel(sub["id"])

    _sync(django_capture_on_commit_callbacks, sub["id"], customer)

    [(subject, text, _html)] = _sent()
    assert subject == "Your Dance School subscription has ended"
    assert "Your subscription has been cancelled and ended on" in text
    assert "courses are no longer open" not in text
