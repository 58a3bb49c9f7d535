"""`/api/v1/me/notifications/`: my notifications (never another's), the unread count,
mark read, mark all read and email preferences, in the error envelope when refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.models import NotificationPreference
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/me/notifications/"
# Session, user, COUNT, page.
LIST_QUERY_BUDGET = 4


@pytest.fixture
def learner(api_client):
    user = UserFactory()
    api_client.force_login(user)
    return user


def test_the_list_is_mine_newest_first_in_the_documented_shape(api_client, learner):
    ana = UserFactory(display_name="Ana", email="ana@example.com")
    now = timezone.now()
    older = NotificationFactory(
        user=learner,
        kind="reply",
        title="Ana replied",
        body="Try again",
        url="/courses/salsa/basics/#reply-1",
        actor=ana,
        created_at=now - timedelta(hours=1),
        read_at=now,
    )
    newer = NotificationFactory(
        user=learner, kind="certificate", title="Certificate", body="", url="", created_at=now
    )
    NotificationFactory(title="Not mine")

    response = api_client.get(BASE)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(newer.pk),
                "kind": "certificate",
                "title": "Certificate",
                "body": "",
                "url": "",
                "actor": None,
                "created_at": newer.created_at.isoformat().replace("+00:00", "Z"),
                "read_at": None,
                "is_read": False,
            },
            {
                "id": str(older.pk),
                "kind": "reply",
                "title": "Ana replied",
                "body": "Try again",
                "url": "http://testserver/courses/salsa/basics/#reply-1",
                "actor": {"id": str(ana.pk), "name": "Ana"},
                "created_at": older.created_at.isoformat().replace("+00:00", "Z"),
                "read_at": older.read_at.isoformat().replace("+00:00", "Z"),
                "is_read": True,
            },
        ],
    }


def test_the_list_filters_unread_and_refuses_nonsense(api_client, learner):
    unread = NotificationFactory(user=learner)
    NotificationFactory(user=learner, read_at=timezone.now())

    only_unread = api_client.get(BASE, {"unread": "true"}).json()
    refused = api_client.get(BASE, {"unread": "maybe"})

    assert [item["id"] for item in only_unread["results"]] == [str(unread.pk)]
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    assert refused.json()["error"]["fields"] == {"unread": ["Use true or false."]}


@pytest.mark.parametrize("count", [5, 50])
def test_the_list_stays_within_a_fixed_query_budget(
    api_client, learner, django_assert_max_num_queries, count
):
    NotificationFactory.create_batch(count, user=learner, actor=UserFactory())
    with django_assert_max_num_queries(LIST_QUERY_BUDGET):
        response = api_client.get(BASE, {"page_size": 100})
    assert len(response.json()["results"]) == count


def test_unread_count_read_and_read_all(api_client, learner):
    first, *_ = NotificationFactory.create_batch(3, user=learner)
    NotificationFactory()  # another user's, unread

    assert api_client.get(f"{BASE}unread-count/").json() == {"unread": 3}
    read = api_client.post(f"{BASE}{first.pk}/read/")
    assert read.status_code == 200
    assert read.json()["is_read"] is True
    first_read_at = read.json()["read_at"]
    assert api_client.post(f"{BASE}{first.pk}/read/").json()["read_at"] == first_read_at
    assert api_client.get(f"{BASE}unread-count/").json() == {"unread": 2}

    assert api_client.post(f"{BASE}read-all/").json() == {"marked": 2, "unread": 0}
    assert api_client.get(f"{BASE}unread-count/").json() == {"unread": 0}


def test_another_users_notification_is_not_found_like_a_missing_one(api_client, learner):
    theirs = NotificationFactory()

    response = api_client.post(f"{BASE}{theirs.pk}/read/")
    missing = api_client.post(f"{BASE}00000000-0000-0000-0000-000000000000/read/")

    assert response.status_code == missing.status_code == 404
    assert (
        response.json()
        == missing.json()
        == {
            "error": {
                "code": "NOTIFICATION_NOT_FOUND",
                "message": "You have no notification with this id.",
                "fields": {},
            }
        }
    )
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_signed_out_clients_get_401_in_the_envelope(api_client):
    for method, path in [
        ("get", BASE),
        ("get", f"{BASE}unread-count/"),
        ("post", f"{BASE}read-all/"),
        ("get", f"{BASE}preferences/"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_preferences_read_and_change(api_client, learner):
    NotificationPreference.objects.create(user=learner, kind="mention", delivery="daily")

    before = api_client.get(f"{BASE}preferences/").json()
    changed = api_client.patch(
        f"{BASE}preferences/", {"preferences": {"reply": "weekly"}}, format="json"
    )

    assert before == {
        "preferences": [
            {
                "kind": "reply",
                "label": "Replies to my posts",
                "description": "Someone replied in a discussion thread you started or posted in.",
                "delivery": "immediately",
            },
            {
                "kind": "mention",
                "label": "Mentions",
                "description": "Someone mentioned you with @ in a discussion or chat.",
                "delivery": "daily",
            },
            {
                "kind": "announcement",
                "label": "Course announcements",
                "description": "An instructor posted an announcement in one of your courses.",
                "delivery": "immediately",
            },
            {
                "kind": "certificate",
                "label": "Certificates",
                "description": "You earned a certificate for completing a course.",
                "delivery": "immediately",
            },
            {
                "kind": "section_released",
                "label": "Sections opening",
                "description": "A scheduled section of one of your courses has opened for you.",
                "delivery": "immediately",
            },
            {
                "kind": "project_review",
                "label": "Project reviews",
                "description": "Staff approved a project you submitted, or asked you to change it.",
                "delivery": "immediately",
            },
        ]
    }
    assert changed.status_code == 200
    deliveries = {row["kind"]: row["delivery"] for row in changed.json()["preferences"]}
    assert deliveries == {
        "reply": "weekly",
        "mention": "daily",
        "announcement": "immediately",
        "certificate": "immediately",
        "section_released": "immediately",
        "project_review": "immediately",
    }


def test_preferences_refuse_unknown_kinds_and_deliveries(api_client, learner):
    unknown = api_client.patch(
        f"{BASE}preferences/", {"preferences": {"gossip": "off"}}, format="json"
    )
    wrong = api_client.patch(
        f"{BASE}preferences/", {"preferences": {"reply": "hourly"}}, format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": {
            "code": "NOTIFICATION_KIND_UNKNOWN",
            "message": "There is no notification kind with this name: see the preferences list.",
            "fields": {"gossip": ["There is no notification kind with this name."]},
        }
    }
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "VALIDATION_ERROR"
    assert list(wrong.json()["error"]["fields"]) == ["preferences.reply"]
    assert NotificationPreference.objects.count() == 0


def test_the_schema_documents_the_operations(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = {path: sorted(methods) for path, methods in schema["paths"].items()}
    assert paths[BASE] == ["get"]
    assert paths[f"{BASE}unread-count/"] == ["get"]
    assert paths[f"{BASE}read-all/"] == ["post"]
    assert paths[f"{BASE}preferences/"] == ["get", "patch"]
    assert paths[f"{BASE}{{notification_id}}/read/"] == ["post"]
    assert "NOTIFICATION_NOT_FOUND" in str(schema["components"]["schemas"]["ErrorDetail"])
