"""Health endpoints for load balancers and orchestrators.

- `/healthz` (liveness): the process answers. Touches nothing else, so a database outage
  does not make the orchestrator restart every web process.
- `/readyz` (readiness): the database, the cache and (when Celery is not eager) the broker
  answer. 503 names the failing checks so an operator sees at once what is down.

Both are exempt from the SSL redirect (`SECURE_REDIRECT_EXEMPT`), because probes speak
plain HTTP to the container.
"""

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from lms.broker import broker_check
from lms.cache import outage_log

# Seconds a probe may wait for the broker; readiness probes themselves time out after a few.
# The cache's own socket timeouts (CACHES OPTIONS) bound its check.
BROKER_TIMEOUT_SECONDS = 1.0


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 returned an unexpected row")


def _check_cache() -> None:
    # The configured cache fails open (lms.cache): ask it for a real round trip instead.
    if probe := getattr(cache, "probe", None):
        probe()
        return
    # Other backends: a unique key per probe, so concurrent probes never read each other's.
    key = f"readyz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return the value just stored")
    finally:
        cache.delete(key)


def _check_broker() -> None:
    # The URL is read from settings on each probe rather than from Celery's cached config,
    # so the probe always checks the broker this process is configured for.
    broker_check(url=settings.CELERY_BROKER_URL, timeout=BROKER_TIMEOUT_SECONDS)


def _run(name: str, check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means "not ready"; the log keeps the details
        # Probes come every few seconds: one line per interval while it lasts, not per probe.
        outage_log(f"readyz: {name}").failed(exc, consequence="/readyz answers 503", traceback=True)
        result = {"status": "error", "error": type(exc).__name__}
    else:
        outage_log(f"readyz: {name}").recovered()
        result = {"status": "ok"}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {"database": _check_database, "cache": _check_cache}
    if settings.LMS_READYZ_CHECK_BROKER:
        checks["broker"] = _check_broker
    results = {name: _run(name, check) for name, check in checks.items()}
    failing = [name for name, result in results.items() if result["status"] != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    response = JsonResponse(body, status=503 if failing else 200)
    # Django logs every 5xx as an error (django.request): a probe every few seconds would
    # repeat it all through an outage, which _run already reports once per interval.
    response._has_been_logged = True  # the flag Django's log_response checks
    return response
