"""App sign-in through allauth headless (`/_allauth/app/v1/`) with JWT access + refresh tokens,
and those tokens on our own API.

An app keeps the `X-Session-Token` that allauth returns while a flow is pending (signup ->
verify email), and once signed in gets `meta.access_token` (sent as `Authorization: Bearer`)
and `meta.refresh_token` (traded at `/tokens/refresh` for a new pair).
"""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "staple-lamp-orbit-42"


# --- An app client, as a phone would drive it ----------------------------------------------


def app_post(client, path: str, data: dict, *, session_token=None, access_token=None, **extra):
    if session_token:
        extra["HTTP_X_SESSION_TOKEN"] = session_token
    if access_token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {access_token}"
    return client.post(f"{APP}{path}", data, content_type="application/json", **extra)


def app_get(client, path: str, *, access_token=None, **extra):
    if access_token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {access_token}"
    return client.get(f"{APP}{path}", **extra)


def me(client, access_token: str):
    return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def code_from(message) -> str:
    """The verification code, which the email puts on a line of its own."""
    match = re.search(r"^([A-Z0-9]{4,}(?:-[A-Z0-9]+)*)$", message.body, flags=re.MULTILINE)
    assert match, message.body
    return match.group(1)


def reset_key_from(message) -> str:
    """The key at the end of the reset link (`.../password/reset/key/<key>/`)."""
    match = re.search(r"/password/reset/key/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def verified_user(email: str = "ana@example.com") -> User:
    user = UserFactory(email=email, display_name="Ana")
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def app_login(client, email: str, *, user_agent: str = "LMS iOS/1.0") -> dict:
    response = app_post(
        client, "/auth/login", {"email": email, "password": PASSWORD}, HTTP_USER_AGENT=user_agent
    )
    assert response.status_code == 200, response.json()
    return response.json()["meta"]


def user_json(user: User) -> dict:
    """allauth's own user payload in its responses."""
    return {
        "id": str(user.pk),
        "display": user.display_name or user.email,
        "email": user.email,
        "has_usable_password": True,
    }


# --- Sign up -> code from the email -> verified -> tokens -----------------------------------


def test_signup_then_the_emailed_code_signs_the_app_in_with_tokens_that_work_on_our_api(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signup = app_post(
            client,
            "/auth/signup",
            {"email": "ana@example.com", "password": NEW_PASSWORD, "name": "Ana Lima"},
        )

    # Not signed in yet: the pending flow is email verification, kept by the session token.
    assert signup.status_code == 401
    body = signup.json()
    assert body["meta"]["is_authenticated"] is False
    assert {"id": "verify_email", "is_pending": True} in body["data"]["flows"]
    session_token = body["meta"]["session_token"]
    assert "access_token" not in body["meta"]
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]

    verify = app_post(
        client,
        "/auth/email/verify",
        {"key": code_from(mail.outbox[0])},
        session_token=session_token,
    )

    user = User.objects.get(email="ana@example.com")
    assert verify.status_code == 200
    body = verify.json()
    assert body["data"] == {"user": user_json(user), "methods": []}
    assert body["meta"]["is_authenticated"] is True
    assert set(body["meta"]) == {
        "is_authenticated",
        "session_token",
        "access_token",
        "refresh_token",
    }
    assert EmailAddress.objects.get(user=user).verified is True

    profile = me(client, body["meta"]["access_token"])

    assert profile.status_code == 200
    assert profile.json() == {
        "id": str(user.pk),
        "email": "ana@example.com",
        "display_name": "Ana Lima",
        "bio": "",
        "time_zone": "UTC",
        "avatar_url": None,
        "avatar_thumbnail_url": None,
        "is_staff": False,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_wrong_codes_use_up_the_attempts_and_then_even_the_right_code_is_refused(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signup = app_post(
            client,
            "/auth/signup",
            {"email": "ana@example.com", "password": NEW_PASSWORD, "name": "Ana Lima"},
        )
    session_token = signup.json()["meta"]["session_token"]
    right_code = code_from(mail.outbox[0])

    wrong = [
        app_post(client, "/auth/email/verify", {"key": "ZZZZZZ"}, session_token=session_token)
        for _attempt in range(3)  # ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS
    ]
    late = app_post(client, "/auth/email/verify", {"key": right_code}, session_token=session_token)

    incorrect = {
        "status": 400,
        "errors": [{"message": "Incorrect code.", "code": "incorrect_code", "param": "key"}],
    }
    assert [(response.status_code, response.json()) for response in wrong] == [(400, incorrect)] * 3
    # The code is spent: there is no pending verification left to answer.
    assert late.status_code == 409
    assert late.json() == {"status": 409}
    assert EmailAddress.objects.get(email="ana@example.com").verified is False
    assert UserSession.objects.count() == 0


def test_after_spent_attempts_signing_in_again_sends_a_fresh_code_that_works(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signup = app_post(
            client,
            "/auth/signup",
            {"email": "ana@example.com", "password": NEW_PASSWORD, "name": "Ana Lima"},
        )
    session_token = signup.json()["meta"]["session_token"]
    for _attempt in range(3):
        app_post(client, "/auth/email/verify", {"key": "ZZZZZZ"}, session_token=session_token)
    # allauth sends at most one verification email per address every 10 seconds; clearing
    # its counters stands for waiting that long.

    cache_clear()

    with django_capture_on_commit_callbacks(execute=True):
        login = app_post(
            client, "/auth/login", {"email": "ana@example.com", "password": NEW_PASSWORD}
        )
    assert login.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in login.json()["data"]["flows"]
    assert len(mail.outbox) == 2
    verify = app_post(
        client,
        "/auth/email/verify",
        {"key": code_from(mail.outbox[1])},
        session_token=login.json()["meta"]["session_token"],
    )

    assert verify.status_code == 200
    assert me(client, verify.json()["meta"]["access_token"]).status_code == 200


# --- Password login and refresh -------------------------------------------------------------


def test_password_login_returns_an_access_and_a_refresh_token(client):
    user = verified_user()

    response = app_post(client, "/auth/login", {"email": "ana@example.com", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    assert body["data"]["user"] == user_json(user)
    assert [method["method"] for method in body["data"]["methods"]] == ["password"]
    assert set(body["meta"]) == {
        "is_authenticated",
        "session_token",
        "access_token",
        "refresh_token",
    }
    assert me(client, body["meta"]["access_token"]).json()["email"] == "ana@example.com"


def test_a_wrong_password_gives_no_tokens(client):
    verified_user()

    response = app_post(client, "/auth/login", {"email": "ana@example.com", "password": "nope"})

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "errors": [
            {
                "message": "The email address and/or password you specified are not correct.",
                "code": "email_password_mismatch",
                "param": "password",
            }
        ],
    }


def test_refresh_gives_a_new_access_token_and_rotates_the_refresh_token(client):
    verified_user()
    tokens = app_login(client, "ana@example.com")

    refreshed = app_post(client, "/tokens/refresh", {"refresh_token": tokens["refresh_token"]})

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body == {
        "status": 200,
        "data": {
            "access_token": body["data"]["access_token"],
            "refresh_token": body["data"]["refresh_token"],
        },
    }
    assert body["data"]["refresh_token"] != tokens["refresh_token"]
    assert body["data"]["access_token"] != tokens["access_token"]
    assert me(client, body["data"]["access_token"]).status_code == 200

    # The old refresh token was used up by the rotation; the new one works (once).
    replayed = app_post(client, "/tokens/refresh", {"refresh_token": tokens["refresh_token"]})
    assert replayed.status_code == 400
    assert replayed.json() == {"status": 400}
    again = app_post(client, "/tokens/refresh", {"refresh_token": body["data"]["refresh_token"]})
    assert again.status_code == 200


def test_an_access_token_is_not_a_refresh_token(client):
    verified_user()
    tokens = app_login(client, "ana@example.com")

    response = app_post(client, "/tokens/refresh", {"refresh_token": tokens["access_token"]})

    assert response.status_code == 400
    assert response.json() == {"status": 400}


def test_a_forged_or_malformed_access_token_is_authentication_failed(client):
    verified_user()
    tokens = app_login(client, "ana@example.com")
    header, payload, _signature = tokens["access_token"].split(".")

    for token in (f"{header}.{payload}.forged", "not-a-jwt", tokens["refresh_token"]):
        response = me(client, token)

        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "code": "AUTHENTICATION_FAILED",
                "message": "The credentials are not valid.",
                "fields": {},
            }
        }


# --- Sessions: list and revoke through allauth -----------------------------------------------


def test_each_app_sign_in_is_a_session_the_user_can_list(client):
    user = verified_user()
    phone = app_login(client, "ana@example.com", user_agent="LMS iOS/1.0")
    tablet = app_login(client, "ana@example.com", user_agent="LMS Android/2.1")

    response = app_get(client, "/auth/sessions", access_token=phone["access_token"])

    assert response.status_code == 200
    sessions = {row.user_agent: row for row in UserSession.objects.filter(user=user)}
    assert sorted(response.json()["data"], key=lambda item: item["id"]) == [
        {
            "id": sessions[agent].pk,
            "user_agent": agent,
            "ip": "127.0.0.1",
            "created_at": sessions[agent].created_at.timestamp(),
            "last_seen_at": sessions[agent].last_seen_at.timestamp(),
            "is_current": agent == "LMS iOS/1.0",
        }
        for agent in ("LMS iOS/1.0", "LMS Android/2.1")
    ]
    assert tablet["access_token"] != phone["access_token"]


def test_revoking_a_session_stops_its_access_and_refresh_tokens_at_once(client):
    user = verified_user()
    phone = app_login(client, "ana@example.com", user_agent="LMS iOS/1.0")
    tablet = app_login(client, "ana@example.com", user_agent="LMS Android/2.1")
    tablet_session = UserSession.objects.get(user=user, user_agent="LMS Android/2.1")
    assert me(client, tablet["access_token"]).status_code == 200

    response = client.delete(
        f"{APP}/auth/sessions",
        {"sessions": [tablet_session.pk]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {phone['access_token']}",
    )

    assert response.status_code == 200
    assert [item["user_agent"] for item in response.json()["data"]] == ["LMS iOS/1.0"]
    # The tablet's tokens die with its session, long before the access token would expire.
    assert me(client, tablet["access_token"]).status_code == 401
    refresh = app_post(client, "/tokens/refresh", {"refresh_token": tablet["refresh_token"]})
    assert refresh.status_code == 400
    # The phone carries on.
    assert me(client, phone["access_token"]).status_code == 200
    still = app_post(client, "/tokens/refresh", {"refresh_token": phone["refresh_token"]})
    assert still.status_code == 200


def test_signing_out_the_app_session_ends_its_tokens(client):
    user = verified_user()
    tokens = app_login(client, "ana@example.com")

    response = client.delete(
        f"{APP}/auth/session", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )

    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    assert me(client, tokens["access_token"]).status_code == 401
    # Its row goes the next time the sessions are listed (allauth purges ended sessions).
    assert UserSession.objects.purge_and_list(user) == []


# --- Password change in the app ---------------------------------------------------------------


def change_password(client, access_token: str, current: str = PASSWORD, **extra):
    return app_post(
        client,
        "/account/password/change",
        {"current_password": current, "new_password": NEW_PASSWORD},
        access_token=access_token,
        **extra,
    )


def test_changing_the_password_in_the_app_gives_this_device_fresh_tokens_and_ends_the_others(
    client,
):
    user = verified_user()
    phone = app_login(client, "ana@example.com", user_agent="LMS iOS/1.0")
    tablet = app_login(client, "ana@example.com", user_agent="LMS Android/2.1")
    browser = Client()
    browser.force_login(user)
    assert browser.get("/profile/").status_code == 200

    response = change_password(client, phone["access_token"], HTTP_USER_AGENT="LMS iOS/1.0")

    assert response.status_code == 200
    body = response.json()
    assert body["data"]["user"] == user_json(user)
    assert set(body["meta"]) == {
        "is_authenticated",
        "session_token",
        "access_token",
        "refresh_token",
    }
    fresh = body["meta"]
    assert me(client, fresh["access_token"]).status_code == 200
    refreshed = app_post(client, "/tokens/refresh", {"refresh_token": fresh["refresh_token"]})
    assert refreshed.status_code == 200
    # The tokens from before the change are dead, on this device and everywhere else.
    for old in (phone, tablet):
        assert me(client, old["access_token"]).status_code == 401
        old_refresh = app_post(client, "/tokens/refresh", {"refresh_token": old["refresh_token"]})
        assert old_refresh.status_code == 400
    assert browser.get("/profile/").status_code == 302  # signed out
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [
        "LMS iOS/1.0"
    ]
    again = app_post(client, "/auth/login", {"email": "ana@example.com", "password": NEW_PASSWORD})
    assert again.status_code == 200


def test_a_wrong_current_password_changes_nothing_and_ends_no_session(client):
    user = verified_user()
    phone = app_login(client, "ana@example.com", user_agent="LMS iOS/1.0")
    tablet = app_login(client, "ana@example.com", user_agent="LMS Android/2.1")

    response = change_password(client, phone["access_token"], current="not-my-password")

    assert response.status_code == 400
    assert "access_token" not in response.json().get("meta", {})
    assert me(client, phone["access_token"]).status_code == 200
    assert me(client, tablet["access_token"]).status_code == 200
    assert UserSession.objects.filter(user=user).count() == 2
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- Password reset through the app API -------------------------------------------------------


def test_password_reset_by_the_emailed_key_then_login_with_the_new_password(
    client, django_capture_on_commit_callbacks
):
    user = verified_user()
    with django_capture_on_commit_callbacks(execute=True):
        requested = app_post(client, "/auth/password/request", {"email": "ana@example.com"})

    assert requested.status_code == 200
    assert requested.json() == {"status": 200}
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]
    key = reset_key_from(mail.outbox[0])

    checked = app_get(client, "/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=key)
    assert checked.status_code == 200
    assert checked.json() == {"status": 200, "data": {"user": user_json(user)}}

    reset = app_post(client, "/auth/password/reset", {"key": key, "password": NEW_PASSWORD})

    # The password is changed; the app then signs in with it (no automatic sign-in).
    assert reset.status_code == 401
    assert reset.json()["meta"] == {"is_authenticated": False}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    old = app_post(client, "/auth/login", {"email": "ana@example.com", "password": PASSWORD})
    assert old.status_code == 400
    new = app_post(client, "/auth/login", {"email": "ana@example.com", "password": NEW_PASSWORD})
    assert new.status_code == 200
    assert "access_token" in new.json()["meta"]


def test_a_reset_key_works_only_once(client, django_capture_on_commit_callbacks):
    verified_user()
    with django_capture_on_commit_callbacks(execute=True):
        app_post(client, "/auth/password/request", {"email": "ana@example.com"})
    key = reset_key_from(mail.outbox[0])
    app_post(client, "/auth/password/reset", {"key": key, "password": NEW_PASSWORD})

    again = app_post(client, "/auth/password/reset", {"key": key, "password": "another-Pass-77"})

    assert again.status_code == 400
    assert again.json() == {
        "status": 400,
        "errors": [
            {
                "message": "The password reset token was invalid.",
                "code": "invalid_password_reset",
                "param": "key",
            }
        ],
    }


def test_a_reset_for_an_unknown_address_answers_the_same_and_sends_no_key(
    client, django_capture_on_commit_callbacks
):
    verified_user()
    with django_capture_on_commit_callbacks(execute=True):
        known = app_post(client, "/auth/password/request", {"email": "ana@example.com"})
        unknown = app_post(client, "/auth/password/request", {"email": "nobody@example.com"})

    # Enumeration prevention: the app cannot tell which address has an account.
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    to_unknown = [message for message in mail.outbox if message.to == ["nobody@example.com"]]
    assert len(to_unknown) == 1
    assert "/password/reset/key/" not in to_unknown[0].body
