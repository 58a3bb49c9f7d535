"""One id per request, on every log line it writes, in its `X-Request-ID` response header,
and in the Celery tasks it queues.

An incoming `X-Request-ID` is kept only when the proxy in front is trusted to set it
(`LMS_TRUST_REQUEST_ID`, on by default behind `NUM_PROXIES`) and it looks like an id;
otherwise the client could forge ids in our logs, so a fresh one is made.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Celery message header that carries the id from the request into its tasks.
TASK_HEADER = "lms_request_id"
# UUIDs, hex ids, and the dotted or colon-separated ids of common proxies and tracers.
VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}$")

_current: ContextVar[str | None] = ContextVar("lms_request_id", default=None)


def request_id_get() -> str | None:
    """The id of the request (or task) being handled in this context, if any."""
    return _current.get()


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_from(request: HttpRequest) -> str:
    incoming = request.META.get(META_KEY, "")
    if settings.LMS_TRUST_REQUEST_ID and VALID_ID.match(incoming):
        return incoming
    return request_id_new()


class RequestIdMiddleware:
    """First in MIDDLEWARE, so the log lines of every other middleware carry the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_from(request)
        request.request_id = request_id
        # Not reset on the way out: Django logs a 4xx/5xx answer after the middleware has
        # returned. `request_finished` clears it once the response is sent.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _request_finished(**kwargs: Any) -> None:
    _current.set(None)


# --- Celery: a task queued during a request logs with that request's id ------------------
def _task_published(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = _current.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, Any] = {}


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    # A worker's task request has the message's headers as attributes; `apply()`, under
    # `headers`.
    request_id = getattr(request, TASK_HEADER, None) or (
        (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    )
    if request_id and task_id and VALID_ID.match(str(request_id)):
        _task_tokens[task_id] = _current.set(str(request_id))


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        _current.reset(token)


def signals_connect() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun
    from django.core.signals import request_finished

    request_finished.connect(_request_finished, dispatch_uid="lms.request_id.finished")
    before_task_publish.connect(_task_published, dispatch_uid="lms.request_id.publish")
    task_prerun.connect(_task_started, dispatch_uid="lms.request_id.prerun")
    task_postrun.connect(_task_finished, dispatch_uid="lms.request_id.postrun")
