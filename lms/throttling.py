"""DRF's rate throttles: one Redis round trip per request, failing open when the cache
cannot be reached.

DRF's `SimpleRateThrottle` keeps each client's request times as a pickled list: a read and a
write per request, two round trips. On a Redis cache the same sliding window is a sorted set
of request times, trimmed, added to, counted and given its expiry in one pipelined
transaction; only a refused request costs a second call, to take its own entry back out (DRF
does not count refused requests either). The limit, the window, `Retry-After` and the keys
are DRF's. On any other cache backend DRF's own code runs.

A throttle exists to protect the site; refusing or failing every API call because the
counters are out of reach would do the opposite. With the configured cache
(`lms.cache.FailOpenRedisCache`) errors are absorbed by its breaker; these classes keep the
same promise for any other cache backend a deployment may configure.
"""

import math
import secrets
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from lms.cache import CACHE_ERRORS, FailOpenRedisCache, outage_log

CONSEQUENCE = "API rate limits are not enforced"
# The sorted set lives beside DRF's key, never at it: a list pickled by DRF's code (before a
# deploy, or by another backend) is another Redis type.
WINDOW_SUFFIX = ":window"


class FailOpenThrottleMixin:
    _refused_on_redis = False
    _wait: float | None = None

    # `view` is an APIView; importing it here would be circular (APIView reads this setting).
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            if isinstance(self._backend(), RedisCache):
                allowed = self._allow_on_redis(request, view)
            else:
                allowed = super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            outage_log("API throttle cache").failed(exc, consequence=CONSEQUENCE)
            return True
        outage_log("API throttle cache").recovered()
        return allowed

    def _backend(self) -> Any:
        # DRF's `cache` is Django's `cache` proxy, whose backend is this thread's default.
        cache = self.cache  # type: ignore[attr-defined]
        return caches[DEFAULT_CACHE_ALIAS] if cache is default_cache else cache

    def _allow_on_redis(self, request: Request, view: Any) -> bool:
        # DRF's `allow_request`, step for step, on a sorted set of request times.
        if self.rate is None:  # type: ignore[attr-defined]
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        cache: RedisCache = self._backend()  # type: ignore[assignment]
        if isinstance(cache, FailOpenRedisCache):
            # Its breaker and outage log, as for every other cache call: open means allowed.
            return cache._guard(True, lambda _cache: self._window_check(cache))
        return self._window_check(cache)

    def _window_check(self, cache: RedisCache) -> bool:
        now = self.timer()  # type: ignore[attr-defined]
        duration, limit = self.duration, self.num_requests  # type: ignore[attr-defined]
        key = cache.make_and_validate_key(self.key + WINDOW_SUFFIX)
        member = f"{now!r}:{secrets.token_hex(4)}"
        client = cache._cache.get_client(key, write=True)
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - duration)  # DRF drops times <= now - window
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, max(1, math.ceil(duration)))
        _removed, _added, count, oldest, _expiry = pipe.execute()
        earlier = count - 1  # DRF's `len(self.history)`: the times before this request
        if earlier < limit:
            return True
        client.zrem(key, member)
        # DRF's `wait()` for a history of `earlier` times, the oldest at `oldest`.
        remaining = duration - (now - oldest[0][1]) if earlier else duration
        available = limit - earlier + 1
        self._wait = remaining / float(available) if available > 0 else None
        self._refused_on_redis = True
        return False

    def wait(self) -> float | None:
        if self._refused_on_redis:
            return self._wait
        return super().wait()  # type: ignore[misc]

    def get_rate(self) -> str | None:
        # DRF reads the rates once, at import; read them per request so a changed setting
        # (API_THROTTLE_*, or a test's override) applies without a restart.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()  # type: ignore[misc]


class AnonRateThrottle(FailOpenThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenThrottleMixin, throttling.UserRateThrottle):
    pass
