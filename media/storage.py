"""Files on S3-compatible storage: presigned uploads straight from clients, signed reads.

The bucket is the default storage's (`settings.STORAGES["default"]`, django-storages'
S3Storage; AWS S3, Cloudflare R2 or MinIO through its endpoint URL), so files uploaded here and
files saved by Django code live in one place with one configuration. Without it (development
defaults) these operations answer STORAGE_NOT_CONFIGURED.

A client asks `upload_presign` for a POST policy (exact Content-Type, at most the size it
declared, which is at most the purpose's limit, a UUID key under the purpose's prefix), sends
the bytes straight to the bucket, then calls `upload_confirm`, which checks the stored object
before the file counts. Reads go through short-lived signed URLs (`file_signed_url`).
"""

import mimetypes
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from storages.backends.s3 import S3Storage

from accounts.models import User
from accounts.roles import user_has_staff_role
from lms.errors import ApplicationError, ErrorCode
from media.models import StoredFile

Purpose = StoredFile.Purpose

# How long a presigned upload may be used, and a signed read URL by default (seconds).
UPLOAD_URL_TTL = 10 * 60
READ_URL_TTL = 5 * 60

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Attachments: PDFs and images, but never SVG (it can carry scripts).
_ATTACHMENT_IMAGE_DENIED = frozenset({"image/svg+xml"})
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
_DEFAULT_MAX_BYTES = {
    Purpose.AVATAR: 5 * 1024 * 1024,
    Purpose.THUMBNAIL: 5 * 1024 * 1024,
    Purpose.ATTACHMENT: 50 * 1024 * 1024,
}
_MAX_BYTES_SETTINGS = {
    Purpose.AVATAR: "LMS_AVATAR_MAX_BYTES",
    Purpose.THUMBNAIL: "LMS_THUMBNAIL_MAX_BYTES",
    Purpose.ATTACHMENT: "LMS_ATTACHMENT_MAX_BYTES",
}


class StorageError(ApplicationError):
    """A storage failure: one of the upload and file codes of `lms.errors`."""


# --- The bucket -----------------------------------------------------------------------------


# One boto3 client per storage instance (clients are thread-safe; a settings change in tests
# makes a new storage instance, hence a new client).
_clients: "WeakKeyDictionary[S3Storage, Any]" = WeakKeyDictionary()


def _s3_storage() -> S3Storage | None:
    storage = storages["default"]
    if isinstance(storage, S3Storage) and storage.bucket_name:
        return storage
    return None


def s3_configured() -> bool:
    """Whether the default storage is an S3-compatible bucket."""
    return _s3_storage() is not None


def _bucket() -> tuple[Any, str]:
    """The boto3 S3 client of the default storage (endpoint, keys, region) and its bucket."""
    storage = _s3_storage()
    if storage is None:
        raise StorageError(ErrorCode.STORAGE_NOT_CONFIGURED)
    client = _clients.get(storage)
    if client is None:
        # The storage's own settings (keys, endpoint, region, addressing style), always
        # signing with SigV4: botocore would presign with SigV2 in some regions when no
        # version is set, which R2, MinIO and newer AWS regions refuse.
        config = storage.client_config
        if not storage.signature_version:
            config = config.merge(Config(signature_version="s3v4"))
        client = storage._create_session().client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            config=config,
            verify=storage.verify,
        )
        _clients[storage] = client
    return client, storage.bucket_name


# --- Rules per purpose -------------------------------------------------------------------


def upload_max_bytes(*, purpose: str) -> int:
    purpose = Purpose(purpose)
    return getattr(settings, _MAX_BYTES_SETTINGS[purpose], _DEFAULT_MAX_BYTES[purpose])


# A bare `type/subtype`: parameters ("image/svg+xml;charset=utf-8") or spaces would slip a
# denied type past the checks below while the bucket still serves it as that type.
_PLAIN_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def upload_type_allowed(*, purpose: str, content_type: str) -> bool:
    if not _PLAIN_CONTENT_TYPE.fullmatch(content_type):
        return False
    if Purpose(purpose) in (Purpose.AVATAR, Purpose.THUMBNAIL):
        return content_type in _IMAGE_TYPES
    if content_type == "application/pdf":
        return True
    major, _, minor = content_type.partition("/")
    return major == "image" and bool(minor) and content_type not in _ATTACHMENT_IMAGE_DENIED


def _extension(content_type: str) -> str:
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    guessed = mimetypes.guess_extension(content_type)
    return guessed.lstrip(".") if guessed else "bin"


def _title(filename: str) -> str:
    # Only the name as the user knows it: no client path, bounded to the field's length.
    return posixpath.basename(filename.replace("\\", "/")).strip()[:200]


# --- Operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Presigned:
    file: StoredFile
    url: str
    fields: dict[str, str]
    expires_at: datetime


@transaction.atomic
def upload_presign(
    *, purpose: str, content_type: str, size: int, user: User, filename: str = ""
) -> Presigned:
    """A pending StoredFile and a POST policy to upload exactly that file to the bucket."""
    client, bucket = _bucket()
    if Purpose(purpose) != Purpose.AVATAR and not user.is_staff:
        # Course thumbnails and lesson files are for the people who author courses.
        raise StorageError(
            ErrorCode.PERMISSION_DENIED,
            f"Only staff and instructors upload {Purpose(purpose).label}.",
            fields={"purpose": ["Learners may upload only their picture."]},
        )
    content_type = content_type.strip().lower()
    if not upload_type_allowed(purpose=purpose, content_type=content_type):
        raise StorageError(
            ErrorCode.UPLOAD_TYPE_NOT_ALLOWED,
            f"Files of type {content_type!r} cannot be uploaded as {Purpose(purpose).label}.",
            fields={"content_type": ["This type of file is not allowed here."]},
        )
    limit = upload_max_bytes(purpose=purpose)
    if size > limit:
        raise StorageError(
            ErrorCode.UPLOAD_TOO_LARGE,
            f"The file is {size} bytes; the limit here is {limit} bytes.",
            fields={"size": [f"At most {limit} bytes."]},
        )
    file = StoredFile(
        purpose=purpose,
        content_type=content_type,
        size=size,
        title=_title(filename),
        uploaded_by=user,
    )
    file.key = f"{purpose}/{file.id}.{_extension(content_type)}"
    file.save()
    expires_in = UPLOAD_URL_TTL
    try:
        post = client.generate_presigned_post(
            Bucket=bucket,
            Key=file.key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
            ExpiresIn=expires_in,
        )
    except (BotoCoreError, ClientError) as exc:  # e.g. no credentials configured
        raise StorageError(ErrorCode.STORAGE_NOT_CONFIGURED, str(exc)) from exc
    return Presigned(
        file=file,
        url=post["url"],
        fields=post["fields"],
        expires_at=timezone.now() + timedelta(seconds=expires_in),
    )


def _own_upload(*, file_id: Any, user: User) -> StoredFile:
    try:
        return StoredFile.objects.select_for_update().get(
            pk=file_id, uploaded_by=user, deleted_at__isnull=True
        )
    except StoredFile.DoesNotExist:
        raise StorageError(ErrorCode.UPLOAD_NOT_FOUND) from None


def upload_confirm(*, file_id: Any, user: User) -> StoredFile:
    """Check the uploaded object and mark the file confirmed; a bad object is removed.

    Idempotent: confirming a confirmed file returns it unchanged. The size limit and the
    content type are checked again here, since not every S3-compatible store enforces POST
    policies the same way (and an object can be written by other means).
    """
    client, bucket = _bucket()
    with transaction.atomic():
        file = _own_upload(file_id=file_id, user=user)
        if file.status == StoredFile.Status.CONFIRMED:
            return file
        try:
            head = client.head_object(Bucket=bucket, Key=file.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise StorageError(ErrorCode.UPLOAD_INCOMPLETE) from None
            raise
        size = int(head["ContentLength"])
        stored_type = (head.get("ContentType") or "").lower()
        limit = upload_max_bytes(purpose=file.purpose)
        problem = None
        if size > limit or (file.size is not None and size > file.size):
            problem = (
                ErrorCode.UPLOAD_TOO_LARGE,
                f"The uploaded file is {size} bytes; at most {min(limit, file.size or limit)} "
                "bytes were allowed. It has been removed.",
            )
        elif stored_type != file.content_type:
            problem = (
                ErrorCode.UPLOAD_MISMATCH,
                f"The uploaded file is of type {stored_type or 'unknown'!r}, not "
                f"{file.content_type!r}. It has been removed.",
            )
        if problem is not None:
            client.delete_object(Bucket=bucket, Key=file.key)
            raise StorageError(*problem)
        file.size = size
        file.status = StoredFile.Status.CONFIRMED
        file.confirmed_at = timezone.now()
        file.save(update_fields=["size", "status", "confirmed_at"])
        return file


def file_can_read(*, file: StoredFile, user: User | AnonymousUser) -> bool:
    """Who may read a file: its uploader and staff.

    Lesson attachments will also open to whoever `catalog.access.lesson_access` allows for a
    lesson using them; that check belongs in catalog, which calls `file_signed_url`.
    """
    if not user.is_authenticated:
        return False
    return file.uploaded_by_id == user.pk or user_has_staff_role(user)


def file_get_readable(*, file_id: Any, user: User | AnonymousUser) -> StoredFile:
    """A confirmed, not deleted file this user may read, or FILE_NOT_FOUND (never 403, so
    other people's file ids reveal nothing)."""
    _bucket()  # 503 before anything else when storage is off
    file = StoredFile.objects.filter(pk=file_id, deleted_at__isnull=True).first()
    if file is None or not file_can_read(file=file, user=user):
        raise StorageError(ErrorCode.FILE_NOT_FOUND)
    if file.status != StoredFile.Status.CONFIRMED:
        raise StorageError(ErrorCode.UPLOAD_INCOMPLETE)
    return file


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


def file_signed_url(
    *, file: StoredFile, user: User | AnonymousUser, expires: int = READ_URL_TTL
) -> SignedUrl:
    """A short-lived GET URL for a file this user may read (else FILE_NOT_FOUND)."""
    if file.deleted_at is not None or not file_can_read(file=file, user=user):
        raise StorageError(ErrorCode.FILE_NOT_FOUND)
    return file_presigned_get(file=file, expires=expires)


def file_presigned_get(*, file: StoredFile, expires: int = READ_URL_TTL) -> SignedUrl:
    """A GET URL for the object valid for `expires` seconds, with no access check: for
    callers that have decided access themselves (the access policy, for lesson attachments)."""
    client, bucket = _bucket()
    params: dict[str, str] = {"Bucket": bucket, "Key": file.key}
    if file.title:
        # Downloads keep the name the user knows (RFC 6266: ASCII fallback + UTF-8 name).
        fallback = file.title.encode("ascii", "ignore").decode().replace('"', "") or "file"
        params["ResponseContentDisposition"] = (
            f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(file.title)}"
        )
    url = client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
    return SignedUrl(url=url, expires_at=timezone.now() + timedelta(seconds=expires))


def object_presigned_get(*, key: str, expires: int, content_type: str = "") -> SignedUrl:
    """A GET URL for any object of the bucket (video files), no access check: the caller has
    decided. The bucket answers Range requests itself; `content_type` pins the answer's type."""
    client, bucket = _bucket()
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if content_type:
        params["ResponseContentType"] = content_type
    url = client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
    expires_at = timezone.now().replace(microsecond=0) + timedelta(seconds=expires)
    return SignedUrl(url=url, expires_at=expires_at)


def object_chunks(*, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """An object's bytes from the bucket, streamed in chunks (hashing, copying). Raises
    StorageError FILE_NOT_FOUND when the bucket has no such object."""
    client, bucket = _bucket()
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise StorageError(ErrorCode.FILE_NOT_FOUND) from None
        raise
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


# --- Library (admin) -------------------------------------------------------------------------


def file_soft_delete(*, file: StoredFile) -> bool:
    """Hide a file (the object stays, so it can be restored). False when already deleted."""
    return bool(
        StoredFile.objects.filter(pk=file.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now()
        )
    )


def file_restore(*, file: StoredFile) -> bool:
    """Bring back a soft-deleted file. False when it was not deleted."""
    return bool(
        StoredFile.objects.filter(pk=file.pk, deleted_at__isnull=False).update(deleted_at=None)
    )
