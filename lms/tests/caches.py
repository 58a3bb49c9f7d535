"""Emptying the cache in tests without emptying another parallel worker's."""

from django.core.cache import cache


def cache_clear() -> None:
    """Empty this worker's part of the cache: with Redis, the keys of its own prefix (each
    xdist worker has one, see conftest.py), as FLUSHDB would empty every worker's."""
    backend = getattr(cache, "_cache", None)
    if cache.key_prefix and hasattr(backend, "get_client"):
        client = backend.get_client(write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
