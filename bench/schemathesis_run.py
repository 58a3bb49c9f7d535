"""`make schemathesis`: schema-driven fuzzing of the JSON API against a live server.

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL database named by
SCHEMATHESIS_DATABASE_URL, dropped and created anew), migrates it, seeds the demo school,
starts gunicorn on a free loopback port with production settings, and runs schemathesis
(https://schemathesis.readthedocs.io) over every operation of `/api/schema/`: once
anonymous, once as the demo learner signed in through allauth's app sign-in (a JWT bearer
token), then as the demo instructor over the authoring, update and showcase operations. The
checks are: no server error, responses matching their documented schema, status codes and
content types the schema documents. Any finding fails the run, and so does a pass with fewer
than `--min-calls` requests (a tenth of it for the instructor's narrower pass; counted in
gunicorn's access log, so they are the calls the server really answered). gunicorn is
stopped at the end, even on errors.

The live server lifts the API's throttles (API_THROTTLE_ANON / API_THROTTLE_USER) so the
run is not all 429s, and gives the learner an hour-long access token.

    python bench/schemathesis_run.py [--examples 25] [--seed 11] [--min-calls 1000]
                                     [--workers 2] [--timeout 240]
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
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SCHEMATHESIS_SEED", 11)))
    parser.add_argument("--min-calls", type=int, default=1000, help="fewest requests per pass")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn and client workers")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per pass, at most")
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


def run_pass(
    label: str,
    *,
    port: int,
    log: Path,
    args: argparse.Namespace,
    token: str | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[int, int]:
    """One schemathesis pass; returns its exit code and the requests gunicorn logged."""
    # With a token, keep it: generated Authorization values would replace it and turn the
    # signed-in pass into another anonymous one (all 401s).
    auth = ("--header", f"Authorization: Bearer {token}") if token else ()
    auth += ("--generation-with-security-parameters", "false") if token else ()
    before = len(log.read_text().splitlines())
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(ROOT / "bench" / "schemathesis.toml"),
        "run",
        f"http://{HOST}:{port}/api/schema/?format=json",
        "--url",
        f"http://{HOST}:{port}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(args.examples),
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
        *extra,
    ]
    step(f"schemathesis, {label}")
    try:
        code = subprocess.run(command, cwd=ROOT, timeout=args.timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"schemathesis: the {label} pass took over {args.timeout:.0f}s", file=sys.stderr)
        code = 1
    lines = [line for line in log.read_text().splitlines()[before:] if "/api/schema/" not in line]
    statuses = Counter(m.group(1) for line in lines if (m := re.search(r'" (\d{3}) ', line)))
    print(f"schemathesis {label}: statuses {dict(sorted(statuses.items()))}")
    return code, len(lines)


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
    port, log = free_port(), workdir / "access.log"
    log.touch()
    step(f"Starting gunicorn on http://{HOST}:{port}/ (log: {workdir}/gunicorn.log)")
    with (workdir / "gunicorn.log").open("w") as errors:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "lms.wsgi", "--bind", f"{HOST}:{port}"),
                *("--workers", str(args.workers), "--access-logfile", str(log)),
            ],
            cwd=ROOT,
            env=env,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    try:
        wait_until_up(port, process)
        anonymous = run_pass("anonymous", port=port, log=log, args=args)
        # Session ids are small integers: the fuzzer finds the learner's own session and
        # revokes it, which rightly signs the rest of the pass out. Revoking is fuzzed in
        # the anonymous pass and tested in accounts/tests.
        learner = run_pass(
            "as the demo learner",
            port=port,
            log=log,
            args=args,
            token=sign_in(port, *LEARNER),
            extra=("--exclude-operation-id", "me_sessions_destroy"),
        )
        instructor = run_pass(
            "as the demo instructor",
            port=port,
            log=log,
            args=args,
            token=sign_in(port, *INSTRUCTOR),
            extra=("--include-path-regex", AUTHOR_PATHS),
        )
        results = [
            ("anonymous", *anonymous, args.min_calls),
            ("as the demo learner", *learner, args.min_calls),
            # Fewer operations, so fewer calls: a tenth of the floor of the full passes.
            ("as the demo instructor", *instructor, args.min_calls // 10),
        ]
    finally:
        stop(process)
    failed = False
    for label, code, calls, min_calls in results:
        short = calls < min_calls
        failed |= bool(code) or short
        verdict = "findings" if code else ("too few calls" if short else "clean")
        print(f"schemathesis {label}: {calls} calls, {verdict}")
    print(f"schemathesis: {time.monotonic() - started:.0f}s in all; server log {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
