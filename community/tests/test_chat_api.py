"""Chat REST API and services: channel lists, history by number, idempotent posts, rate
limits, and message numbers under concurrency (PostgreSQL)."""

import uuid

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import ChatChannel, ChatMessage
from community.services.chat import RATE_LIMIT_MESSAGES, chat_message_post
from lms.tests.concurrency import run_together

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_channel_list_has_only_channels_i_may_join_each_with_its_socket_url():
    tier = TierFactory(name="Pro")
    lounge = ChatChannel.objects.create(title="Lounge")
    public = ChatChannel.objects.create(course=CourseFactory(title="Rhythm"), title="Rhythm chat")
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=tier)
    ChatChannel.objects.create(course=paid, title="Pro chat")
    ChatChannel.objects.create(course=CourseFactory(draft=True), title="Draft chat")
    learner = UserFactory()

    response = signed_in(learner).get("/api/v1/chat/channels/")

    assert response.status_code == 200
    body = response.json()
    assert [c["title"] for c in body["results"]] == ["Lounge", "Rhythm chat"]
    assert body["results"][1] == {
        "id": str(public.pk),
        "title": "Rhythm chat",
        "course": {"slug": public.course.slug, "title": "Rhythm"},
        "is_archived": False,
        "last_seq": 0,
        "websocket_url": f"ws://testserver/ws/chat/{public.pk}/",
        "messages_url": f"http://testserver/api/v1/chat/channels/{public.pk}/messages/",
    }
    tier_grant_create(user=learner, tier=tier, source=TierGrant.Source.STAFF)
    titles = [
        c["title"] for c in signed_in(learner).get("/api/v1/chat/channels/").json()["results"]
    ]
    assert titles == ["Lounge", "Pro chat", "Rhythm chat"]
    secure = signed_in(learner).get("/api/v1/chat/channels/", secure=True).json()
    assert secure["results"][0]["websocket_url"] == f"wss://testserver/ws/chat/{lounge.pk}/"
    assert Client().get("/api/v1/chat/channels/").status_code in (401, 403)


def test_the_schema_documents_the_channel_list_as_the_page_it_is():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    ok = schema["paths"]["/api/v1/chat/channels/"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    documented = schema["components"]["schemas"][ref]["properties"]

    body = signed_in(UserFactory()).get("/api/v1/chat/channels/").json()

    assert set(body) == set(documented) == {"count", "next", "previous", "results"}


def test_history_pages_by_message_number_both_ways():
    channel = ChatChannel.objects.create(title="Lounge")
    authors = [UserFactory() for _ in range(2)]
    for n in range(1, 11):
        chat_message_post(user=authors[n % 2], channel=channel, body=f"m{n}")
    client = signed_in(UserFactory())
    url = f"/api/v1/chat/channels/{channel.pk}/messages/"

    def page(**query):
        body = client.get(url, query).json()
        return [m["seq"] for m in body["results"]], body["has_more"]

    assert page(limit=3) == ([8, 9, 10], True)
    assert page(limit=3, before=8) == ([5, 6, 7], True)
    assert page(limit=5, before=3) == ([1, 2], False)
    assert page(limit=4, after=2) == ([3, 4, 5, 6], True)
    assert page(after=8) == ([9, 10], False)
    bad = client.get(url, {"after": "-1"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    missing = client.get(f"/api/v1/chat/channels/{uuid.uuid4()}/messages/")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CHAT_CHANNEL_NOT_FOUND")


def test_posting_twice_with_one_client_id_stores_one_message_and_sanitises_markdown():
    channel = ChatChannel.objects.create(title="Lounge")
    client = signed_in(UserFactory())
    url = f"/api/v1/chat/channels/{channel.pk}/messages/"
    payload = {"body": "hi <script>alert(1)</script>**there**", "client_id": str(uuid.uuid4())}

    first = client.post(url, payload, content_type="application/json")
    again = client.post(url, payload, content_type="application/json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.json()["body_html"] == "<p>hi <strong>there</strong></p>"
    assert ChatMessage.objects.count() == 1


def test_a_sender_over_the_rate_limit_gets_429_in_the_envelope():
    channel = ChatChannel.objects.create(title="Lounge")
    learner = UserFactory()
    client = signed_in(learner)
    url = f"/api/v1/chat/channels/{channel.pk}/messages/"
    for n in range(RATE_LIMIT_MESSAGES):
        assert (
            client.post(url, {"body": f"m{n}"}, content_type="application/json").status_code == 201
        )

    refused = client.post(url, {"body": "one more"}, content_type="application/json")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "CHAT_RATE_LIMITED"
    assert "Retry-After" in refused.headers
    # Another channel is another count.
    other = ChatChannel.objects.create(title="Other")
    assert chat_message_post(user=learner, channel=other, body="hi").seq == 1


def test_editing_and_deleting_through_the_api():
    channel = ChatChannel.objects.create(title="Lounge")
    author, other = UserFactory(), UserFactory()
    message = chat_message_post(user=author, channel=channel, body="tpyo")
    url = f"/api/v1/chat/channels/{channel.pk}/messages/{message.pk}/"

    stranger = signed_in(other).patch(url, {"body": "mine now"}, content_type="application/json")
    edited = signed_in(author).patch(url, {"body": "typo"}, content_type="application/json")
    not_moderator = signed_in(other).post(f"{url}hide/")
    deleted = signed_in(author).delete(url)

    assert (stranger.status_code, stranger.json()["error"]["code"]) == (
        403,
        "CHAT_NOT_YOUR_MESSAGE",
    )
    assert (edited.status_code, edited.json()["body"]) == (200, "typo")
    assert not_moderator.status_code == 403
    assert deleted.status_code == 204
    message.refresh_from_db()
    assert (message.body, message.deleted_at is not None, message.removed_by) == ("", True, author)
    assert signed_in(author).delete(url).status_code == 404


def test_an_archived_channel_is_read_only():
    channel = ChatChannel.objects.create(title="Old", is_archived=True)
    response = signed_in(UserFactory()).post(
        f"/api/v1/chat/channels/{channel.pk}/messages/",
        {"body": "hi"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "CHAT_CHANNEL_ARCHIVED",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_messages_posted_at_once_get_every_number_once():
    channel = ChatChannel.objects.create(title="Busy")
    senders = [UserFactory() for _ in range(4)]

    def burst(user):
        return lambda: [
            chat_message_post(user=user, channel=channel, body="x").seq for _ in range(6)
        ]

    results = run_together([burst(user) for user in senders])

    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, 25))
    assert all(seqs == sorted(seqs) for seqs in results)
    channel.refresh_from_db()
    assert channel.last_seq == 24


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_client_id_sent_twice_at_once_stores_one_message():
    channel = ChatChannel.objects.create(title="Busy")
    learner, client_id = UserFactory(), uuid.uuid4()

    def attempt():
        return chat_message_post(user=learner, channel=channel, body="once", client_id=client_id).pk

    first, second = run_together([attempt, attempt])

    assert first == second
    assert ChatMessage.objects.filter(channel=channel).count() == 1
