"""A failed payment shows on the learner's bell (kind `payment_problem`) beside billing's
own email: one email, never two, and one notification per invoice."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from billing.services import invoice_payment_failed_notify, subscription_sync
from billing.tests.factories import CustomerFactory, PlanFactory, TierFactory
from billing.tests.fake_stripe import fake_stripe_fixture  # noqa: F401
from notifications.kinds import Delivery
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_a_failed_payment_is_one_notification_and_one_email_per_invoice(
    fake_stripe, django_capture_on_commit_callbacks
):
    plan = PlanFactory(
        name="Advanced",
        slug="advanced",
        tier=TierFactory(name="Advanced", slug="advanced", rank=2),
        stripe_price_monthly="price_advanced_monthly",
    )
    user = UserFactory(email="lee@example.com")
    remote = fake_stripe.customer_create(email=user.email, metadata={"user_id": str(user.pk)})
    customer = CustomerFactory(user=user, stripe_id=remote["id"])
    sub, _ = fake_stripe.subscription_create(
        customer=customer.stripe_id, price=plan.stripe_price_monthly
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_sync(subscription_id=sub["id"], customer_id=remote["id"])
    mail.outbox.clear()
    invoice = fake_stripe.invoice_payment_failed(sub["id"])[0]["data"]["object"]

    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            invoice_payment_failed_notify(subscription=subscription, invoice_id=invoice["id"])

    [notification] = Notification.objects.filter(user=user)
    assert (notification.kind, notification.title) == (
        "payment_problem",
        "We couldn't charge your card",
    )
    assert (notification.url, notification.source) == (
        "/billing/",
        f"payment_failed:{invoice['id']}",
    )
    assert (notification.email_delivery, notification.emailed_at) == (Delivery.OFF, None)
    assert [email.subject for email in mail.outbox] == ["We couldn't charge your card for Advanced"]
