"""Content versions: one number per course and one for the catalog as a whole.

A version is a counter in the cache. Caches of derived content (compiled outlines, anonymous
pages) put it in their keys; bumping it makes every such entry unreachable at once, and the
stale entries expire on their own. A counter the cache lost (eviction, a flush, Redis down)
comes back as a fresh number drawn from the clock, never as an old one, so nothing stale is
reachable again. Without Redis (the fail-open cache answers misses) every read is a fresh
number: nothing derived is reused, which is slow but never wrong.

Bumps happen at once and again after commit (`transaction.on_commit`): a reader between the
two caches under the first new number what the transaction had not committed yet, and the
second bump leaves that entry behind.
"""

import time
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

_COURSE_KEY = "catalog:version:course:{}"
_CATALOG_KEY = "catalog:version:all"
# Versions outlive whatever they key: a week, refreshed by every bump.
_TIMEOUT = 7 * 24 * 3600


def _fresh() -> int:
    # Larger than any counter a previous life of the cache could have reached by bumps.
    return time.time_ns() // 1000


def _get_many(keys: list[str]) -> dict[str, int]:
    found = cache.get_many(keys)
    missing = {key: _fresh() for key in keys if found.get(key) is None}
    if missing:
        for key, value in missing.items():
            # Another process may have set it meanwhile: theirs wins, everyone agrees.
            if not cache.add(key, value, _TIMEOUT):
                value = cache.get(key) or value
            found[key] = value
    return {key: int(found[key]) for key in keys}


def course_version_get(course_id: UUID | str) -> int:
    """The content version of one course."""
    key = _COURSE_KEY.format(course_id)
    return _get_many([key])[key]


def course_versions_get(course_ids: Iterable[UUID | str]) -> dict[str, int]:
    """The content versions of these courses (one cache round trip), by str(course id)."""
    ids = [str(pk) for pk in course_ids]
    values = _get_many([_COURSE_KEY.format(pk) for pk in ids])
    return {pk: values[_COURSE_KEY.format(pk)] for pk in ids}


def catalog_version_get() -> int:
    """The version of the catalog as a whole: bumped with any course's."""
    return _get_many([_CATALOG_KEY])[_CATALOG_KEY]


def catalog_version_with(keys: Sequence[str]) -> tuple[int, dict[str, Any]]:
    """The catalog version and the cached values of `keys` (those found), in one round trip:
    for a cache whose entries record the version they were built at (lms.pagecache)."""
    found = cache.get_many([_CATALOG_KEY, *keys])
    version = found.pop(_CATALOG_KEY, None)
    return (int(version) if version is not None else catalog_version_get()), found


def _bump(keys: list[str]) -> None:
    for key in keys:
        try:
            cache.incr(key)
        except ValueError:  # not there: any fresh number is newer than what keyed before
            cache.set(key, _fresh(), _TIMEOUT)


def content_versions_bump(*, course_ids: Iterable[UUID | str] = ()) -> None:
    """These courses changed (and with them the catalog): bump now and after commit."""
    keys = [_COURSE_KEY.format(pk) for pk in {str(pk) for pk in course_ids}] + [_CATALOG_KEY]
    _bump(keys)
    transaction.on_commit(lambda: _bump(keys))
