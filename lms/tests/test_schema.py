"""The OpenAPI schema is valid and warning-free, and its docs page needs no CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_and_validates_without_warnings(tmp_path):
    schema_file = tmp_path / "schema.yml"

    # --fail-on-warn turns any warning or error of drf-spectacular into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))

    text = schema_file.read_text()
    assert text.startswith("openapi: 3.")
    for path in ("/api/v1/courses/:", "/api/v1/courses/{slug}/:", "/api/v1/lessons/{lesson_id}/:"):
        assert path in text


def test_schema_endpoint_serves_openapi_3_with_the_catalog_operations(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {path: sorted(methods) for path, methods in schema["paths"].items()}
    # The catalog's three reads are there, read-only.
    assert operations["/api/v1/courses/"] == ["get"]
    assert operations["/api/v1/courses/{slug}/"] == ["get"]
    assert operations["/api/v1/lessons/{lesson_id}/"] == ["get"]


def test_schema_documents_errors_with_the_one_envelope_component(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}

    def error_schema(path: str, status: str) -> dict:
        response = schema["paths"][path]["get"]["responses"][status]
        return response["content"]["application/json"]["schema"]

    assert error_schema("/api/v1/courses/", "400") == envelope
    assert error_schema("/api/v1/courses/{slug}/", "404") == envelope
    assert error_schema("/api/v1/lessons/{lesson_id}/", "403") == envelope
    assert error_schema("/api/v1/lessons/{lesson_id}/", "404") == envelope
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert sorted(detail["properties"]) == ["code", "fields", "message", "retry_at"]
    # `retry_at` comes only with QUIZ_RETRY_NOT_YET.
    assert sorted(detail["required"]) == ["code", "fields", "message"]
    assert "COURSE_NOT_FOUND" in schema["components"]["schemas"]["CodeEnum"]["enum"]


def test_schema_lists_the_course_filters_and_pagination(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    parameters = schema["paths"]["/api/v1/courses/"]["get"]["parameters"]

    assert sorted(parameter["name"] for parameter in parameters) == [
        "difficulty",
        "page",
        "page_size",
        "q",
        "type",
    ]


def test_swagger_ui_is_served_from_local_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "the page should load Swagger UI's script and styles"
    assert not [url for url in urls if re.match(r"^(https?:)?//", url)]
    assert "cdn" not in html.lower()
    # Every asset exists among our static files (drf-spectacular-sidecar), except the init
    # script, which the page loads from itself (?script) since the CSP refuses inline ones.
    assert "/api/docs/?script=" in urls
    for url in [url for url in urls if url != "/api/docs/?script="]:
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")) is not None, url
    assert "swagger-ui-bundle.js" in html
    assert '"/api/schema/"' in client.get("/api/docs/?script=").content.decode()
