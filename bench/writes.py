"""The progress API's writes for `make bench`: signing in as an app does, then lesson
completions, offline sync batches and analytics batches, each client thread one learner."""

from __future__ import annotations

import http.client
import json
import uuid
from datetime import UTC, datetime, timedelta

from bench.calls import Call, CallFor

HOST = "127.0.0.1"
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
