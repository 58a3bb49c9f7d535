"""The schema tells the truth: what an operation can answer is documented, with the envelope.

Each operation of `/api/schema/` is sent the requests the shared machinery refuses (a bad
token, an `Accept` the API does not speak, a body too large or too deep, a NUL in a query),
and the status it answers must be one the schema lists for it, pointing at ErrorEnvelope.
"""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
SAMPLE_PATH_VALUES = {
    "slug": "no-such-course",
    "code": "NOSUCHCODE",
    "lesson_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "file_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "session_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "announcement_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "notification_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "thread_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "reply_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "channel_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "message_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "export_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "conversation_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "bundle_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "course_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "section_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
    "question_id": "0f795761-8eeb-4ac4-955b-3e026cd707f3",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def concrete(path: str) -> str:
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, f"add a sample value for {path}"
    return path


def send(method: str, path: str, **extra):
    client = Client(raise_request_exception=False)
    return client.generic(method, path, **extra)


def assert_documented(schema: dict, method: str, path: str, status: int) -> None:
    operation = schema["paths"][path][method.lower()]
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {path} answered {status}, not documented"
    if status >= 400:
        assert documented[str(status)]["content"]["application/json"]["schema"] == ENVELOPE


# --- Bounds -----------------------------------------------------------------------------


def test_page_and_page_size_carry_their_bounds(schema):
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in schema["paths"]["/api/v1/courses/"]["get"]["parameters"]
    }

    assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 999_999_999}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100}


@pytest.mark.parametrize("value", ["²", "٣", "1e3", "-1", "1234567890"])
def test_page_numbers_that_are_not_plain_digits_are_validation_errors(client, value):
    response = client.get("/api/v1/courses/", {"page": value})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"page": ["Enter a whole number of 1 or more."]}


# --- Generic statuses, documented once for every operation -------------------------------


def test_every_error_response_in_the_schema_is_the_envelope(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ENVELOPE, (
                    f"{method} {path} {status}"
                )


def test_the_generic_statuses_follow_the_view(schema):
    def statuses(path: str, method: str) -> list[str]:
        return sorted(schema["paths"][path][method]["responses"])

    # A signed-in write with a JSON body: everything the machinery can refuse.
    assert statuses("/api/v1/progress/sync/", "post") == [
        "200", "400", "401", "403", "406", "413", "415", "429", "503",
    ]  # fmt: skip
    # A public read with a path parameter: no body, no permission beyond anyone.
    assert statuses("/api/v1/courses/{slug}/", "get") == ["200", "401", "404", "406", "429"]
    # The certificate check authenticates nobody, so a bad token cannot make it 401.
    assert "401" not in statuses("/api/v1/certificates/{code}/", "get")


def test_a_bad_token_answers_a_documented_status_everywhere(schema):
    for method, path, _operation in operations(schema):
        response = send(method, concrete(path), HTTP_AUTHORIZATION="Bearer not-a-token")

        assert_documented(schema, method, path, response.status_code)


def test_an_accept_header_the_api_does_not_speak_answers_a_documented_status(schema):
    for method, path, _operation in operations(schema):
        response = send(method, concrete(path), HTTP_ACCEPT="application/xml")

        assert_documented(schema, method, path, response.status_code)


@pytest.mark.parametrize(
    "body", [b'{"a":"' + b"x" * (1024 * 1024) + b'"}', b"[" * 1000 + b"]" * 1000, b"not json"]
)
def test_bodies_the_guards_refuse_answer_a_documented_status(schema, user, body):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    for method, path, _operation in operations(schema):
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        response = client.generic(method, concrete(path), body, "application/json")

        assert response.status_code != 500, f"{method} {path}"
        assert_documented(schema, method, path, response.status_code)


def test_a_nul_in_a_query_answers_a_documented_status(schema):
    for method, path, operation in operations(schema):
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        if not names:
            continue
        response = send(method, f"{concrete(path)}?{names[0]}=a%00b")

        assert response.status_code == 400
        assert_documented(schema, method, path, 400)
