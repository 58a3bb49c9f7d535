"""The benchmark's measuring and reporting, against a tiny HTTP server on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.run import Result, measure, table


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
