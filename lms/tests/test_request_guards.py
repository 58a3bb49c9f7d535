"""Requests that used to crash a view (500) answer a clear 4xx: the envelope under /api/ and
for JSON bodies, the error page elsewhere (lms.middleware.RequestGuardMiddleware)."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalog.tests.factories import CourseFactory
from lms.middleware import json_depth_exceeds
from progress.models import Enrollment

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/progress/sync/"
APP_LOGIN = "/_allauth/app/v1/auth/login"
DEEP = "[" * 1000 + "]" * 1000  # Python's json gives up (RecursionError) at about 1,000


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


TOO_LARGE = error("PAYLOAD_TOO_LARGE", "The request body is larger than allowed here.")
TOO_DEEP = error("PARSE_ERROR", "The request body nests deeper than 32 levels.")
NOT_FOUND = error("NOT_FOUND", "Not found.")


@pytest.fixture
def learner_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def json_of_size(size: int) -> str:
    """A JSON object of exactly `size` bytes, valid for the sync and profile endpoints."""
    padding = size - len('{"events":[],"display_name":"Changed","pad":""}')
    return '{"events":[],"display_name":"Changed","pad":"' + "x" * padding + '"}'


# --- Bodies over the limit: 413 ----------------------------------------------------------


@pytest.mark.parametrize("size", [3_000_000, 1024 * 1024 + 1])
@pytest.mark.parametrize(("method", "path"), [("post", SYNC), ("patch", "/api/v1/me/")])
def test_a_json_body_over_the_limit_is_payload_too_large(learner_api, user, method, path, size):
    name_before = user.display_name

    response = getattr(learner_api, method)(
        path, data=json_of_size(size), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    user.refresh_from_db()
    assert user.display_name == name_before


def test_a_json_body_at_the_limit_reaches_the_view(learner_api):
    response = learner_api.post(
        SYNC, data=json_of_size(1024 * 1024), content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_body_limit_is_a_setting(learner_api, settings):
    settings.LMS_API_MAX_BODY_BYTES = 100

    response = learner_api.post(SYNC, data=json_of_size(101), content_type="application/json")

    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_app_sign_in_with_a_huge_body_is_payload_too_large():
    response = Client().post(
        APP_LOGIN, data=json_of_size(3_000_000), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_form_post_over_the_upload_limit_gets_the_413_page(client):
    response = client.post("/accounts/login/", {"login": "a@example.com", "pad": "x" * 3_000_000})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "That was more than we can take in one go" in response.content.decode()


# --- JSON nested too deep: 400 PARSE_ERROR -----------------------------------------------


@pytest.mark.parametrize(
    "path", [SYNC, "/api/v1/me/", APP_LOGIN, "/_allauth/app/v1/auth/signup", "/webhooks/stripe/"]
)
def test_json_nested_a_thousand_levels_deep_is_a_parse_error(learner_api, path):
    response = learner_api.post(path, data=DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == TOO_DEEP


def test_deep_json_sent_as_another_content_type_to_app_sign_in_is_refused_too():
    # allauth's headless views parse the body as JSON whatever its content type.
    response = Client().post(APP_LOGIN, data=DEEP, content_type="text/plain")

    assert response.status_code == 400
    assert response.json() == TOO_DEEP


def test_json_within_the_depth_limit_reaches_the_view(learner_api):
    body = {"events": [], "extra": json.loads("[" * 30 + "]" * 30)}

    response = learner_api.post(SYNC, body, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * 33 + "]" * 33, True),
        ("[" * 32 + "]" * 32, False),
        ('{"a":' * 40 + "1" + "}" * 40, True),
        # Brackets inside strings are text, not nesting, escaped quotes included.
        (json.dumps({"a": "[" * 500, "b": '\\"[[[' * 100}), False),
        # Many siblings are wide, not deep.
        (json.dumps([[] for _ in range(5000)]), False),
        (json.dumps([{"x": [1, {"y": [2]}]} for _ in range(1000)]), False),
    ],
)
def test_nesting_depth_is_measured_without_parsing(text, too_deep):
    assert json_depth_exceeds(text.encode(), 32) is too_deep


# --- NUL characters: 404 in a path, 400 in a query --------------------------------------


@pytest.mark.parametrize("path", ["/certificates/AB%00CD/", "/certificates/AB%00CD/pdf/"])
def test_a_nul_in_a_page_path_is_the_404_page(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_a_nul_in_an_api_path_is_not_found(api_client):
    response = api_client.get("/api/v1/certificates/AB%00CD/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_nul_in_a_query_value_is_a_validation_error_naming_it(api_client):
    response = api_client.get("/api/v1/courses/?page=1%00&q=ok")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"page": ["Null characters are not allowed."]},
    )


def test_a_nul_in_a_page_query_is_the_400_page(client):
    response = client.get("/courses/?q=salsa%00")

    assert response.status_code == 400
    assert "That request did not make sense to us" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "path",
    ["/certificates/AB%00CD/", "/certificates/AB%00CD/pdf/", "/api/v1/certificates/AB%00CD/"],
)
def test_a_nul_in_a_path_is_not_found_on_postgresql_too(path):
    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == 404


@pytest.mark.postgres
def test_a_nul_in_a_query_is_refused_on_postgresql_too():
    response = Client(raise_request_exception=False).get("/api/v1/courses/?q=a%00b")

    assert response.status_code == 400


# --- Writes without the trailing slash are served, never redirected ------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_a_write_to_an_api_path_without_its_slash_is_served(learner_api, settings, debug):
    settings.DEBUG = debug

    response = learner_api.post(SYNC.rstrip("/"), {"events": []}, format="json")

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_writes_without_the_slash_reach_the_view(learner_api, settings, method):
    settings.DEBUG = True

    response = getattr(learner_api, method)(SYNC.rstrip("/"), {}, format="json")

    # The sync view only takes POST: the answer is its own 405, not a redirect.
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("debug", [True, False])
def test_a_form_post_without_the_slash_is_served(user_client, user, settings, debug):
    settings.DEBUG = debug
    course = CourseFactory(visibility="public")

    response = user_client.post(f"/courses/{course.slug}/enroll")

    assert response.status_code == 302
    assert response["Location"] != f"/courses/{course.slug}/enroll/"
    assert Enrollment.objects.filter(user=user, course=course).exists()


def test_a_get_without_the_slash_is_still_redirected(api_client):
    response = api_client.get("/api/v1/courses")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/courses/"


# --- Unmatched API paths: the envelope, with DEBUG on too ---------------------------------


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/v1/zzz", "/api/", "/api/v2/x/"])
def test_unknown_api_paths_answer_the_envelope_in_every_debug_setting(
    api_client, settings, debug, path
):
    settings.DEBUG = debug

    for method in ("get", "post", "delete"):
        response = getattr(api_client, method)(path)

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == NOT_FOUND
