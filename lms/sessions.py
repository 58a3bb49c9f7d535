"""Sessions kept in the cache only (`SESSION_STORE=cache`), surviving a Redis outage.

Django's cache sessions refuse to save a session they cannot find again (`UpdateError`,
answered as 400 "session deleted before the request completed"). While Redis is out of
reach every session looks deleted, so every sign-in, message or form would answer 400.
Here the save is skipped instead: the visitor stays anonymous until Redis is back, and the
page answers. `cached_db` keeps people signed in through an outage; prefer it.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


class SessionStore(CacheSessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError:
            if getattr(self._cache, "available", True):
                raise  # really deleted meanwhile (signed out in another tab): Django's answer
