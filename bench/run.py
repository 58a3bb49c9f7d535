"""`make bench`: requests/s and latency of the main pages and the progress API under
gunicorn on PostgreSQL, then chat fan-out over WebSockets (bench/chat_bench.py) and the
course dashboard's page time for 10,000 learners' data (bench/dashboard_bench.py).

Prepares a PostgreSQL database (created when missing), migrates it, seeds the demo school
with a 200-lesson course, collects static files, starts gunicorn on a free loopback port
with production settings, and measures each URL with a bounded number of requests from a
few client threads: the pages with GETs, then lesson completion, offline sync and analytics
event batches with POSTs from freshly created learners signed in with JWTs (one learner per
client thread). Every figure is also shown as a ratio to `/healthz` measured in the same
run, which cancels out most of the machine's speed. A benchmark, not a test: it prints
figures and never fails on them; gunicorn is stopped at the end, even on errors.

    python bench/run.py [--requests 300] [--concurrency 4] [--workers 3] [--sync-batch 100]
                        [--ingest-batch 100] [--skip-setup]
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
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lms_bench"
# The chat step needs a Redis channel layer: the local Redis unless one is configured.
DEFAULT_CHANNEL_LAYER_URL = "redis://127.0.0.1:6379/14"
LARGE_COURSE = "demo-large"
HOST = "127.0.0.1"
# Hard bounds, whatever the options say: the run stays short and on loopback.
MAX_SECONDS_PER_URL = 30.0
REQUEST_TIMEOUT = 10.0
APP_LOGIN_PATH = "/_allauth/app/v1/auth/login"
COMPLETE_PATH = "/api/v1/lessons/{lesson}/complete/"
SYNC_PATH = "/api/v1/progress/sync/"
# In a sync batch, one event in this many completes a lesson; the others are video
# heartbeats, 10 seconds apart, as a player sends them.
SYNC_COMPLETE_EVERY = 10
HEARTBEAT_SECONDS = 10
INGEST_PATH = "/api/v1/analytics/events/"
# What the web player sends, in turn, about the course's videos.
INGEST_MIX = ("lesson.viewed", "video.play", "video.seek", "video.rate", "video.pause")


@dataclass(frozen=True)
class Call:
    """One request to send."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


# (client thread, that thread's n-th request) -> the request to send.
CallFor = Callable[[int, int], Call]


def get_call(path: str) -> CallFor:
    call = Call("GET", path, headers={"Accept": "text/html,application/json"})
    return lambda thread, number: call


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


def measure(
    port: int,
    path: str,
    *,
    requests: int,
    concurrency: int,
    call_for: CallFor | None = None,
) -> Result:
    """Send `requests` requests from `concurrency` threads; stop early after
    MAX_SECONDS_PER_URL. They are GETs of `path` unless `call_for` makes each request (then
    `path` only labels the result)."""
    result = Result(path=path)
    call_for = call_for or get_call(path)
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.monotonic() + MAX_SECONDS_PER_URL

    def take() -> bool:
        with lock:
            if remaining[0] <= 0 or time.monotonic() > deadline:
                return False
            remaining[0] -= 1
            return True

    def client(thread: int) -> None:
        number = 0
        while take():
            call = call_for(thread, number)
            number += 1
            started = time.perf_counter()
            status, error = None, None
            connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            try:
                connection.request(call.method, call.path, body=call.body, headers=call.headers)
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
    threads = [
        threading.Thread(target=client, args=(index,), daemon=True) for index in range(concurrency)
    ]
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


# --- The progress API: signed-in learners completing lessons and syncing ----------------------


def http_json(
    port: int, method: str, path: str, payload: dict, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(body or b"{}")
    except ValueError:
        return response.status, {}


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in as an app would (allauth headless, JWT strategy); returns the access token."""
    status, body = http_json(port, "POST", APP_LOGIN_PATH, {"email": email, "password": password})
    token = body.get("meta", {}).get("access_token") if status == 200 else None
    if not token:
        raise RuntimeError(f"signing in {email} answered {status}: {json.dumps(body)[:300]}")
    return token


def api_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def complete_calls(*, tokens: list[str], lessons: list[str]) -> CallFor:
    """Each client thread is one learner completing the lessons in course order: first
    completions (XP, enrollment, streak) until the lessons run out, then repeats."""

    def call_for(thread: int, number: int) -> Call:
        lesson = lessons[number % len(lessons)]
        return Call(
            "POST",
            COMPLETE_PATH.format(lesson=lesson),
            b"",
            api_headers(tokens[thread % len(tokens)]),
        )

    return call_for


def sync_events(
    *,
    number: int,
    size: int,
    completable: list[str],
    videos: list[tuple[str, int]],
    start: datetime,
) -> list[dict]:
    """The `number`-th batch of one learner: `size` events with fresh ids, on a timeline that
    keeps going from batch to batch (so no heartbeat is stale). Mostly heartbeats that play
    one video after another; every `SYNC_COMPLETE_EVERY`-th event completes a lesson."""
    events = []
    for offset in range(size):
        index = number * size + offset
        event = {
            "id": str(uuid.uuid4()),
            "occurred_at": (start + timedelta(seconds=HEARTBEAT_SECONDS * index)).isoformat(),
        }
        if offset % SYNC_COMPLETE_EVERY == SYNC_COMPLETE_EVERY - 1:
            lesson = completable[(index // SYNC_COMPLETE_EVERY) % len(completable)]
            event.update(type="complete", lesson=lesson)
        else:
            # A stretch of heartbeats per video, long enough to watch most of it.
            lesson, duration = videos[(index // 60) % len(videos)]
            position = float((HEARTBEAT_SECONDS * index) % max(duration, 1))
            event.update(type="position", lesson=lesson, position_seconds=position)
        events.append(event)
    return events


def sync_calls(
    *,
    tokens: list[str],
    size: int,
    completable: list[str],
    videos: list[tuple[str, int]],
    start: datetime,
) -> CallFor:
    """Each client thread is one learner sending `size`-event batches of offline progress."""

    def call_for(thread: int, number: int) -> Call:
        events = sync_events(
            number=number, size=size, completable=completable, videos=videos, start=start
        )
        body = json.dumps({"events": events}).encode()
        return Call("POST", SYNC_PATH, body, api_headers(tokens[thread % len(tokens)]))

    return call_for


def write_targets(
    tokens: list[str], *, course: dict, args: argparse.Namespace
) -> list[tuple[str, CallFor]]:
    """Lesson completion and offline sync, each client thread signed in as one learner."""
    videos = [(lesson, duration) for lesson, duration in course["videos"]]
    return [
        (
            "POST " + COMPLETE_PATH.format(lesson="<id>"),
            complete_calls(tokens=tokens, lessons=course["completable"]),
        ),
        (
            f"POST {SYNC_PATH} x{args.sync_batch}",
            sync_calls(
                tokens=tokens,
                size=args.sync_batch,
                completable=course["completable"],
                videos=videos,
                start=sync_start(requests=args.requests, size=args.sync_batch),
            ),
        ),
        (
            f"POST {INGEST_PATH} x{args.ingest_batch}",
            ingest_calls(
                tokens=tokens,
                size=args.ingest_batch,
                videos=videos,
                threads=min(len(tokens), args.concurrency),
                batches=args.requests,
            ),
        ),
    ]


def sync_start(*, requests: int, size: int) -> datetime:
    """Early enough that the longest timeline one learner can send still ends in the past
    (the engine refuses events from the future)."""
    return datetime.now(UTC) - timedelta(seconds=HEARTBEAT_SECONDS * (requests + 1) * size + 600)


# --- Analytics ingestion: batches of client events from the web player ---------------------


def ingest_events(*, number: int, size: int, videos: list[tuple[str, int]], now: datetime) -> list:
    """The `number`-th batch of one learner: `size` player events with fresh ids, about the
    course's videos, dated in the last minutes (so none is too old or in the future)."""
    events = []
    for offset in range(size):
        index = number * size + offset
        lesson, duration = videos[index % len(videos)]
        kind = INGEST_MIX[index % len(INGEST_MIX)]
        position = float(index % max(duration, 1))
        properties: dict = {
            "lesson.viewed": {},
            "video.play": {"position": position},
            "video.pause": {"position": position},
            "video.seek": {"from": position, "to": position / 2},
            "video.rate": {"position": position, "rate": 1.5},
        }[kind]
        events.append(
            {
                "id": str(uuid.uuid4()),
                "type": kind,
                "occurred_at": (now - timedelta(seconds=size - offset)).isoformat(),
                "lesson": lesson,
                "properties": properties,
            }
        )
    return events


def ingest_calls(
    *, tokens: list[str], size: int, videos: list[tuple[str, int]], threads: int, batches: int
) -> CallFor:
    """Each client thread is one learner's web player sending `size`-event batches. The
    bodies are built here, before the measurement, so the figure is the server's."""
    now = datetime.now(UTC)
    bodies = [
        [
            json.dumps(
                {
                    "app": {"name": "web", "version": "bench"},
                    "events": ingest_events(
                        number=thread * batches + number, size=size, videos=videos, now=now
                    ),
                }
            ).encode()
            for number in range(batches)
        ]
        for thread in range(threads)
    ]

    def call_for(thread: int, number: int) -> Call:
        body = bodies[thread % threads][number % batches]
        return Call("POST", INGEST_PATH, body, api_headers(tokens[thread % len(tokens)]))

    return call_for


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


def side_bench(script: str, env: dict[str, str]) -> dict | None:
    """Run a benchmark of its own (`bench/<script>`, on the same database) that prints its
    line and writes its figures as JSON; None if it stopped early."""
    print()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        completed = subprocess.run(
            [sys.executable, f"bench/{script}", "--skip-setup", "--json-out", str(out)],
            cwd=ROOT,
            env=env,
            check=False,
            timeout=300,
        )
        if completed.returncode != 0 or not out.exists():
            return None
        return json.loads(out.read_text())


def chat_figures(env: dict[str, str]) -> dict | None:
    """Chat fan-out through a real ASGI server (bench/chat_bench.py: its own uvicorn, 50
    clients on one channel). None without Redis or if it stopped early."""
    if not (env.get("CHANNEL_LAYER_URL") or env.get("REDIS_URL")):
        env = {**env, "CHANNEL_LAYER_URL": DEFAULT_CHANNEL_LAYER_URL}
    return side_bench("chat_bench.py", env)


def dashboard_figures(env: dict[str, str]) -> dict | None:
    """The course dashboard's page time for a course with 10,000 learners' data
    (bench/dashboard_bench.py: seeds it once, then times the page in its own process)."""
    return side_bench("dashboard_bench.py", env)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per URL (max 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (max 16)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (2-4)")
    parser.add_argument("--lessons", type=int, default=200, help="lessons in the large course")
    parser.add_argument(
        "--sync-batch", type=int, default=100, help="events per offline-sync request (1-500)"
    )
    parser.add_argument(
        "--ingest-batch", type=int, default=100, help="events per analytics batch (1-500)"
    )
    parser.add_argument(
        "--skip-setup", action="store_true", help="reuse the database as it is (no migrate/seed)"
    )
    args = parser.parse_args(argv)
    args.requests = min(max(args.requests, 10), 5000)
    args.concurrency = min(max(args.concurrency, 1), 16)
    args.workers = min(max(args.workers, 2), 4)
    args.sync_batch = min(max(args.sync_batch, 1), 500)
    args.ingest_batch = min(max(args.ingest_batch, 1), 500)
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
        # The API's throttles would otherwise answer 429 after 120 (anonymous) or 600
        # (per learner) requests a minute.
        "API_THROTTLE_ANON": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        # The analytics endpoint's own limit, per learner and app, counted in events.
        "LMS_ANALYTICS_RATE_PER_MINUTE": "100000000",
        # The learners sign in once, before the API is measured.
        "JWT_ACCESS_TOKEN_EXPIRES_IN": "3600",
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
    # Fresh learners for this run (one per client thread, and one to warm up with), and the
    # large course's lessons, as the site sees them.
    password = secrets.token_urlsafe(16)
    step(f"Creating {args.concurrency + 1} learners for the progress API")
    course = json.loads(
        manage(
            "shell",
            "--verbosity",
            "0",
            "-c",
            "from bench.learners import main; main()",
            env={
                **setup_env,
                "BENCH_RUN": time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2),
                "BENCH_LEARNERS": str(args.concurrency + 1),
                "BENCH_PASSWORD": password,
            },
            capture=True,
        ).splitlines()[-1]
    )
    first_lesson, lesson_count = course["first_lesson"], course["lesson_count"]

    paths = [
        "/healthz",
        "/courses/",
        f"/courses/{LARGE_COURSE}/",
        f"/courses/{LARGE_COURSE}/{first_lesson}/",
        f"/api/v1/courses/{LARGE_COURSE}/",
    ]
    targets: list[tuple[str, CallFor]] = [(path, get_call(path)) for path in paths]
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
        step(f"Signing in {len(course['learners'])} learners (JWT)")
        warm_token, *tokens = [sign_in(port, email, password) for email in course["learners"]]
        warm_targets = targets + write_targets([warm_token], course=course, args=args)
        targets += write_targets(tokens, course=course, args=args)
        step("Warming up")
        for label, call_for in warm_targets:
            measure(
                port,
                label,
                requests=10 * args.workers,
                concurrency=args.workers,
                call_for=call_for,
            )
        results = []
        for label, call_for in targets:
            step(f"Measuring {label}")
            results.append(
                measure(
                    port,
                    label,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    call_for=call_for,
                )
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
    sync, ingest = results[-2], results[-1]
    print(
        f"Offline sync: {args.sync_batch} events per request (1 in {SYNC_COMPLETE_EVERY} a "
        f"completion, the rest heartbeats) -> {sync.rps * args.sync_batch:.0f} events/s."
    )
    print(
        f"Analytics ingestion: {args.ingest_batch} player events per request -> "
        f"{ingest.rps * args.ingest_batch:.0f} events/s."
    )
    failing = [result for result in results if not result.all_ok]
    if failing:
        print()
        print("Not every response was 200 (figures for these URLs measure error pages):")
        for result in failing:
            print(f"  {result.path}: {result.status_summary()}")
        print(f"gunicorn log: {log.name}")
    else:
        os.unlink(log.name)
    chat = chat_figures(base_env)
    dashboard = dashboard_figures(base_env)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    saved = results_dir / time.strftime("bench-%Y%m%d-%H%M%S.json")
    figures = [as_json(result) for result in results] + [f for f in (chat, dashboard) if f]
    saved.write_text(json.dumps(figures, indent=2))
    print(f"\nSaved to {saved.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
