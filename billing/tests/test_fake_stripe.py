"""The fake Stripe API answers the real SDK the way Stripe does, for the calls we make.

These pin the fake itself, so billing tests built on it can trust what it says.
"""

import json
import urllib.error
import urllib.request

import pytest
import stripe

from billing.tests.fake_stripe import (
    API_KEY,
    API_VERSION,
    WEBHOOK_SECRET,
    FakeStripe,
    decode_form,
    fake_stripe_fixture,  # noqa: F401 - registers the fixture
    signature_header,
)


def client_for(fake: FakeStripe, *, key: str = API_KEY, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": fake.url}, max_network_retries=retries)


def open_checkout(fake: FakeStripe, client: stripe.StripeClient, *, price: str = "price_pro"):
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    return client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": "https://lms.test/billing/success/",
            "cancel_url": "https://lms.test/pricing/",
            "client_reference_id": "user-3",
            "metadata": {"user_id": "3"},
            "subscription_data": {"metadata": {"user_id": "3", "tier": "pro"}},
            "allow_promotion_codes": True,
        }
    )


def test_bracketed_form_keys_decode_to_nested_params():
    pairs = [
        ("line_items[0][price]", "p"),
        ("line_items[0][quantity]", "1"),
        ("metadata[user_id]", "3"),
        ("metadata[0]", "kept as a key"),
        ("expand[0]", "x"),
        ("expand[1]", "y"),
    ]
    assert decode_form(pairs) == {
        "line_items": [{"price": "p", "quantity": "1"}],
        "metadata": {"user_id": "3", "0": "kept as a key"},
        "expand": ["x", "y"],
    }


def test_customer_created_then_retrieved_keeps_email_and_metadata(fake_stripe):
    client = client_for(fake_stripe)
    created = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"user_id": "3"}}
    )
    fetched = client.v1.customers.retrieve(created.id)

    assert created.id.startswith("cus_")
    assert (fetched.id, fetched.email, fetched.name) == (created.id, "ada@example.com", "Ada")
    assert fetched.metadata.to_dict() == {"user_id": "3"}
    assert fetched.livemode is False
    [recorded] = fake_stripe.requests_to("POST", "/v1/customers")
    assert recorded.authorized
    assert recorded.idempotency_key


def test_checkout_session_parses_nested_params(fake_stripe):
    client = client_for(fake_stripe)
    session = open_checkout(fake_stripe, client)

    assert session.id.startswith("cs_test_")
    assert session.url == f"{fake_stripe.url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.subscription) == (
        "open",
        "unpaid",
        None,
    )
    assert session.line_items_price == "price_pro"
    assert session.allow_promotion_codes is True
    assert session.client_reference_id == "user-3"
    assert session.metadata.to_dict() == {"user_id": "3"}
    stored = fake_stripe.checkout_sessions[session.id]
    assert stored["subscription_data"]["metadata"] == {"user_id": "3", "tier": "pro"}
    assert client.v1.checkout.sessions.retrieve(session.id).customer == session.customer


def test_checkout_session_without_a_required_param_is_rejected(fake_stripe):
    client = client_for(fake_stripe)
    customer = client.v1.customers.create(params={"email": "ada@example.com"})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(
            params={"mode": "subscription", "customer": customer.id, "line_items": []}
        )

    assert raised.value.http_status == 400
    assert raised.value.code == "parameter_missing"
    assert raised.value.param == "line_items[0][price]"


def test_checkout_and_portal_pages_render_for_a_browser(fake_stripe):
    client = client_for(fake_stripe)
    session = open_checkout(fake_stripe, client)
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": session.customer, "return_url": "https://lms.test/billing/"}
    )

    with urllib.request.urlopen(session.url) as page:  # noqa: S310 - loopback fake
        checkout_html = page.read().decode()
    with urllib.request.urlopen(portal.url) as page:  # noqa: S310 - loopback fake
        portal_html = page.read().decode()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{fake_stripe.url}/pay/cs_test_nope")  # noqa: S310

    assert "<h1>Fake Stripe Checkout</h1>" in checkout_html
    assert session.id in checkout_html and "price_pro" in checkout_html
    assert "<h1>Fake Stripe customer portal</h1>" in portal_html
    assert portal.return_url == "https://lms.test/billing/"
    assert missing.value.code == 404


def test_repeated_idempotency_key_returns_the_first_customer(fake_stripe):
    client = client_for(fake_stripe)
    options = {"idempotency_key": "signup-3"}
    first = client.v1.customers.create(params={"email": "ada@example.com"}, options=options)
    again = client.v1.customers.create(params={"email": "ada@example.com"}, options=options)

    assert again.id == first.id
    assert list(fake_stripe.customers) == [first.id]
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"email": "bob@example.com"}, options=options)


def test_unknown_subscription_raises_resource_missing(fake_stripe):
    client = client_for(fake_stripe)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscriptions.retrieve("sub_x")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.user_message == "No such subscription: 'sub_x'"


def test_wrong_api_key_is_refused(fake_stripe):
    client = client_for(fake_stripe, key="sk_test_wrong")

    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.create(params={"email": "ada@example.com"})

    [recorded] = fake_stripe.requests_to("POST", "/v1/customers")
    assert recorded.authorized is False
    assert fake_stripe.customers == {}


def test_completed_checkout_makes_a_retrievable_subscription(fake_stripe):
    fake_stripe.prices["price_pro_yearly"] = {"interval": "year", "unit_amount": 9900}
    client = client_for(fake_stripe)
    session = open_checkout(fake_stripe, client, price="price_pro_yearly")

    events = fake_stripe.checkout_complete(session.id)

    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert {e["api_version"] for e in events} == {API_VERSION}
    sub_id = events[0]["data"]["object"]["subscription"]
    subscription = client.v1.subscriptions.retrieve(sub_id)
    item = subscription["items"].data[0]
    assert (subscription.status, subscription.customer) == ("active", session.customer)
    assert subscription.metadata.to_dict() == {"user_id": "3", "tier": "pro"}
    assert item.price.id == "price_pro_yearly"
    assert item.price.recurring.interval == "year"
    assert item.current_period_end - item.current_period_start == 365 * 24 * 60 * 60
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert (session.status, session.payment_status, session.subscription) == (
        "complete",
        "paid",
        sub_id,
    )
    listed = client.v1.subscriptions.list(params={"customer": session.customer, "status": "all"})
    assert [s.id for s in listed.data] == [sub_id]


def test_invoice_names_its_subscription(fake_stripe):
    client = client_for(fake_stripe)
    customer = fake_stripe.customer_create(email="ada@example.com")
    subscription, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")

    failed, updated = fake_stripe.invoice_payment_failed(subscription["id"])
    invoice = client.v1.invoices.retrieve(failed["data"]["object"]["id"])

    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert invoice.parent.subscription_details.subscription == subscription["id"]
    assert updated["data"]["object"]["status"] == "past_due"
    assert client.v1.subscriptions.retrieve(subscription["id"]).latest_invoice == invoice.id


def test_paid_retry_settles_the_open_invoice_and_reactivates(fake_stripe):
    client = client_for(fake_stripe)
    customer = fake_stripe.customer_create(email="ada@example.com")
    subscription, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")
    failed, _ = fake_stripe.invoice_payment_failed(subscription["id"])

    paid, updated = fake_stripe.invoice_paid(subscription["id"])

    invoice_id = failed["data"]["object"]["id"]
    assert (paid["type"], paid["data"]["object"]["id"]) == ("invoice.paid", invoice_id)
    invoice = client.v1.invoices.retrieve(invoice_id)
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("paid", 2, 1000)
    assert updated["data"]["object"]["status"] == "active"


def test_trial_checkout_bills_nothing_until_the_trial_ends(fake_stripe):
    client = client_for(fake_stripe)
    session = open_checkout(fake_stripe, client)

    _, created, paid = fake_stripe.checkout_complete(session.id, trial=True)

    subscription = created["data"]["object"]
    item = subscription["items"]["data"][0]
    assert subscription["status"] == "trialing"
    assert item["current_period_end"] == subscription["trial_end"]
    assert subscription["trial_end"] - subscription["trial_start"] == 14 * 24 * 60 * 60
    assert paid["data"]["object"]["amount_paid"] == 0


def test_price_change_keeps_the_period_unless_the_interval_changes(fake_stripe):
    fake_stripe.prices["price_team"] = {"unit_amount": 3000}
    fake_stripe.prices["price_pro_yearly"] = {"interval": "year"}
    customer = fake_stripe.customer_create(email="ada@example.com")
    subscription, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")
    period_end = subscription["items"]["data"][0]["current_period_end"]

    [same_interval] = fake_stripe.subscription_change_price(subscription["id"], "price_team")
    [new_interval] = fake_stripe.subscription_change_price(subscription["id"], "price_pro_yearly")

    kept = same_interval["data"]["object"]["items"]["data"][0]
    moved = new_interval["data"]["object"]["items"]["data"][0]
    assert (kept["price"]["id"], kept["current_period_end"]) == ("price_team", period_end)
    assert moved["price"]["recurring"] == {"interval": "year"}
    assert moved["current_period_end"] - moved["current_period_start"] == 365 * 24 * 60 * 60
    assert new_interval["type"] == "customer.subscription.updated"


def test_listing_without_status_leaves_out_canceled_subscriptions(fake_stripe):
    client = client_for(fake_stripe)
    customer = fake_stripe.customer_create(email="ada@example.com")
    old, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")
    fake_stripe.subscription_cancel(old["id"])
    new, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")

    default = client.v1.subscriptions.list(params={"customer": customer["id"]})
    everything = client.v1.subscriptions.list(params={"customer": customer["id"], "status": "all"})

    assert [s.id for s in default.data] == [new["id"]]
    assert [s.id for s in everything.data] == [new["id"], old["id"]]


def test_events_snapshot_the_object_while_the_fake_moves_on(fake_stripe):
    customer = fake_stripe.customer_create(email="ada@example.com")
    subscription, _ = fake_stripe.subscription_create(customer=customer["id"], price="price_pro")

    [ending] = fake_stripe.subscription_cancel_at_period_end(subscription["id"])
    [deleted] = fake_stripe.subscription_cancel(subscription["id"])

    assert ending["data"]["object"]["status"] == "active"
    assert ending["data"]["object"]["cancel_at_period_end"] is True
    assert deleted["data"]["object"]["status"] == "canceled"
    assert fake_stripe.subscriptions[subscription["id"]]["ended_at"] is not None


def test_signature_header_verifies_with_the_sdk():
    body = json.dumps({"id": "evt_1", "object": "event"})
    header = signature_header(body)

    assert stripe.WebhookSignature.verify_header(body, header, WEBHOOK_SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, header, "whsec_other", tolerance=300)


def test_fail_next_makes_one_call_fail(fake_stripe):
    client = client_for(fake_stripe)
    fake_stripe.fail_next()

    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params={"email": "ada@example.com"})
    created = client.v1.customers.create(params={"email": "ada@example.com"})

    assert list(fake_stripe.customers) == [created.id]


def test_sdk_retry_after_a_failure_creates_one_customer(fake_stripe):
    client = client_for(fake_stripe, retries=2)
    fake_stripe.fail_next(status=503)

    created = client.v1.customers.create(params={"email": "ada@example.com"})

    attempts = fake_stripe.requests_to("POST", "/v1/customers")
    assert len(attempts) == 2
    assert attempts[0].idempotency_key == attempts[1].idempotency_key
    assert list(fake_stripe.customers) == [created.id]
