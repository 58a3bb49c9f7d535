"""`make bench`: what learners do, under gunicorn on PostgreSQL with Redis, as ratios to
`/healthz` in the same run, with each URL's in-process time and query count.

Prepares a PostgreSQL database (created when missing), migrates it, seeds the demo school
with a 200-lesson course and the course-size sweep's courses (`bench-sweep-<n>`, 20, 200 and
1,000 lessons), collects static files, starts gunicorn on a free loopback port with
production settings (DEBUG off, Redis cache and broker, cached sessions, persistent database
connections: the production defaults) and measures each URL with a bounded number of
requests from a few client threads:

- anonymous pages: home, catalog, the 200-lesson course page and a lesson page;
- a signed-in learner (browser session) with progress, about 30% done: the course and
  lesson pages, `/learn/`; the course and dashboard APIs (JWT, as the app calls them);
- the sweep: course and lesson pages at each course size, anonymous and signed in;
- writes from fresh learners (JWT): lesson completion, offline sync batches of 500 events,
  analytics batches; signed Stripe and Mux webhook deliveries, a new event each time.

Every figure is also a ratio to `/healthz` measured in the same run, which cancels out most
of the machine's speed. Then every URL again in process (`bench/inprocess.py`, Django's
test client in a process with the server's settings): median time and queries per request.
Prints the figures, the issue's targets with whether each is met, and the sweep; saves it
all as JSON. Then chat over WebSockets (bench/chat_bench.py) and the course dashboard for
10,000 learners (bench/dashboard_bench.py), unless skipped. A benchmark, not a test: it
never fails on its figures; gunicorn is stopped at the end, even on errors.

    python bench/run.py [--requests 200] [--concurrency 4] [--workers 3] [--sync-batch 500]
                        [--sweep 20,200,1000] [--json PATH] [--skip-setup]
                        [--skip-chat] [--skip-dashboard]
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (python bench/run.py)
    sys.path.insert(0, str(ROOT))

from bench.calls import Call, CallFor, get_call  # noqa: E402
from bench.report import (  # noqa: E402
    sweep_rows,
    sweep_table,
    targets_evaluate,
    targets_table,
)
from bench.writes import (  # noqa: E402
    APP_LOGIN_PATH,
    COMPLETE_PATH,
    HEARTBEAT_SECONDS,
    HOST,
    INGEST_PATH,
    REQUEST_TIMEOUT,
    SYNC_COMPLETE_EVERY,
    SYNC_PATH,
    complete_calls,
    ingest_calls,
    sign_in,
    sync_calls,
    sync_events,
    sync_start,
)

# Re-exported: the tests and the other benchmarks import them from here.
__all__ = [
    "APP_LOGIN_PATH",
    "HEARTBEAT_SECONDS",
    "Call",
    "CallFor",
    "get_call",
    "sign_in",
    "sync_events",
]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lms_bench"
# The server's cache, session store, broker and chat's channel layer: the local Redis, db 14,
# unless BENCH_REDIS_URL names another (never the developer's REDIS_URL: the run fills the
# broker's queues with tasks no worker takes, and empties them at the end).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
DEFAULT_CHANNEL_LAYER_URL = DEFAULT_REDIS_URL
CELERY_QUEUES = ("default", "email", "webhooks")
LARGE_COURSE = "demo-large"
# Hard bounds, whatever the options say: the run stays short and on loopback.
MAX_SECONDS_PER_URL = 10.0
DASHBOARD_API_PATH = "/api/v1/me/dashboard/"
# Requests per URL in process: 2 to warm up, 7 timed, 3 with their queries counted.
INPROCESS_CALLS = 12


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


def results_merge(*results: Result) -> Result:
    """Several runs of one URL as one: their requests over their time together."""
    merged = Result(path=results[0].path)
    for result in results:
        merged.requests += result.requests
        merged.seconds += result.seconds
        merged.latencies_ms += result.latencies_ms
        merged.statuses += result.statuses
        merged.errors += result.errors
    return merged


def table(results: list[Result], inprocess: dict[str, dict] | None = None) -> str:
    """The results as a text table; the `/hz` columns divide by the first row (/healthz).
    With `inprocess` (by path), each row also shows its in-process ms and queries."""
    base = results[0]
    inprocess = inprocess or {}

    def ratio(value: float, reference: float) -> str:
        return f"{value / reference:.2f}x" if reference else "-"

    header = (
        f"{'URL':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'req/s/hz':>9} {'p50/hz':>8} {'p95/hz':>8} {'in-proc ms':>10} {'queries':>7}  statuses"
    )
    lines = [header, "-" * (len(header) + 8)]
    for result in results:
        p50, p95 = result.percentile(0.50), result.percentile(0.95)
        marker = "" if result.all_ok else "  <-- not all 200"
        own = inprocess.get(result.path) or {}
        ms = f"{own['ms_p50']:.1f}" if own.get("ms_p50") is not None else "-"
        queries = str(own["queries"]) if own.get("queries") is not None else "-"
        lines.append(
            f"{result.path:<44} {result.rps:>8.1f} {p50:>8.1f} {p95:>8.1f} "
            f"{ratio(result.rps, base.rps):>9} {ratio(p50, base.percentile(0.50)):>8} "
            f"{ratio(p95, base.percentile(0.95)):>8} {ms:>10} {queries:>7}  "
            f"{result.status_summary()}{marker}"
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


# --- What the run measures ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One URL to measure: `key` names it in the JSON and the targets, `label` in the table."""

    key: str
    label: str
    call_for: CallFor


def page_targets(*, course: dict, cookie: str, token: str, sizes: list[int]) -> list[Target]:
    """The GETs: anonymous pages, the signed-in learner's, then the course-size sweep."""
    large, lesson = f"/courses/{LARGE_COURSE}/", f"/courses/{LARGE_COURSE}/{course['lesson']}/"
    session = {"Cookie": cookie}
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    course_api = f"/api/v1/courses/{LARGE_COURSE}/"
    targets = [
        Target("healthz", "/healthz", get_call("/healthz")),
        Target("home", "/", get_call("/")),
        Target("catalog", "/courses/", get_call("/courses/")),
        Target("course_anon_200", large, get_call(large)),
        Target("lesson_anon_200", lesson, get_call(lesson)),
        Target("course_learner_200", f"{large} (learner)", get_call(large, session)),
        Target("lesson_learner_200", f"{lesson} (learner)", get_call(lesson, session)),
        Target("learn", "/learn/ (learner)", get_call("/learn/", session)),
        Target("course_api_anon", f"GET {course_api}", get_call(course_api)),
        Target("course_api", f"GET {course_api} (learner)", get_call(course_api, bearer)),
        Target(
            "dashboard_api",
            f"GET {DASHBOARD_API_PATH} (learner)",
            get_call(DASHBOARD_API_PATH, bearer),
        ),
    ]
    for size in sizes:
        entry = course["sweep"][str(size)]
        page = f"/courses/{entry['course']}/"
        lesson_page = f"{page}{entry['lesson']}/"
        targets += [
            Target(f"sweep_course_anon_{size}", page, get_call(page)),
            Target(f"sweep_lesson_anon_{size}", lesson_page, get_call(lesson_page)),
            Target(f"sweep_course_learner_{size}", f"{page} (learner)", get_call(page, session)),
            Target(
                f"sweep_lesson_learner_{size}",
                f"{lesson_page} (learner)",
                get_call(lesson_page, session),
            ),
        ]
    return targets


def write_targets(
    tokens: list[str], *, course: dict, args: argparse.Namespace, webhook_secrets: dict[str, str]
) -> list[Target]:
    """Lesson completion, offline sync and analytics batches, each client thread signed in
    as one learner; webhook deliveries, a new event each."""
    from bench.webhooks import MUX_PATH, STRIPE_PATH, mux_calls, stripe_calls

    videos = [(lesson, duration) for lesson, duration in course["videos"]]
    return [
        Target(
            "complete",
            "POST " + COMPLETE_PATH.format(lesson="<id>"),
            complete_calls(tokens=tokens, lessons=course["completable"]),
        ),
        Target(
            "sync",
            f"POST {SYNC_PATH} x{args.sync_batch}",
            sync_calls(
                tokens=tokens,
                size=args.sync_batch,
                completable=course["completable"],
                videos=videos,
                start=sync_start(requests=args.requests, size=args.sync_batch),
            ),
        ),
        Target(
            "ingest",
            f"POST {INGEST_PATH} x{args.ingest_batch}",
            ingest_calls(
                tokens=tokens,
                size=args.ingest_batch,
                videos=videos,
                threads=min(len(tokens), args.concurrency),
                batches=min(args.requests, 100),
            ),
        ),
        Target(
            "stripe",
            f"POST {STRIPE_PATH} (new event)",
            stripe_calls(secret=webhook_secrets["stripe"]),
        ),
        Target("mux", f"POST {MUX_PATH} (new event)", mux_calls(secret=webhook_secrets["mux"])),
    ]


def redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def broker_queues_clear(url: str) -> None:
    """Drop the tasks the run queued (webhook processing, emails): no worker takes them."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = [
            key
            for queue in CELERY_QUEUES
            for key in [queue.encode(), *client.scan_iter(match=f"{queue}\x06\x16*")]
        ]
        client.delete(*keys)
    except redis.RedisError as exc:
        print(f"bench: could not empty the broker's queues: {exc}", file=sys.stderr)


def inprocess_figures(targets: list[Target], env: dict[str, str]) -> dict[str, dict]:
    """Every target's requests again, in a process with the server's settings (Django's test
    client, bench/inprocess.py): time and queries per request, by key."""
    plan = [
        {
            "key": target.key,
            "calls": [target.call_for(0, number).as_json() for number in range(INPROCESS_CALLS)],
        }
        for target in targets
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calls.json"
        path.write_text(json.dumps(plan))
        output = manage(
            "shell",
            "--verbosity",
            "0",
            "-c",
            "from bench.inprocess import main; main()",
            env={**env, "BENCH_CALLS": str(path)},
            capture=True,
        )
    return json.loads(output.splitlines()[-1])


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per URL (max 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (max 16)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (2-4)")
    parser.add_argument("--lessons", type=int, default=200, help="lessons in the large course")
    parser.add_argument(
        "--sync-batch", type=int, default=500, help="events per offline-sync request (1-500)"
    )
    parser.add_argument(
        "--ingest-batch", type=int, default=100, help="events per analytics batch (1-500)"
    )
    parser.add_argument(
        "--sweep", default="20,200,1000", help="course sizes of the sweep ('' for none)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench" / "results" / "latest.json",
        help="where to save the figures",
    )
    parser.add_argument(
        "--skip-setup", action="store_true", help="reuse the database as it is (no migrate/seed)"
    )
    parser.add_argument("--skip-chat", action="store_true", help="no chat fan-out benchmark")
    parser.add_argument(
        "--skip-dashboard", action="store_true", help="no course dashboard benchmark"
    )
    args = parser.parse_args(argv)
    args.requests = min(max(args.requests, 10), 5000)
    args.concurrency = min(max(args.concurrency, 1), 16)
    args.workers = min(max(args.workers, 2), 4)
    args.sync_batch = min(max(args.sync_batch, 1), 500)
    args.ingest_batch = min(max(args.ingest_batch, 1), 500)
    args.sweep = sorted({min(max(int(size), 1), 2000) for size in args.sweep.split(",") if size})
    return args


def environments(args: argparse.Namespace) -> tuple[dict, dict, dict, str | None]:
    """(setup, server, side benchmarks) environments and the Redis used (None: none)."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench: needs PostgreSQL, DATABASE_URL is {database_url!r}")
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    if not redis_reachable(redis_url):
        redis_url = None
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL")
    }
    base_env["DATABASE_URL"] = database_url
    if redis_url:
        base_env.update(REDIS_URL=redis_url, CHANNEL_LAYER_URL=redis_url)
    # Setup commands run as a development site (seed_demo refuses to run with DEBUG off),
    # with tasks run in process (nothing takes them from the broker).
    setup_env = {**base_env, "DEBUG": "true", "CELERY_TASK_ALWAYS_EAGER": "true"}
    server_env = {
        **base_env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": HOST,
        # The API's throttles would otherwise answer 429 after 120 (anonymous) or 600
        # (per learner) requests a minute.
        "API_THROTTLE_ANON": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        # The analytics endpoint's own limit, per learner and app, counted in events.
        "LMS_ANALYTICS_RATE_PER_MINUTE": "100000000",
        # The learners sign in once, before the API is measured.
        "JWT_ACCESS_TOKEN_EXPIRES_IN": "3600",
        "LOG_LEVEL": "WARNING",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
        "MUX_WEBHOOK_SECRETS": secrets.token_hex(16),
    }
    return setup_env, server_env, base_env, redis_url


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    begun = time.monotonic()
    setup_env, server_env, base_env, redis_url = environments(args)
    webhook_secrets = {
        "stripe": server_env["STRIPE_WEBHOOK_SECRET"],
        "mux": server_env["MUX_WEBHOOK_SECRETS"],
    }

    step(f"Database {server_env['DATABASE_URL']}; Redis {redis_url or 'none (locmem cache)'}")
    database_ensure(server_env["DATABASE_URL"])
    if not args.skip_setup:
        step("Migrating")
        manage("migrate", "--no-input", env=setup_env)
        step(f"Seeding the demo school with a {args.lessons}-lesson course")
        manage("seed_demo", "--large-course", str(args.lessons), env=setup_env)
    step("Collecting static files (production storage needs the manifest)")
    manage("collectstatic", "--no-input", env=server_env)
    # Fresh learners for this run (one per client thread, one to warm up with, one for the
    # in-process pass), the sweep's courses, the reader with progress and a browser session
    # (made with the server's SECRET_KEY and session store), the large course's lessons.
    password = secrets.token_urlsafe(16)
    step(
        f"Creating {args.concurrency + 2} learners, the reader's progress and session, "
        f"the sweep's courses ({', '.join(map(str, args.sweep)) or 'none'} lessons)"
    )
    course = json.loads(
        manage(
            "shell",
            "--verbosity",
            "0",
            "-c",
            "from bench.learners import main; main()",
            env={
                **setup_env,
                "SECRET_KEY": server_env["SECRET_KEY"],
                "BENCH_RUN": time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2),
                "BENCH_LEARNERS": str(args.concurrency + 2),
                "BENCH_PASSWORD": password,
                "BENCH_SWEEP": ",".join(map(str, args.sweep)),
            },
            capture=True,
        ).splitlines()[-1]
    )
    lesson_count = course["lesson_count"]
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
    load = {"before": load_average()}
    try:
        wait_until_up(port, process)
        step(f"Signing in {len(course['learners']) + 1} learners (JWT)")
        reader_token = sign_in(port, course["reader"]["email"], password)
        warm_token, inprocess_token, *tokens = [
            sign_in(port, email, password) for email in course["learners"]
        ]
        pages = page_targets(
            course=course, cookie=course["reader"]["cookie"], token=reader_token, sizes=args.sweep
        )
        writes = dict(course=course, args=args, webhook_secrets=webhook_secrets)
        targets = pages + write_targets(tokens, **writes)
        step("Warming up")
        for target in pages + write_targets([warm_token], **writes):
            measure(
                port,
                target.label,
                requests=3 * args.workers,
                concurrency=args.workers,
                call_for=target.call_for,
            )
        results: list[Result] = []
        load["measuring"] = load_average()
        loads: list[float] = []  # the 1-minute load average as each URL's run began
        for target in targets:
            step(f"Measuring {target.label}")
            loads.append(round(os.getloadavg()[0], 2))
            results.append(
                measure(
                    port,
                    target.label,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    call_for=target.call_for,
                )
            )
        # /healthz again at the end: the reference is both runs together, so a machine
        # that got busier (or quieter) while the URLs were measured moves it less.
        step("Measuring /healthz again")
        again = measure(port, "/healthz", requests=args.requests, concurrency=args.concurrency)
        load["after"] = load_average()
    except (RuntimeError, KeyboardInterrupt) as exc:
        print(f"bench: stopped early: {exc!r}", file=sys.stderr)
        print(Path(log.name).read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        stop(process)
        log.close()

    step("Measuring every URL in process (time and queries per request)")
    inprocess_targets = pages + write_targets([inprocess_token], **writes)
    inprocess = inprocess_figures(inprocess_targets, server_env)
    if redis_url:
        broker_queues_clear(redis_url)

    first = results[0]
    results[0] = results_merge(first, again)
    by_key = {}
    for target, result, load_1min in zip(targets, results, loads, strict=True):
        by_key[target.key] = {
            **as_json(result),
            "label": target.label,
            "load_1min": load_1min,
            "inprocess": inprocess.get(target.key),
        }
    by_key["healthz"]["runs"] = [as_json(first), as_json(again)]
    connections = (
        "psycopg pool"
        if server_env.get("DB_POOL", "").lower() in ("1", "true", "yes", "on")
        else f"persistent ({server_env.get('DB_CONN_MAX_AGE', '60')} s)"
    )
    print()
    print(
        f"gunicorn: {args.workers} sync workers, DEBUG=false, database connections "
        f"{connections}, Redis {'on' if redis_url else 'off'}; client: {args.concurrency} "
        f"threads, up to {args.requests} requests per URL (at most {MAX_SECONDS_PER_URL:.0f} s); "
        f"course '{LARGE_COURSE}' has {lesson_count} lessons, the learner ~30% done."
    )
    print(f"Load average (1, 5, 15 min): {load}")
    print(table(results, {label: by_key[key]["inprocess"] for key, label in _labels(targets)}))
    sync, ingest = by_key["sync"], by_key["ingest"]
    print(
        f"Offline sync: {args.sync_batch} events per request (1 in {SYNC_COMPLETE_EVERY} a "
        f"completion, the rest heartbeats) -> {sync['rps'] * args.sync_batch:,.0f} events/s."
    )
    print(
        f"Analytics ingestion: {args.ingest_batch} player events per request -> "
        f"{ingest['rps'] * args.ingest_batch:,.0f} events/s."
    )
    targets_rows = targets_evaluate(by_key, sync_batch=args.sync_batch, sweep_sizes=args.sweep)
    print()
    print(targets_table(targets_rows))
    sweep = sweep_rows(by_key, sizes=args.sweep)
    if args.sweep:
        print()
        print("Course-size sweep (req/s over /healthz, in-process ms p50, queries):")
        print(sweep_table(sweep, sizes=args.sweep))
    failing = [result for result in results if not result.all_ok]
    if failing:
        print()
        print("Not every response was 200 (figures for these URLs measure error pages):")
        for result in failing:
            print(f"  {result.path}: {result.status_summary()}")
        print(f"gunicorn log: {log.name}")
    else:
        os.unlink(log.name)
    print(f"(measured in {time.monotonic() - begun:.0f} s)")
    chat = None if args.skip_chat else chat_figures(base_env)
    dashboard = None if args.skip_dashboard else dashboard_figures(base_env)
    figures = {
        "run": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - begun, 1),
            "workers": args.workers,
            "concurrency": args.concurrency,
            "requests": args.requests,
            "lessons": lesson_count,
            "sync_batch": args.sync_batch,
            "ingest_batch": args.ingest_batch,
            "sweep": args.sweep,
            "connections": connections,
            "redis": bool(redis_url),
            "load_average": load,
        },
        "results": by_key,
        "targets": targets_rows,
        "sweep": sweep,
        "chat": chat,
        "dashboard": dashboard,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2))
    shown = args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json
    print(f"\nSaved to {shown}")
    return 0


def _labels(targets: list[Target]) -> list[tuple[str, str]]:
    return [(target.key, target.label) for target in targets]


if __name__ == "__main__":
    sys.exit(main())
