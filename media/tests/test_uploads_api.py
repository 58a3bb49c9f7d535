"""The uploads API end to end against a loopback S3: presign -> POST to the bucket ->
confirm -> signed read, and the error envelope for each refusal."""

import uuid

import pytest
import requests
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from media.models import StoredFile

pytestmark = pytest.mark.django_db

PRESIGN = "/api/v1/uploads/presign/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 300


def _confirm_url(file_id) -> str:
    return f"/api/v1/uploads/{file_id}/confirm/"


def _file_url(file_id) -> str:
    return f"/api/v1/files/{file_id}/"


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@pytest.fixture
def learner_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def author_api():
    """An instructor or staff member: the people who upload course files."""
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


def _presign(api, **overrides):
    body = {
        "purpose": "avatars",
        "content_type": "image/png",
        "size": len(PNG),
        "filename": "me.png",
        **overrides,
    }
    return api.post(PRESIGN, body, format="json")


def _upload(presign_body: dict, content: bytes, content_type: str) -> requests.Response:
    return requests.post(
        presign_body["url"],
        data=presign_body["fields"],
        files={"file": ("upload", content, content_type)},
        timeout=10,
    )


def test_the_endpoints_are_at_their_documented_addresses():
    file_id = uuid.uuid4()
    assert reverse("media-api:upload-presign") == PRESIGN
    assert reverse("media-api:upload-confirm", args=[file_id]) == _confirm_url(file_id)
    assert reverse("media-api:file-read", args=[file_id]) == _file_url(file_id)


def test_a_client_uploads_confirms_and_reads_back_its_file(s3, learner_api, user):
    presign = _presign(learner_api)
    assert presign.status_code == 201, presign.json()
    body = presign.json()
    file = StoredFile.objects.get()
    assert body["id"] == str(file.id)
    assert body["key"] == f"avatars/{file.id}.png"
    assert body["url"] == f"{s3['endpoint']}/{s3['bucket']}"
    assert body["fields"]["key"] == body["key"]
    assert body["fields"]["Content-Type"] == "image/png"
    assert set(body) == {"id", "url", "fields", "key", "expires_at"}

    assert _upload(body, PNG, "image/png").status_code == 204
    confirm = learner_api.post(_confirm_url(file.id))

    assert confirm.status_code == 200
    file.refresh_from_db()
    assert confirm.json() == {
        "id": str(file.id),
        "purpose": "avatars",
        "key": file.key,
        "title": "me.png",
        "content_type": "image/png",
        "size": len(PNG),
        "status": "confirmed",
        "created_at": file.created_at.isoformat().replace("+00:00", "Z"),
        "confirmed_at": file.confirmed_at.isoformat().replace("+00:00", "Z"),
    }
    read = learner_api.get(_file_url(file.id))
    assert read.status_code == 200
    assert set(read.json()) == {"url", "expires_at"}
    download = requests.get(read.json()["url"], timeout=10)
    assert (download.status_code, download.content) == (200, PNG)


def test_a_type_the_purpose_does_not_allow_is_refused_at_presign(s3, learner_api):
    response = _presign(learner_api, content_type="image/svg+xml")

    assert response.status_code == 400
    assert response.json() == _error(
        "UPLOAD_TYPE_NOT_ALLOWED",
        "Files of type 'image/svg+xml' cannot be uploaded as Avatar.",
        {"content_type": ["This type of file is not allowed here."]},
    )
    assert not StoredFile.objects.exists()


def test_attachments_take_pdfs_but_avatars_do_not(s3, learner_api, author_api):
    assert (
        _presign(author_api, purpose="attachments", content_type="application/pdf").status_code
        == 201
    )
    assert _presign(learner_api, content_type="application/pdf").status_code == 400


def test_a_file_over_the_purpose_limit_is_refused_at_presign(settings, s3, learner_api):
    settings.LMS_AVATAR_MAX_BYTES = 100

    response = _presign(learner_api, size=101)

    assert response.status_code == 400
    assert response.json() == _error(
        "UPLOAD_TOO_LARGE",
        "The file is 101 bytes; the limit here is 100 bytes.",
        {"size": ["At most 100 bytes."]},
    )


def test_the_bucket_refuses_more_bytes_than_announced_and_confirm_then_reports_no_file(
    s3, learner_api
):
    body = _presign(learner_api, size=10).json()

    upload = _upload(body, PNG, "image/png")
    confirm = learner_api.post(_confirm_url(body["id"]))

    assert upload.status_code == 400
    assert "EntityTooLarge" in upload.text
    assert confirm.status_code == 409
    assert confirm.json() == _error("UPLOAD_INCOMPLETE", "The file has not been uploaded yet.")


def test_the_bucket_refuses_a_different_content_type(s3, learner_api):
    body = _presign(learner_api).json()
    fields = {**body["fields"], "Content-Type": "text/html"}

    upload = requests.post(
        body["url"], data=fields, files={"file": ("x", PNG, "text/html")}, timeout=10
    )

    assert upload.status_code == 403
    assert "Policy Condition failed" in upload.text


def test_confirm_removes_an_oversize_object_that_got_around_the_policy(settings, s3, learner_api):
    body = _presign(learner_api, size=len(PNG)).json()
    assert _upload(body, PNG, "image/png").status_code == 204
    settings.LMS_AVATAR_MAX_BYTES = 100  # the limit was lowered meanwhile

    confirm = learner_api.post(_confirm_url(body["id"]))

    assert confirm.status_code == 400
    assert confirm.json() == _error(
        "UPLOAD_TOO_LARGE",
        f"The uploaded file is {len(PNG)} bytes; at most 100 bytes were allowed. "
        "It has been removed.",
    )
    assert s3["client"].list_objects_v2(Bucket=s3["bucket"])["KeyCount"] == 0
    assert StoredFile.objects.get().status == StoredFile.Status.PENDING


def test_confirm_before_the_upload_says_it_is_incomplete(s3, learner_api):
    body = _presign(learner_api).json()

    response = learner_api.post(_confirm_url(body["id"]))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "UPLOAD_INCOMPLETE"
    assert learner_api.get(_file_url(body["id"])).json()["error"]["code"] == "UPLOAD_INCOMPLETE"


def test_another_users_upload_is_not_found_for_confirm_or_read(s3, learner_api, api_client):
    body = _presign(learner_api).json()
    _upload(body, PNG, "image/png")
    assert learner_api.post(_confirm_url(body["id"])).status_code == 200
    api_client.force_authenticate(UserFactory())

    confirm = api_client.post(_confirm_url(body["id"]))
    read = api_client.get(_file_url(body["id"]))

    assert confirm.status_code == 404
    assert confirm.json() == _error("UPLOAD_NOT_FOUND", "You have no upload with this id.")
    assert read.status_code == 404
    assert read.json() == _error("FILE_NOT_FOUND", "There is no file with this id.")


def test_staff_can_read_any_file(s3, learner_api, api_client):
    body = _presign(learner_api).json()
    _upload(body, PNG, "image/png")
    learner_api.post(_confirm_url(body["id"]))
    api_client.force_authenticate(UserFactory(is_staff=True))

    read = api_client.get(_file_url(body["id"]))

    assert read.status_code == 200
    assert requests.get(read.json()["url"], timeout=10).content == PNG


def test_a_soft_deleted_file_is_not_found(s3, learner_api):
    body = _presign(learner_api).json()
    _upload(body, PNG, "image/png")
    learner_api.post(_confirm_url(body["id"]))
    StoredFile.objects.filter(pk=body["id"]).update(deleted_at="2026-01-01T00:00:00Z")

    assert learner_api.get(_file_url(body["id"])).status_code == 404


def test_anonymous_callers_get_401(s3, api_client):
    response = _presign(api_client)

    assert response.status_code == 401
    assert response.json() == _error("NOT_AUTHENTICATED", "Sign in to continue.")
    assert api_client.get(_file_url(uuid.uuid4())).status_code == 401


def test_without_storage_every_operation_answers_503(learner_api):
    message = "File uploads are not available: no S3-compatible storage is configured."
    expected = _error("STORAGE_NOT_CONFIGURED", message)

    responses = [
        _presign(learner_api),
        learner_api.post(_confirm_url(uuid.uuid4())),
        learner_api.get(_file_url(uuid.uuid4())),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(503, expected)] * 3
    assert not StoredFile.objects.exists()


def test_invalid_input_gets_the_validation_envelope(s3, learner_api):
    response = _presign(learner_api, purpose="videos", size=0)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert set(response.json()["error"]["fields"]) == {"purpose", "size"}


@pytest.mark.parametrize("purpose", ["attachments", "thumbnails"])
def test_learners_upload_only_their_picture(s3, learner_api, purpose):
    response = _presign(learner_api, purpose=purpose)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert not StoredFile.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["image/svg+xml;charset=utf-8", "image/svg+xml ;x=1", "image/png; name=x.svg"],
    ids=["svg-with-charset", "svg-with-space", "png-with-parameters"],
)
def test_a_type_with_parameters_cannot_slip_past_the_checks(s3, author_api, content_type):
    response = _presign(author_api, purpose="attachments", content_type=content_type)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UPLOAD_TYPE_NOT_ALLOWED"
    assert not StoredFile.objects.exists()
