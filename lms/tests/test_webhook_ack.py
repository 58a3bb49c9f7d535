"""Acknowledging a webhook is verify, one insert and a publish after commit: nothing else.

Deliveries are signed as the providers sign them (Stripe's SDK helper, Mux's HMAC scheme);
the event types used have no handler, so processing marks them ignored and reaches nothing
outside. Query budgets count what the request runs; on-commit callbacks run afterwards.
"""

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.tests.fake_stripe import WEBHOOK_SECRET, signature_header
from lms.models import WebhookEvent
from lms.tasks import webhook_events_recover

pytestmark = pytest.mark.django_db

MUX_SECRET = "mux-signing-secret"
# The insert; a savepoint pair would make 3, and is what the budget leaves no room for.
ACK_QUERIES = 1


@pytest.fixture(autouse=True)
def _configured(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.MUX_WEBHOOK_SECRETS = [MUX_SECRET]


def stripe_post(client, event_id: str):
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "lms-test.stripe-unhandled",
            "created": int(time.time()),
            "data": {"object": {"id": "obj_1", "object": "thing"}},
        }
    )
    return client.post(
        reverse("billing:stripe-webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(body),
    )


def mux_post(client, event_id: str):
    body = json.dumps(
        {
            "type": "lms-test.mux-unhandled",
            "id": event_id,
            "created_at": timezone.now().isoformat(),
            "data": {"id": "asset-1"},
        }
    ).encode()
    timestamp = int(time.time())
    digest = hmac.new(MUX_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return client.post(
        reverse("mux-webhook"),
        data=body,
        content_type="application/json",
        HTTP_MUX_SIGNATURE=f"t={timestamp},v1={digest.hexdigest()}",
    )


PROVIDERS = [
    pytest.param("stripe", stripe_post, id="stripe"),
    pytest.param("mux", mux_post, id="mux"),
]


@pytest.mark.parametrize(("provider", "post"), PROVIDERS)
def test_a_new_event_is_acknowledged_with_one_insert_and_processed_after_commit(
    client, provider, post, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    event_id = f"evt_{uuid.uuid4().hex}"
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        django_assert_max_num_queries(ACK_QUERIES),
    ):
        response = post(client, event_id)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get(provider=provider, event_id=event_id)
    assert event.status == WebhookEvent.Status.RECEIVED  # nothing processed on the request
    assert len(callbacks) == 1  # the publish, once committed

    callbacks[0]()

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.IGNORED, 1)


@pytest.mark.parametrize(("provider", "post"), PROVIDERS)
def test_a_redelivered_event_is_acknowledged_with_one_insert_and_not_processed_again(
    client, provider, post, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    event_id = f"evt_{uuid.uuid4().hex}"
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event_id)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        django_assert_max_num_queries(ACK_QUERIES),
    ):
        response = post(client, event_id)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": True}
    assert callbacks == []  # nothing queued again
    event = WebhookEvent.objects.get(provider=provider, event_id=event_id)
    assert (event.status, event.attempts) == (WebhookEvent.Status.IGNORED, 1)


@pytest.mark.parametrize(("provider", "post"), PROVIDERS)
def test_an_event_whose_publish_was_lost_is_processed_once_by_the_recovery(
    client, provider, post, settings, django_capture_on_commit_callbacks
):
    settings.LMS_WEBHOOK_LOST_AFTER_SECONDS = 60
    event_id = f"evt_{uuid.uuid4().hex}"
    # The process died between the commit and the publish: the callback never ran.
    with django_capture_on_commit_callbacks(execute=False):
        post(client, event_id)
    event = WebhookEvent.objects.get(provider=provider, event_id=event_id)
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=2)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_recover() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_recover() == 0
        post(client, event_id)  # a late redelivery changes nothing

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.IGNORED, 1)
    assert WebhookEvent.objects.filter(provider=provider, event_id=event_id).count() == 1


def test_a_badly_signed_delivery_stores_nothing(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        response = client.post(
            reverse("billing:stripe-webhook"),
            data=json.dumps({"id": "evt_forged", "type": "x", "created": 1, "data": {}}),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={int(time.time())},v1={'0' * 64}",
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert not WebhookEvent.objects.exists()
