"""Client event ingestion: a batch from an app, validated against the catalog, stored at once.

The hot path of the analytics store, so it is written for throughput (README "Events:
ingestion and storage"): validation is hand-written against `analytics.catalog` (no
serializer per event), the rate limit is two cache calls, the lessons' courses come from a
per-process map (one query for the lessons it has not seen), and the batch is one
`INSERT ... ON CONFLICT DO NOTHING RETURNING` on PostgreSQL, whose returned ids say which
events are new. Each event gets its own result: accepted, duplicate (its id is stored
already, or came earlier in the batch), or refused with a code.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from analytics.catalog import EVENT_TYPES, Ref, Source
from analytics.models import Event
from catalog.models import Course, Lesson
from lms.cache import outage_log
from lms.errors import CATALOG, ApplicationError, ErrorCode
from lms.ratelimit import RateLimitUnavailable, rate_take

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
APP_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
APP_VERSION = re.compile(r"[0-9A-Za-z._+-]{0,32}")
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# How long a lesson's course (or a course's existence) is trusted per process: lessons
# move between courses rarely, and a learner cannot know the id of a lesson yet to exist.
REF_CACHE_SECONDS = 300.0
REF_CACHE_MAX = 50_000


@dataclass(frozen=True)
class IngestOutcome:
    results: list[dict[str, Any]]
    accepted: int
    duplicates: int
    refused: int


class _RefMap:
    """id -> value (None: no such row), per process, each entry for REF_CACHE_SECONDS."""

    def __init__(self, load) -> None:
        self._load = load
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_many(self, ids: set[str]) -> dict[str, Any]:
        now = time.monotonic()
        found, missing = {}, set()
        entries = self._entries
        for key in ids:
            entry = entries.get(key)
            if entry is None or entry[0] < now:
                missing.add(key)
            else:
                found[key] = entry[1]
        if missing:
            loaded = self._load(missing)
            expires = now + REF_CACHE_SECONDS
            with self._lock:
                if len(entries) > REF_CACHE_MAX:  # bounded, whatever ids clients make up
                    entries.clear()
                for key in missing:
                    value = loaded.get(key)
                    entries[key] = (expires, value)
                    found[key] = value
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _lesson_courses_load(ids: set[str]) -> dict[str, str]:
    rows = Lesson.objects.filter(pk__in=ids).values_list("pk", "course_id")
    return {str(pk): str(course_id) for pk, course_id in rows}


def _courses_load(ids: set[str]) -> dict[str, bool]:
    pks = Course.objects.filter(pk__in=ids).values_list("pk", flat=True)
    return {str(pk): True for pk in pks}


lesson_courses = _RefMap(_lesson_courses_load)
courses_known = _RefMap(_courses_load)


# --- The batch's envelope: app, size, rate -----------------------------------------------


def _app_clean(app: Any) -> tuple[str, str]:
    name = app.get("name") if type(app) is dict else None
    version = app.get("version", "") if type(app) is dict else ""
    fields: dict[str, list[str]] = {}
    if type(name) is not str or not APP_NAME.fullmatch(name):
        fields["app.name"] = [
            "Name the app: lowercase letters, digits, - or _ (e.g. web, ios, android)."
        ]
    if version is None:
        version = ""
    if type(version) is not str or not APP_VERSION.fullmatch(version):
        fields["app.version"] = ["A version of up to 32 letters, digits, dots, +, - or _."]
    if fields:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields=fields)
    return name, version


def _rate_take(*, user_id: uuid.UUID, app: str, count: int, now: float) -> None:
    """Count `count` events against the learner's allowance for this app, a sliding minute
    of LMS_ANALYTICS_RATE_PER_MINUTE; refuse the batch (ANALYTICS_RATE_LIMITED, with the
    instant it would fit) when it goes over. A refused batch uses up nothing; the cache out
    of reach lets the batch through."""
    try:
        refusal = rate_take(
            key=f"analytics:rate:{user_id}:{app}",
            limit=settings.LMS_ANALYTICS_RATE_PER_MINUTE,
            amount=count,
            now=now,
        )
    except RateLimitUnavailable as exc:
        outage_log("analytics rate limit").failed(exc, consequence="not enforced")
        return
    if refusal is not None:
        raise ApplicationError(ErrorCode.ANALYTICS_RATE_LIMITED, retry_at=refusal.retry_at)


# --- One event ---------------------------------------------------------------------------


def _uuid(value: Any) -> str | None:
    """The UUID in its canonical text (lower case, hyphens), or None. Ids stay text from
    the request body to the INSERT: parsing 300 UUID objects a batch and printing them back
    cost more than checking them."""
    if type(value) is not str or len(value) > 45:
        return None
    if CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if type(value) is not str or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class _Refused(Exception):
    def __init__(self, code: ErrorCode) -> None:
        self.code = code


# (event id, type, occurred_at, lesson id, course id, properties)
_Row = tuple[str, str, datetime, str | None, str | None, dict[str, Any]]


def _event_clean(raw: Any, *, oldest: datetime, newest: datetime) -> _Row:
    """The event as a row (its lesson's course still to fill in), or _Refused."""
    if type(raw) is not dict:
        raise _Refused(ErrorCode.EVENT_INVALID)
    event_id = _uuid(raw.get("id"))
    occurred_at = _moment(raw.get("occurred_at"))
    name = raw.get("type")
    if event_id is None or occurred_at is None or type(name) is not str:
        raise _Refused(ErrorCode.EVENT_INVALID)
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise _Refused(ErrorCode.EVENT_TYPE_UNKNOWN)
    if event_type.source is not Source.CLIENT:
        raise _Refused(ErrorCode.EVENT_TYPE_SERVER_ONLY)
    lesson_id = course_id = None
    lesson, course = raw.get("lesson"), raw.get("course")
    if lesson is not None and event_type.lesson is not Ref.NONE:
        lesson_id = _uuid(lesson)
        if lesson_id is None:
            raise _Refused(ErrorCode.EVENT_INVALID)
    elif event_type.lesson is Ref.REQUIRED:
        raise _Refused(ErrorCode.EVENT_LESSON_REQUIRED)
    if course is not None and lesson_id is None and event_type.course is not Ref.NONE:
        course_id = _uuid(course)
        if course_id is None:
            raise _Refused(ErrorCode.EVENT_INVALID)
    properties = event_type.properties_clean(raw.get("properties"))
    if properties is None:
        raise _Refused(ErrorCode.EVENT_PROPERTIES_INVALID)
    if occurred_at > newest:
        raise _Refused(ErrorCode.EVENT_IN_FUTURE)
    if occurred_at < oldest:
        raise _Refused(ErrorCode.EVENT_TOO_OLD)
    return (event_id, name, occurred_at, lesson_id, course_id, properties)


def _echo_id(raw: Any) -> str | None:
    """The id to answer a refused event with: what the client sent, if it is short text."""
    value = raw.get("id") if type(raw) is dict else None
    return value if type(value) is str and len(value) <= 64 else None


# --- The batch ---------------------------------------------------------------------------


def _refs_fill(rows: dict[int, _Row], results: list) -> None:
    """Fill each lesson's course (refusing unknown lessons and courses), in place."""
    lesson_ids = {row[3] for row in rows.values() if row[3] is not None}
    course_ids = {row[4] for row in rows.values() if row[4] is not None}
    lessons = lesson_courses.get_many(lesson_ids) if lesson_ids else {}
    courses = courses_known.get_many(course_ids) if course_ids else {}
    for index, row in list(rows.items()):
        lesson_id, course_id = row[3], row[4]
        code = None
        if lesson_id is not None:
            course_id = lessons.get(lesson_id)
            if course_id is None:
                code = ErrorCode.EVENT_LESSON_UNKNOWN
            else:
                rows[index] = (*row[:4], course_id, row[5])
        elif course_id is not None and not courses.get(course_id):
            code = ErrorCode.EVENT_COURSE_UNKNOWN
        if code is not None:
            del rows[index]
            results[index] = _refusal(row[0], code)


def _refusal(event_id: str | None, code: ErrorCode) -> dict[str, Any]:
    return {"id": event_id, "status": REFUSED, "code": code.value, "message": CATALOG[code].message}


# One statement per batch, its rows as one JSON parameter (quoting one string costs far less
# than binding six arrays value by value), answering the ids it really inserted.
_INSERT_SQL = (
    'INSERT INTO "analytics_event" (event_id, type, source, user_id, app, app_version, '
    "course_id, lesson_id, occurred_at, received_at, properties) "
    "SELECT e.i, e.t, %s, %s, %s, %s, e.c, e.l, e.o, %s, e.p "
    "FROM json_to_recordset(%s::json) AS e(i uuid, t varchar, o timestamptz, l uuid, c uuid, "
    "p jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text"
)


def _insert_postgres(
    rows: list[_Row], *, user_id: uuid.UUID, app: str, version: str, now: datetime
) -> set[str]:
    payload = json.dumps(
        [
            {
                "i": event_id,
                "t": name,
                "o": occurred_at.isoformat(),
                "l": lesson_id,
                "c": course_id,
                "p": properties,
            }
            for event_id, name, occurred_at, lesson_id, course_id, properties in rows
        ],
        separators=(",", ":"),
    )
    params = [Source.CLIENT.value, user_id, app, version, now, payload]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        return {row[0] for row in cursor.fetchall()}


def _insert_portable(
    rows: list[_Row], *, user_id: uuid.UUID, app: str, version: str, now: datetime
) -> set[str]:
    """SQLite (the demo school): which ids are new, then one INSERT that skips conflicts."""
    ids = [row[0] for row in rows]
    stored = {
        str(event_id)
        for event_id in Event.objects.filter(event_id__in=ids).values_list("event_id", flat=True)
    }
    Event.objects.bulk_create(
        [
            Event(
                event_id=event_id,
                type=name,
                source=Source.CLIENT.value,
                user_id=user_id,
                app=app,
                app_version=version,
                lesson_id=lesson_id,
                course_id=course_id,
                occurred_at=occurred_at,
                received_at=now,
                properties=props,
            )
            for event_id, name, occurred_at, lesson_id, course_id, props in rows
            if event_id not in stored
        ],
        ignore_conflicts=True,
    )
    return set(ids) - stored


def events_ingest(
    *, user_id: uuid.UUID, app: Any, events: Any, now: datetime | None = None
) -> IngestOutcome:
    """Store a client batch for learner `user_id`, sent by `app` ({"name", "version"}).

    Refuses the whole batch, storing nothing, with VALIDATION_ERROR (no app, `events` not a
    list), ANALYTICS_BATCH_TOO_LARGE (over LMS_ANALYTICS_BATCH_MAX events) or
    ANALYTICS_RATE_LIMITED (over LMS_ANALYTICS_RATE_PER_MINUTE events this minute from this
    learner and app). Otherwise answers one result per event in the batch's order; replaying
    a batch answers `duplicate` for what was accepted and stores nothing more.
    """
    name, version = _app_clean(app)
    if type(events) is not list:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields={"events": ["A list."]})
    limit = settings.LMS_ANALYTICS_BATCH_MAX
    if len(events) > limit:
        raise ApplicationError(
            ErrorCode.ANALYTICS_BATCH_TOO_LARGE,
            f"Send at most {limit} events per batch (this one has {len(events)}).",
        )
    wall = time.time()
    now = now or datetime.fromtimestamp(wall, tz=UTC)
    if not events:
        return IngestOutcome([], 0, 0, 0)
    _rate_take(user_id=user_id, app=name, count=len(events), now=wall)

    oldest = now - timedelta(days=settings.LMS_ANALYTICS_MAX_AGE_DAYS)
    newest = now + timedelta(seconds=settings.LMS_ANALYTICS_FUTURE_SECONDS)
    results: list[Any] = [None] * len(events)
    rows: dict[int, _Row] = {}
    seen: set[str] = set()
    for index, raw in enumerate(events):
        try:
            row = _event_clean(raw, oldest=oldest, newest=newest)
        except _Refused as refused:
            results[index] = _refusal(_echo_id(raw), refused.code)
            continue
        if row[0] in seen:  # the same id twice in one batch: the first one counts
            results[index] = {"id": row[0], "status": DUPLICATE}
            continue
        seen.add(row[0])
        rows[index] = row
    if rows:
        _refs_fill(rows, results)
    inserted: set[str] = set()
    if rows:
        insert = _insert_postgres if connection.vendor == "postgresql" else _insert_portable
        inserted = insert(list(rows.values()), user_id=user_id, app=name, version=version, now=now)
    for index, row in rows.items():
        status = ACCEPTED if row[0] in inserted else DUPLICATE
        results[index] = {"id": row[0], "status": status}
    accepted = len(inserted)
    refused = sum(1 for result in results if result["status"] == REFUSED)
    return IngestOutcome(results, accepted, len(events) - accepted - refused, refused)
