"""Signed webhook deliveries for `make bench`: a new Stripe or Mux event every request.

Signed the way the providers sign them, so the site's verifiers accept them: Stripe's
`Stripe-Signature` made by the stripe SDK's own helper, Mux's `Mux-Signature:
t=<time>,v1=<HMAC-SHA256 of "<t>.<body>">` (media/webhooks.py). Each request carries a fresh
event id, so every one is a first delivery: verified, stored and queued for processing.

The events are ones a handler takes and finds nothing to do with, so nothing reaches a
provider even where the processing runs (eager Celery without Redis): a paid one-off invoice
(no subscription) and an update of an asset this site does not have.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime

import stripe

from bench.calls import Call, CallFor

STRIPE_PATH = "/webhooks/stripe/"
MUX_PATH = "/webhooks/mux/"


def stripe_event() -> dict:
    event_id = f"evt_bench_{uuid.uuid4().hex}"
    return {
        "id": event_id,
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-03-31.basil",
        "data": {
            "object": {
                "id": f"in_bench_{uuid.uuid4().hex[:16]}",
                "object": "invoice",
                "customer": "cus_bench",
                "status": "paid",
                "amount_paid": 1500,
                "currency": "usd",
                "parent": None,
            }
        },
    }


def stripe_calls(*, secret: str) -> CallFor:
    def call_for(thread: int, number: int) -> Call:
        body = json.dumps(stripe_event())
        header = stripe.WebhookSignature.generate_signature_header(body, secret)
        return Call(
            "POST",
            STRIPE_PATH,
            body.encode(),
            {"Content-Type": "application/json", "Stripe-Signature": header},
        )

    return call_for


def mux_signature(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def mux_event() -> dict:
    asset_id = f"bench-asset-{uuid.uuid4().hex[:12]}"
    return {
        "type": "video.asset.updated",
        "id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "object": {"type": "asset", "id": asset_id},
        "environment": {"name": "bench", "id": "bench"},
        "data": {"id": asset_id, "status": "ready", "passthrough": None},
    }


def mux_calls(*, secret: str) -> CallFor:
    def call_for(thread: int, number: int) -> Call:
        body = json.dumps(mux_event()).encode()
        return Call(
            "POST",
            MUX_PATH,
            body,
            {
                "Content-Type": "application/json",
                "Mux-Signature": mux_signature(body, secret=secret),
            },
        )

    return call_for
