"""Chat fan-out through a real ASGI server: messages/s through one channel with 50 connected
clients, and the fan-out latency (a message's send -> each client's receive) p50/p99.

Runs uvicorn on `lms.asgi` (one process, as in production) on a free loopback port, against
PostgreSQL (the same database as `bench/run.py`) and the Redis channel layer (CHANNEL_LAYER_URL
or REDIS_URL; without one it says so and stops). It creates fresh learners and a school-wide
channel, signs every learner in (a browser session each), connects them all to the channel
(`/ws/chat/<id>/`, the chat protocol in `community/consumers.py`), then has every client send
`--per-client` messages one after another (each waits for its own message to come back before
sending the next: 50 in flight at most), and records when each message reaches each client.
Bounded: at most `--seconds` of sending, whatever arrives. Within the chat's rate limit (8
messages per user per 10 s) by construction.

    python bench/chat_bench.py [--clients 50] [--per-client 4] [--skip-setup] [--json-out F]

`bench/run.py` (`make bench`) runs it after the HTTP figures and prints and saves its figures
with theirs. A benchmark: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (python bench/chat_bench.py)
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    HOST,
    database_ensure,
    free_port,
    manage,
    step,
    stop,
    wait_until_up,
)

CONNECT_TIMEOUT = 10.0
MAX_SECONDS = 30.0


# --- Inside Django (`manage.py shell -c`): the channel ----------------------------------------


def channel_setup() -> None:
    """Create `BENCH_LEARNERS` learners signed in as browsers (session cookies, with the
    server's SECRET_KEY: the session carries a hash made with it) and a school-wide channel
    (by a staff user); print both as JSON. Sessions, not app sign-ins: allauth rate-limits
    sign-ins per address, and 50 from one loopback address would be refused."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from bench.learners import learners_create
    from community.services.chat import chat_channel_create

    emails = learners_create(
        run=os.environ["BENCH_RUN"],
        count=int(os.environ["BENCH_LEARNERS"]),
        password=secrets.token_urlsafe(16),
    )
    cookies = []
    for user in User.objects.filter(email__in=emails):
        client = Client()
        client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[0])
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)

    staff, _ = User.objects.get_or_create(
        email="bench-staff@example.com",
        defaults={"display_name": "Bench staff", "is_staff": True, "is_superuser": True},
    )
    channel = chat_channel_create(
        title=f"Bench {os.environ.get('BENCH_RUN', '')}".strip()[:80], created_by=staff
    )
    print(json.dumps({"channel": str(channel.pk), "sessions": cookies}))


# --- Measuring -------------------------------------------------------------------------------


@dataclass
class ChatResult:
    clients: int
    sent: int
    delivered: int
    expected: int
    errors: list[str]
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def messages_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the fan-out latencies, in seconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]

    def as_json(self) -> dict:
        return {
            "path": "/ws/chat/<channel>/",
            "clients": self.clients,
            "messages": self.sent,
            "deliveries": self.delivered,
            "expected_deliveries": self.expected,
            "errors": self.errors[:10],
            "seconds": round(self.seconds, 3),
            "messages_per_second": round(self.messages_per_second, 1),
            "deliveries_per_second": round(self.delivered / self.seconds, 1)
            if self.seconds
            else 0.0,
            "fanout_p50_ms": round(self.percentile(0.50) * 1000, 1),
            "fanout_p99_ms": round(self.percentile(0.99) * 1000, 1),
        }

    def summary(self) -> str:
        figures = self.as_json()
        lines = [
            f"Chat: {self.clients} clients on one channel (uvicorn, Redis layer): "
            f"{self.sent} messages in {self.seconds:.2f} s -> "
            f"{figures['messages_per_second']} messages/s "
            f"({figures['deliveries_per_second']} deliveries/s); fan-out latency "
            f"p50 {figures['fanout_p50_ms']} ms, p99 {figures['fanout_p99_ms']} ms.",
        ]
        if self.delivered < self.expected or self.errors:
            lines.append(
                f"  Not everything arrived: {self.delivered} of {self.expected} deliveries; "
                f"errors: {self.errors[:3]}"
            )
        return "\n".join(lines)


async def _connect(url: str, session: str):
    from websockets.asyncio.client import connect

    socket = await connect(
        url,
        origin=f"http://{HOST}",
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=CONNECT_TIMEOUT,
        max_queue=None,
    )
    # Past the catch-up and the online count: live messages follow.
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), CONNECT_TIMEOUT))
        if frame.get("type") == "error":
            raise RuntimeError(f"chat socket refused: {frame}")
        if frame.get("type") == "ready":
            return socket


async def _chat_run(
    *, port: int, channel: str, sessions: list[str], per_client: int, seconds: float
) -> ChatResult:
    url = f"ws://{HOST}:{port}/ws/chat/{channel}/"
    sockets = await asyncio.gather(*(_connect(url, session) for session in sessions))
    sent_at: dict[str, float] = {}
    own: list[dict[str, asyncio.Event]] = [{} for _ in sockets]
    latencies: list[float] = []
    errors: list[str] = []
    last_receive = 0.0
    received = 0

    async def reader(index: int, socket) -> None:
        nonlocal last_receive, received
        async for raw in socket:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "error":
                errors.append(f"{frame.get('code')}: {frame.get('message')}")
                event = own[index].get(frame.get("client_id") or "")
                if event:
                    event.set()
                continue
            if kind != "message":
                continue
            client_id = frame["message"].get("client_id")
            if client_id not in sent_at:
                continue
            latencies.append(now - sent_at[client_id])
            last_receive, received = now, received + 1
            event = own[index].get(client_id)
            if event:
                event.set()

    async def sender(index: int, socket, deadline: float) -> None:
        for _ in range(per_client):
            if time.perf_counter() > deadline:
                return
            client_id = str(uuid.uuid4())
            back = own[index][client_id] = asyncio.Event()
            sent_at[client_id] = time.perf_counter()
            frame = {"type": "message.send", "client_id": client_id, "body": "Bench message"}
            await socket.send(json.dumps(frame))
            try:
                await asyncio.wait_for(back.wait(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                return

    readers = [asyncio.create_task(reader(i, s)) for i, s in enumerate(sockets)]
    started = time.perf_counter()
    deadline = started + seconds
    try:
        await asyncio.gather(*(sender(i, s, deadline) for i, s in enumerate(sockets)))
        expected_total = len(sent_at) * len(sockets)
        if received < expected_total:
            remaining = max(0.1, deadline + 5 - time.perf_counter())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_until(lambda: received >= expected_total), remaining)
    finally:
        for socket in sockets:
            await socket.close()
        for task in readers:
            task.cancel()
    return ChatResult(
        clients=len(sockets),
        sent=len(sent_at),
        delivered=received,
        expected=len(sent_at) * len(sockets),
        errors=errors,
        seconds=max(last_receive - started, 1e-9),
        latencies=latencies,
    )


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def chat_measure(
    *, port: int, channel: str, sessions: list[str], per_client: int, seconds: float = MAX_SECONDS
) -> ChatResult:
    return asyncio.run(
        _chat_run(
            port=port,
            channel=channel,
            sessions=sessions,
            per_client=per_client,
            seconds=min(seconds, MAX_SECONDS),
        )
    )


# --- The whole run ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="connected clients (2-100)")
    parser.add_argument("--per-client", type=int, default=4, help="messages each sends (1-8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="most seconds of sending")
    parser.add_argument("--skip-setup", action="store_true", help="database already migrated")
    parser.add_argument("--json-out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    args.clients = max(2, min(args.clients, 100))
    args.per_client = max(1, min(args.per_client, 8))  # the chat's rate limit: 8 per 10 s
    return args


def _server_env(base: dict[str, str], layer_url: str, secret_key: str) -> dict[str, str]:
    return {
        **base,
        "DEBUG": "false",
        "SECRET_KEY": secret_key,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": HOST,
        "DB_CONN_MAX_AGE": "60",
        "API_THROTTLE_ANON": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        "JWT_ACCESS_TOKEN_EXPIRES_IN": "3600",
        "CHANNEL_LAYER_URL": layer_url,
        "LOG_LEVEL": "WARNING",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    layer_url = os.environ.get("CHANNEL_LAYER_URL") or os.environ.get("REDIS_URL")
    if not layer_url:
        print("Chat: skipped (set REDIS_URL: the bench measures the Redis channel layer).")
        return 0
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"chat bench: needs PostgreSQL, DATABASE_URL is {database_url!r}")
    base_env = {**os.environ, "DATABASE_URL": database_url}
    setup_env = {**base_env, "DEBUG": "true"}
    database_ensure(database_url)
    if not args.skip_setup:
        step("Chat: migrating")
        manage("migrate", "--no-input", env=setup_env)
    run = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)
    secret_key = secrets.token_urlsafe(48)
    step(f"Chat: creating {args.clients} signed-in learners and a school-wide channel")
    setup = json.loads(
        manage(
            "shell",
            "--verbosity",
            "0",
            "-c",
            "from bench.chat_bench import channel_setup; channel_setup()",
            env={
                **setup_env,
                "SECRET_KEY": secret_key,
                "BENCH_RUN": f"chat{run}",
                "BENCH_LEARNERS": str(args.clients),
            },
            capture=True,
        ).splitlines()[-1]
    )

    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for uvicorn's lifetime
        prefix="lms-bench-uvicorn-", suffix=".log", delete=False
    )
    step(f"Chat: starting uvicorn (1 process, Redis layer) on http://{HOST}:{port}/")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "lms.asgi:application",
            f"--host={HOST}",
            f"--port={port}",
            "--ws=websockets",
            "--log-level=warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=_server_env(base_env, layer_url, secret_key),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(port, process)
        step(f"Chat: connecting {len(setup['sessions'])} clients")
        result = chat_measure(
            port=port,
            channel=setup["channel"],
            sessions=setup["sessions"],
            per_client=args.per_client,
            seconds=args.seconds,
        )
    except (RuntimeError, OSError, KeyboardInterrupt) as exc:
        print(f"chat bench: stopped early: {exc!r}", file=sys.stderr)
        print(Path(log.name).read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        stop(process)
        log.close()
    os.unlink(log.name)
    print(result.summary())
    if args.json_out:
        args.json_out.write_text(json.dumps(result.as_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
