"""media.storage against a loopback S3 (moto over HTTP, real boto3): presign, the bucket's
own refusals, confirm, signed reads."""

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from accounts.tests.factories import UserFactory
from media.models import StoredFile
from media.storage import (
    StorageError,
    file_signed_url,
    s3_configured,
    upload_confirm,
    upload_presign,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def _post(presigned, content: bytes, content_type: str) -> requests.Response:
    return requests.post(
        presigned.url,
        data=presigned.fields,
        files={"file": ("picture.png", content, content_type)},
        timeout=10,
    )


def test_s3_configured_follows_the_default_storage(settings, s3):
    assert s3_configured() is True
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    assert s3_configured() is False


def test_presigned_upload_then_confirm_then_signed_read_returns_the_bytes(s3):
    user = UserFactory()
    presigned = upload_presign(
        purpose="avatars", content_type="image/png", size=len(PNG), user=user, filename="me.png"
    )

    response = _post(presigned, PNG, "image/png")
    assert response.status_code == 204, response.text
    file = upload_confirm(file_id=presigned.file.id, user=user)

    file.refresh_from_db()
    assert (file.status, file.size, file.content_type, file.title) == (
        StoredFile.Status.CONFIRMED,
        len(PNG),
        "image/png",
        "me.png",
    )
    assert file.key == f"avatars/{file.id}.png"
    read = requests.get(file_signed_url(file=file, user=user).url, timeout=10)
    assert read.status_code == 200
    assert read.content == PNG
    assert read.headers["Content-Type"] == "image/png"


def test_the_policy_pins_type_size_and_key(s3):
    user = UserFactory(is_staff=True)
    presigned = upload_presign(
        purpose="attachments", content_type="application/pdf", size=1234, user=user
    )

    policy = json.loads(base64.b64decode(presigned.fields["policy"]))

    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert ["content-length-range", 1, 1234] in policy["conditions"]
    assert {"key": presigned.file.key} in policy["conditions"]
    assert {"bucket": s3["bucket"]} in policy["conditions"]


def test_the_bucket_refuses_a_file_larger_than_announced(s3):
    user = UserFactory()
    presigned = upload_presign(purpose="avatars", content_type="image/png", size=100, user=user)

    response = _post(presigned, PNG, "image/png")  # 208 bytes

    assert response.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in response.text
    with pytest.raises(StorageError) as error:
        upload_confirm(file_id=presigned.file.id, user=user)
    assert error.value.code == "UPLOAD_INCOMPLETE"


def test_the_bucket_refuses_another_content_type(s3):
    user = UserFactory()
    presigned = upload_presign(
        purpose="avatars", content_type="image/png", size=len(PNG), user=user
    )
    fields = {**presigned.fields, "Content-Type": "text/html"}

    response = requests.post(
        presigned.url, data=fields, files={"file": ("x.html", PNG, "text/html")}, timeout=10
    )

    assert response.status_code == 403
    assert "Policy Condition failed" in response.text
    assert s3["client"].list_objects_v2(Bucket=s3["bucket"])["KeyCount"] == 0


def test_confirm_refuses_and_removes_an_object_larger_than_the_purpose_allows(settings, s3):
    # An object written around the policy (another client, a store that ignores policies).
    settings.LMS_AVATAR_MAX_BYTES = 100
    user = UserFactory()
    presigned = upload_presign(purpose="avatars", content_type="image/png", size=100, user=user)
    s3["client"].put_object(
        Bucket=s3["bucket"], Key=presigned.file.key, Body=PNG, ContentType="image/png"
    )

    with pytest.raises(StorageError) as error:
        upload_confirm(file_id=presigned.file.id, user=user)

    assert error.value.code == "UPLOAD_TOO_LARGE"
    assert error.value.status == 400
    assert s3["client"].list_objects_v2(Bucket=s3["bucket"])["KeyCount"] == 0
    presigned.file.refresh_from_db()
    assert presigned.file.status == StoredFile.Status.PENDING


def test_confirm_refuses_and_removes_an_object_of_another_type(s3):
    user = UserFactory()
    presigned = upload_presign(
        purpose="avatars", content_type="image/png", size=len(PNG), user=user
    )
    s3["client"].put_object(
        Bucket=s3["bucket"], Key=presigned.file.key, Body=PNG, ContentType="text/html"
    )

    with pytest.raises(StorageError) as error:
        upload_confirm(file_id=presigned.file.id, user=user)

    assert error.value.code == "UPLOAD_MISMATCH"
    assert s3["client"].list_objects_v2(Bucket=s3["bucket"])["KeyCount"] == 0


def test_confirming_twice_changes_nothing(s3):
    user = UserFactory()
    presigned = upload_presign(
        purpose="avatars", content_type="image/png", size=len(PNG), user=user
    )
    _post(presigned, PNG, "image/png")
    first = upload_confirm(file_id=presigned.file.id, user=user)

    second = upload_confirm(file_id=presigned.file.id, user=user)

    assert second.confirmed_at == first.confirmed_at


def test_signed_reads_are_for_the_uploader_and_staff_only(s3):
    owner, stranger, staff = UserFactory(is_staff=True), UserFactory(), UserFactory(is_staff=True)
    presigned = upload_presign(
        purpose="attachments", content_type="application/pdf", size=5, user=owner
    )
    _post(presigned, b"%PDF-", "application/pdf")
    file = upload_confirm(file_id=presigned.file.id, user=owner)

    with pytest.raises(StorageError) as error:
        file_signed_url(file=file, user=stranger)
    assert error.value.code == "FILE_NOT_FOUND"
    assert requests.get(file_signed_url(file=file, user=staff).url, timeout=10).content == b"%PDF-"


def test_a_signed_url_is_short_lived_sigv4(s3):
    # moto does not expire presigned URLs, so the test reads what S3 enforces from the URL.
    user = UserFactory()
    presigned = upload_presign(
        purpose="avatars", content_type="image/png", size=len(PNG), user=user
    )
    _post(presigned, PNG, "image/png")
    file = upload_confirm(file_id=presigned.file.id, user=user)
    before = timezone.now()

    signed = file_signed_url(file=file, user=user)

    query = parse_qs(urlsplit(signed.url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert (
        before + timedelta(seconds=299)
        <= signed.expires_at
        <= timezone.now() + timedelta(seconds=300)
    )


def test_a_client_cannot_loosen_the_policy_it_was_given(s3):
    user = UserFactory()
    presigned = upload_presign(purpose="avatars", content_type="image/png", size=10, user=user)
    policy = json.loads(base64.b64decode(presigned.fields["policy"]))
    policy["conditions"] = [
        ["content-length-range", 1, 10**9] if isinstance(c, list) else c
        for c in policy["conditions"]
    ]
    fields = {**presigned.fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}

    response = requests.post(
        presigned.url, data=fields, files={"file": ("a.png", PNG, "image/png")}, timeout=10
    )

    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert s3["client"].list_objects_v2(Bucket=s3["bucket"])["KeyCount"] == 0
