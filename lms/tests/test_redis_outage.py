"""A Redis outage is not a site outage: a real redis-server, stopped and started again.

Each test starts its own redis-server on a free loopback port and makes it the cache and the
Celery broker, as in production (REDIS_URL), then stops it. While it is down pages, API reads
and every way of signing in keep working, rate limits fail open, work that needs the broker
is stored for later or refused with 503 SERVICE_UNAVAILABLE, and /readyz names what is down.
Once it is back, rate limits count again and /readyz is ready.
"""

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.tests.factories import LessonFactory
from lms.celery import app
from lms.models import OutboundEmail, WebhookEvent
from media.models import Video
from media.tests.test_mux_webhooks import mux_event, signature

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

PASSWORD = "correct-horse-battery"
APP = "/_allauth/app/v1"
# What allauth's app API answers once an account has had too many failed sign-ins.
LOCKED_OUT = {
    "status": 400,
    "errors": [
        {
            "message": "Too many failed login attempts. Try again later.",
            "code": "too_many_login_attempts",
        }
    ],
}
SERVICE_UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": (
            "This cannot be done right now: a service it needs is down. Try again in a minute."
        ),
        "fields": {},
    }
}


class RedisServer:
    """A redis-server of the test's own, on a free loopback port, with nothing persisted."""

    def __init__(self, workdir) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [
            shutil.which("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - the test's own redis-server
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _publisher_reset() -> None:
    # Celery keeps its publishing connections per broker: forget them when the broker changes.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_server(tmp_path, settings) -> Iterator[RedisServer]:
    """Our own redis-server as the cache (db 0) and the broker (db 1) of this test."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("LMS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"LMS_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    server = RedisServer(tmp_path)
    server.start()
    # The production configuration (lms/settings/, REDIS_URL set), pointed at this server.
    settings.CACHES = {
        "default": {
            "BACKEND": "lms.cache.FailOpenRedisCache",
            "LOCATION": server.url(0),
            "KEY_PREFIX": "lms-outage-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    settings.CELERY_BROKER_URL = server.url(1)
    settings.LMS_READYZ_CHECK_BROKER = True
    settings.LMS_CACHE_RETRY_SECONDS = 0.2  # retry Redis soon after a failure: fast tests
    settings.LMS_ADMIN_REQUIRE_MFA = False
    settings.MUX_WEBHOOK_SECRETS = ["whsec-outage"]
    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = server.url(1), False
    _publisher_reset()
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url, app.conf.task_always_eager = previous
        _publisher_reset()


@pytest.fixture
def ana(db):
    return UserFactory(email="ana@example.com", verified_email=True)


def app_post(client, path: str, data: dict, **extra):
    return client.post(f"{APP}{path}", data, content_type="application/json", **extra)


def mux_post(client, payload: dict, django_capture_on_commit_callbacks):
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            reverse("mux-webhook"),
            body,
            content_type="application/json",
            HTTP_MUX_SIGNATURE=signature(body, "whsec-outage"),
        )


# --- While Redis is down, the site works --------------------------------------------------


def test_pages_and_api_reads_answer_while_redis_is_down(client, redis_server, ana, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/min", "user": "3/min"},
    }
    lesson = LessonFactory()  # of a public course: open to everyone
    course = lesson.course
    redis_server.stop()

    pages = ["/", "/courses/", f"/courses/{course.slug}/", f"/courses/{course.slug}/{lesson.slug}/"]
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
    # Throttled API reads, more of them than the limit allows: the limit fails open.
    reads = [client.get(f"/api/v1/courses/{course.slug}/").status_code for _ in range(5)]
    assert reads == [200] * 5
    listing = client.get("/api/v1/courses/")
    assert listing.status_code == 200
    assert [item["slug"] for item in listing.json()["results"]] == [course.slug]
    client.force_login(ana)
    me = [client.get("/api/v1/me/") for _ in range(5)]
    assert [answer.status_code for answer in me] == [200] * 5
    assert me[-1].json()["email"] == "ana@example.com"


def test_signing_in_and_password_reset_work_while_redis_is_down(client, redis_server, ana):
    redis_server.stop()

    # The browser's sign-in form, after more failed tries than allauth's limit: the counters
    # are out of reach, so nobody is locked out by them.
    for _attempt in range(6):
        wrong = client.post(reverse("account_login"), {"login": ana.email, "password": "nope"})
        assert wrong.status_code == 200
        assert "not correct" in wrong.content.decode()
    signed_in = client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")
    assert client.get("/api/v1/me/").json()["email"] == "ana@example.com"

    # The app's sign-in returns its tokens.
    app_login = app_post(client, "/auth/login", {"email": ana.email, "password": PASSWORD})
    assert app_login.status_code == 200, app_login.content
    meta = app_login.json()["meta"]
    assert meta["is_authenticated"] is True
    assert meta["access_token"] and meta["refresh_token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {meta['access_token']}")
    assert me.status_code == 200

    # A password reset answers as usual; its email waits in the outbox for the broker.
    client.logout()
    reset = app_post(client, "/auth/password/request", {"email": ana.email})
    assert (reset.status_code, reset.json()) == (200, {"status": 200})
    page = client.post(reverse("account_reset_password"), {"email": ana.email})
    assert (page.status_code, page["Location"]) == (302, reverse("account_reset_password_done"))
    stored = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    assert stored.count() == 2
    assert mail.outbox == []


def test_work_for_the_broker_is_stored_or_refused_while_it_is_down(
    client, redis_server, staff_user, django_capture_on_commit_callbacks
):
    video = Video.objects.create(
        title="Salsa basics",
        mux_upload_id="upload-1",
        mux_asset_id="asset-1",
        playback_id="pb-1",
        status="ready",
    )
    redis_server.stop()

    # A provider's webhook is stored in the inbox and acknowledged; it is processed later.
    data = {"id": "asset-1", "status": "ready", "passthrough": str(video.pk)}
    payload = mux_event("video.asset.ready", data, at=datetime.now(UTC), event_id="evt-outage")
    delivered = mux_post(client, payload, django_capture_on_commit_callbacks)
    assert delivered.status_code == 200
    assert delivered.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get(event_id="evt-outage")
    assert event.status == WebhookEvent.Status.RECEIVED

    # Deleting a video queues the deletion of its Mux asset, which only the task remembers:
    # refused, and nothing changes.
    client.force_login(staff_user)
    replace = client.post(reverse("admin:media_video_replace", args=[video.pk]))
    assert (replace.status_code, replace.json()) == (503, SERVICE_UNAVAILABLE)
    deleted = client.post(
        reverse("admin:media_video_changelist"),
        {"action": "soft_delete_selected", "_selected_action": [str(video.pk)]},
        follow=True,
    )
    assert deleted.status_code == 200
    assert "Deleted 0 of 1 videos. This cannot be done right now" in deleted.content.decode()
    video.refresh_from_db()
    assert (video.deleted_at, video.status, video.mux_asset_id, video.playback_id) == (
        None,
        "ready",
        "asset-1",
        "pb-1",
    )


# --- /readyz --------------------------------------------------------------------------------


def test_readyz_names_the_cache_and_the_broker_while_down_and_is_ready_after_restart(
    client, redis_server, settings, caplog
):
    settings.LMS_OUTAGE_LOG_SECONDS = 60
    assert client.get("/readyz").status_code == 200
    # That probe may say "available again" when an earlier test left an outage behind in
    # this process: only what the probes during this outage log counts here.
    caplog.clear()
    redis_server.stop()

    with caplog.at_level(logging.WARNING):
        started = time.perf_counter()
        down = client.get("/readyz")
        elapsed = time.perf_counter() - started
        probes = [client.get("/readyz").status_code for _ in range(4)]

    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert down.json()["failing"] == ["cache", "broker"]
    assert down.json()["checks"]["database"]["status"] == "ok"
    assert elapsed < 2.0
    assert probes == [503] * 4
    # Probes come every few seconds: one line per failing check, not one per probe.
    readyz_lines = [record.getMessage() for record in caplog.records]
    assert [line.split(" (")[0] for line in readyz_lines] == [
        "readyz: cache unavailable",
        "readyz: broker unavailable",
    ]

    redis_server.start()
    up = client.get("/readyz")
    assert up.status_code == 200, up.json()
    assert {check["status"] for check in up.json()["checks"].values()} == {"ok"}


def test_a_redis_that_stops_answering_cannot_hang_a_request(client, redis_server):
    """Stopped (SIGSTOP), Redis still accepts connections but never answers: the socket
    timeouts bound every request, and the breaker spares the following calls."""
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.perf_counter()
        pages = [client.get("/courses/").status_code, client.get("/api/v1/courses/").status_code]
        pages_elapsed = time.perf_counter() - started
        started = time.perf_counter()
        ready = client.get("/readyz")
        ready_elapsed = time.perf_counter() - started
    finally:
        redis_server.process.send_signal(signal.SIGCONT)

    assert pages == [200, 200]
    assert pages_elapsed < 2.5
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["cache", "broker"]
    assert ready_elapsed < 3.5


# --- Logs and recovery ------------------------------------------------------------------------


def test_the_outage_is_logged_once_per_interval_not_per_request(
    client, redis_server, settings, caplog
):
    settings.LMS_OUTAGE_LOG_SECONDS = 60
    redis_server.stop()

    with caplog.at_level(logging.WARNING, logger="lms.cache"):
        for _request in range(10):
            assert client.get("/api/v1/courses/").status_code == 200
            time.sleep(0.03)  # past the breaker's 0.2 s now and then: Redis is tried again
        time.sleep(0.25)
        assert client.get("/api/v1/courses/").status_code == 200

    lines = [record.getMessage() for record in caplog.records if record.name == "lms.cache"]
    assert len(lines) == 1, lines
    cache_name = f"Cache (Redis at redis://127.0.0.1:{redis_server.port}/0)"
    assert lines[0].startswith(f"{cache_name} unavailable")
    assert "rate limits are not enforced" in lines[0]

    # Once the interval has passed, the next failure reports how many went unlogged.
    settings.LMS_OUTAGE_LOG_SECONDS = 0.2
    with caplog.at_level(logging.WARNING, logger="lms.cache"):
        caplog.clear()
        time.sleep(0.25)
        client.get("/api/v1/courses/")
    lines = [record.getMessage() for record in caplog.records if record.name == "lms.cache"]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{cache_name} still unavailable")
    assert int(re.search(r"; (\d+) more failures since the last report", lines[0]).group(1)) > 0

    # When Redis answers again, one line says so.
    redis_server.start()
    with caplog.at_level(logging.WARNING, logger="lms.cache"):
        caplog.clear()
        time.sleep(0.25)
        client.get("/api/v1/courses/")
        client.get("/api/v1/courses/")
    lines = [record.getMessage() for record in caplog.records if record.name == "lms.cache"]
    assert len(lines) == 1 and "available again after" in lines[0], lines


def test_rate_limits_count_again_once_redis_is_back(client, redis_server, ana, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/min", "user": "600/min"},
    }
    redis_server.stop()
    assert [client.get("/api/v1/courses/").status_code for _ in range(4)] == [200] * 4
    redis_server.start()
    time.sleep(0.25)  # the breaker lets the next call try Redis again

    # The API's throttle: the fourth read in a minute is refused.
    statuses = [client.get("/api/v1/courses/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/courses/").json()["error"]["code"] == "THROTTLED"

    # allauth's limit on failed sign-ins: after five for one account, even the right password
    # is refused for a while.
    for attempt in range(5):
        wrong = app_post(
            client,
            "/auth/login",
            {"email": ana.email, "password": "nope"},
            REMOTE_ADDR=f"192.0.2.{attempt}",
        )
        assert wrong.status_code == 400
    locked = app_post(client, "/auth/login", {"email": ana.email, "password": PASSWORD})
    assert locked.json() == LOCKED_OUT


def test_throttles_fail_open_even_on_a_cache_without_the_fail_open_backend(
    client, redis_server, settings, caplog
):
    # A deployment that configures Django's plain Redis backend: DRF's throttles still answer.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url(0),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    settings.LMS_OUTAGE_LOG_SECONDS = 60
    redis_server.stop()

    with caplog.at_level(logging.WARNING, logger="lms.cache"):
        statuses = [client.get("/api/v1/courses/").status_code for _ in range(3)]

    assert statuses == [200] * 3
    lines = [record.getMessage() for record in caplog.records if record.name == "lms.cache"]
    assert len(lines) == 1
    assert lines[0].startswith("API throttle cache unavailable (ConnectionError")


# --- Sessions kept in Redis ---------------------------------------------------------------------


def test_sessions_cached_in_redis_keep_people_signed_in_through_the_outage(
    client, redis_server, ana, settings
):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # SESSION_STORE
    signed_in = client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    redis_server.stop()

    # Read from the database while Redis is away; a sign-in during the outage works too.
    assert client.get("/api/v1/me/").json()["email"] == "ana@example.com"
    assert client.get("/profile/").status_code == 200
    client.logout()
    again = client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert (again.status_code, again["Location"]) == (302, "/")
    assert client.get("/api/v1/me/").json()["email"] == "ana@example.com"


def test_sessions_only_in_redis_sign_people_out_but_every_page_answers(
    client, redis_server, ana, settings
):
    settings.SESSION_ENGINE = "lms.sessions"  # SESSION_STORE=cache
    client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert client.get("/api/v1/me/").status_code == 200
    redis_server.stop()

    # The session is out of reach: the visitor is anonymous, nothing fails.
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 401
    assert client.get("/profile/")["Location"].startswith(reverse("account_login"))
    # Signing in answers as usual (the session cannot outlive the request until Redis is back).
    again = client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert again.status_code == 302

    redis_server.start()
    time.sleep(0.25)  # the breaker lets the next call try Redis again
    client.post(reverse("account_login"), {"login": ana.email, "password": PASSWORD})
    assert client.get("/api/v1/me/").json()["email"] == "ana@example.com"
