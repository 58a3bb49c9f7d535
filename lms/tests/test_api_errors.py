"""Every API error leaves in the one envelope: {"error": {"code", "message", "fields"}}."""

import logging

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db

with_test_views = pytest.mark.urls("lms.tests.urls_api_errors")


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# --- 404 -----------------------------------------------------------------------------------


def test_unknown_course_is_course_not_found(api_client):
    response = api_client.get(reverse("catalog-api:course-detail", kwargs={"slug": "nope"}))

    assert response.status_code == 404
    assert response.json() == error("COURSE_NOT_FOUND", "There is no course at this address.")


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/", "/api/v2/courses/"])
def test_unknown_api_paths_answer_json_not_found(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == error("NOT_FOUND", "Not found.")


def test_unknown_site_paths_still_get_the_html_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- 400 -----------------------------------------------------------------------------------


def test_an_invalid_filter_is_a_validation_error_naming_the_field(api_client):
    response = api_client.get(reverse("catalog-api:course-list"), {"type": "opera"})

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"type": ['"opera" is not a valid choice.']}
    )


def test_a_bad_page_number_is_a_validation_error_on_page(api_client):
    response = api_client.get(reverse("catalog-api:course-list"), {"page": "0"})

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"page": ["Enter a whole number of 1 or more."]},
    )


@with_test_views
def test_invalid_body_fields_are_listed_with_dotted_names_for_nested_ones(api_client):
    response = api_client.post(
        "/api/test/echo/",
        {"name": "far too long a name", "tags": ["ok", "too long"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            "name": ["Ensure this field has no more than 10 characters."],
            "tags.1": ["Ensure this field has no more than 5 characters."],
        },
    )


@with_test_views
def test_a_missing_field_is_a_validation_error(api_client):
    response = api_client.post("/api/test/echo/", {}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"name": ["This field is required."]}
    )


@with_test_views
def test_a_django_validation_error_becomes_a_validation_error(api_client):
    response = api_client.post("/api/test/django-errors/", {}, format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"start": ["Start must be before the end."]}
    )


@with_test_views
def test_malformed_json_is_a_parse_error(api_client):
    response = api_client.post("/api/test/echo/", data='{"name": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == error(
        "PARSE_ERROR", "JSON parse error - Expecting value: line 1 column 10 (char 9)"
    )


@with_test_views
def test_valid_json_is_accepted(api_client):
    response = api_client.post("/api/test/echo/", {"name": "Ana"}, format="json")

    assert response.status_code == 201
    assert response.json() == {"name": "Ana"}


# --- 401 / 403 -----------------------------------------------------------------------------


@with_test_views
def test_anonymous_request_to_a_signed_in_endpoint_is_not_authenticated(api_client):
    response = api_client.get("/api/test/signed-in/")

    # The first authentication class is allauth's JWT bearer token, whose challenge makes DRF
    # answer 401 (session authentication alone has none, and would give 403).
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == error("NOT_AUTHENTICATED", "Sign in to continue.")


@with_test_views
def test_header_authenticated_endpoints_answer_401_with_a_challenge(api_client):
    response = api_client.get("/api/test/signed-in-by-header/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'
    assert response.json() == error("NOT_AUTHENTICATED", "Sign in to continue.")


@with_test_views
def test_wrong_credentials_are_authentication_failed(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Basic bm9ib2R5OndoYXRldmVy")  # nobody:whatever

    response = api_client.get("/api/test/signed-in-by-header/")

    assert response.status_code == 401
    assert response.json() == error("AUTHENTICATION_FAILED", "The credentials are not valid.")


@with_test_views
def test_a_learner_on_a_staff_endpoint_is_permission_denied(api_client, user):
    api_client.force_authenticate(user)

    response = api_client.get("/api/test/staff-only/")

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")


@with_test_views
def test_a_django_permission_denied_is_permission_denied(api_client):
    response = api_client.get("/api/test/django-errors/")

    assert response.status_code == 403
    assert response.json() == error("PERMISSION_DENIED", "You do not have permission to do this.")


def test_a_locked_lesson_names_what_would_open_it(api_client, user):
    course = CourseFactory(visibility="members")
    lesson = LessonFactory(section=SectionFactory(course=course))
    url = reverse("catalog-api:lesson-detail", kwargs={"lesson_id": lesson.id})

    response = api_client.get(url)

    assert response.status_code == 403
    assert response.json() == error("LOGIN_REQUIRED", "Sign in to open this lesson.")


# --- 405 / 406 / 415 -----------------------------------------------------------------------


def test_posting_to_the_course_list_is_method_not_allowed(api_client):
    response = api_client.post(reverse("catalog-api:course-list"), {}, format="json")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == error("METHOD_NOT_ALLOWED", 'Method "POST" not allowed.')


def test_asking_for_a_format_the_api_does_not_speak_is_not_acceptable(api_client):
    response = api_client.get(reverse("catalog-api:course-list"), HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response.json() == error(
        "NOT_ACCEPTABLE", "The requested response format is not available."
    )


@with_test_views
def test_a_body_that_is_not_json_is_unsupported_media_type(api_client):
    response = api_client.post("/api/test/echo/", data="name=Ana", content_type="text/plain")

    assert response.status_code == 415
    assert response.json() == error(
        "UNSUPPORTED_MEDIA_TYPE", "The request body format is not supported."
    )


# --- 429 -----------------------------------------------------------------------------------


@with_test_views
def test_too_many_requests_are_throttled_with_retry_after(api_client):
    first = api_client.get("/api/test/throttled/")
    second = api_client.get("/api/test/throttled/")

    assert first.status_code == 200
    assert second.status_code == 429
    assert second["Retry-After"] == "60"
    assert second.json() == error(
        "THROTTLED", "Request was throttled. Expected available in 60 seconds."
    )


# --- 500 -----------------------------------------------------------------------------------


@with_test_views
def test_an_unexpected_api_error_is_a_server_error_without_details(caplog):
    client = APIClient(raise_request_exception=False)

    with caplog.at_level(logging.ERROR, logger="lms.api.exceptions"):
        response = client.get("/api/test/broken/")

    assert response.status_code == 500
    assert response.json() == error("SERVER_ERROR", "Something went wrong on our side.")
    assert b"secret-connection-string" not in response.content
    assert b"Traceback" not in response.content
    # The operator still gets the traceback, in the log.
    assert "secret-connection-string went wrong" in caplog.text


@with_test_views
def test_a_crash_outside_drf_under_api_is_still_a_json_server_error():
    client = Client(raise_request_exception=False)

    response = client.get("/api/test/broken-plain/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == error("SERVER_ERROR", "Something went wrong on our side.")
    assert b"secret-connection-string" not in response.content


@with_test_views
def test_unknown_paths_answer_the_envelope_under_the_test_urlconf_too(api_client):
    response = api_client.get("/api/test/nothing-here/")

    assert response.status_code == 404
    assert response.json() == error("NOT_FOUND", "Not found.")
