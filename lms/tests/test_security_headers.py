"""Security headers on every kind of answer: pages, admin, API and its docs.

Content-Security-Policy (django-csp) without 'unsafe-inline' for scripts or styles, a
Permissions-Policy that turns off what the site does not use, and the CORS allowlist.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.models import Video

pytestmark = pytest.mark.django_db

POLICY_DENIED = ("camera", "microphone", "geolocation", "payment", "usb", "display-capture")
POLICY_SELF = ("fullscreen", "picture-in-picture", "autoplay")


def directives(header: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parsed}


def assert_strict_headers(response) -> None:
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    features = dict(item.split("=") for item in response["Permissions-Policy"].split(", "))
    assert {name: features[name] for name in POLICY_DENIED} == dict.fromkeys(POLICY_DENIED, "()")
    assert {name: features[name] for name in POLICY_SELF} == dict.fromkeys(POLICY_SELF, "(self)")


def test_html_pages_carry_a_strict_policy(client):
    CourseFactory(title="Salsa Footwork", slug="salsa")
    for path in ("/", "/courses/", "/courses/salsa/", "/accounts/login/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_headers(response)


def test_admin_pages_carry_a_strict_policy(staff_client, settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False
    for path in ("/admin/", "/admin/catalog/course/", "/admin/catalog/course/add/"):
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert_strict_headers(response)


def test_api_answers_and_errors_carry_the_policy(client):
    CourseFactory(slug="salsa")
    ok = client.get("/api/v1/courses/")
    missing = client.get("/api/v1/courses/no-such-course/")

    assert ok.status_code == 200
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "COURSE_NOT_FOUND"
    for response in (ok, missing):
        assert_strict_headers(response)


def test_api_docs_and_redoc_have_no_inline_script_and_a_strict_policy(client):
    swagger = client.get("/api/docs/")
    script = client.get("/api/docs/?script")
    redoc = client.get("/api/redoc/")

    assert (swagger.status_code, script.status_code, redoc.status_code) == (200, 200, 200)
    assert_strict_headers(swagger)
    html = swagger.content.decode()
    assert "<script>" not in html and "<style>" not in html
    assert 'src="/api/docs/?script="' in html
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()

    # ReDoc: its generated styles are allowed by this response's nonce, scripts stay 'self'.
    policy = directives(redoc["Content-Security-Policy"])
    nonce = next(s for s in policy["style-src"] if s.startswith("'nonce-"))
    page = redoc.content.decode()
    assert f'nonce="{nonce[7:-1]}"' in page
    assert "<redoc" not in page and "<script>" not in page and "fonts.googleapis" not in page
    assert "redoc.standalone.js" in page
    assert "'unsafe-inline'" not in redoc["Content-Security-Policy"]


def test_only_a_page_with_the_mux_player_allows_its_inline_styles(client):
    course = CourseFactory(slug="salsa", visibility=Course.Visibility.PUBLIC)
    video = Video.objects.create(
        title="Basics",
        playback_id="pUbLiC",
        status=Video.Status.READY,
        playback_policy=Video.PlaybackPolicy.PUBLIC,
    )
    section = SectionFactory(course=course)
    lesson = LessonFactory(section=section, kind=Lesson.Kind.VIDEO, video=video, slug="basics")
    text = LessonFactory(section=section, slug="notes", order=1)

    with_player = client.get(lesson.get_absolute_url())
    without = client.get(text.get_absolute_url())

    assert with_player.status_code == 200
    assert b"<mux-player" in with_player.content
    policy = directives(with_player["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    # What the player streams from and reports to.
    assert "https://*.mux.com" in policy["media-src"] and "blob:" in policy["media-src"]
    assert {"https://*.mux.com", "https://*.litix.io"} <= set(policy["connect-src"])
    assert "blob:" in policy["worker-src"]
    assert_strict_headers(without)


# --- Sources derived from settings (read once per process: checked in a fresh one) ----------
def _policy_in_fresh_process(**env: str) -> dict[str, list[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSP_"))}
    environment.pop("MEDIA_URL", None)
    environment.update(env)
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    )
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_bucket_and_extra_sources_join_the_policy():
    aws = _policy_in_fresh_process(AWS_STORAGE_BUCKET_NAME="school", AWS_S3_REGION_NAME="eu-west-3")
    minio = _policy_in_fresh_process(
        AWS_STORAGE_BUCKET_NAME="school",
        AWS_S3_ENDPOINT_URL="https://files.example.com:9000",
        AWS_S3_CUSTOM_DOMAIN="cdn.example.com",
        CSP_CONNECT_SRC_EXTRA="https://analytics.example.com",
        CSP_IMG_SRC_EXTRA="https://images.example.com",
    )
    local = _policy_in_fresh_process()

    assert "https://school.s3.eu-west-3.amazonaws.com" in aws["connect-src"]
    assert "https://school.s3.eu-west-3.amazonaws.com" in aws["img-src"]
    for source in (
        "https://files.example.com:9000",
        "https://school.files.example.com:9000",
        "https://cdn.example.com",
    ):
        assert source in minio["connect-src"] and source in minio["img-src"], source
    assert "https://analytics.example.com" in minio["connect-src"]
    assert "https://images.example.com" in minio["img-src"]
    assert not [s for s in local["connect-src"] if "amazonaws" in s or "example.com" in s]


# --- CORS: browser-based clients on other origins -------------------------------------------
def _preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_a_preflight_from_an_allowed_origin_is_answered_for_the_api_and_app_sign_in(
    client, settings
):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    for path in ("/api/v1/progress/sync/", "/_allauth/app/v1/auth/login"):
        response = _preflight(client, path, "https://app.example.com")

        assert response.status_code == 200, path
        assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
        allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key"} <= allowed
        assert "POST" in response["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_from_another_origin_gets_no_cors_grant(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    refused = _preflight(client, "/api/v1/progress/sync/", "https://evil.example.net")
    api_read = client.get("/api/v1/courses/", HTTP_ORIGIN="https://app.example.com")
    page = client.get("/", HTTP_ORIGIN="https://app.example.com")

    assert "Access-Control-Allow-Origin" not in refused
    assert api_read["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Request-ID" in api_read["Access-Control-Expose-Headers"]
    # HTML pages are not part of the API: no CORS grant for them, whatever the origin.
    assert "Access-Control-Allow-Origin" not in page


def test_no_origin_is_allowed_by_default(client):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = _preflight(client, "/api/v1/progress/sync/", "https://app.example.com")
    assert "Access-Control-Allow-Origin" not in response
