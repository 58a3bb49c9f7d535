"""Signed-in sessions are listed from the first sign-in, and "last seen" is refreshed
without a database write on every page view."""

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.middleware import SessionActivityMiddleware
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _session_writes(context: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in context.captured_queries
        if "usersessions_usersession" in query["sql"] or "UPDATE" in query["sql"]
    ]


def test_signing_in_records_the_session():
    user = UserFactory()
    client = Client()

    client.force_login(user)

    [session] = UserSession.objects.filter(user=user)
    assert session.session_key == client.session.session_key


def test_page_views_within_the_interval_write_nothing(settings):
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 300
    user = UserFactory()
    client = Client(HTTP_USER_AGENT="Firefox/140")
    client.force_login(user)
    seen_before = UserSession.objects.get(user=user).last_seen_at

    with CaptureQueriesContext(connection) as context:
        for _ in range(3):
            assert client.get("/courses/").status_code == 200

    assert _session_writes(context) == []
    assert UserSession.objects.get(user=user).last_seen_at == seen_before


def test_after_the_interval_the_next_request_refreshes_last_seen_and_device(settings):
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 300
    user = UserFactory()
    client = Client(HTTP_USER_AGENT="Safari (iPhone)", REMOTE_ADDR="10.0.0.7")
    client.force_login(user)
    session = client.session
    session[SessionActivityMiddleware.SESSION_KEY] -= 301  # the interval has passed
    session.save()
    seen_before = UserSession.objects.get(user=user).last_seen_at

    client.get("/courses/")

    refreshed = UserSession.objects.get(user=user)
    assert refreshed.last_seen_at > seen_before
    assert (refreshed.user_agent, refreshed.ip) == ("Safari (iPhone)", "10.0.0.7")
    # ...and then quiet again for another interval.
    with CaptureQueriesContext(connection) as context:
        client.get("/courses/")
    assert _session_writes(context) == []
