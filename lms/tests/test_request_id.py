"""Request ids: one per request, in the `X-Request-ID` response header, on every log line of
the request and in the tasks it queues; an incoming id is kept only from a trusted proxy."""

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from lms.celery import app
from lms.logging import JsonFormatter, RequestIdFilter
from lms.request_id import TASK_HEADER

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger("lms.tests.request_id")


@app.task(name="lms.tests.request_id_log_line")
def log_line() -> None:
    log.warning("inside the task")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The JSON lines production would write, from the console handler our settings set up."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RequestIdFilter) for f in h.filters)
    )
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    yield stream
    handler.setStream(previous)
    handler.setFormatter(formatter)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_answer_has_its_own_request_id(client):
    page, api, missing = client.get("/"), client.get("/api/v1/courses/"), client.get("/nope/")

    ids = [response["X-Request-ID"] for response in (page, api, missing)]
    assert all(GENERATED.match(request_id) for request_id in ids)
    assert len(set(ids)) == 3


def test_log_lines_of_a_request_carry_its_id(client, log_lines):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    lines = [line for line in _lines(log_lines) if line["logger"] == "django.request"]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "Not Found: /no-such-page/")
    ]
    assert lines[0]["request_id"] == response["X-Request-ID"]
    assert lines[0]["status_code"] == 404
    # Once the request is over, lines no longer claim its id.
    log.warning("between requests")
    assert _lines(log_lines)[-1]["request_id"] == "-"


def test_an_incoming_id_is_ignored_unless_the_proxy_is_trusted(client, settings):
    settings.LMS_TRUST_REQUEST_ID = False
    response = client.get("/", HTTP_X_REQUEST_ID="forged-by-the-client-123")

    assert response["X-Request-ID"] != "forged-by-the-client-123"
    assert GENERATED.match(response["X-Request-ID"])


@pytest.mark.parametrize("incoming", ["a1b2c3d4-e5f6-7788-99aa-bbccddeeff00", "Root=1-67a-abc"])
def test_a_trusted_proxy_id_is_kept(client, settings, incoming):
    settings.LMS_TRUST_REQUEST_ID = True
    assert client.get("/", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["", "has space", "line\nbreak", "x" * 129, "<script>", "-leading-dash"]
)
def test_a_trusted_header_that_is_not_an_id_is_replaced(client, settings, incoming):
    settings.LMS_TRUST_REQUEST_ID = True
    response = client.get("/", HTTP_X_REQUEST_ID=incoming)
    assert GENERATED.match(response["X-Request-ID"])


def test_a_task_queued_in_a_request_carries_its_id_and_logs_with_it(rf, log_lines):
    from lms.request_id import RequestIdMiddleware

    published = {}

    def view(request):
        with app.connection_for_write("memory://") as connection:
            queue = connection.SimpleQueue("request-id-test")  # declared before publishing
            log_line.apply_async(connection=connection, queue="request-id-test")
            message = queue.get(timeout=2)
            published.update(message.headers)
            message.ack()
        from django.http import HttpResponse

        return HttpResponse("queued")

    # Really publish (to an in-memory broker) instead of the tests' eager run.
    app.conf.task_always_eager = False
    try:
        response = RequestIdMiddleware(view)(rf.get("/"))
    finally:
        app.conf.task_always_eager = True

    assert published[TASK_HEADER] == response["X-Request-ID"]
    # The worker side: the task runs with the header and its log line carries the id.
    log_line.apply(headers={TASK_HEADER: response["X-Request-ID"]})
    task_lines = [line for line in _lines(log_lines) if line["message"] == "inside the task"]
    assert [line["request_id"] for line in task_lines] == [response["X-Request-ID"]]
