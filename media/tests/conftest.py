"""A loopback S3 for storage tests: moto's server over real HTTP, driven by the real boto3.

moto 5.2 stores browser-form (POST) uploads without evaluating their policy (see
`moto.s3.responses.S3Response._bucket_response_post`), so the server here puts a thin layer
in front of it that does what S3 does with such a form before storing anything: checks the
policy's signature (SigV4) and expiry, that every form field is covered by a condition, and
each condition (`eq`, `starts-with`, `content-length-range`), answering S3's own error
documents. Everything else (HEAD, GET through signed URLs, DELETE) is moto as it is.
"""

import base64
import hashlib
import hmac
import io
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import boto3
import pytest
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.formparser import parse_form_data
from werkzeug.serving import make_server

ACCESS_KEY = "AKIALOOPBACKTEST"
SECRET_KEY = "loopback-secret-key"
REGION = "us-east-1"
# Form fields S3 does not require a policy condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "file"}


def _signing_key(date: str, region: str) -> bytes:
    key = f"AWS4{SECRET_KEY}".encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _s3_error(start_response: StartResponse, status: str, code: str, message: str) -> list:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    start_response(status, [("Content-Type", "application/xml")])
    return [body]


def _policy_problem(form: dict[str, str], size: int) -> tuple[str, str, str] | None:
    """(HTTP status, S3 error code, message) when S3 would refuse this form, else None."""
    try:
        policy_b64 = form["policy"]
        policy = json.loads(base64.b64decode(policy_b64))
        credential = form["x-amz-credential"]
    except (KeyError, ValueError):
        return "400 Bad Request", "InvalidPolicyDocument", "Invalid Policy: missing or malformed"
    _key_id, date, region, _service, _terminator = credential.split("/")
    expected = hmac.new(_signing_key(date, region), policy_b64.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), form.get("x-amz-signature", "")):
        return "403 Forbidden", "SignatureDoesNotMatch", "The request signature does not match"
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if expiration < datetime.now(UTC):
        return "403 Forbidden", "AccessDenied", "Invalid according to Policy: Policy expired."
    covered = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            condition = ["eq", f"${name}", value]
        operator = condition[0].lower()
        if operator == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                return (
                    "400 Bad Request",
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                )
            if size < low:
                return (
                    "400 Bad Request",
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                )
            continue
        name, value = condition[1].lstrip("$").lower(), condition[2]
        covered.add(name)
        actual = next((v for k, v in form.items() if k.lower() == name), "")
        ok = actual == value if operator == "eq" else actual.startswith(value)
        if not ok:
            return (
                "403 Forbidden",
                "AccessDenied",
                f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
            )
    extra = {k.lower() for k in form} - covered - _UNCONDITIONED
    if extra:
        return (
            "403 Forbidden",
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: " + ", ".join(sorted(extra)),
        )
    return None


def post_policy_enforcer(app: WSGIApplication) -> WSGIApplication:
    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        content_type = environ.get("CONTENT_TYPE", "")
        if environ["REQUEST_METHOD"] != "POST" or not content_type.startswith(
            "multipart/form-data"
        ):
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        probe = {**environ, "wsgi.input": io.BytesIO(body)}
        _stream, form, files = parse_form_data(probe)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        # Path-style URLs name the bucket first (http://127.0.0.1:port/<bucket>).
        bucket = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
        problem = _policy_problem({**form.to_dict(), "bucket": bucket}, size)
        if problem is not None:
            return _s3_error(start_response, *problem)
        environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return middleware


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 on 127.0.0.1 (a free port), behind the POST policy layer; its URL."""
    app = post_policy_enforcer(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def s3(settings, s3_server: str) -> dict[str, Any]:
    """Point the default storage at a fresh bucket on the loopback S3 server."""
    bucket = f"lms-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "endpoint_url": s3_server,
                "region_name": REGION,
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return {"client": client, "bucket": bucket, "endpoint": s3_server}
