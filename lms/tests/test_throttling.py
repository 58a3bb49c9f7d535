"""The API's rate limits on Redis: DRF's sliding window, one round trip per request."""

import pytest

from accounts.tests.factories import UserFactory
from lms.tests.caches import cache_clear

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def limited(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/min", "user": "3/min"},
    }
    cache_clear()


def test_each_learner_has_their_own_limit_and_is_told_when_to_come_back(client, limited):
    ana, ben = UserFactory(), UserFactory()
    client.force_login(ana)
    statuses = [client.get("/api/v1/me/").status_code for _ in range(3)]
    refused = client.get("/api/v1/me/")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "THROTTLED"
    assert 58 <= int(refused["Retry-After"]) <= 60
    # Refused requests are not counted, and are refused the same way.
    again = client.get("/api/v1/me/")
    assert again.status_code == 429 and 58 <= int(again["Retry-After"]) <= 60

    client.force_login(ben)
    assert client.get("/api/v1/me/").status_code == 200


def test_visitors_are_limited_by_address(client, limited):
    statuses = [client.get("/api/v1/courses/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = client.get("/api/v1/courses/", REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200
