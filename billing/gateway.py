"""Stripe's API through its SDK: the configured client, and what its errors mean to us.

Configured by `STRIPE_SECRET_KEY`; `STRIPE_API_BASE` is only changed by tests, which point
the SDK at a loopback fake of Stripe's API. Without a key `billing_enabled()` is false: the
pricing page says payments are off and every call raises `BillingNotConfiguredError`.
"""

import stripe
from django.conf import settings

from lms.errors import ApplicationError, ErrorCode, transient_error_classifier

DEFAULT_API_BASE = "https://api.stripe.com"
# The SDK retries network errors, 409s and 5xx with backoff, reusing the idempotency key it
# sends with every POST, so a retried create never makes two objects.
MAX_NETWORK_RETRIES = 2


class BillingNotConfiguredError(ApplicationError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.BILLING_NOT_CONFIGURED)


class BillingUnavailableError(ApplicationError):
    """Stripe could not be reached or failed; nothing was changed on our side."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.BILLING_UNAVAILABLE)


def billing_enabled() -> bool:
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def stripe_client() -> stripe.StripeClient:
    """A client for the configured account (built per call: settings may change in tests)."""
    if not billing_enabled():
        raise BillingNotConfiguredError
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": (settings.STRIPE_API_BASE or DEFAULT_API_BASE).rstrip("/")},
        max_network_retries=MAX_NETWORK_RETRIES,
    )


# Statuses Stripe answers for "try again": a request timeout, a lock conflict between two
# requests for one object (409 lock_timeout), rate limiting, and its own failures (5xx).
TRANSIENT_HTTP_STATUSES = frozenset({408, 409, 425, 429})


@transient_error_classifier
def stripe_error_is_transient(error: BaseException) -> bool:
    """Whether a Stripe call that raised `error` may succeed later.

    Transient: Stripe unreachable (connection errors, timeouts: no status), rate limiting, lock
    conflicts and Stripe's 5xx. Permanent: every other 4xx (`resource_missing`, a bad request,
    a revoked key, a declined card): the same request gets the same answer. Registered with
    `lms.errors`, so webhook processing retries only what this says is transient.
    """
    if not isinstance(error, stripe.StripeError):
        return False
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = error.http_status
    if status is None:
        # An error raised before any answer, e.g. a response that was not JSON: Stripe's API
        # was not itself answering, so it may well answer next time.
        return isinstance(error, stripe.APIError)
    return status in TRANSIENT_HTTP_STATUSES or status >= 500


def stripe_error_is_missing(error: stripe.StripeError) -> bool:
    """Whether Stripe answered that the object does not exist (as opposed to an outage)."""
    return isinstance(error, stripe.InvalidRequestError) and error.code == "resource_missing"


def stripe_object_id(value: object) -> str:
    """An object's id whether Stripe sent the id or the expanded object ("" when neither)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def stripe_dashboard_url(path: str) -> str:
    """The Stripe dashboard page of an object, in test mode when the key is a test key."""
    mode = "test/" if settings.STRIPE_SECRET_KEY.startswith(("sk_test", "rk_test")) else ""
    return f"https://dashboard.stripe.com/{mode}{path.lstrip('/')}"
