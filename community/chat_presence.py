"""Who is online in a chat channel, shared by every ASGI server process.

With the Redis cache (REDIS_URL), each open socket is a member `<user id>|<socket name>` of a
sorted set per channel in Redis, scored by when it expires; a socket refreshes its entry on
every ping (`PRESENCE_TTL_SECONDS`), so a server that dies without saying goodbye drops out
within that time. The online count is the number of distinct users among live entries (two
tabs are one person). Without Redis (one development process) a dict in this process does the
same. A Redis failure never closes a socket: the count is then unknown and not broadcast.
"""

import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from lms.cache import CACHE_ERRORS, outage_log

# A socket that has not pinged for this long no longer counts (clients ping every 30 s).
PRESENCE_TTL_SECONDS = 90

_local: dict[str, dict[str, float]] = {}
_local_lock = threading.Lock()


def _key(channel_id: Any) -> str:
    return caches["default"].make_key(f"chat:presence:{channel_id}")


def _redis() -> Any | None:
    """The cache's Redis client, when the cache is Redis."""
    backend = caches["default"]  # this thread's backend object (`cache` is only a proxy)
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


def _count(members: list) -> int:
    users = set()
    for member in members:
        text = member.decode() if isinstance(member, bytes) else member
        users.add(text.partition("|")[0])
    return len(users)


def _redis_change(client: Any, *, channel_id: Any, member: str, present: bool) -> int:
    key, now = _key(channel_id), time.time()
    pipe = client.pipeline()
    pipe.zremrangebyscore(key, "-inf", now)
    if present:
        pipe.zadd(key, {member: now + PRESENCE_TTL_SECONDS})
    else:
        pipe.zrem(key, member)
    pipe.expire(key, PRESENCE_TTL_SECONDS * 2)
    pipe.zrange(key, 0, -1)
    return _count(pipe.execute()[-1])


def _local_change(*, channel_id: Any, member: str, present: bool) -> int:
    now = time.time()
    with _local_lock:
        entries = _local.setdefault(str(channel_id), {})
        for name in [name for name, expires in entries.items() if expires <= now]:
            del entries[name]
        if present:
            entries[member] = now + PRESENCE_TTL_SECONDS
        else:
            entries.pop(member, None)
        return _count(list(entries))


def presence_set(*, channel_id: Any, user_id: Any, socket: str, present: bool) -> int | None:
    """Mark one socket present (join, ping) or gone (leave); the channel's online count after
    it, or None when the shared store cannot be reached. Blocking: call it from a thread."""
    member = f"{user_id}|{socket}"
    client = _redis()
    if client is None:
        return _local_change(channel_id=channel_id, member=member, present=present)
    try:
        count = _redis_change(client, channel_id=channel_id, member=member, present=present)
    except CACHE_ERRORS as exc:
        outage_log("Chat presence (Redis)").failed(exc, consequence="online counts are unknown")
        return None
    outage_log("Chat presence (Redis)").recovered()
    return count
