"""`make schemathesis`: schema-driven fuzzing of the JSON API against a live server.

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL database named by
SCHEMATHESIS_DATABASE_URL, dropped and created anew), migrates it, seeds the demo school,
starts gunicorn with production settings on free loopback ports, one per pass, and runs
schemathesis (https://schemathesis.readthedocs.io) over every operation of `/api/schema/` in
three passes at the same time: anonymous, as the demo learner signed in through allauth's app
sign-in (a JWT bearer token), and as the demo instructor over the authoring, update and
showcase operations. The checks are: no server error, responses matching their documented
schema, status codes and content types the schema documents. Any finding fails the run, and
so does a pass with fewer than `--min-calls` requests (a tenth of it for the instructor's
narrower pass; counted in its gunicorn's access log, so they are the calls the server really
answered). Each pass's output is printed whole when all have ended; the servers are stopped
at the end, even on errors.

The live server lifts the API's throttles (API_THROTTLE_ANON / API_THROTTLE_USER) so the
run is not all 429s, and gives the learner an hour-long access token.

    python bench/schemathesis_run.py [--examples 25] [--author-examples 10] [--seed 11]
                                     [--min-calls 1000]
                                     [--workers 2] [--timeout 480]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import HOST, free_port, manage, sign_in, step, stop, wait_until_up  # noqa: E402

LEARNER = ("learner@example.com", "demo-learner-2024")  # the demo school's (README)
INSTRUCTOR = ("instructor@example.com", "demo-instructor-2024")
# The instructor's pass: what an author reaches (the authoring API on their own course and
# everyone else's, the update check, the showcase), after the learner's pass has run.
AUTHOR_PATHS = r"^/api/v1/(manage|updates|bundles|projects)/"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
    ]
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="test cases per operation")
    parser.add_argument(
        "--author-examples",
        type=int,
        default=10,
        help="test cases per operation in the instructor's pass (its coverage phase's cases "
        "come on top, whatever this is)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SCHEMATHESIS_SEED", 11)))
    parser.add_argument("--min-calls", type=int, default=1000, help="fewest requests per pass")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn and client workers")
    parser.add_argument(
        "--timeout", type=float, default=480.0, help="seconds for the passes, at most"
    )
    return parser.parse_args(argv)


def database_recreate(url: str) -> None:
    """Drop and create the run's PostgreSQL database, so every run starts from the seed."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(url).get("dbname") or ""
    if "schemathesis" not in name:  # never drop a database this script did not name
        raise SystemExit(f"schemathesis: the database name must contain 'schemathesis': {url}")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as conn:
        database = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))


def server_env(database_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # No Redis and no broker: a per-process cache, Celery eager, like `make run`.
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")
    }
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS=HOST,
        # Lifted for this run only: thousands of calls a minute would otherwise be 429s.
        API_THROTTLE_ANON="1000000/min",
        API_THROTTLE_USER="1000000/min",
        JWT_ACCESS_TOKEN_EXPIRES_IN="3600",  # noqa: S106 - seconds, not a secret
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Pass:
    """One schemathesis pass: who it signs in as, what it covers, and its floor of calls."""

    label: str
    min_calls: int
    account: tuple[str, str] | None = None
    extra: tuple[str, ...] = ()
    examples: int | None = None  # --examples unless set


@dataclass
class Server:
    """One gunicorn of the run, with the access log its pass's calls are counted in."""

    process: subprocess.Popen
    port: int
    log: Path


def server_start(env: dict[str, str], workdir: Path, name: str, workers: int) -> Server:
    port, log = free_port(), workdir / f"access-{name}.log"
    log.touch()
    step(f"Starting gunicorn on http://{HOST}:{port}/ for the {name} pass")
    with (workdir / f"gunicorn-{name}.log").open("w") as errors:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "lms.wsgi", "--bind", f"{HOST}:{port}"),
                *("--workers", str(workers), "--access-logfile", str(log)),
            ],
            cwd=ROOT,
            env=env,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
    return Server(process, port, log)


def pass_command(run: Pass, server: Server, args: argparse.Namespace) -> list[str]:
    token = sign_in(server.port, *run.account) if run.account else None
    # With a token, keep it: generated Authorization values would replace it and turn the
    # signed-in pass into another anonymous one (all 401s).
    auth = ("--header", f"Authorization: Bearer {token}") if token else ()
    auth += ("--generation-with-security-parameters", "false") if token else ()
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(ROOT / "bench" / "schemathesis.toml"),
        "run",
        f"http://{HOST}:{server.port}/api/schema/?format=json",
        "--url",
        f"http://{HOST}:{server.port}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(run.examples or args.examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--no-color",
        *auth,
        *run.extra,
    ]


def calls_counted(label: str, log: Path) -> int:
    """The requests gunicorn answered for a pass (its access log, less the schema loads)."""
    lines = [line for line in log.read_text().splitlines() if "/api/schema/" not in line]
    statuses = Counter(m.group(1) for line in lines if (m := re.search(r'" (\d{3}) ', line)))
    print(f"schemathesis {label}: statuses {dict(sorted(statuses.items()))}")
    return len(lines)


def passes_run(
    passes: list[Pass], servers: list[Server], args: argparse.Namespace, workdir: Path
) -> list[tuple[Pass, int, int]]:
    """Run the passes at the same time, one per server; each one's output is printed whole
    once all have ended. Returns each pass with its exit code and the calls counted."""
    started = []
    for run, server in zip(passes, servers, strict=True):
        output = workdir / f"schemathesis-{run.label.replace(' ', '-')}.txt"
        with output.open("w") as out:
            process = subprocess.Popen(
                pass_command(run, server, args), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((run, process, output))
    step(f"schemathesis: {', '.join(run.label for run in passes)} (at the same time)")
    deadline = time.monotonic() + args.timeout
    results = []
    try:
        for (run, process, output), server in zip(started, servers, strict=True):
            try:
                code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            step(f"schemathesis, {run.label}")
            print(output.read_text(), end="")
            if code is None:
                print(f"schemathesis: the {run.label} pass took over {args.timeout:.0f}s")
                code = 1
            results.append((run, code, calls_counted(run.label, server.log)))
    finally:
        for _run, process, _output in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="lms-schemathesis-"))
    database_url = os.environ.get("SCHEMATHESIS_DATABASE_URL") or f"sqlite:///{workdir}/db.sqlite3"
    if database_url.startswith(("postgres://", "postgresql://")):
        database_recreate(database_url)
    env = server_env(database_url)
    step(f"Database {database_url}: migrating and seeding the demo school")
    manage("migrate", "--no-input", env=env)
    manage("seed_demo", "--allow-production", env=env)
    step("Collecting static files (production storage needs the manifest)")
    manage("collectstatic", "--no-input", env=env)
    passes = [
        Pass("anonymous", args.min_calls),
        # Session ids are small integers: the fuzzer finds the learner's own session and
        # revokes it, which rightly signs the rest of the pass out. Revoking is fuzzed in
        # the anonymous pass and tested in accounts/tests.
        Pass(
            "as the demo learner",
            args.min_calls,
            LEARNER,
            ("--exclude-operation-id", "me_sessions_destroy"),
        ),
        # Fewer operations, so fewer calls: a tenth of the floor of the full passes.
        Pass(
            "as the demo instructor",
            args.min_calls // 10,
            INSTRUCTOR,
            ("--include-path-regex", AUTHOR_PATHS),
            args.author_examples,
        ),
    ]
    started = time.monotonic()
    # One gunicorn per pass, all on the one database, so each pass's calls are counted in
    # its own access log while the passes run at the same time (they wait on the server
    # and the database as much as they compute: side by side they share the cores).
    servers: list[Server] = []
    try:
        for run in passes:
            servers.append(server_start(env, workdir, run.label.split()[-1], args.workers))
        for server in servers:
            wait_until_up(server.port, server.process)
        results = passes_run(passes, servers, args, workdir)
    finally:
        for server in servers:
            stop(server.process)
    failed = False
    for run, code, calls in results:
        short = calls < run.min_calls
        failed |= bool(code) or short
        verdict = "findings" if code else ("too few calls" if short else "clean")
        print(f"schemathesis {run.label}: {calls} calls, {verdict}")
    print(f"schemathesis: {time.monotonic() - started:.0f}s in all; server logs {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
