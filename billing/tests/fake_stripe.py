"""A loopback fake of the parts of Stripe's API we call, for the real `stripe` SDK to talk to.

`FakeStripe` is an `http.server` in a thread on 127.0.0.1 with a free port. Like Stripe it
checks the bearer key, decodes the SDK's form encoding (`metadata[user_id]=3`,
`line_items[0][price]=p`), answers errors in Stripe's shape (so the SDK raises its own
exception classes), replays POSTs that repeat an `Idempotency-Key`, and records every request.
Tests tell it what happened at Stripe meanwhile (`checkout_complete`, `invoice_payment_failed`,
...): each such call changes the fake's state and returns the events Stripe would send, which
`webhook_post` signs and posts to our webhook view. Events are snapshots; the fake's current
state may move on after them, as Stripe's does, which is why our handlers re-fetch.

A test module gets the fixture by importing it (`from billing.tests.fake_stripe import
fake_stripe_fixture`), or a conftest can register it for all.
"""

import copy
import html
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

API_KEY = "sk_test_fake_stripe"
WEBHOOK_SECRET = "whsec_fake_stripe"
API_VERSION = "2026-10-28.endive"

DAY = 24 * 60 * 60
# Periods are fixed lengths: enough for tests that compare dates we store with Stripe's.
PERIOD_SECONDS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}
DEFAULT_TRIAL_DAYS = 14


@dataclass
class Recorded:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    authorized: bool


class _Answer(Exception):
    """A non-2xx answer in Stripe's error shape, raised out of the router."""

    def __init__(self, status: int, message: str, **error: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = {"type": "invalid_request_error", "message": message, **error}


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _new_object(prefix: str, kind: str, **fields: Any) -> dict:
    now = int(time.time())
    return {"id": _new_id(prefix), "object": kind, "created": now, "livemode": False, **fields}


def _missing(param: str) -> _Answer:
    return _Answer(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def _no_such(noun: str, object_id: str, *, status: int = 404, param: str = "id") -> _Answer:
    message = f"No such {noun}: '{object_id}'"
    return _Answer(status, message, code="resource_missing", param=param)


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's bracketed form keys as nested dicts, with `[0]`, `[1]`... made into lists."""
    root: dict = {}
    for key, value in pairs:
        name, _, rest = key.partition("[")
        parts = [name, *rest[:-1].split("][")] if rest else [name]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root, "")


def _listify(node: Any, key: str) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v, k) for k, v in node.items()}
    # Metadata keys are the caller's own words, even when they look like indexes.
    if items and key != "metadata" and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


@dataclass
class FakeStripe:
    api_key: str = API_KEY
    # Price id -> {"interval", "unit_amount", "currency"}; unknown prices are monthly, $10.
    prices: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    checkout_sessions: dict[str, dict] = field(default_factory=dict)
    portal_sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    # Idempotency-Key -> (method, path, params, payload) of the first successful answer.
    idempotent: dict[str, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Re-entrant: control methods call each other and `event()` while holding it.
        self._lock = threading.RLock()
        self._held_release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            do_POST = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "FakeStripe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_held()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` authorized API requests with a Stripe `api_error`."""
        with self._lock:
            self.failures.extend([status] * times)

    def hold_next(self, method: str, path_prefix: str) -> threading.Event:
        """Keep the next `method` request under `path_prefix` unanswered until `release_held()`
        (a Stripe that stopped answering mid-call); returns an Event set once it is held."""
        held = threading.Event()
        with self._lock:
            self._hold = (method, path_prefix, held)
        return held

    def release_held(self) -> None:
        """Let a held request go, unanswered: its client (a killed worker) is gone anyway."""
        self._held_release.set()

    def _take_hold(self, method: str, path: str) -> bool:
        with self._lock:
            hold = getattr(self, "_hold", None)
            if hold is None or method != hold[0] or not path.startswith(hold[1]):
                return False
            self._hold = None
        hold[2].set()
        self._held_release.wait(timeout=300)
        return True

    def requests_to(self, method: str, path_prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # --- what happened at Stripe meanwhile (each returns the events Stripe would send) -------
    def event(self, type: str, obj: dict) -> dict:
        return {
            "id": _new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": type,
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }

    def customer_create(self, *, email: str, name: str = "", metadata: dict | None = None) -> dict:
        with self._lock:
            return copy.deepcopy(self._customer_new(email=email, name=name, metadata=metadata))

    def checkout_complete(self, session_id: str, *, trial: bool = False) -> list[dict]:
        """The customer paid on the checkout page: subscription, first invoice, session done."""
        with self._lock:
            session = self.checkout_sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"checkout session {session_id} is {session['status']}")
            sub_data = session.get("subscription_data") or {}
            trial_days = int(sub_data.get("trial_period_days") or DEFAULT_TRIAL_DAYS)
            sub, sub_events = self.subscription_create(
                customer=session["customer"],
                price=session["line_items_price"],
                status="trialing" if trial else "active",
                metadata=sub_data.get("metadata") or {},
                trial_days=trial_days if trial else None,
            )
            session.update(status="complete", payment_status="paid", subscription=sub["id"])
            return [self.event("checkout.session.completed", session), *sub_events]

    def subscription_create(
        self,
        *,
        customer: str,
        price: str,
        status: str = "active",
        metadata: dict | None = None,
        trial_days: int | None = None,
    ) -> tuple[dict, list[dict]]:
        with self._lock:
            if customer not in self.customers:
                raise KeyError(customer)
            now = int(time.time())
            item = {"id": _new_id("si_"), "object": "subscription_item", "quantity": 1}
            sub = _new_object(
                "sub_",
                "subscription",
                customer=customer,
                status=status,
                metadata=dict(metadata or {}),
                cancel_at_period_end=False,
                cancel_at=None,
                canceled_at=None,
                ended_at=None,
                trial_start=now if trial_days else None,
                trial_end=now + trial_days * DAY if trial_days else None,
                latest_invoice=None,
                items={"object": "list", "data": [item], "has_more": False},
            )
            self._item_set_price(sub, price, period_start=now, period_end=sub["trial_end"])
            self.subscriptions[sub["id"]] = sub
            paid = status in ("active", "trialing")
            invoice = self._invoice_new(sub, paid=paid, amount=0 if trial_days else None)
            events = [self.event("customer.subscription.created", sub)]
            if paid:
                events.append(self.event("invoice.paid", invoice))
            return copy.deepcopy(sub), events

    def subscription_change_price(self, sub_id: str, price: str) -> list[dict]:
        """A plan switch: a new interval starts a new period now, as Stripe does."""
        with self._lock:
            sub = self.subscriptions[sub_id]
            item = sub["items"]["data"][0]
            if self._price(price)["recurring"] == item["price"]["recurring"]:
                self._item_set_price(sub, price, period_start=item["current_period_start"])
            else:
                self._item_set_price(sub, price, period_start=int(time.time()))
            return [self.event("customer.subscription.updated", sub)]

    def subscription_cancel_at_period_end(self, sub_id: str) -> list[dict]:
        with self._lock:
            sub = self.subscriptions[sub_id]
            end = sub["items"]["data"][0]["current_period_end"]
            sub.update(cancel_at_period_end=True, cancel_at=end)
            return [self.event("customer.subscription.updated", sub)]

    def subscription_cancel(self, sub_id: str) -> list[dict]:
        with self._lock:
            sub = self.subscriptions[sub_id]
            now = int(time.time())
            sub.update(status="canceled", canceled_at=now, ended_at=now)
            return [self.event("customer.subscription.deleted", sub)]

    def invoice_payment_failed(self, sub_id: str) -> list[dict]:
        with self._lock:
            sub = self.subscriptions[sub_id]
            invoice = self._invoice_new(sub, paid=False)
            invoice.update(attempt_count=1, next_payment_attempt=int(time.time()) + 3 * DAY)
            sub["status"] = "past_due"
            return [
                self.event("invoice.payment_failed", invoice),
                self.event("customer.subscription.updated", sub),
            ]

    def invoice_paid(self, sub_id: str) -> list[dict]:
        """The latest open invoice is paid (a retried charge succeeded), or a new one is."""
        with self._lock:
            sub = self.subscriptions[sub_id]
            open_invoices = [
                i
                for i in self.invoices.values()
                if i["status"] == "open"
                and i["parent"]["subscription_details"]["subscription"] == sub_id
            ]
            if open_invoices:
                invoice = open_invoices[-1]
                invoice.update(
                    status="paid",
                    amount_paid=invoice["amount_due"],
                    attempt_count=invoice["attempt_count"] + 1,
                    next_payment_attempt=None,
                )
                sub["latest_invoice"] = invoice["id"]
            else:
                invoice = self._invoice_new(sub, paid=True)
            sub["status"] = "active"
            return [
                self.event("invoice.paid", invoice),
                self.event("customer.subscription.updated", sub),
            ]

    def subscription_period_elapse(self, sub_id: str, *, ended_seconds_ago: int) -> None:
        """Time passed: the current period ended `ended_seconds_ago`, with no renewal (yet).
        Nothing happened at Stripe, so there is no event."""
        with self._lock:
            item = self.subscriptions[sub_id]["items"]["data"][0]
            length = item["current_period_end"] - item["current_period_start"]
            item["current_period_end"] = int(time.time()) - ended_seconds_ago
            item["current_period_start"] = item["current_period_end"] - length

    def subscription_renew(self, sub_id: str) -> list[dict]:
        """The next period is charged and starts where the last one ended, as at each renewal."""
        with self._lock:
            sub = self.subscriptions[sub_id]
            item = sub["items"]["data"][0]
            self._item_set_price(sub, item["price"]["id"], period_start=item["current_period_end"])
            invoice = self._invoice_new(sub, paid=True)
            sub["status"] = "active"
            return [
                self.event("invoice.paid", invoice),
                self.event("customer.subscription.updated", sub),
            ]

    def subscription_set_status(self, sub_id: str, status: str) -> list[dict]:
        with self._lock:
            sub = self.subscriptions[sub_id]
            sub["status"] = status
            return [self.event("customer.subscription.updated", sub)]

    # --- state (callers hold the lock) --------------------------------------------------------
    def _price(self, price_id: str) -> dict:
        spec = {"interval": "month", "unit_amount": 1000, "currency": "usd"}
        spec.update(self.prices.get(price_id, {}))
        recurring = {"interval": spec.pop("interval")}
        return {"id": price_id, "object": "price", "recurring": recurring, **spec}

    def _item_set_price(
        self, sub: dict, price_id: str, *, period_start: int, period_end: int | None = None
    ) -> None:
        item = sub["items"]["data"][0]
        item["price"] = self._price(price_id)
        length = PERIOD_SECONDS[item["price"]["recurring"]["interval"]]
        item["current_period_start"] = period_start
        item["current_period_end"] = period_end or period_start + length

    def _customer_new(self, *, email: str | None, name: str | None, metadata: dict | None) -> dict:
        customer = _new_object(
            "cus_", "customer", email=email, name=name, metadata=dict(metadata or {})
        )
        self.customers[customer["id"]] = customer
        return customer

    def _invoice_new(self, sub: dict, *, paid: bool, amount: int | None = None) -> dict:
        price = sub["items"]["data"][0]["price"]
        amount = price["unit_amount"] if amount is None else amount
        details = {"subscription": sub["id"], "metadata": dict(sub["metadata"])}
        invoice = _new_object(
            "in_",
            "invoice",
            customer=sub["customer"],
            status="paid" if paid else "open",
            attempt_count=1 if paid else 0,
            next_payment_attempt=None,
            amount_due=amount,
            amount_paid=amount if paid else 0,
            currency=price["currency"],
            parent={"type": "subscription_details", "subscription_details": details},
        )
        invoice["hosted_invoice_url"] = f"{self.url}/invoice/{invoice['id']}"
        self.invoices[invoice["id"]] = invoice
        sub["latest_invoice"] = invoice["id"]
        return invoice

    # --- HTTP ---------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        query = raw if handler.command == "POST" else url.query
        params = decode_form(parse_qsl(query, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key")
        auth = handler.headers.get("Authorization")
        authorized = auth == f"Bearer {self.api_key}"
        with self._lock:
            self.requests.append(Recorded(handler.command, url.path, params, key, authorized))
        if not url.path.startswith("/v1/"):
            return self._send_page(handler, url.path)
        if not authorized:
            message = "Invalid API Key provided." if auth else "You did not provide an API key."
            error = {"type": "invalid_request_error", "message": message}
            return self._send(handler, 401, {"error": error})
        if self._take_hold(handler.command, url.path):
            return None
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            # Not saved for the idempotency key: the SDK's retry of this POST must get through.
            error = {"type": "api_error", "message": "Fake Stripe was told to fail."}
            return self._send(handler, failure, {"error": error})
        with self._lock:
            status, payload, replayed = self._answer(handler.command, url.path, params, key)
        self._send(handler, status, payload, replayed=replayed)

    def _answer(
        self, method: str, path: str, params: dict, key: str | None
    ) -> tuple[int, dict, bool]:
        """Route one API request, replaying the saved answer for a repeated idempotency key."""
        if method == "POST" and key in self.idempotent:
            *first_request, payload = self.idempotent[key]
            if first_request == [method, path, params]:
                return 200, payload, True
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}'."
            )
            return 400, {"error": {"type": "idempotency_error", "message": message}}, False
        try:
            obj = self._route(method, path, params)
        except _Answer as answer:
            return answer.status, {"error": answer.error}, False
        payload = copy.deepcopy(obj)
        if method == "POST" and key:
            self.idempotent[key] = (method, path, params, payload)
        return 200, payload, False

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        # Retrievable objects by path, with what Stripe calls them in "No such ..." messages.
        stores = {
            ("customers",): ("customer", self.customers),
            ("checkout", "sessions"): ("checkout.session", self.checkout_sessions),
            ("subscriptions",): ("subscription", self.subscriptions),
            ("invoices",): ("invoice", self.invoices),
        }
        if method == "POST" and parts == ["customers"]:
            return self._customer_new(
                email=params.get("email"), name=params.get("name"), metadata=params.get("metadata")
            )
        if method == "POST" and parts == ["checkout", "sessions"]:
            return self._checkout_session_new(params)
        if method == "POST" and parts == ["billing_portal", "sessions"]:
            return self._portal_session_new(params)
        if method == "GET" and parts == ["subscriptions"]:
            return self._subscription_list(params)
        if method == "GET" and tuple(parts[:-1]) in stores:
            noun, store = stores[tuple(parts[:-1])]
            if parts[-1] not in store:
                raise _no_such(noun, parts[-1])
            return store[parts[-1]]
        raise _Answer(404, f"Unrecognized request URL ({method}: {path}).")

    def _require(self, params: dict, *names: str) -> None:
        for name in names:
            value: Any = params
            for part in name.replace("]", "").split("["):
                if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    value = value.get(part) if isinstance(value, dict) else None
            if value in (None, ""):
                raise _missing(name)

    def _checkout_session_new(self, params: dict) -> dict:
        self._require(
            params, "mode", "customer", "line_items[0][price]", "success_url", "cancel_url"
        )
        if params["customer"] not in self.customers:
            raise _no_such("customer", params["customer"], status=400, param="customer")
        given = {key: value for key, value in params.items() if key != "expand"}
        session = {**given, **_new_object("cs_test_", "checkout.session")}
        session.update(
            status="open",
            payment_status="unpaid",
            subscription=None,
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata") or {},
            allow_promotion_codes=params.get("allow_promotion_codes") == "true",
            line_items_price=params["line_items"][0]["price"],
        )
        session["url"] = f"{self.url}/pay/{session['id']}"
        self.checkout_sessions[session["id"]] = session
        return session

    def _portal_session_new(self, params: dict) -> dict:
        self._require(params, "customer")
        if params["customer"] not in self.customers:
            raise _no_such("customer", params["customer"], status=400, param="customer")
        session = _new_object(
            "bps_",
            "billing_portal.session",
            customer=params["customer"],
            return_url=params.get("return_url"),
        )
        session["url"] = f"{self.url}/portal/{session['id']}"
        self.portal_sessions[session["id"]] = session
        return session

    def _subscription_list(self, params: dict) -> dict:
        """Newest first; without `status`, canceled ones are left out, as Stripe does."""
        wanted = params.get("status")
        data = [
            sub
            for sub in reversed(self.subscriptions.values())
            if params.get("customer") in (None, sub["customer"])
            and (
                wanted == "all"
                or sub["status"] == wanted
                or (wanted is None and sub["status"] != "canceled")
            )
        ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/subscriptions"}

    def _send_page(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        """The pages a browser is sent to: checkout, the customer portal, a hosted invoice."""
        kind, _, object_id = path.strip("/").partition("/")
        with self._lock:
            if kind == "pay" and object_id in self.checkout_sessions:
                price = self.checkout_sessions[object_id]["line_items_price"]
                body = f"<h1>Fake Stripe Checkout</h1><p>{object_id}</p><p>{html.escape(price)}</p>"
            elif kind == "portal" and object_id in self.portal_sessions:
                body = f"<h1>Fake Stripe customer portal</h1><p>{object_id}</p>"
            elif kind == "invoice" and object_id in self.invoices:
                body = f"<h1>Fake Stripe invoice</h1><p>{object_id}</p>"
            else:
                body = f"<h1>Not found</h1><p>{html.escape(path)}</p>"
            status = 404 if body.startswith("<h1>Not found") else 200
        data = f"<!doctype html><title>Fake Stripe</title>{body}".encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, payload: dict, *, replayed: bool = False
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Request-Id", _new_id("req_"))
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def signature_header(
    body: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """A `Stripe-Signature` header for `body`, made by the SDK's own helper."""
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)


def webhook_post(client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp=None):
    """Deliver `event` to our webhook view the way Stripe does (works with Django's Client)."""
    body = json.dumps(event)
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(body, secret=secret, timestamp=timestamp),
    )


@pytest.fixture(name="fake_stripe")
def fake_stripe_fixture(settings) -> Iterator[FakeStripe]:
    """A running fake Stripe API, with the settings pointing the SDK and webhooks at it."""
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    try:
        yield fake
    finally:
        fake.stop()
