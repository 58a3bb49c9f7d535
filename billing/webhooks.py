"""Stripe webhooks: `POST /webhooks/stripe/` verifies, stores and acknowledges; handlers apply.

The SDK verifies the `Stripe-Signature` header against `STRIPE_WEBHOOK_SECRET`; a signature
dated more than 300 s before or after our clock is refused (the SDK checks only the past).
The event goes to the shared inbox (`lms.webhooks`), unique by event id; the handlers below
run in a Celery task after commit. None of them trusts the event's copy of the object: each
re-reads the subscription from Stripe (`billing.services.subscription_sync`), so duplicates
and events delivered out of order all converge on Stripe's current state.
"""

import time
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.gateway import stripe_object_id
from billing.services import invoice_payment_failed_notify, subscription_sync
from lms.errors import ErrorCode
from lms.models import WebhookEvent
from lms.webhooks import (
    WebhookRejectedError,
    webhook_handler,
    webhook_payload_parse,
    webhook_receive,
)

STRIPE = WebhookEvent.Provider.STRIPE
SIGNATURE_TOLERANCE_SECONDS = 300


def stripe_signature_verify(*, body: bytes, header: str | None, secret: str) -> None:
    """Check the signature with the SDK; raise `WebhookRejectedError`.

    Checked twice, both times by the SDK: without a time limit (is it Stripe's signature at
    all?), then with the tolerance, so a genuine but replayed delivery gets its own code.
    The SDK only refuses timestamps too far in the past; one too far in the future (a
    signature made ahead of time to outlive the tolerance, or a badly wrong clock) is refused
    here, as Mux's are.
    """
    verify = stripe.WebhookSignature.verify_header
    try:
        verify(body, header, secret, tolerance=None)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise WebhookRejectedError(ErrorCode.WEBHOOK_SIGNATURE_INVALID) from None
    try:
        verify(body, header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        raise WebhookRejectedError(ErrorCode.WEBHOOK_TIMESTAMP_STALE) from None
    if _signature_timestamp(header or "") > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        raise WebhookRejectedError(ErrorCode.WEBHOOK_TIMESTAMP_STALE)


def _signature_timestamp(header: str) -> int:
    """The `t=` of a header the SDK has verified, read the way the SDK reads it (the first
    `t` item), so the time checked is the time that was signed."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def _event_fields(payload: dict) -> tuple[str, str, datetime]:
    """The id, type and time of a Stripe event; raises WebhookRejectedError."""
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    problems = []
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        problems.append("id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        problems.append("type")
    if isinstance(created, bool) or not isinstance(created, int) or not 0 < created < 2**37:
        problems.append("created")
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        problems.append("data.object")
    if problems:
        raise WebhookRejectedError(
            ErrorCode.WEBHOOK_PAYLOAD_INVALID, f"The event has no valid {', '.join(problems)}."
        )
    return event_id, event_type, datetime.fromtimestamp(created, tz=UTC)


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, store and acknowledge one Stripe event; a redelivered event is acknowledged too."""
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")

    def verify(body: bytes) -> tuple[dict, str, str, datetime]:
        stripe_signature_verify(
            body=body, header=request.headers.get("Stripe-Signature"), secret=secret
        )
        payload = webhook_payload_parse(body)
        return (payload, *_event_fields(payload))

    return webhook_receive(
        request,
        provider=STRIPE,
        verify=verify if secret else None,
        not_configured=(
            "Stripe webhooks are not configured on this site: set STRIPE_WEBHOOK_SECRET."
        ),
    )


# --- Handlers (registered by BillingConfig.ready) -----------------------------------------


def _object(event: WebhookEvent) -> dict:
    return event.payload["data"]["object"]


def _user_id(stripe_object: dict) -> str | None:
    metadata = stripe_object.get("metadata")
    return metadata.get("user_id") if isinstance(metadata, dict) else None


@webhook_handler(STRIPE, "checkout.session.completed")
def stripe_checkout_completed(event: WebhookEvent) -> None:
    """A checkout finished: store the subscription it started (as Stripe has it now)."""
    session = _object(event)
    subscription_id, customer_id = (
        stripe_object_id(session.get("subscription")),
        stripe_object_id(session.get("customer")),
    )
    if session.get("mode") != "subscription" or not subscription_id or not customer_id:
        return
    subscription_sync(
        subscription_id=subscription_id,
        customer_id=customer_id,
        user_id=session.get("client_reference_id") or _user_id(session),
    )


@webhook_handler(
    STRIPE,
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
def stripe_subscription_changed(event: WebhookEvent) -> None:
    """Created, renewed, switched plan, cancelled: store the subscription as Stripe has it now."""
    subscription = _object(event)
    subscription_id, customer_id = (
        stripe_object_id(subscription.get("id")),
        stripe_object_id(subscription.get("customer")),
    )
    if subscription_id and customer_id:
        subscription_sync(
            subscription_id=subscription_id,
            customer_id=customer_id,
            user_id=_user_id(subscription),
        )


def _invoice_subscription_id(invoice: dict) -> str:
    """The invoice's subscription: under `parent` since API 2025-03, at the top before."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_object_id(details.get("subscription")) or stripe_object_id(
        invoice.get("subscription")
    )


@webhook_handler(STRIPE, "invoice.paid", "invoice.payment_failed")
def stripe_invoice_changed(event: WebhookEvent) -> None:
    """A renewal was paid or failed: store the subscription's new status; a failure is
    emailed once per invoice, with a link to update the payment method."""
    invoice = _object(event)
    subscription_id = _invoice_subscription_id(invoice)
    customer_id = stripe_object_id(invoice.get("customer"))
    if not subscription_id or not customer_id:
        return  # a one-off invoice: nothing to do with access
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = subscription_sync(
        subscription_id=subscription_id,
        customer_id=customer_id,
        user_id=_user_id(details),
    )
    if subscription is not None and event.event_type == "invoice.payment_failed":
        invoice_payment_failed_notify(
            subscription=subscription, invoice_id=stripe_object_id(invoice.get("id"))
        )
