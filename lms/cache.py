"""The cache (Redis) as a helper the site can lose without going down.

Everything the cache holds here is disposable: rate-limit counters (DRF's throttles,
allauth's limits on sign-in, codes and resets), allauth's short locks, and sessions only when
`SESSION_STORE` says so. `FailOpenRedisCache` is Django's Redis backend that, when Redis
cannot be reached or answers an error, behaves like an empty cache that accepts every write:
reads miss, writes and `add` report success, counters start again. Rate limits therefore fail
open (nobody is refused because the counter is gone) and no request answers 500.

Two things keep an outage cheap:
- short socket timeouts (CACHES OPTIONS), so a Redis that stopped answering costs a request
  a fraction of a second, not redis-py's default 5 s per call;
- a breaker: after a failure, Redis is left alone for `LMS_CACHE_RETRY_SECONDS` (every call
  answers at once as a miss), then the next call tries again. `/readyz` probes Redis itself
  through `probe()`, which bypasses the breaker and closes it on success.

The outage is logged once per `LMS_OUTAGE_LOG_SECONDS` with the number of calls that failed
open since the last line, and once more when Redis answers again (`OutageLog`).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

try:  # redis is a runtime dependency; the guard keeps this importable without it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[assignment,misc]

# What an unreachable or unwell Redis raises (refused, timed out, reset, OOM, read-only).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class OutageLog:
    """Say that a dependency is failing at most once per interval, not once per request.

    The first failure logs a warning at once; later ones only add to a count, which the next
    warning (an interval later, if it still fails) reports. The first success after that logs
    that the dependency is back.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._logged_at = 0.0
        self._suppressed = 0

    def failed(self, exc: BaseException, *, consequence: str, traceback: bool = False) -> None:
        interval = settings.LMS_OUTAGE_LOG_SECONDS
        now = time.monotonic()
        with self._lock:
            first = self._failing_since is None
            if first:
                self._failing_since = now
            elif now - self._logged_at < interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._logged_at = self._suppressed, 0, now
        state = "unavailable" if first else "still unavailable"
        since = "" if first else f"; {suppressed} more failures since the last report"
        logger.warning(
            "%s %s (%s: %s); %s%s. Reported at most every %g s.",
            self.name,
            state,
            type(exc).__name__,
            exc,
            consequence,
            since,
            interval,
            exc_info=exc if traceback else None,
        )

    def recovered(self) -> None:
        if self._failing_since is None:  # the usual case: no lock, no log
            return
        with self._lock:
            since, self._failing_since, self._suppressed = self._failing_since, None, 0
            self._logged_at = 0.0
        if since is not None:
            logger.warning("%s available again after %.1f s.", self.name, time.monotonic() - since)


_outage_logs: dict[str, OutageLog] = {}
_outage_logs_lock = threading.Lock()


def outage_log(name: str) -> OutageLog:
    """The one `OutageLog` of this process for `name` (shared by every thread)."""
    with _outage_logs_lock:
        return _outage_logs.setdefault(name, OutageLog(name))


class _Breaker:
    """Whether to try Redis now: closed normally, open for a while after a failure."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.LMS_CACHE_RETRY_SECONDS

    def close(self) -> None:
        self.open_until = 0.0


# One breaker per Redis address, shared by the per-thread cache instances Django creates.
_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(location: str) -> _Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, _Breaker())


class _ReusingClient(RedisCacheClient):
    """Django's client builds a new `redis.Redis` around the pool for every command, which
    costs about 70 µs (a third of a cache read on loopback); one per pool does the same
    work, as `redis.Redis` is safe to share between threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, failing open (see the module docstring)."""

    CONSEQUENCE = "the cache fails open: rate limits are not enforced, cached values are misses"

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
        location = ",".join(self._servers)
        self._breaker = _breaker_for(location)
        self._outage = outage_log(f"Cache (Redis at {_redacted(location)})")

    def _guard(self, default: T, method: Callable[..., T], *args: Any) -> T:
        if not self._breaker.allows():
            self._outage.failed(_BREAKER_OPEN, consequence=self.CONSEQUENCE)
            return default
        try:
            result = method(self, *args)
        except CACHE_ERRORS as exc:
            self._breaker.trip()
            self._outage.failed(exc, consequence=self.CONSEQUENCE)
            return default
        self._outage.recovered()
        return result

    @property
    def available(self) -> bool:
        """False while the breaker is open, i.e. Redis failed a moment ago."""
        return self._breaker.allows()

    def probe(self) -> None:
        """Round-trip to Redis now, whatever the breaker says; raise if it does not answer.

        For `/readyz`: a success closes the breaker, so the site uses Redis again at once.
        """
        self._cache.get_client(write=True).ping()
        self._breaker.close()
        self._outage.recovered()

    # Reads miss; writes, add and touch report success; counters start again.
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(True, RedisCache.add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._guard(default, RedisCache.get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(None, RedisCache.set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(True, RedisCache.touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._guard(False, RedisCache.delete, key, version)

    def get_many(self, keys, version=None):
        return self._guard({}, RedisCache.get_many, keys, version)

    def has_key(self, key, version=None):
        return self._guard(False, RedisCache.has_key, key, version)

    def incr(self, key, delta=1, version=None):
        return self._guard(delta, RedisCache.incr, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard([], RedisCache.set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._guard(None, RedisCache.delete_many, keys, version)

    def clear(self):
        return self._guard(None, RedisCache.clear)


class BreakerOpen(ConnectionError):
    """Stands for the failure that opened the breaker, in the outage log's count."""


_BREAKER_OPEN = BreakerOpen("skipped while the breaker is open")


def _redacted(location: str) -> str:
    """The address without a password, for logs (redis://:secret@host -> redis://host)."""
    scheme, sep, rest = location.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else location
