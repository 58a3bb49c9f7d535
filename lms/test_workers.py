"""One Redis database per test process when pytest-xdist runs the suite in parallel.

`make test` runs the suite in `TEST_WORKERS` processes (pytest-xdist). Each already gets its
own PostgreSQL test database (pytest-django names it after the worker); this gives each its
own Redis database too, so one process's `cache.clear()`, broker queues and channel groups
never reach another's. Worker N of a run adds N to the database number of `REDIS_URL`,
`CELERY_BROKER_URL` and `CHANNEL_LAYER_URL` (modulo Redis' 16), in `os.environ`, so what a
test starts (a Celery worker, an ASGI server) inherits the same database. Outside an xdist
worker (production, `make run`, one process) it changes nothing.
"""

import os
import re

_DONE = "LMS_TEST_WORKER_REDIS_SPLIT"
_DB = re.compile(r"^(rediss?://[^/?#]*)(?:/(\d*))?(.*)$")


def _offset(url: str, index: int) -> str:
    match = _DB.match(url)
    if not match:
        return url
    base, number, rest = match.groups()
    return f"{base}/{(int(number or 0) + index) % 16}{rest}"


def redis_split_per_worker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get(_DONE):
        return  # not an xdist worker, or its environment was split already (a child)
    index = int(worker[2:] or 0)
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL"):
        if os.environ.get(name):
            os.environ[name] = _offset(os.environ[name], index)
    os.environ[_DONE] = worker


redis_split_per_worker()
