"""In-process figures for `make bench`: time and queries per request, without HTTP.

`bench/run.py` calls `main()` through `manage.py shell -c` in a process with the server's
production settings (DEBUG off, the same database, cache, session store and SECRET_KEY, so
the learners' sessions and JWTs are valid here too). `BENCH_CALLS` names a JSON file:

    [{"key": "...", "calls": [{"method": "GET", "path": "/", "body": null, "headers": {}}]}]

Each key's calls go through Django's test client one after another: the first
`WARM_CALLS` untimed (caches, the compiled outline, connection), then timed ones, then the
last `COUNTED_CALLS` with their queries captured (capturing slows a request down a little,
so it is kept out of the timing). It prints one JSON line: per key, the median and p95 time
in ms, the median query count and SQL time, and the statuses seen.
"""

import json
import os
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

WARM_CALLS = 2
COUNTED_CALLS = 3


def _send(client: Client, call: dict) -> int:
    headers = dict(call.get("headers") or {})
    content_type = headers.pop("Content-Type", "application/octet-stream")
    body = (call.get("body") or "").encode()
    response = client.generic(
        call["method"], call["path"], body, content_type=content_type, headers=headers
    )
    return response.status_code


def figures_for(client: Client, calls: list[dict]) -> dict:
    warm, timed = calls[:WARM_CALLS], calls[WARM_CALLS:-COUNTED_CALLS]
    counted = calls[-COUNTED_CALLS:]
    statuses: dict[str, int] = {}

    def seen(status: int) -> None:
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    for call in warm:
        _send(client, call)
    times = []
    for call in timed:
        started = time.perf_counter()
        status = _send(client, call)
        times.append((time.perf_counter() - started) * 1000)
        seen(status)
    queries, sql_ms = [], []
    for call in counted:
        with CaptureQueriesContext(connection) as captured:
            seen(_send(client, call))
        queries.append(len(captured))
        sql_ms.append(sum(float(query["time"]) for query in captured) * 1000)
    ordered = sorted(times)
    return {
        "ms_p50": round(statistics.median(times), 2) if times else None,
        "ms_p95": round(ordered[min(len(ordered) - 1, round(0.95 * len(ordered)))], 2)
        if times
        else None,
        "queries": round(statistics.median(queries)) if queries else None,
        "sql_ms": round(statistics.median(sql_ms), 2) if sql_ms else None,
        "statuses": statuses,
    }


def main() -> None:
    plan = json.loads(Path(os.environ["BENCH_CALLS"]).read_text())
    # A fresh client per key: no cookie carries over from one URL's answers to the next.
    host = settings.ALLOWED_HOSTS[0]
    results = {
        entry["key"]: figures_for(
            Client(HTTP_HOST=host, raise_request_exception=False), entry["calls"]
        )
        for entry in plan
    }
    print(json.dumps(results))
