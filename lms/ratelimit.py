"""A sliding-window allowance kept in the cache, shared by the write paths that need one
(discussion posts, analytics batches).

A fixed per-minute counter lets a burst straddling the minute through twice (five posts at
:59 and five more at :00) and makes any "N quick requests, then refused" promise depend on
the clock. This counts the current window plus the previous one weighted by how much of it
still overlaps the last `period` seconds, the usual approximation of a true sliding log at
the cost of two counters.

A refused request does not use up allowance (its count is given back), so a client that
waits until `retry_at` is let through. The cache being out of reach is the caller's to
decide: `RateLimitUnavailable` is raised and most callers fail open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from lms.cache import CACHE_ERRORS


class RateLimitUnavailable(Exception):
    """The cache holding the counters could not be reached."""


@dataclass(frozen=True, slots=True)
class Refusal:
    used: float
    limit: int
    retry_at: datetime


def _retry_after(
    *, previous: int, current: int, amount: int, limit: int, elapsed: float, period: int
) -> float:
    """Seconds from the window's start until `amount` more would fit, given `current` already
    taken in this window (without `amount`) and `previous` in the one before."""
    room = limit - amount - current
    if room >= 0:
        # In this window: previous * (1 - t/period) <= room.
        return period * (1 - room / previous) if previous else elapsed
    # Only in the next window, where this window's count is the weighted one.
    room = limit - amount
    if room < 0:  # never fits; say a full window and let validation speak for the size
        return 2 * period
    return period + (period * (1 - room / current) if current else 0)


def rate_take(
    *, key: str, limit: int, period: int = 60, amount: int = 1, now: float
) -> Refusal | None:
    """Take `amount` from the allowance of `limit` per `period` seconds named by `key`.
    Answers None when taken, or the Refusal (with the instant it would fit) when not."""
    window = int(now // period)
    elapsed = now - window * period
    current_key, previous_key = f"{key}:{window}", f"{key}:{window - 1}"
    try:
        try:
            current = cache.incr(current_key, amount)
        except ValueError:  # the window's first request
            if cache.add(current_key, amount, timeout=2 * period + 30):
                current = amount
            else:
                current = cache.incr(current_key, amount)
        previous = cache.get(previous_key) or 0
        used = previous * (1 - elapsed / period) + current
        if used <= limit:
            return None
        cache.decr(current_key, amount)
    except CACHE_ERRORS as exc:
        raise RateLimitUnavailable(str(exc)) from exc
    wait = _retry_after(
        previous=previous,
        current=current - amount,
        amount=amount,
        limit=limit,
        elapsed=elapsed,
        period=period,
    )
    retry_at = window * period + max(wait, elapsed)
    return Refusal(
        used=used, limit=limit, retry_at=datetime.fromtimestamp(math.ceil(retry_at), tz=UTC)
    )
