"""allauth's login rate limits on the app API, counted in a real Redis cache (as in production:
on a per-process cache each web process would count alone)."""

import os

import pytest
import redis
from allauth.account.models import EmailAddress

from accounts.tests.factories import UserFactory
from lms.tests.caches import cache_clear

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

LOGIN = "/_allauth/app/v1/auth/login"
PASSWORD = "correct-horse-battery"
MISMATCH = {
    "status": 400,
    "errors": [
        {
            "message": "The email address and/or password you specified are not correct.",
            "code": "email_password_mismatch",
            "param": "password",
        }
    ],
}
LOCKED_OUT = {
    "status": 400,
    "errors": [
        {
            "message": "Too many failed login attempts. Try again later.",
            "code": "too_many_login_attempts",
        }
    ],
}


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "lms-test-rate-limits",
        }
    }
    cache_clear()  # this test's own Redis database (REDIS_URL), emptied first
    yield redis.Redis.from_url(os.environ["REDIS_URL"])
    cache_clear()


@pytest.fixture
def ana(db):
    user = UserFactory(email="ana@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def login(client, email: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        LOGIN,
        {"email": email, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_repeated_failed_logins_from_one_ip_are_refused_then_get_429(client, redis_cache, ana):
    # Guesses spread over several addresses, so only the per-IP limits apply.
    answers = [login(client, f"guess{attempt % 4}@example.com", "wrong") for attempt in range(31)]

    statuses = [answer.status_code for answer in answers]
    # allauth's defaults: 10 failures a minute per IP ("login_failed"), after which every
    # login from that IP is refused; 30 login requests a minute per IP ("login"), then 429.
    assert statuses == [400] * 30 + [429]
    assert [answer.json() for answer in answers[:10]] == [MISMATCH] * 10
    assert [answer.json() for answer in answers[10:30]] == [LOCKED_OUT] * 20
    assert answers[30].json() == {"status": 429}

    # Even the right password is refused from that address...
    assert login(client, "ana@example.com", PASSWORD).status_code == 429
    # ... while another address signs in normally.
    elsewhere = login(client, "ana@example.com", PASSWORD, ip="198.51.100.20")
    assert elsewhere.status_code == 200
    assert "access_token" in elsewhere.json()["meta"]


def test_failed_logins_for_one_account_lock_that_account_from_any_ip(client, redis_cache, ana):
    failures = [login(client, "ana@example.com", "wrong", ip=f"192.0.2.{n}") for n in range(5)]

    assert [failure.json() for failure in failures] == [MISMATCH] * 5
    # The sixth try, right password and a fresh address, is still refused for a while.
    assert login(client, "ana@example.com", PASSWORD, ip="192.0.2.99").json() == LOCKED_OUT
    # Other accounts are unaffected.
    bea = UserFactory(email="bea@example.com")
    EmailAddress.objects.create(user=bea, email=bea.email, verified=True, primary=True)
    assert login(client, "bea@example.com", PASSWORD, ip="192.0.2.99").status_code == 200


def test_the_counts_live_in_redis_so_every_web_process_sees_them(client, redis_cache, ana):
    for _attempt in range(5):
        login(client, "ana@example.com", "wrong")

    keys = redis_cache.keys("lms-test-rate-limits:*:allauth:rl:allauth.account:login_failed:*")

    # One counter per IP and one per account, in the shared Redis.
    assert len(keys) == 2
