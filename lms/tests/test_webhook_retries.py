"""Webhook processing retries only transient failures, and never past WEBHOOK_MAX_ATTEMPTS.

The real stripe SDK talks to the loopback fake Stripe (billing/tests/fake_stripe.py), which
answers 5xx/429 when told to, `resource_missing` for objects it does not have, and 401 for a
wrong key; Mux's SDK talks to the loopback fake Mux. Tasks run eagerly (conftest.py).
"""

import logging
import re
import uuid
from contextlib import suppress
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.gateway import MAX_NETWORK_RETRIES, BillingUnavailableError, stripe_client
from billing.tests.fake_stripe import (
    FakeStripe,
    fake_stripe_fixture,  # noqa: F401
    webhook_post,
)
from lms.errors import error_is_transient
from lms.models import WebhookEvent
from lms.tasks import webhook_event_process, webhook_events_reconcile, webhook_events_recover
from lms.webhooks import WEBHOOK_MAX_ATTEMPTS, webhook_event_store
from media import mux
from media.tests.fake_mux import fake_mux_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

ONE_CALL = 1 + MAX_NETWORK_RETRIES  # the SDK's own retries of one call
STRIPE_LOGGER = "lms.webhooks"


def _unknown_customer_event(fake: FakeStripe) -> dict:
    """A subscription of a customer made elsewhere (no user named): the handler asks Stripe
    for the customer, which Stripe does not have."""
    return fake.event(
        "customer.subscription.updated",
        {"id": "sub_elsewhere", "object": "subscription", "customer": "cus_gone", "metadata": {}},
    )


def _deliver(client, event: dict, capture) -> WebhookEvent:
    with capture(execute=True):
        response = webhook_post(client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    return WebhookEvent.objects.get(event_id=event["id"])


def _age(event: WebhookEvent, **delta) -> None:
    """Time passes: the event arrived, and its retry fell due, that long ago."""
    past = timezone.now() - timedelta(**delta)
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=past, retry_at=past if event.retry_at else None
    )


@pytest.mark.parametrize("status", [500, 503])
def test_a_stripe_outage_fails_the_event_for_a_retry_that_then_applies_it(
    client, fake_stripe, status, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(status=status, times=ONE_CALL)
    capture = django_capture_on_commit_callbacks
    event = _deliver(client, _unknown_customer_event(fake_stripe), capture)

    assert (event.status, event.attempts, event.retryable) == ("failed", 1, True)
    assert event.retry_at > timezone.now()
    assert "Fake Stripe was told to fail." in event.last_error

    _age(event, minutes=2)  # the retry was lost: the recovery queues it again
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_recover.delay().get() == 1

    event.refresh_from_db()
    # Stripe answers now: the customer is unknown there, a permanent refusal, not retried.
    assert (event.status, event.attempts, event.retryable) == ("failed", 2, False)
    assert event.last_error.startswith("InvalidRequestError: ")


def test_a_resource_missing_answer_leaves_the_event_failed_with_the_error_never_retried(
    client, fake_stripe, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.WARNING, logger=STRIPE_LOGGER)
    capture = django_capture_on_commit_callbacks
    event = _deliver(client, _unknown_customer_event(fake_stripe), capture)

    assert (event.status, event.attempts, event.retryable, event.retry_at) == (
        "failed",
        1,
        False,
        None,
    )
    assert re.fullmatch(
        r"InvalidRequestError: Request req_\w+: No such customer: 'cus_gone'", event.last_error
    )
    assert len(fake_stripe.requests_to("GET", "/v1/customers/cus_gone")) == 1  # not retried
    [log] = [r for r in caplog.records if r.name == STRIPE_LOGGER]
    assert log.levelno == logging.ERROR
    assert "failed for good on attempt 1 (permanent)" in log.getMessage()

    _age(event, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_reconcile.delay().get() == 0
        assert webhook_events_recover.delay().get() == 0
    webhook_event_process.delay(event_id=str(event.pk))  # a stray copy of its task

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 1)
    assert len(fake_stripe.requests_to("GET", "/v1/customers/cus_gone")) == 1


def test_a_key_stripe_refuses_is_a_permanent_failure(
    client, fake_stripe, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = "sk_test_revoked"

    capture = django_capture_on_commit_callbacks
    event = _deliver(client, _unknown_customer_event(fake_stripe), capture)

    assert (event.status, event.attempts, event.retryable) == ("failed", 1, False)
    assert re.fullmatch(
        r"AuthenticationError: Request req_\w+: Invalid API Key provided.", event.last_error
    )


def test_the_attempts_cap_holds_across_the_task_retries_and_the_reconcile_together(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(status=500, times=1000)  # Stripe stays down
    capture = django_capture_on_commit_callbacks
    event = _deliver(client, _unknown_customer_event(fake_stripe), capture)

    for _ in range(WEBHOOK_MAX_ATTEMPTS + 5):
        _age(event, minutes=10)
        with suppress(Exception):  # the eager task raises its retry, or its last error
            webhook_event_process.delay(event_id=str(event.pk))  # the task's retry chain
        with suppress(Exception), django_capture_on_commit_callbacks(execute=True):
            webhook_events_reconcile.delay()
        with suppress(Exception), django_capture_on_commit_callbacks(execute=True):
            webhook_events_recover.delay()
        event.refresh_from_db()

    assert (event.status, event.attempts, event.retryable, event.retry_at) == (
        "failed",
        WEBHOOK_MAX_ATTEMPTS,
        False,
        None,
    )
    calls = fake_stripe.requests_to("GET", "/v1/customers/cus_gone")
    assert len(calls) == WEBHOOK_MAX_ATTEMPTS * ONE_CALL


def test_an_unexpected_event_type_is_logged_once_per_type_per_interval(
    settings, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.WARNING, logger=STRIPE_LOGGER)
    new_type, other_type = f"radar.test_{uuid.uuid4().hex[:6]}", f"radar.x_{uuid.uuid4().hex[:6]}"

    def store(event_type: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            webhook_event_store(
                provider="stripe",
                event_id=f"evt_{uuid.uuid4().hex}",
                event_type=event_type,
                occurred_at=None,
                payload={},
            )

    for event_type in (new_type, new_type, other_type, new_type):
        store(event_type)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"No handler for stripe webhook events of type '{new_type}'; they are stored and "
        "ignored (stop the provider sending them, or add a handler)",
        f"No handler for stripe webhook events of type '{other_type}'; they are stored and "
        "ignored (stop the provider sending them, or add a handler)",
    ]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"ignored"}

    settings.LMS_WEBHOOK_UNHANDLED_LOG_SECONDS = 0  # the interval has passed
    store(new_type)
    assert sum(new_type in r.getMessage() for r in caplog.records) == 2


def _stripe_error(call) -> Exception:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("no error")


def test_stripe_errors_are_transient_only_for_outages_and_rate_limits(fake_stripe, settings):
    customers = stripe_client().v1.customers

    fake_stripe.fail_next(status=429)  # the SDK does not retry a 429 itself
    limited = _stripe_error(lambda: customers.retrieve("cus_any"))
    fake_stripe.fail_next(status=502, times=ONE_CALL)
    down = _stripe_error(lambda: customers.retrieve("cus_any"))
    missing = _stripe_error(lambda: customers.retrieve("cus_gone"))
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens: connection refused
    unreachable = _stripe_error(lambda: stripe_client().v1.customers.retrieve("cus_any"))

    assert [type(e).__name__ for e in (limited, down, missing, unreachable)] == [
        "RateLimitError",
        "APIError",
        "InvalidRequestError",
        "APIConnectionError",
    ]
    assert [error_is_transient(e) for e in (limited, down, missing, unreachable)] == [
        True,
        True,
        False,
        True,
    ]
    # What services raise from them keeps the answer (`billing.services` wraps SDK errors).
    try:
        raise BillingUnavailableError from down
    except BillingUnavailableError as wrapped:
        assert error_is_transient(wrapped) is True


def test_mux_errors_are_transient_only_for_outages(fake_mux):
    try:
        mux.mux_asset_get("asset-missing")
    except mux.ApiException as error:
        missing = error
    fake_mux.fail_next(503)
    try:
        mux.mux_asset_get("asset-missing")
    except mux.ApiException as error:
        outage = error

    assert (missing.status, error_is_transient(missing)) == (404, False)
    assert (outage.status, error_is_transient(outage)) == (503, True)
    # Not Mux's, and not a network error: a bug, never retried.
    assert error_is_transient(FileNotFoundError("/tmp/nothing")) is False
    assert error_is_transient(ConnectionResetError("peer went away")) is True
