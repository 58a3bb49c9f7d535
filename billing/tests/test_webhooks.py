"""`POST /webhooks/stripe/`: verified by the SDK, stored once, processed after commit, retried."""

import json
import time
from datetime import UTC, datetime

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from accounts.tests.factories import UserFactory
from billing.models import Subscription
from billing.tests.fake_stripe import (
    FakeStripe,
    fake_stripe_fixture,  # noqa: F401
    signature_header,
)
from billing.tests.test_lifecycle import checkout, deliver, plans_fixture  # noqa: F401
from lms.models import WebhookEvent
from lms.tasks import webhook_event_process
from lms.webhooks import webhook_event_replay

pytestmark = pytest.mark.django_db

URL = reverse("billing:stripe-webhook")
# One failed API call: the SDK's first try and its two retries (billing.gateway).
ONE_CALL = 3


@pytest.fixture
def created(fake_stripe: FakeStripe, plans) -> dict:
    """A `customer.subscription.created` event of a learner who just paid at Stripe."""
    learner = UserFactory()
    events = fake_stripe.checkout_complete(checkout(user=learner, plan=plans["advanced"]))
    return next(e for e in events if e["type"] == "customer.subscription.created")


def post(body: str | bytes, header: str | None) -> object:
    """Deliver a raw body with this `Stripe-Signature` (None: without the header)."""
    extra = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(URL, data=body, content_type="application/json", **extra)


def signed(body: str) -> object:
    return post(body, signature_header(body))


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "fields": {}}}


def _subscription_reads(fake: FakeStripe, subscription_id: str) -> int:
    return len(fake.requests_to("GET", f"/v1/subscriptions/{subscription_id}"))


# --- Accepted deliveries --------------------------------------------------------------------


def test_a_signed_event_is_stored_acknowledged_and_processed(fake_stripe, created):
    response = signed(json.dumps(created))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_id, event.event_type, event.payload) == (
        "stripe",
        created["id"],
        "customer.subscription.created",
        created,
    )
    assert event.occurred_at == datetime.fromtimestamp(created["created"], tz=UTC)
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, "")
    subscription_id = created["data"]["object"]["id"]
    assert Subscription.objects.get().stripe_id == subscription_id
    assert _subscription_reads(fake_stripe, subscription_id) == 1


def test_a_redelivered_event_is_acknowledged_as_a_duplicate_and_applied_once(fake_stripe, created):
    answers = deliver([created, created])

    assert answers == [
        {"received": True, "duplicate": False},
        {"received": True, "duplicate": True},
    ]
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert _subscription_reads(fake_stripe, created["data"]["object"]["id"]) == 1
    assert Subscription.objects.count() == 1


def test_an_event_type_we_do_not_handle_is_stored_and_ignored(fake_stripe):
    customer = fake_stripe.customer_create(email="ana@example.com")
    event = fake_stripe.event("customer.created", customer)
    requests_before = len(fake_stripe.requests)

    response = signed(json.dumps(event))

    assert response.json() == {"received": True, "duplicate": False}
    stored = WebhookEvent.objects.get()
    assert (stored.event_type, stored.status, stored.attempts) == ("customer.created", "ignored", 1)
    assert stored.processed_at is not None
    assert len(fake_stripe.requests) == requests_before


# --- Refused deliveries ---------------------------------------------------------------------

SIGNATURE_INVALID = _error(
    "WEBHOOK_SIGNATURE_INVALID", "The webhook signature is missing or does not match."
)


@pytest.mark.parametrize(
    ("make_header", "expected"),
    [
        pytest.param(
            lambda body: signature_header(body, secret="whsec_someone_else"),
            SIGNATURE_INVALID,
            id="wrong-secret",
        ),
        pytest.param(lambda body: signature_header(body + " "), SIGNATURE_INVALID, id="tampered"),
        pytest.param(lambda body: None, SIGNATURE_INVALID, id="missing"),
        pytest.param(lambda body: "", SIGNATURE_INVALID, id="empty"),
        pytest.param(lambda body: "t=abc,v1=00", SIGNATURE_INVALID, id="garbled"),
        pytest.param(
            lambda body: signature_header(body).split(",")[0], SIGNATURE_INVALID, id="no-v1"
        ),
        pytest.param(
            lambda body: signature_header(body, timestamp=int(time.time()) - 310),
            _error(
                "WEBHOOK_TIMESTAMP_STALE",
                "The webhook signature's timestamp is more than 5 minutes away from our clock.",
            ),
            id="stale",
        ),
        pytest.param(
            # Signed ahead of time (or by a clock far ahead): it would outlive the tolerance.
            lambda body: signature_header(body, timestamp=int(time.time()) + 310),
            _error(
                "WEBHOOK_TIMESTAMP_STALE",
                "The webhook signature's timestamp is more than 5 minutes away from our clock.",
            ),
            id="future",
        ),
        pytest.param(
            lambda body: signature_header(body, timestamp=int(time.time()) + 7 * 24 * 3600),
            _error(
                "WEBHOOK_TIMESTAMP_STALE",
                "The webhook signature's timestamp is more than 5 minutes away from our clock.",
            ),
            id="a-week-ahead",
        ),
    ],
)
def test_an_unverified_delivery_is_refused_and_not_stored(
    fake_stripe, created, make_header, expected
):
    body = json.dumps(created)

    response = post(body, make_header(body))

    assert response.status_code == 400
    assert response.json() == expected
    assert WebhookEvent.objects.count() == 0
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize("offset", [-290, 290], ids=["before-our-clock", "after-our-clock"])
def test_a_signature_a_little_under_five_minutes_away_is_accepted(fake_stripe, created, offset):
    body = json.dumps(created)

    response = post(body, signature_header(body, timestamp=int(time.time()) + offset))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "processed"


def _event(**changes) -> str:
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": 1_795_000_000,
        "data": {"object": {"id": "sub_1", "object": "subscription"}},
    }
    event.update(changes)
    return json.dumps({k: v for k, v in event.items() if v is not None})


NOT_AN_EVENT = "WEBHOOK_PAYLOAD_INVALID"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "{not json", _error("PARSE_ERROR", "The request body is not valid JSON."), id="json"
        ),
        pytest.param(
            '{"id": NaN}', _error("PARSE_ERROR", "The request body is not valid JSON."), id="nan"
        ),
        pytest.param(
            "[1, 2]", _error(NOT_AN_EVENT, "The payload is not a JSON object."), id="array"
        ),
        pytest.param(
            _event(id="evt_\u0000"),
            _error(NOT_AN_EVENT, "The payload is not storable text."),
            id="nul",
        ),
        pytest.param(
            _event(type="customer.subscription.updated\ud800"),
            _error(NOT_AN_EVENT, "The payload is not storable text."),
            id="lone-surrogate",
        ),
        pytest.param(
            "{}",
            _error(NOT_AN_EVENT, "The event has no valid id, type, created, data.object."),
            id="empty",
        ),
        pytest.param(
            _event(id=None), _error(NOT_AN_EVENT, "The event has no valid id."), id="no-id"
        ),
        pytest.param(
            _event(type=None), _error(NOT_AN_EVENT, "The event has no valid type."), id="no-type"
        ),
        pytest.param(
            _event(created=None),
            _error(NOT_AN_EVENT, "The event has no valid created."),
            id="no-created",
        ),
        pytest.param(
            _event(created="yesterday"),
            _error(NOT_AN_EVENT, "The event has no valid created."),
            id="created-text",
        ),
        pytest.param(
            _event(created=True),
            _error(NOT_AN_EVENT, "The event has no valid created."),
            id="created-bool",
        ),
        pytest.param(
            _event(id="e" * 256), _error(NOT_AN_EVENT, "The event has no valid id."), id="long-id"
        ),
        pytest.param(
            _event(data={"object": ["sub_1"]}),
            _error(NOT_AN_EVENT, "The event has no valid data.object."),
            id="object-list",
        ),
        pytest.param(
            _event(data="sub_1"),
            _error(NOT_AN_EVENT, "The event has no valid data.object."),
            id="data-text",
        ),
    ],
)
def test_a_signed_but_malformed_payload_is_refused_and_not_stored(fake_stripe, body, expected):
    response = signed(body)

    assert response.status_code == 400
    assert response.json() == expected
    assert WebhookEvent.objects.count() == 0


def test_only_post_is_allowed():
    response = Client().get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == _error("METHOD_NOT_ALLOWED", "This method is not allowed here.")


def test_without_a_webhook_secret_the_endpoint_says_it_is_not_configured(
    fake_stripe, created, settings
):
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = signed(json.dumps(created))

    assert response.status_code == 503
    assert response.json() == _error(
        "WEBHOOK_NOT_CONFIGURED",
        "Stripe webhooks are not configured on this site: set STRIPE_WEBHOOK_SECRET.",
    )
    assert WebhookEvent.objects.count() == 0


# --- Stripe down while processing -----------------------------------------------------------


def _delivered_during_an_outage(fake: FakeStripe, event: dict) -> WebhookEvent:
    fake.fail_next(times=ONE_CALL)
    response = signed(json.dumps(event))
    assert response.status_code == 200  # acknowledged: Stripe must not hold it against us
    return WebhookEvent.objects.get()


def test_an_event_processed_while_stripe_is_down_is_kept_failed_then_retried(fake_stripe, created):
    event = _delivered_during_an_outage(fake_stripe, created)

    assert (event.status, event.attempts, event.processed_at) == ("failed", 1, None)
    assert event.last_error.startswith("APIError: ")
    assert "Fake Stripe was told to fail." in event.last_error
    assert Subscription.objects.count() == 0

    webhook_event_process.delay(event_id=str(event.pk))  # the task's retry, later

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 2, "")
    assert Subscription.objects.get().status == "active"


def test_an_event_failed_during_an_outage_can_be_replayed(fake_stripe, created):
    event = _delivered_during_an_outage(fake_stripe, created)

    with TestCase.captureOnCommitCallbacks(execute=True):
        webhook_event_replay(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 2)
    assert Subscription.objects.get().status == "active"
