"""allauth's rate limits on the browser sign-in form: failed logins from one address are
refused with a form error once the limit is reached.

The limits count in the cache ("login_failed": 10 a minute per IP, 5 per 5 minutes per email).
On a per-process cache each web process counts alone, so production needs Redis: the
`redis` test runs the same scenario against a real Redis cache (REDIS_URL, database 11).
"""

import os
from urllib.parse import urlparse, urlunparse

import pytest
import redis
from django.urls import reverse

from accounts.tests.factories import UserFactory
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOCKED_OUT = "Too many failed login attempts. Try again later."
MISMATCH = "The email address and/or password you specified are not correct."
REDIS_DB = 11  # this test's own Redis database, so parallel suites do not clear each other's


def _sign_in(client, email: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


def _form_error(response) -> str | None:
    errors = response.context["form"].non_field_errors() if response.status_code == 200 else []
    return " ".join(errors) or None


def _signed_in(client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


def _ten_failures_then_the_right_password_is_refused(client) -> None:
    UserFactory(email="ana@example.com", password=PASSWORD, verified_email=True)

    # Ten wrong guesses from one address, each at a different account (the per-email limit
    # of 5 never triggers): each is told the pair is wrong...
    for number in range(10):
        response = _sign_in(client, f"guess{number}@example.com", "not-it")
        assert _form_error(response) == MISMATCH

    # ... then that address is refused, even with a right password, with the form's error.
    response = _sign_in(client, "ana@example.com", PASSWORD)
    assert response.status_code == 200
    assert _form_error(response) == LOCKED_OUT
    assert f'<div class="alert" role="alert"><p>{LOCKED_OUT}</p></div>' in response.content.decode()
    assert not _signed_in(client)

    # Another address is not affected.
    response = _sign_in(client, "ana@example.com", PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302
    assert _signed_in(client)


def test_failed_logins_from_one_address_are_refused_with_a_form_error(client):
    _ten_failures_then_the_right_password_is_refused(client)


def test_failed_logins_for_one_email_are_refused_from_any_address(client):
    UserFactory(email="ana@example.com", password=PASSWORD, verified_email=True)
    for number in range(5):
        response = _sign_in(client, "ana@example.com", "not-it", ip=f"192.0.2.{number + 1}")
        assert _form_error(response) == MISMATCH

    response = _sign_in(client, "ana@example.com", PASSWORD, ip="192.0.2.99")

    assert _form_error(response) == LOCKED_OUT
    assert not _signed_in(client)


def test_behind_a_proxy_the_forwarded_client_address_is_counted(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    UserFactory(email="ana@example.com", password=PASSWORD, verified_email=True)
    for number in range(10):
        client.post(
            reverse("account_login"),
            {"login": f"guess{number}@example.com", "password": "not-it"},
            REMOTE_ADDR="10.0.0.1",  # the proxy
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )

    refused = client.post(
        reverse("account_login"),
        {"login": "ana@example.com", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    other_visitor = client.post(
        reverse("account_login"),
        {"login": "ana@example.com", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )

    assert _form_error(refused) == LOCKED_OUT
    assert other_visitor.status_code == 302


@pytest.fixture
def redis_cache(settings):
    """The default cache on this test's own Redis database, emptied first and last."""
    url = urlparse(os.environ["REDIS_URL"])._replace(path=f"/{REDIS_DB}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": urlunparse(url),
            "KEY_PREFIX": "lms-test-rate-limits",
        }
    }
    cache_clear()
    yield redis.Redis.from_url(urlunparse(url))
    cache_clear()


@pytest.mark.redis
def test_failed_logins_are_counted_in_redis(client, redis_cache):
    _ten_failures_then_the_right_password_is_refused(client)

    # The counts really live in Redis, where every web process shares them.
    assert any(b"login_failed" in key for key in redis_cache.keys("lms-test-rate-limits:*"))
