"""The chat benchmark's measuring, against the real ASGI server and the Redis layer."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.factories import UserFactory
from bench.chat_bench import ChatResult, chat_measure
from community.models import ChatMessage
from community.services.chat import chat_channel_create

pytestmark = pytest.mark.redis


def test_every_message_reaches_every_client_and_the_figures_say_so(asgi_server):
    staff = UserFactory(is_staff=True, is_superuser=True)
    channel = chat_channel_create(title="Bench", created_by=staff)
    sessions = []
    for _ in range(3):
        client = Client()
        client.force_login(UserFactory())
        sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)

    result = chat_measure(
        port=asgi_server.port, channel=str(channel.pk), sessions=sessions, per_client=2
    )

    figures = result.as_json()
    assert (figures["clients"], figures["messages"]) == (3, 6)
    assert (figures["deliveries"], figures["expected_deliveries"]) == (18, 18)
    assert figures["errors"] == []
    assert figures["messages_per_second"] > 0
    assert 0 < figures["fanout_p50_ms"] <= figures["fanout_p99_ms"]
    assert ChatMessage.objects.filter(channel=channel).count() == 6


def test_fanout_percentiles_use_the_nearest_rank():
    result = ChatResult(
        clients=2,
        sent=1,
        delivered=4,
        expected=4,
        errors=[],
        seconds=1.0,
        latencies=[0.4, 0.1, 0.3, 0.2],
    )

    assert (result.percentile(0.5), result.percentile(0.99)) == (0.2, 0.4)
    assert "Not everything arrived" not in result.summary()
