"""`/api/v1/me/` and `/api/v1/me/sessions/`: the signed-in user's profile and sessions, for
app tokens (JWT) and browser sessions alike."""

import io

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image

from accounts.models import User
from accounts.services import user_avatar_set
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _refresh_device_info_on_every_request(settings):
    # These tests make "devices" with force_login and then one request; refresh the
    # session's device info (user agent, IP, last seen) on that request.
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 0


ME = "/api/v1/me/"
SESSIONS = "/api/v1/me/sessions/"
PASSWORD = "correct-horse-battery"


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def iso(value) -> str:
    """A datetime as DRF writes it."""
    return value.isoformat().replace("+00:00", "Z")


def verified_user(email: str, **fields) -> User:
    user = UserFactory(email=email, **fields)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def app_login(client, email: str, user_agent: str = "LMS iOS/1.0") -> dict:
    """Sign an app in through allauth headless; returns its tokens."""
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 200, response.json()
    return response.json()["meta"]


def bearer(tokens: dict) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def ana() -> User:
    return verified_user("ana@example.com", display_name="Ana", time_zone="Europe/Madrid")


@pytest.fixture
def ana_app(client, ana) -> dict:
    return app_login(client, "ana@example.com")


def profile_json(user: User, **changes) -> dict:
    return {
        "id": str(user.pk),
        "email": user.email,
        "display_name": user.display_name,
        "bio": user.bio,
        "time_zone": user.time_zone,
        "avatar_url": None,
        "avatar_thumbnail_url": None,
        "is_staff": user.is_staff,
        "date_joined": iso(user.date_joined),
        **changes,
    }


# --- GET /api/v1/me/ -------------------------------------------------------------------------


def test_me_returns_the_profile_of_the_token_holder(client, ana, ana_app):
    response = client.get(ME, **bearer(ana_app))

    assert response.status_code == 200
    assert response.json() == profile_json(ana)


def test_me_works_with_a_browser_session_too(client, ana):
    client.force_login(ana)

    response = client.get(ME)

    assert response.status_code == 200
    assert response.json() == profile_json(ana)


def test_me_gives_absolute_urls_for_the_avatar_and_its_thumbnail(client, ana, ana_app):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "teal").save(buffer, format="PNG")
    user_avatar_set(user=ana, upload=SimpleUploadedFile("me.png", buffer.getvalue()))

    response = client.get(ME, **bearer(ana_app))

    assert response.json() == profile_json(
        ana,
        avatar_url=f"http://testserver/media/{ana.avatar.name}",
        avatar_thumbnail_url=f"http://testserver/media/{ana.avatar_thumbnail.name}",
    )
    assert ana.avatar.name.startswith(f"avatars/{ana.pk}/")


def test_staff_see_is_staff_true(client):
    staff = verified_user("staff@example.com", is_staff=True)
    tokens = app_login(client, "staff@example.com")

    assert client.get(ME, **bearer(tokens)).json() == profile_json(staff)


@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_is_not_authenticated_with_a_bearer_challenge(client, method):
    response = getattr(client, method)(ME, {}, content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == error("NOT_AUTHENTICATED", "Sign in to continue.")


def test_me_costs_a_fixed_few_queries_with_a_token(client, ana, ana_app, django_assert_num_queries):
    # Stateful token check: the session behind the token, then its user.
    with django_assert_num_queries(2):
        response = client.get(ME, **bearer(ana_app))

    assert response.status_code == 200


# --- PATCH /api/v1/me/ -----------------------------------------------------------------------


def test_patch_changes_the_display_name_and_time_zone(client, ana, ana_app):
    response = client.patch(
        ME,
        {"display_name": "  Ana María  ", "time_zone": "America/Bogota"},
        content_type="application/json",
        **bearer(ana_app),
    )

    assert response.status_code == 200
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone) == ("Ana María", "America/Bogota")
    assert response.json() == profile_json(ana)


def test_patch_changes_only_the_fields_sent(client, ana, ana_app):
    response = client.patch(
        ME, {"time_zone": "Asia/Tokyo"}, content_type="application/json", **bearer(ana_app)
    )

    assert response.status_code == 200
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone) == ("Ana", "Asia/Tokyo")


def test_patch_changes_the_bio(client, ana, ana_app):
    response = client.patch(
        ME, {"bio": "  Teaches Python.  "}, content_type="application/json", **bearer(ana_app)
    )

    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.bio == "Teaches Python."
    assert response.json() == profile_json(ana)


def test_a_bio_over_600_characters_is_a_validation_error(client, ana, ana_app):
    response = client.patch(
        ME, {"bio": "x" * 601}, content_type="application/json", **bearer(ana_app)
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"bio": ["Ensure this value has at most 600 characters (it has 601)."]},
    )


def test_patch_may_clear_the_display_name(client, ana, ana_app):
    response = client.patch(
        ME, {"display_name": ""}, content_type="application/json", **bearer(ana_app)
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == ""


def test_an_unknown_time_zone_is_a_validation_error_on_time_zone(client, ana, ana_app):
    response = client.patch(
        ME,
        {"display_name": "Someone else", "time_zone": "Mars/Olympus_Mons"},
        content_type="application/json",
        **bearer(ana_app),
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"time_zone": ["Mars/Olympus_Mons is not a known time zone."]},
    )
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone) == ("Ana", "Europe/Madrid")


def test_a_too_long_display_name_is_a_validation_error(client, ana, ana_app):
    response = client.patch(
        ME, {"display_name": "x" * 81}, content_type="application/json", **bearer(ana_app)
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"display_name": ["Ensure this value has at most 80 characters (it has 81)."]},
    )


def test_email_cannot_be_changed_here(client, ana, ana_app):
    response = client.patch(
        ME,
        {"email": "mallory@example.com", "is_staff": True},
        content_type="application/json",
        **bearer(ana_app),
    )

    assert response.status_code == 200
    assert response.json() == profile_json(ana)
    ana.refresh_from_db()
    assert (ana.email, ana.is_staff) == ("ana@example.com", False)


def test_a_browser_patch_needs_the_csrf_token(ana):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ana)

    response = browser.patch(ME, {"time_zone": "Asia/Tokyo"}, content_type="application/json")

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")
    ana.refresh_from_db()
    assert ana.time_zone == "Europe/Madrid"


# --- /api/v1/me/sessions/ --------------------------------------------------------------------


# What the list calls the user agents these tests sign in with (ua-parser's reading).
DEVICE_NAMES = {
    "LMS iOS/1.0": "A browser or app on iOS",
    "LMS Android/2.1": "A browser or app on Android",
    "Firefox/140.0": "Firefox",
}


def session_json(session: UserSession, *, is_current: bool) -> dict:
    return {
        "id": session.pk,
        "ip": session.ip,
        "device": DEVICE_NAMES.get(session.user_agent, "Unknown browser"),
        "user_agent": session.user_agent,
        "created_at": iso(session.created_at),
        "last_seen_at": iso(session.last_seen_at),
        "is_current": is_current,
    }


def test_sessions_lists_every_device_and_marks_the_current_one(client, ana):
    phone = app_login(client, "ana@example.com", "LMS iOS/1.0")
    app_login(client, "ana@example.com", "LMS Android/2.1")
    browser = Client(HTTP_USER_AGENT="Firefox/140.0")
    browser.force_login(ana)
    browser.get("/")  # the browser's session is tracked from its first request
    verified_user("bea@example.com")
    app_login(client, "bea@example.com", "Someone else's phone")

    response = client.get(SESSIONS, **bearer(phone))

    assert response.status_code == 200
    rows = {row.user_agent: row for row in UserSession.objects.filter(user=ana)}
    assert set(rows) == {"LMS iOS/1.0", "LMS Android/2.1", "Firefox/140.0"}
    expected = sorted(
        (session_json(row, is_current=agent == "LMS iOS/1.0") for agent, row in rows.items()),
        key=lambda item: item["last_seen_at"],
        reverse=True,
    )
    assert response.json() == {"count": 3, "next": None, "previous": None, "results": expected}


def test_a_browser_sees_its_own_session_as_current(ana):
    browser = Client(HTTP_USER_AGENT="Firefox/140.0")
    browser.force_login(ana)

    response = browser.get(SESSIONS)

    [row] = UserSession.objects.filter(user=ana)
    assert response.json()["results"] == [session_json(row, is_current=True)]


def test_revoking_another_session_stops_its_tokens_at_once(client, ana):
    phone = app_login(client, "ana@example.com", "LMS iOS/1.0")
    tablet = app_login(client, "ana@example.com", "LMS Android/2.1")
    tablet_session = UserSession.objects.get(user=ana, user_agent="LMS Android/2.1")

    response = client.delete(f"{SESSIONS}{tablet_session.pk}/", **bearer(phone))

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(ME, **bearer(tablet)).status_code == 401
    refresh = client.post(
        "/_allauth/app/v1/tokens/refresh",
        {"refresh_token": tablet["refresh_token"]},
        content_type="application/json",
    )
    assert refresh.status_code == 400
    assert not UserSession.objects.filter(pk=tablet_session.pk).exists()
    # The same list allauth gives the apps no longer has it.
    listed = client.get("/_allauth/app/v1/auth/sessions", **bearer(phone)).json()["data"]
    assert [item["user_agent"] for item in listed] == ["LMS iOS/1.0"]
    assert client.get(ME, **bearer(phone)).status_code == 200


def test_revoking_a_browser_session_from_the_app_signs_the_browser_out(client, ana):
    phone = app_login(client, "ana@example.com")
    browser = Client(HTTP_USER_AGENT="Firefox/140.0")
    browser.force_login(ana)
    browser.get("/")
    browser_session = UserSession.objects.get(user=ana, user_agent="Firefox/140.0")

    response = client.delete(f"{SESSIONS}{browser_session.pk}/", **bearer(phone))

    assert response.status_code == 204
    assert browser.get(ME).status_code == 401


def test_revoking_the_current_session_signs_this_app_out(client, ana, ana_app):
    current = UserSession.objects.get(user=ana)

    response = client.delete(f"{SESSIONS}{current.pk}/", **bearer(ana_app))

    assert response.status_code == 204
    assert client.get(ME, **bearer(ana_app)).status_code == 401


def test_someone_elses_session_id_is_not_found_and_their_session_lives_on(client, ana, ana_app):
    verified_user("bea@example.com")
    bea = app_login(client, "bea@example.com", "Bea's phone")
    bea_session = UserSession.objects.get(user__email="bea@example.com")

    response = client.delete(f"{SESSIONS}{bea_session.pk}/", **bearer(ana_app))

    assert response.status_code == 404
    assert response.json() == error("SESSION_NOT_FOUND", "You have no session with this id.")
    assert client.get(ME, **bearer(bea)).status_code == 200


def test_an_unknown_session_id_is_not_found(client, ana_app):
    response = client.delete(f"{SESSIONS}999999/", **bearer(ana_app))

    assert response.status_code == 404
    assert response.json() == error("SESSION_NOT_FOUND", "You have no session with this id.")


def test_sessions_need_a_signed_in_user(client):
    assert client.get(SESSIONS).status_code == 401
    assert client.delete(f"{SESSIONS}1/").status_code == 401


# --- OpenAPI -----------------------------------------------------------------------------------


def test_the_schema_documents_me_and_sessions_with_jwt_auth(client, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operations = {path: sorted(methods) for path, methods in schema["paths"].items()}
    assert operations["/api/v1/me/"] == ["get", "patch"]
    assert operations["/api/v1/me/sessions/"] == ["get"]
    assert operations["/api/v1/me/sessions/{session_id}/"] == ["delete"]
    assert schema["components"]["securitySchemes"]["jwtAuth"]["bearerFormat"] == "JWT"
    assert sorted(schema["components"]["schemas"]["PatchedMeUpdateRequest"]["properties"]) == [
        "bio",
        "display_name",
        "time_zone",
    ]
    me_fields = schema["components"]["schemas"]["Me"]["properties"]
    assert all(field.get("readOnly") for field in me_fields.values())


# --- My picture, from an app -----------------------------------------------------------------
AVATAR = "/api/v1/me/avatar/"
MULTIPART = MULTIPART_CONTENT


def png(size: tuple[int, int] = (300, 200)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def test_an_app_sets_my_picture_and_gets_its_urls_back(client, ana, ana_app):
    response = client.put(
        AVATAR, encode_multipart(BOUNDARY, {"avatar": png()}), MULTIPART, **bearer(ana_app)
    )

    ana.refresh_from_db()
    assert response.status_code == 200
    assert ana.avatar.name.startswith(f"avatars/{ana.pk}/") and ana.avatar.name.endswith(".webp")
    assert response.json() == profile_json(
        ana,
        avatar_url=f"http://testserver/media/{ana.avatar.name}",
        avatar_thumbnail_url=f"http://testserver/media/{ana.avatar_thumbnail.name}",
    )
    assert client.get(ME, **bearer(ana_app)).json()["avatar_url"] == response.json()["avatar_url"]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("me.png", b"not a picture at all", content_type="image/png"),
            "Upload a JPEG, PNG or WebP picture; this file is not one.",
        ),
        (png((40, 40)), "The picture is 40×40 pixels; it must be at least 64×64."),
    ],
    ids=["not-a-picture", "too-small"],
)
def test_a_bad_picture_is_a_field_error_and_keeps_the_old_one(
    client, ana, ana_app, upload, message
):
    user_avatar_set(user=ana, upload=png())
    before = ana.avatar.name

    response = client.put(
        AVATAR, encode_multipart(BOUNDARY, {"avatar": upload}), MULTIPART, **bearer(ana_app)
    )

    body = response.json()
    assert response.status_code == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert list(body["error"]["fields"]) == ["avatar"]
    assert body["error"]["fields"]["avatar"] == [message]
    ana.refresh_from_db()
    assert ana.avatar.name == before


def test_a_small_file_of_too_many_pixels_is_refused_with_the_envelope(client, ana, ana_app):
    user_avatar_set(user=ana, upload=png())
    before = (ana.avatar.name, ana.avatar_thumbnail.name)
    upload = png((6000, 6000))  # about 120 KB of one colour; 144 MB once decoded

    response = client.put(
        AVATAR, encode_multipart(BOUNDARY, {"avatar": upload}), MULTIPART, **bearer(ana_app)
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            "avatar": [
                "The picture is 6000×6000 pixels (36.0 megapixels); it can have at most 16.8 "
                "megapixels. Make it smaller and try again."
            ]
        },
    )
    ana.refresh_from_db()
    assert (ana.avatar.name, ana.avatar_thumbnail.name) == before


def test_the_largest_accepted_picture_is_set_from_an_app(client, ana, ana_app):
    response = client.put(
        AVATAR,
        encode_multipart(BOUNDARY, {"avatar": png((4096, 4096))}),
        MULTIPART,
        **bearer(ana_app),
    )

    assert response.status_code == 200
    ana.refresh_from_db()
    assert response.json()["avatar_url"] == f"http://testserver/media/{ana.avatar.name}"
    with ana.avatar.open() as stored:
        assert Image.open(stored).size == (512, 512)


def test_a_picture_must_be_sent_as_a_file(client, ana, ana_app):
    missing = client.put(AVATAR, encode_multipart(BOUNDARY, {}), MULTIPART, **bearer(ana_app))
    as_json = client.put(AVATAR, {"avatar": "x"}, "application/json", **bearer(ana_app))

    assert missing.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["avatar"]
    assert as_json.status_code == 415
    assert as_json.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_app_removes_my_picture(client, ana, ana_app):
    user_avatar_set(user=ana, upload=png())

    response = client.delete(AVATAR, **bearer(ana_app))

    ana.refresh_from_db()
    assert response.status_code == 204
    assert not ana.avatar and not ana.avatar_thumbnail
    assert client.get(ME, **bearer(ana_app)).json()["avatar_url"] is None


def test_setting_a_picture_needs_a_signed_in_user(client):
    response = client.put(AVATAR, encode_multipart(BOUNDARY, {"avatar": png()}), MULTIPART)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
