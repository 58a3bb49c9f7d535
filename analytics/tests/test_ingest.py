"""`POST /api/v1/analytics/events/`: client batches validated per event against the catalog,
replay-safe, limited in size and rate, in a fixed number of queries."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from accounts.tests.factories import UserFactory
from analytics.catalog import CLIENT_TYPES, EVENT_TYPES
from analytics.models import Event
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.errors import CATALOG, ErrorCode

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/events/"
APP = {"name": "web", "version": "2.4.1"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event(type: str, lesson=None, course=None, properties=None, *, at=None, id=None) -> dict:
    body = {
        "id": str(id or uuid.uuid4()),
        "type": type,
        "occurred_at": iso(at or datetime.now(UTC) - timedelta(minutes=1)),
    }
    if lesson is not None:
        body["lesson"] = str(getattr(lesson, "pk", lesson))
    if course is not None:
        body["course"] = str(getattr(course, "pk", course))
    if properties is not None:
        body["properties"] = properties
    return body


def refused(body_event: dict, code: ErrorCode) -> dict:
    return {
        "id": body_event["id"],
        "status": "refused",
        "code": code.value,
        "message": CATALOG[code].message,
    }


@pytest.fixture
def lesson():
    return LessonFactory(section=SectionFactory(course=CourseFactory()), kind="video")


@pytest.fixture
def learner_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def send(client, events, app=APP):
    return client.post(URL, {"app": app, "events": events}, format="json")


def test_every_client_type_is_stored_with_its_lessons_course(learner_api, user, lesson):
    other_course = CourseFactory()
    events = [
        event("lesson.viewed", lesson),
        event("video.play", lesson, properties={"position": 0}),
        event("video.pause", lesson, properties={"position": 12.5}),
        event("video.seek", lesson, properties={"from": 12.5, "to": 3}),
        event("video.rate", lesson, properties={"position": 3.0, "rate": 1.5}),
        event("quiz.started", lesson),
        event("search", course=other_course, properties={"query": "loops", "results": 3}),
        event("app.opened"),
    ]
    assert sorted({e["type"] for e in events}) == CLIENT_TYPES

    response = send(learner_api, events)

    assert response.status_code == 200
    assert response.json() == {
        "results": [{"id": e["id"], "status": "accepted"} for e in events],
        "accepted": 8,
        "duplicates": 0,
        "refused": 0,
    }
    stored = {str(row.event_id): row for row in Event.objects.all()}
    assert set(stored) == {e["id"] for e in events}
    seek = stored[events[3]["id"]]
    assert (seek.type, seek.source, seek.user_id, seek.app, seek.app_version) == (
        "video.seek",
        "client",
        user.pk,
        "web",
        "2.4.1",
    )
    assert (seek.lesson_id, seek.course_id) == (lesson.pk, lesson.course_id)
    # Numbers are stored as floats, whatever the client sent; unused keys are not stored.
    assert seek.properties == {"from": 12.5, "to": 3.0}
    assert stored[events[1]["id"]].properties == {"position": 0.0}
    assert stored[events[0]["id"]].properties == {}
    assert stored[events[6]["id"]].course_id == other_course.pk
    assert stored[events[6]["id"]].lesson_id is None
    assert seek.occurred_at == datetime.fromisoformat(events[3]["occurred_at"])


def test_a_lesson_course_sent_by_the_client_is_replaced_by_the_lessons(learner_api, lesson):
    sent = event("lesson.viewed", lesson, course=CourseFactory())
    assert send(learner_api, [sent]).json()["accepted"] == 1
    assert Event.objects.get().course_id == lesson.course_id


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda lesson: "not an object", ErrorCode.EVENT_INVALID),
        (lambda lesson: {**event("app.opened"), "id": "12"}, ErrorCode.EVENT_INVALID),
        (lambda lesson: {k: v for k, v in event("app.opened").items() if k != "id"}, None),
        (
            lambda lesson: {**event("app.opened"), "occurred_at": "2025-01-01T10:00:00"},
            ErrorCode.EVENT_INVALID,
        ),
        (
            lambda lesson: {**event("app.opened"), "occurred_at": 1700000000},
            ErrorCode.EVENT_INVALID,
        ),
        (lambda lesson: event("video.teleport", lesson), ErrorCode.EVENT_TYPE_UNKNOWN),
        (lambda lesson: event("lesson.completed", lesson), ErrorCode.EVENT_TYPE_SERVER_ONLY),
        (lambda lesson: event("lesson.viewed"), ErrorCode.EVENT_LESSON_REQUIRED),
        (lambda lesson: event("lesson.viewed", "nope"), ErrorCode.EVENT_INVALID),
        (lambda lesson: event("lesson.viewed", uuid.uuid4()), ErrorCode.EVENT_LESSON_UNKNOWN),
        (
            lambda lesson: event(
                "search", course=uuid.uuid4(), properties={"query": "x", "results": 0}
            ),
            ErrorCode.EVENT_COURSE_UNKNOWN,
        ),
        (lambda lesson: event("video.play", lesson), ErrorCode.EVENT_PROPERTIES_INVALID),
        (
            lambda lesson: event("video.play", lesson, properties={"position": "12"}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("video.play", lesson, properties={"position": -1}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("video.play", lesson, properties={"position": True}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("video.play", lesson, properties={"position": 1, "extra": 2}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("video.rate", lesson, properties={"position": 1, "rate": 40}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("search", properties={"query": "x" * 201, "results": 1}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("search", properties={"query": "x", "results": 1.5}),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
        (
            lambda lesson: event("app.opened", properties=["not", "an", "object"]),
            ErrorCode.EVENT_PROPERTIES_INVALID,
        ),
    ],
)
def test_each_event_is_checked_against_its_type(learner_api, lesson, make, code):
    good = event("lesson.viewed", lesson)
    bad = make(lesson)

    body = send(learner_api, [good, bad]).json()

    assert body["results"][0] == {"id": good["id"], "status": "accepted"}
    expected_code = code or ErrorCode.EVENT_INVALID
    assert body["results"][1] == {
        "id": bad.get("id") if isinstance(bad, dict) else None,
        "status": "refused",
        "code": expected_code.value,
        "message": CATALOG[expected_code].message,
    }
    assert (body["accepted"], body["duplicates"], body["refused"]) == (1, 0, 1)
    assert [str(row.event_id) for row in Event.objects.all()] == [good["id"]]


def test_replaying_a_batch_changes_nothing(learner_api, lesson):
    events = [
        event("video.play", lesson, properties={"position": 1}),
        event("video.pause", lesson, properties={"position": 9}),
        event("video.play", lesson),  # refused: no position
    ]
    first = send(learner_api, events).json()
    stored = list(Event.objects.order_by("id").values())

    again = send(learner_api, events).json()

    assert first["accepted"] == 2
    assert again == {
        "results": [
            {"id": events[0]["id"], "status": "duplicate"},
            {"id": events[1]["id"], "status": "duplicate"},
            refused(events[2], ErrorCode.EVENT_PROPERTIES_INVALID),
        ],
        "accepted": 0,
        "duplicates": 2,
        "refused": 1,
    }
    assert list(Event.objects.order_by("id").values()) == stored


def test_an_id_twice_in_one_batch_is_stored_once(learner_api, lesson):
    first = event("video.play", lesson, properties={"position": 1})
    twin = {**first, "properties": {"position": 99}}

    body = send(learner_api, [first, twin]).json()

    assert body["results"] == [
        {"id": first["id"], "status": "accepted"},
        {"id": first["id"], "status": "duplicate"},
    ]
    assert Event.objects.get().properties == {"position": 1.0}


def test_events_too_old_or_in_the_future_are_refused(learner_api, lesson, settings):
    settings.LMS_ANALYTICS_MAX_AGE_DAYS = 7
    settings.LMS_ANALYTICS_FUTURE_SECONDS = 60
    now = datetime.now(UTC)
    old = event("lesson.viewed", lesson, at=now - timedelta(days=7, minutes=1))
    oldest_ok = event("lesson.viewed", lesson, at=now - timedelta(days=6, hours=23))
    skewed_ok = event("lesson.viewed", lesson, at=now + timedelta(seconds=30))
    future = event("lesson.viewed", lesson, at=now + timedelta(minutes=5))

    body = send(learner_api, [old, oldest_ok, skewed_ok, future]).json()

    assert body["results"] == [
        refused(old, ErrorCode.EVENT_TOO_OLD),
        {"id": oldest_ok["id"], "status": "accepted"},
        {"id": skewed_ok["id"], "status": "accepted"},
        refused(future, ErrorCode.EVENT_IN_FUTURE),
    ]


def test_a_batch_over_the_size_limit_is_refused_whole(learner_api, settings):
    settings.LMS_ANALYTICS_BATCH_MAX = 3
    response = send(learner_api, [event("app.opened") for _ in range(4)])

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "ANALYTICS_BATCH_TOO_LARGE",
            "message": "Send at most 3 events per batch (this one has 4).",
            "fields": {},
        }
    }
    assert not Event.objects.exists()
    assert send(learner_api, [event("app.opened") for _ in range(3)]).json()["accepted"] == 3


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"events": []}, {"app.name": ["x"]}),
        ({"app": {"name": "Web App"}, "events": []}, {"app.name": ["x"]}),
        ({"app": {"name": "ios", "version": "1" * 33}, "events": []}, {"app.version": ["x"]}),
        ({"app": APP, "events": {"id": "1"}}, {"events": ["A list."]}),
        ([1, 2], {"app.name": ["x"]}),
    ],
)
def test_a_malformed_envelope_is_a_validation_error(learner_api, body, fields):
    response = learner_api.post(URL, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert set(error["fields"]) == set(fields)


def test_an_empty_batch_answers_nothing(learner_api):
    assert send(learner_api, []).json() == {
        "results": [],
        "accepted": 0,
        "duplicates": 0,
        "refused": 0,
    }


def test_the_rate_limit_counts_events_per_learner_and_app(api_client, settings):
    settings.LMS_ANALYTICS_RATE_PER_MINUTE = 5
    learner, other = UserFactory(), UserFactory()
    api_client.force_authenticate(learner)
    assert send(api_client, [event("app.opened") for _ in range(3)]).status_code == 200

    over = send(api_client, [event("app.opened") for _ in range(3)])

    assert over.status_code == 429
    assert over.json()["error"]["code"] == "ANALYTICS_RATE_LIMITED"
    # A sliding minute: the three taken weigh in until 80 s after this minute's start.
    assert 1 <= int(over["Retry-After"]) <= 80
    assert Event.objects.count() == 3
    # Another app of the same learner, and another learner, have their own allowance.
    assert send(api_client, [event("app.opened")], app={"name": "ios"}).status_code == 200
    api_client.force_authenticate(other)
    assert send(api_client, [event("app.opened") for _ in range(5)]).status_code == 200
    assert Event.objects.count() == 9


def test_signed_out_callers_are_refused(api_client):
    response = send(api_client, [event("app.opened")])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_the_web_player_posts_with_its_session_and_csrf_token(user, lesson):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"app": {"name": "web"}, "events": [event("lesson.viewed", lesson)]}

    without = client.post(URL, body, content_type="application/json")
    client.get("/")  # sets the csrftoken cookie, as any page does
    token = client.cookies["csrftoken"].value
    with_token = client.post(URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert without.status_code == 403
    assert with_token.status_code == 200
    assert with_token.json()["accepted"] == 1
    assert Event.objects.get().user_id == user.pk


def test_a_full_batch_costs_a_fixed_number_of_queries(
    learner_api, django_assert_max_num_queries, settings
):
    settings.LMS_ANALYTICS_BATCH_MAX = 500
    course = CourseFactory()
    section = SectionFactory(course=course)
    lessons = [LessonFactory(section=section, kind="video") for _ in range(25)]
    types = [name for name in CLIENT_TYPES if EVENT_TYPES[name].lesson == "required"]
    props = {
        "lesson.viewed": {},
        "quiz.started": {},
        "video.play": {"position": 1},
        "video.pause": {"position": 2},
        "video.seek": {"from": 2, "to": 30},
        "video.rate": {"position": 30, "rate": 2},
    }
    events = [
        event(types[i % len(types)], lessons[i % 25], properties=props[types[i % len(types)]])
        for i in range(500)
    ]
    # The lessons' courses are loaded once (one query), then come from the process's map;
    # the batch is one INSERT on PostgreSQL (SQLite: a SELECT and a few INSERTs).
    inserts = 1 if connection.vendor == "postgresql" else 7
    with django_assert_max_num_queries(1 + inserts):
        body = send(learner_api, events).json()
    assert body["accepted"] == 500
    more = [{**e, "id": str(uuid.uuid4())} for e in events]
    with django_assert_max_num_queries(inserts):
        assert send(learner_api, more).json()["accepted"] == 500
    assert Event.objects.count() == 1000
