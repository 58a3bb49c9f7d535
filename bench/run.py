"""`make bench`: requests/s and latency of the main pages under gunicorn on PostgreSQL.

Prepares a PostgreSQL database (created when missing), migrates it, seeds the demo school
with a 200-lesson course, collects static files, starts gunicorn on a free loopback port
with production settings, and measures each URL with a bounded number of requests from a
few client threads. Every figure is also shown as a ratio to `/healthz` measured in the same
run, which cancels out most of the machine's speed. A benchmark, not a test: it prints
figures and never fails on them; gunicorn is stopped at the end, even on errors.

    python bench/run.py [--requests 300] [--concurrency 4] [--workers 3] [--skip-setup]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lms_bench"
LARGE_COURSE = "demo-large"
HOST = "127.0.0.1"
# Hard bounds, whatever the options say: the run stays short and on loopback.
MAX_SECONDS_PER_URL = 30.0
REQUEST_TIMEOUT = 10.0


@dataclass
class Result:
    path: str
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        rank = max(1, round(fraction * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]

    @property
    def all_ok(self) -> bool:
        return not self.errors and set(self.statuses) == {200}

    def status_summary(self) -> str:
        parts = [f"{status}x{count}" for status, count in sorted(self.statuses.items())]
        parts += [f"{error}x{count}" for error, count in sorted(self.errors.items())]
        return " ".join(parts) or "-"


def measure(port: int, path: str, *, requests: int, concurrency: int) -> Result:
    """Send `requests` GETs from `concurrency` threads; stop early after MAX_SECONDS_PER_URL."""
    result = Result(path=path)
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.monotonic() + MAX_SECONDS_PER_URL

    def take() -> bool:
        with lock:
            if remaining[0] <= 0 or time.monotonic() > deadline:
                return False
            remaining[0] -= 1
            return True

    def client() -> None:
        while take():
            started = time.perf_counter()
            status, error = None, None
            connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            try:
                connection.request("GET", path, headers={"Accept": "text/html,application/json"})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
            finally:
                connection.close()
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                result.requests += 1
                if error:
                    result.errors[error] += 1
                else:
                    result.statuses[status] += 1
                    result.latencies_ms.append(elapsed_ms)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def table(results: list[Result]) -> str:
    """The results as a text table; the `/hz` columns divide by the first row (/healthz)."""
    base = results[0]

    def ratio(value: float, reference: float) -> str:
        return f"{value / reference:.2f}x" if reference else "-"

    header = (
        f"{'URL':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'req/s/hz':>9} {'p50/hz':>8} {'p95/hz':>8}  statuses"
    )
    lines = [header, "-" * (len(header) + 8)]
    for result in results:
        p50, p95 = result.percentile(0.50), result.percentile(0.95)
        marker = "" if result.all_ok else "  <-- not all 200"
        lines.append(
            f"{result.path:<44} {result.rps:>8.1f} {p50:>8.1f} {p95:>8.1f} "
            f"{ratio(result.rps, base.rps):>9} {ratio(p50, base.percentile(0.50)):>8} "
            f"{ratio(p95, base.percentile(0.95)):>8}  {result.status_summary()}{marker}"
        )
    lines.append(f"(x/hz: the figure divided by the same figure for {base.path} in this run)")
    return "\n".join(lines)


def as_json(result: Result) -> dict:
    return {
        "path": result.path,
        "requests": result.requests,
        "seconds": round(result.seconds, 3),
        "rps": round(result.rps, 1),
        "p50_ms": round(result.percentile(0.50), 2),
        "p95_ms": round(result.percentile(0.95), 2),
        "statuses": {str(status): count for status, count in result.statuses.items()},
        "errors": dict(result.errors),
    }


# --- Setup --------------------------------------------------------------------------------


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    return completed.stdout or ""


def database_ensure(url: str) -> None:
    """Create the benchmark database when the server does not have it yet."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(url).get("dbname")
    if not name:
        raise SystemExit(f"bench: DATABASE_URL names no database: {url}")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            step(f"Creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {seconds:.0f}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per URL (max 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (max 16)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (2-4)")
    parser.add_argument("--lessons", type=int, default=200, help="lessons in the large course")
    parser.add_argument(
        "--skip-setup", action="store_true", help="reuse the database as it is (no migrate/seed)"
    )
    args = parser.parse_args(argv)
    args.requests = min(max(args.requests, 10), 5000)
    args.concurrency = min(max(args.concurrency, 1), 16)
    args.workers = min(max(args.workers, 2), 4)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench: needs PostgreSQL, DATABASE_URL is {database_url!r}")
    base_env = {**os.environ, "DATABASE_URL": database_url}
    # Setup commands run as a development site (seed_demo refuses to run with DEBUG off).
    setup_env = {**base_env, "DEBUG": "true"}
    server_env = {
        **base_env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": HOST,
        "DB_CONN_MAX_AGE": "60",
        # The API's anonymous throttle would otherwise answer 429 after 120 requests.
        "API_THROTTLE_ANON": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }

    step(f"Database {database_url}")
    database_ensure(database_url)
    if not args.skip_setup:
        step("Migrating")
        manage("migrate", "--no-input", env=setup_env)
        step(f"Seeding the demo school with a {args.lessons}-lesson course")
        manage("seed_demo", "--large-course", str(args.lessons), env=setup_env)
    step("Collecting static files (production storage needs the manifest)")
    manage("collectstatic", "--no-input", env=server_env)
    # The large course's first lesson and size, as the site sees them.
    first_lesson, lesson_count = manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from catalog.models import Lesson\n"
        f"lessons = Lesson.objects.filter(course__slug='{LARGE_COURSE}', is_published=True)\n"
        "print(lessons.order_by('section__order', 'order').values_list('slug', flat=True)[0])\n"
        "print(lessons.count())",
        env=setup_env,
        capture=True,
    ).split()[-2:]

    paths = [
        "/healthz",
        "/courses/",
        f"/courses/{LARGE_COURSE}/",
        f"/courses/{LARGE_COURSE}/{first_lesson}/",
        f"/api/v1/courses/{LARGE_COURSE}/",
    ]
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for gunicorn's lifetime
        prefix="lms-bench-gunicorn-", suffix=".log", delete=False
    )
    step(f"Starting gunicorn ({args.workers} sync workers) on http://{HOST}:{port}/")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "lms.wsgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(port, process)
        step("Warming up")
        for path in paths:
            measure(port, path, requests=10 * args.workers, concurrency=args.workers)
        results = []
        for path in paths:
            step(f"Measuring {path}")
            results.append(
                measure(port, path, requests=args.requests, concurrency=args.concurrency)
            )
    except (RuntimeError, KeyboardInterrupt) as exc:
        print(f"bench: stopped early: {exc!r}", file=sys.stderr)
        print(Path(log.name).read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        stop(process)
        log.close()

    print()
    print(
        f"gunicorn: {args.workers} sync workers, DEBUG=false; client: {args.concurrency} threads, "
        f"up to {args.requests} requests per URL; course '{LARGE_COURSE}' has "
        f"{lesson_count} lessons."
    )
    print(table(results))
    failing = [result for result in results if not result.all_ok]
    if failing:
        print()
        print("Not every response was 200 (figures for these URLs measure error pages):")
        for result in failing:
            print(f"  {result.path}: {result.status_summary()}")
        print(f"gunicorn log: {log.name}")
    else:
        os.unlink(log.name)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    saved = results_dir / time.strftime("bench-%Y%m%d-%H%M%S.json")
    saved.write_text(json.dumps([as_json(result) for result in results], indent=2))
    print(f"\nSaved to {saved.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
