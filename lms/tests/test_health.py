import os

import pytest

# Nothing listens on port 1 of the loopback: connections are refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _redis_cache(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
        }
    }


def test_healthz_answers_ok_without_touching_the_database(client):
    # No `django_db` mark: any query here would raise instead of answering.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ok_with_the_configured_services(client, settings):
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    # The broker is checked only when Celery is not eager (REDIS_URL set, as in CI).
    expected = {"database", "cache"} | ({"broker"} if settings.LMS_READYZ_CHECK_BROKER else set())
    assert set(body["checks"]) == expected
    assert {result["status"] for result in body["checks"].values()} == {"ok"}
    assert "failing" not in body


@pytest.mark.django_db
def test_readyz_is_unavailable_and_names_the_cache_when_redis_is_down(client, settings):
    settings.CACHES = _redis_cache(UNREACHABLE_REDIS)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["cache"]
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["error"]


@pytest.mark.django_db
def test_readyz_is_unavailable_and_names_the_broker_when_it_is_down(client, settings):
    settings.LMS_READYZ_CHECK_BROKER = True
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_names_every_failing_check(client, settings):
    settings.CACHES = _redis_cache(UNREACHABLE_REDIS)
    settings.LMS_READYZ_CHECK_BROKER = True
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["cache", "broker"]


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_is_ok_against_real_redis_with_the_broker_checked(client, settings):
    redis_url = os.environ["REDIS_URL"]
    settings.CACHES = _redis_cache(redis_url)
    settings.LMS_READYZ_CHECK_BROKER = True
    settings.CELERY_BROKER_URL = redis_url

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert {result["status"] for result in body["checks"].values()} == {"ok"}


@pytest.mark.django_db
def test_readyz_skips_the_broker_when_celery_runs_eagerly(client, settings):
    settings.LMS_READYZ_CHECK_BROKER = False
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    response = client.get("/readyz")

    assert set(response.json()["checks"]) == {"database", "cache"}


@pytest.mark.django_db
def test_readyz_names_the_cache_even_though_the_site_cache_fails_open(client, settings):
    # The production cache answers as empty while Redis is down (lms.cache); readiness must
    # still see the outage, and the site itself keeps answering.
    settings.CACHES = {
        "default": {"BACKEND": "lms.cache.FailOpenRedisCache", "LOCATION": UNREACHABLE_REDIS}
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]
    assert response.json()["checks"]["cache"]["error"] == "ConnectionError"
    assert client.get("/healthz").status_code == 200
