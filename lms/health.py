"""Health endpoints for load balancers and orchestrators.

- `/healthz` (liveness): the process answers. Touches nothing else, so a database outage
  does not make the orchestrator restart every web process.
- `/readyz` (readiness): the database, the cache and (when Celery is not eager) the broker
  answer. 503 names the failing checks so an operator sees at once what is down.

Both are exempt from the SSL redirect (`SECURE_REDIRECT_EXEMPT`), because probes speak
plain HTTP to the container.
"""

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# Seconds a probe may wait for the broker; readiness probes themselves time out after a few.
BROKER_TIMEOUT_SECONDS = 2.0


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
    # A unique key per probe: concurrent probes never read each other's value.
    key = f"readyz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return the value just stored")
    finally:
        cache.delete(key)


def _check_broker() -> None:
    from lms.celery import app

    # The URL is read from settings on each probe rather than from Celery's cached config,
    # so the probe always checks the broker this process is configured for.
    with app.connection_for_write(
        url=settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS
    ) as conn:
        conn.ensure_connection(
            max_retries=1,
            interval_start=0,
            interval_step=0.2,
            interval_max=0.2,
            timeout=BROKER_TIMEOUT_SECONDS,
        )


def _run(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means "not ready"; the log keeps the details
        logger.warning("readyz: %s failed", check.__name__, exc_info=True)
        result = {"status": "error", "error": type(exc).__name__}
    else:
        result = {"status": "ok"}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {"database": _check_database, "cache": _check_cache}
    if settings.LMS_READYZ_CHECK_BROKER:
        checks["broker"] = _check_broker
    results = {name: _run(check) for name, check in checks.items()}
    failing = [name for name, result in results.items() if result["status"] != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
