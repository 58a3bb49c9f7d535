"""The benchmark's measuring and reporting, against a tiny HTTP server on loopback."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.learners import learners_create, lessons_describe
from bench.run import (
    APP_LOGIN_PATH,
    HEARTBEAT_SECONDS,
    Call,
    Result,
    complete_calls,
    measure,
    sync_calls,
    sync_events,
    sync_start,
    table,
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/healthz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def server_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_measure_sends_exactly_the_requested_number_and_records_statuses(server_port):
    result = measure(server_port, "/healthz", requests=25, concurrency=3)

    assert result.requests == 25
    assert result.statuses == {200: 25}
    assert result.all_ok
    assert result.rps > 0
    assert 0 < result.percentile(0.50) <= result.percentile(0.95)


def test_table_flags_urls_that_did_not_answer_200(server_port):
    healthz = measure(server_port, "/healthz", requests=10, concurrency=2)
    missing = measure(server_port, "/courses/nowhere/", requests=10, concurrency=2)

    report = table([healthz, missing])

    healthz_line, missing_line = report.splitlines()[2:4]
    assert "1.00x" in healthz_line
    assert "200x10" in healthz_line
    assert "404x10" in missing_line
    assert "not all 200" in missing_line


def test_connection_errors_are_counted_not_raised():
    result = measure(1, "/healthz", requests=5, concurrency=2)  # nothing listens on port 1

    assert result.requests == 5
    assert not result.statuses
    assert sum(result.errors.values()) == 5
    assert not result.all_ok
    assert "ConnectionRefusedError" in result.status_summary()


def test_percentile_uses_the_nearest_rank():
    result = Result(path="/x", latencies_ms=[float(n) for n in range(1, 101)])

    assert (result.percentile(0.50), result.percentile(0.95)) == (50.0, 95.0)


# --- Requests other than GETs: the progress API's lesson completion and offline sync ---------


class _RecordingHandler(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes, str | None]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.command, self.path, body, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_measure_sends_what_call_for_makes_numbering_requests_per_thread():
    _RecordingHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:

        def call_for(thread: int, number: int) -> Call:
            return Call("POST", f"/t{thread}/n{number}/", b"{}", {"Authorization": f"T{thread}"})

        result = measure(
            server.server_address[1], "POST /x", requests=6, concurrency=2, call_for=call_for
        )
    finally:
        server.shutdown()
        server.server_close()

    assert (result.path, result.statuses) == ("POST /x", {200: 6})
    assert {(method, body) for method, _, body, _ in _RecordingHandler.received} == {
        ("POST", b"{}")
    }
    # Each thread numbers its own requests from 0 and keeps its own credentials.
    by_thread: dict[str, list[int]] = {}
    for _, path, _, authorization in _RecordingHandler.received:
        thread, number = path.strip("/").split("/")
        assert authorization == f"T{thread[1:]}"
        by_thread.setdefault(thread, []).append(int(number[1:]))
    assert set(by_thread) <= {"t0", "t1"}
    assert all(sorted(numbers) == list(range(len(numbers))) for numbers in by_thread.values())
    assert sum(len(numbers) for numbers in by_thread.values()) == 6


def test_completions_walk_each_learners_lessons_in_order():
    call_for = complete_calls(tokens=["a", "b"], lessons=["l1", "l2", "l3"])

    calls = [call_for(thread, number) for thread in (0, 1) for number in range(4)]

    assert [call.path for call in calls[:4]] == [
        "/api/v1/lessons/l1/complete/",
        "/api/v1/lessons/l2/complete/",
        "/api/v1/lessons/l3/complete/",
        "/api/v1/lessons/l1/complete/",
    ]
    assert {call.headers["Authorization"] for call in calls[:4]} == {"Bearer a"}
    assert {call.headers["Authorization"] for call in calls[4:]} == {"Bearer b"}
    assert {call.method for call in calls} == {"POST"}


def test_sync_batches_have_fresh_ids_and_one_timeline_across_batches():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    videos = [("v1", 300), ("v2", 45)]

    batches = [
        sync_events(number=number, size=100, completable=["c1"], videos=videos, start=start)
        for number in range(3)
    ]

    events = [event for batch in batches for event in batch]
    assert [len(batch) for batch in batches] == [100, 100, 100]
    assert len({event["id"] for event in events}) == 300
    times = [datetime.fromisoformat(event["occurred_at"]) for event in events]
    assert times == sorted(times) and len(set(times)) == 300
    assert times[1] - times[0] == timedelta(seconds=10)
    kinds = Counter(event["type"] for event in events)
    assert kinds == {"position": 270, "complete": 30}
    durations = dict(videos)
    for event in events:
        if event["type"] == "position":
            assert 0 <= event["position_seconds"] < durations[event["lesson"]]
        else:
            assert event["lesson"] == "c1" and "position_seconds" not in event


def test_sync_timelines_end_in_the_past():
    start = sync_start(requests=300, size=100)

    last = start + timedelta(seconds=HEARTBEAT_SECONDS * 300 * 100)

    assert last < datetime.now(UTC)


@pytest.mark.django_db
def test_the_benchmarks_learners_sign_in_and_their_requests_are_accepted(client):
    """The learners `bench/learners.py` creates sign in with JWTs, and the completion and
    sync requests the benchmark sends are applied by the real API."""
    from catalog.models import Lesson
    from catalog.tests.factories import LessonFactory, course_with_lessons
    from progress.models import LessonProgress, ProgressEvent

    course = course_with_lessons(4, slug="demo-large")
    LessonFactory(
        section=course.sections.get(),
        kind=Lesson.Kind.VIDEO,
        slug="video",
        order=9,
        duration_seconds=90,
    )
    [email] = learners_create(run="t1", count=1, password="bench-password-1")
    described = lessons_describe()
    response = client.post(
        APP_LOGIN_PATH,
        {"email": email, "password": "bench-password-1"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["access_token"]
    videos = [(lesson, duration) for lesson, duration in described["videos"]]

    complete = complete_calls(tokens=[token], lessons=described["completable"])(0, 0)
    sync = sync_calls(
        tokens=[token],
        size=20,
        completable=described["completable"],
        videos=videos,
        start=sync_start(requests=1, size=20),
    )(0, 0)
    responses = [
        client.generic(
            call.method,
            call.path,
            call.body,
            content_type="application/json",
            headers=call.headers,
        )
        for call in (complete, sync)
    ]

    assert [r.status_code for r in responses] == [200, 200]
    assert {result["status"] for result in responses[1].json()["results"]} == {"applied"}
    assert (described["first_lesson"], described["lesson_count"]) == ("lesson-1", 5)
    assert len(described["completable"]) == 4
    assert ProgressEvent.objects.count() == 20
    assert LessonProgress.objects.get(lesson__slug="video").watched_seconds >= 70
