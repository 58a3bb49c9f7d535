"""Google sign-in (allauth socialaccount), with Google faked at the HTTP boundary.

The real allauth views and `requests` run; `responses` plays Google. allauth's Google adapter
(`allauth/socialaccount/providers/google/views.py`) calls exactly one Google endpoint in the
browser flow: the token endpoint, whose answer carries an OpenID `id_token`. Because that
token arrived straight from Google over TLS, allauth decodes it checking issuer, audience and
expiry but not the signature (OpenID Connect Core 3.1.3.7), so it never fetches Google's
certificates here; the userinfo endpoint is not called either (FETCH_USERINFO is off and the
id_token has the profile). We still sign the id_token with a key of our own, as Google
would. Any other request (certs, userinfo) would fail the test: `responses` refuses
unregistered URLs. The avatar is then downloaded from the `picture` URL.
"""

import io
import json
import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter as get_socialaccount_adapter
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "1234-test.apps.googleusercontent.com"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
PICTURE_URL = "https://lh3.googleusercontent.com/a/ACg8ocK-test-picture=s96-c"
CALLBACK_PATH = "/accounts/google/login/callback/"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(settings):
    """Google configured, as GOOGLE_CLIENT_ID/SECRET in the environment would do."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            **django_settings.SOCIALACCOUNT_PROVIDERS["google"],
            "APPS": [{"client_id": CLIENT_ID, "secret": "test-secret"}],
        }
    }


def _png(size: int = 96, colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _id_token(
    *, email: str, sub: str, verified: bool = True, name: str = "Gabi Souza", **claims_changed
) -> str:
    now = int(time.time())
    given, _, family = (name or "").partition(" ")
    claims = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": name,
        "given_name": given,
        "family_name": family,
        "picture": PICTURE_URL,
        "iat": now,
        "exp": now + 3600,
        **claims_changed,
    }
    claims = {key: value for key, value in claims.items() if value is not None}
    return jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers={"kid": "test-key-1"})


def _fake_google(mock: responses.RequestsMock, *, id_token: str, picture=None) -> None:
    mock.post(
        TOKEN_URL,
        json={
            "access_token": "ya29.test-access-token",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email "
            "https://www.googleapis.com/auth/userinfo.profile",
            "id_token": id_token,
        },
    )
    if picture is not None:
        mock.get(PICTURE_URL, **picture)


def _start(client, next_url: str = "/courses/") -> dict[str, str]:
    """From our sign-in page to Google: returns the query of the authorization redirect."""
    page = client.get(reverse("account_login") + f"?next={next_url}")
    html = page.content.decode()
    assert "Continue with Google" in html
    start_url = reverse("google_login") + f"?process=login&amp;next={next_url.replace('/', '%2F')}"
    assert f'<form method="post" action="{start_url}">' in html

    response = client.post(start_url.replace("&amp;", "&"))

    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == AUTHORIZE_URL
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    return query


def _finish(client, query: dict[str, str], code: str = "4/0Ab-test-code"):
    return client.get(CALLBACK_PATH, {"state": query["state"], "code": code})


def _signed_in_user(client) -> User | None:
    user = client.get("/").wsgi_request.user
    return user if user.is_authenticated else None


def test_sign_in_redirects_to_google_with_the_app_and_pkce(client, google):
    query = _start(client)

    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"http://testserver{CALLBACK_PATH}"
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"profile", "email"}
    assert query["access_type"] == "online"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 12


def test_new_google_user_is_created_verified_signed_in_with_the_avatar(client, google):
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(
            mock,
            id_token=_id_token(email="Gabi@Example.com", sub="1001"),
            picture={"body": _png(), "content_type": "image/png"},
        )
        response = _finish(client, query)
        token_request = parse_qs(mock.calls[0].request.body)

    # We exchanged Google's code, with our secret and the PKCE verifier, at the token endpoint.
    assert token_request["code"] == ["4/0Ab-test-code"]
    assert token_request["grant_type"] == ["authorization_code"]
    assert token_request["client_id"] == [CLIENT_ID]
    assert token_request["client_secret"] == ["test-secret"]
    assert token_request["redirect_uri"] == [f"http://testserver{CALLBACK_PATH}"]
    assert len(token_request["code_verifier"][0]) >= 43
    # Signed in and back where the journey began.
    assert response.status_code == 302
    assert response["Location"] == "/courses/"
    user = User.objects.get()
    assert _signed_in_user(client) == user
    assert (user.email, user.display_name, user.has_usable_password()) == (
        "gabi@example.com",
        "Gabi Souza",
        False,
    )
    assert list(EmailAddress.objects.values_list("user", "email", "verified", "primary")) == [
        (user.pk, "gabi@example.com", True, True)
    ]
    assert list(SocialAccount.objects.values_list("user", "provider", "uid")) == [
        (user.pk, "google", "1001")
    ]
    # Google's picture became the avatar: stored through the default storage, re-encoded.
    assert user.avatar and user.avatar_thumbnail
    assert default_storage.exists(user.avatar.name)
    with default_storage.open(user.avatar.name) as stored:
        picture = Image.open(stored)
        assert (picture.format, picture.size) == ("WEBP", (96, 96))
    header = client.get("/").content.decode()
    assert f'src="{user.avatar_thumbnail.url}"' in header


def _google_sign_up(client, **claims) -> User:
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(mock, id_token=_id_token(email="gabi@example.com", sub="1001", **claims))
        mock.get(PICTURE_URL, status=404)
        response = _finish(client, query)
    assert response.status_code == 302
    return User.objects.get()


def test_google_sign_up_takes_the_full_name_google_gives(client, google):
    user = _google_sign_up(
        client, name="  Gabriela  Souza Lima ", given_name="Gabriela", family_name="Lima"
    )

    assert user.display_name == "Gabriela Souza Lima"


def test_google_sign_up_falls_back_to_the_given_and_family_names(client, google):
    user = _google_sign_up(client, name=None, given_name="Gabi", family_name="Souza")

    assert user.display_name == "Gabi Souza"


@pytest.mark.parametrize("name", [None, "gabi@example.com"])
def test_google_sign_up_without_a_usable_name_leaves_it_to_ask_later(client, google, name):
    user = _google_sign_up(client, name=name, given_name=None, family_name=None)

    # Empty, so the first certificate asks for it; never the email or a part of it.
    assert user.display_name == ""
    assert user.public_name == "Learner"


def test_known_email_is_connected_not_duplicated(client, google):
    ana = UserFactory(email="ana@example.com", display_name="Ana Lima", verified_email=True)
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(
            mock,
            id_token=_id_token(email="ana@example.com", sub="2002", name="Ana L"),
            picture={"body": _png(), "content_type": "image/png"},
        )
        response = _finish(client, query)

    assert response.status_code == 302
    assert list(User.objects.all()) == [ana]
    assert _signed_in_user(client) == ana
    assert list(SocialAccount.objects.values_list("user", "uid")) == [(ana.pk, "2002")]
    ana.refresh_from_db()
    assert ana.display_name == "Ana Lima"  # their own name stays
    assert ana.check_password("correct-horse-battery")  # and so does their password
    assert ana.avatar  # they had none, so Google's is taken over


def test_unverified_local_address_is_verified_by_google_and_its_password_wiped(client, google):
    # Someone may have signed up with this address without owning it; Google proves who
    # does, so allauth locks the password and we mark the address verified.
    owner = UserFactory(email="cy@example.com")
    EmailAddress.objects.create(user=owner, email="cy@example.com", verified=False, primary=True)
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(mock, id_token=_id_token(email="cy@example.com", sub="3003"), picture={})
        response = _finish(client, query)

    assert response["Location"] == "/courses/"  # no detour through a verification code
    assert _signed_in_user(client) == owner
    address = EmailAddress.objects.get(user=owner)
    assert (address.verified, address.primary) == (True, True)
    owner.refresh_from_db()
    assert not owner.has_usable_password()


def test_user_without_any_address_row_gets_the_google_address_verified(client, google):
    legacy = UserFactory(email="dee@example.com")  # e.g. made by createsuperuser
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(mock, id_token=_id_token(email="dee@example.com", sub="4004"), picture={})
        _finish(client, query)

    assert _signed_in_user(client) == legacy
    assert list(EmailAddress.objects.values_list("user", "email", "verified", "primary")) == [
        (legacy.pk, "dee@example.com", True, True)
    ]


def test_returning_google_user_signs_in_and_keeps_their_avatar(client, google):
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(
            mock,
            id_token=_id_token(email="gabi@example.com", sub="1001"),
            picture={"body": _png(colour="red"), "content_type": "image/png"},
        )
        _finish(client, query)
    user = User.objects.get()
    first_avatar = user.avatar.name
    client.post(reverse("account_logout"))

    query = _start(client)
    with responses.RequestsMock() as mock:
        # The avatar is not downloaded again: the user has one now.
        _fake_google(mock, id_token=_id_token(email="gabi@example.com", sub="1001"))
        response = _finish(client, query)
        assert [call.request.url for call in mock.calls] == [TOKEN_URL]

    assert response.status_code == 302
    assert _signed_in_user(client) == user
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert user.avatar.name == first_avatar


def test_an_existing_avatar_is_not_replaced(client, google):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.services import user_avatar_set

    ana = UserFactory(email="ana@example.com", verified_email=True)
    user_avatar_set(user=ana, upload=SimpleUploadedFile("me.png", _png(colour="navy")))
    own_avatar = ana.avatar.name
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(mock, id_token=_id_token(email="ana@example.com", sub="2002"))
        _finish(client, query)
        assert [call.request.url for call in mock.calls] == [TOKEN_URL]

    ana.refresh_from_db()
    assert ana.avatar.name == own_avatar


@pytest.mark.parametrize(
    "picture",
    [
        pytest.param({"status": 404}, id="missing"),
        pytest.param(
            {"body": b"<html>not a picture</html>", "content_type": "image/png"}, id="not-an-image"
        ),
        pytest.param({"body": responses.ConnectionError("reset")}, id="connection-error"),
    ],
)
def test_a_bad_avatar_is_skipped_and_sign_in_goes_on(client, google, picture):
    query = _start(client)
    with responses.RequestsMock() as mock:
        _fake_google(
            mock, id_token=_id_token(email="gabi@example.com", sub="1001"), picture=picture
        )
        response = _finish(client, query)

    assert response["Location"] == "/courses/"
    user = User.objects.get()
    assert _signed_in_user(client) == user
    assert not user.avatar
    assert not default_storage.exists("avatars")


def test_google_address_that_is_not_verified_needs_our_code(
    client, google, django_capture_on_commit_callbacks
):
    query = _start(client)
    with responses.RequestsMock() as mock, django_capture_on_commit_callbacks(execute=True):
        _fake_google(
            mock,
            id_token=_id_token(email="eve@example.com", sub="5005", verified=False),
            picture={"body": _png(), "content_type": "image/png"},
        )
        response = _finish(client, query)

    assert response["Location"] == reverse("account_email_verification_sent")
    assert _signed_in_user(client) is None
    assert not EmailAddress.objects.filter(verified=True).exists()


def test_callback_with_a_forged_state_signs_in_nobody(client, google):
    _start(client)
    with responses.RequestsMock():  # Google is never asked
        response = client.get(CALLBACK_PATH, {"state": "forged", "code": "4/0Ab-test-code"})

    assert response.status_code == 401
    assert "Third-Party Login Failure" in response.content.decode()
    assert _signed_in_user(client) is None
    assert not User.objects.exists()


def test_google_refusing_the_code_shows_a_failure_page(client, google):
    query = _start(client)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
        response = _finish(client, query)

    assert response.status_code == 401
    assert "Third-Party Login Failure" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()
    assert _signed_in_user(client) is None


def test_cancelling_at_google_signs_in_nobody(client, google):
    query = _start(client)

    response = client.get(
        CALLBACK_PATH, {"state": query["state"], "error": "access_denied"}, follow=True
    )

    assert response.redirect_chain == [(reverse("socialaccount_login_cancelled"), 302)]
    assert "Login Cancelled" in response.content.decode()
    assert _signed_in_user(client) is None


# --- Configured or not ----------------------------------------------------------------------


def _providers() -> list[str]:
    request = RequestFactory().get("/")
    return [provider.id for provider in get_socialaccount_adapter().list_providers(request)]


def test_without_a_google_app_the_button_is_hidden(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            key: value
            for key, value in django_settings.SOCIALACCOUNT_PROVIDERS["google"].items()
            if key != "APPS"
        }
    }

    assert _providers() == []
    for url in (reverse("account_login"), reverse("account_signup")):
        html = client.get(url).content.decode()
        assert "Google" not in html
        assert "Or use a third-party" not in html


def test_without_a_google_app_its_pages_are_not_found(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"SCOPE": ["profile", "email"]}}

    for response in (
        client.get(reverse("google_login")),
        client.post(reverse("google_login")),
        client.get(CALLBACK_PATH, {"state": "x", "code": "y"}),
    ):
        assert response.status_code == 404
        assert "We could not find that page" in response.content.decode()


def test_google_login_url_asks_before_leaving_for_google(client, google):
    # SOCIALACCOUNT_LOGIN_ON_GET is off: a plain link (or a forged one) to the login URL
    # does not send anyone to Google; a POST from this page (or ours) does.
    page = client.get(reverse("google_login"))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="site-header"' in html
    assert "Sign In Via Google" in html
    assert '<button type="submit" class="btn btn--primary">' in html
    response = client.post(reverse("google_login"))
    assert response["Location"].startswith(AUTHORIZE_URL)


def test_with_a_google_app_the_button_shows_on_sign_in_and_sign_up(client, google):
    assert _providers() == ["google"]
    for url in (reverse("account_login"), reverse("account_signup")):
        html = client.get(url).content.decode()
        assert "Continue with Google" in html


def test_connections_page_offers_to_connect_google(client, google):
    client.force_login(UserFactory(verified_email=True))

    html = client.get(reverse("socialaccount_connections")).content.decode()

    assert "Connect Google" in html
    assert "Connected accounts" in html  # in the account settings menu


def _google_apps_in_settings(**env: str) -> list:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "DJANGO_SETTINGS_MODULE")
    }
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS['google'].get('APPS')))"
    )
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=django_settings.BASE_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_add_the_google_app_only_when_the_client_id_is_set():
    assert _google_apps_in_settings() is None
    assert _google_apps_in_settings(GOOGLE_CLIENT_ID="abc.apps", GOOGLE_CLIENT_SECRET="s") == [
        {"client_id": "abc.apps", "secret": "s"}
    ]
