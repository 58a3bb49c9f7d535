"""Who is on a WebSocket (lms.realtime): the browser's session cookie or an app's JWT, checked
as the site checks them, behind the origin check; everything else is anonymous.

Driven through Channels' in-process `WebsocketCommunicator` against the same middleware stack
`lms/asgi.py` mounts, with a tiny consumer that says who it sees.
"""

import pytest
from allauth.usersessions.models import UserSession
from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import path

from accounts.services import user_session_revoke
from accounts.tests.factories import UserFactory
from lms.realtime import SocketAuthMiddleware, origin_validated

# Transactional: Channels closes the connection around each database call, which would end
# a test wrapped in one transaction.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
PASSWORD = "correct-horse-battery"


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        user = self.scope["user"]
        await self.send_json(
            {"email": user.email if user.is_authenticated else None, "auth": self.scope["auth"]}
        )


APPLICATION = origin_validated(
    SocketAuthMiddleware(URLRouter([path("ws/whoami/", WhoAmIConsumer.as_asgi())]))
)


def who_am_i(*, headers=(), subprotocols=None) -> dict:
    """Connect, read what the consumer says, disconnect: {"connected", "subprotocol", "seen"}."""

    async def run() -> dict:
        communicator = WebsocketCommunicator(
            APPLICATION, "/ws/whoami/", headers=list(headers), subprotocols=subprotocols
        )
        connected, subprotocol = await communicator.connect(timeout=5)
        seen = await communicator.receive_json_from(timeout=5) if connected else None
        await communicator.disconnect()
        return {"connected": connected, "subprotocol": subprotocol, "seen": seen}

    return async_to_sync(run)()


def browser_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


def app_tokens(email: str) -> dict:
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
        HTTP_USER_AGENT="LMS iOS/1.0",
    )
    assert response.status_code == 200, response.json()
    return response.json()["meta"]


@pytest.fixture
def learner():
    return UserFactory(email="ana@example.com", verified_email=True)


def test_a_browser_is_signed_in_by_its_session_cookie(learner):
    result = who_am_i(headers=[ORIGIN, browser_cookie(learner)])

    assert result == {
        "connected": True,
        "subprotocol": None,
        "seen": {"email": "ana@example.com", "auth": "session"},
    }


def test_no_credentials_is_anonymous():
    assert who_am_i(headers=[ORIGIN])["seen"] == {"email": None, "auth": None}


def test_an_unknown_or_signed_out_session_cookie_is_anonymous(learner):
    cookie = browser_cookie(learner)
    client = Client(headers={"cookie": cookie[1].decode()})
    client.post("/accounts/logout/")

    assert who_am_i(headers=[ORIGIN, cookie])["seen"] == {"email": None, "auth": None}
    forged = (b"cookie", b"sessionid=not-a-session")
    assert who_am_i(headers=[ORIGIN, forged])["seen"] == {"email": None, "auth": None}


def test_a_revoked_browser_session_is_anonymous(learner):
    cookie = browser_cookie(learner)
    assert who_am_i(headers=[ORIGIN, cookie])["seen"]["email"] == "ana@example.com"
    session = UserSession.objects.get(user=learner)

    user_session_revoke(user=learner, session_id=session.pk)

    assert who_am_i(headers=[ORIGIN, cookie])["seen"] == {"email": None, "auth": None}


def test_a_deactivated_user_is_anonymous_on_their_old_cookie(learner):
    cookie = browser_cookie(learner)
    learner.is_active = False
    learner.save(update_fields=["is_active"])

    assert who_am_i(headers=[ORIGIN, cookie])["seen"] == {"email": None, "auth": None}


def test_an_app_is_signed_in_by_its_access_token_in_the_authorization_header(learner):
    token = app_tokens(learner.email)["access_token"]

    result = who_am_i(headers=[(b"authorization", f"Bearer {token}".encode())])

    assert result == {
        "connected": True,
        "subprotocol": None,
        "seen": {"email": "ana@example.com", "auth": "token"},
    }


def test_a_javascript_client_sends_its_token_as_subprotocols_and_is_accepted_with_bearer(
    learner,
):
    token = app_tokens(learner.email)["access_token"]

    result = who_am_i(headers=[ORIGIN], subprotocols=["bearer", token])

    assert result == {
        "connected": True,
        "subprotocol": "bearer",
        "seen": {"email": "ana@example.com", "auth": "token"},
    }


def test_a_forged_or_truncated_token_is_anonymous_even_beside_a_valid_cookie(learner):
    token = app_tokens(learner.email)["access_token"]
    cookie = browser_cookie(learner)

    for bad in (token[:-4], "not.a.jwt", ""):
        result = who_am_i(headers=[ORIGIN, cookie], subprotocols=["bearer", bad])
        assert result["seen"] == {"email": None, "auth": None}, bad
    refresh = app_tokens(learner.email)["refresh_token"]
    header = (b"authorization", f"Bearer {refresh}".encode())
    assert who_am_i(headers=[header])["seen"] == {"email": None, "auth": None}


def test_an_expired_token_is_anonymous(learner, settings):
    settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = -30  # born expired
    token = app_tokens(learner.email)["access_token"]

    result = who_am_i(headers=[(b"authorization", f"Bearer {token}".encode())])

    assert result["seen"] == {"email": None, "auth": None}


def test_a_token_of_a_revoked_app_session_is_anonymous_at_once(learner):
    token = app_tokens(learner.email)["access_token"]
    header = (b"authorization", f"Bearer {token}".encode())
    assert who_am_i(headers=[header])["seen"]["auth"] == "token"

    user_session_revoke(user=learner, session_id=UserSession.objects.get(user=learner).pk)

    assert who_am_i(headers=[header])["seen"] == {"email": None, "auth": None}


def test_another_sites_page_cannot_open_a_socket_with_the_visitors_cookie(learner):
    evil = (b"origin", b"https://evil.example")

    result = who_am_i(headers=[evil, browser_cookie(learner)])

    assert result["connected"] is False


def test_without_an_origin_header_a_cookie_does_not_sign_in(learner):
    # Browsers always send Origin; a client without one is an app and must use its token.
    result = who_am_i(headers=[browser_cookie(learner)])

    assert result["connected"] is True
    assert result["seen"] == {"email": None, "auth": None}
