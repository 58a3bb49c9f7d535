"""The sliding-window allowance behind the discussion and analytics limits."""

import uuid
from datetime import UTC, datetime

import pytest

from lms.ratelimit import rate_take

# A minute boundary, so tests can stand either side of it.
BOUNDARY = 1_800_000_000 - 1_800_000_000 % 60


@pytest.fixture
def key():
    return f"test:rate:{uuid.uuid4()}"


def take(key, *, at, limit=5, amount=1):
    return rate_take(key=key, limit=limit, amount=amount, now=at)


def test_a_burst_straddling_the_minute_is_refused_like_any_other(key):
    taken = [take(key, at=BOUNDARY - 1 + n * 0.1) for n in range(5)]  # :59.0 to :59.4
    after_the_boundary = take(key, at=BOUNDARY + 0.5)

    assert taken == [None] * 5
    assert after_the_boundary is not None


def test_the_refusal_says_when_it_fits_and_it_does_then_not_before(key):
    for n in range(5):
        assert take(key, at=BOUNDARY + 10 + n) is None
    refusal = take(key, at=BOUNDARY + 20)

    # Five taken at :10-:14 leave no room this minute; in the next one they weigh in by what
    # of them still overlaps the last 60 s: 5 * (1 - f) + 1 <= 5 from f = 0.2, at +72 s.
    assert refusal.retry_at == datetime.fromtimestamp(BOUNDARY + 72, tz=UTC)
    assert take(key, at=BOUNDARY + 71) is not None
    assert take(key, at=BOUNDARY + 72) is None


def test_a_refused_request_uses_up_nothing(key):
    assert take(key, at=BOUNDARY, amount=4) is None
    for second in range(1, 20):  # a client hammering while refused
        assert take(key, at=BOUNDARY + second, amount=3) is not None

    assert take(key, at=BOUNDARY + 30, amount=1) is None  # the fifth still fits


def test_allowances_of_different_keys_are_separate(key):
    assert take(key, at=BOUNDARY, amount=5) is None
    assert take(key, at=BOUNDARY + 1) is not None
    assert take(f"{key}:other", at=BOUNDARY + 1, amount=5) is None


def test_the_allowance_comes_back_as_the_window_slides(key):
    assert take(key, at=BOUNDARY + 30, amount=5) is None
    assert take(key, at=BOUNDARY + 59) is not None
    # At +90 s half of the previous minute still counts: 2.5 of 5 are free again.
    assert take(key, at=BOUNDARY + 90, amount=2) is None
    assert take(key, at=BOUNDARY + 90, amount=1) is not None
