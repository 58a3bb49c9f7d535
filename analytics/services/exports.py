"""Learners' own data: the export of everything the school holds about them (README "Your
data: export and account deletion").

A learner asks (`data_export_request`: one pending export at a time); after commit a task
builds a ZIP with one JSON file per section of `accounts.personal_data` plus a README.txt and
the learner's own files (their picture), stores it in the default storage under a random
name (local files in development, a private S3 bucket in production), and emails a signed
link that expires after LMS_DATA_EXPORT_TTL_HOURS. The link opens only for its owner, signed
in (`data_export_for_download`); an hourly beat task deletes expired files and queues again
the builds whose task was lost.
"""

import json
import logging
import tempfile
import uuid
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.personal_data import (
    personal_data_export,
    personal_data_files,
    personal_data_sections,
)
from accounts.services import audit_record
from analytics.models import DataExport
from lms.email import email_send_template
from lms.errors import (
    ApplicationError,
    ErrorCode,
    NotFoundError,
    TransientError,
    error_is_transient,
)

logger = logging.getLogger(__name__)

SALT = "analytics.data-export"
# A build still pending this long after it was asked for lost its task (a worker died, the
# broker lost the message): the purge queues it again.
STALE_PENDING = timedelta(minutes=15)
# Files up to this size are built in memory, larger ones in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


def data_export_ttl() -> timedelta:
    return timedelta(hours=settings.LMS_DATA_EXPORT_TTL_HOURS)


# --- Asking for one ---------------------------------------------------------------------------


def data_export_request(*, user: User, ip_address: str | None = None) -> DataExport:
    """Queue a new export of `user`'s data (built after commit). One at a time: while one
    is pending, DATA_EXPORT_PENDING (also for two requests at once: the database's
    partial unique constraint decides)."""
    from analytics.tasks.exports import data_export_build as build_task

    if DataExport.objects.filter(user=user, status=DataExport.Status.PENDING).exists():
        raise ApplicationError(ErrorCode.DATA_EXPORT_PENDING)
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user=user)
            audit_record(
                action=AuditLog.Action.DATA_EXPORT_REQUESTED,
                actor=user,
                target=export,
                ip_address=ip_address,
            )
    except IntegrityError:
        raise ApplicationError(ErrorCode.DATA_EXPORT_PENDING) from None
    transaction.on_commit(lambda: build_task.delay(export_id=str(export.pk)))
    return export


# --- Building it (the task) -------------------------------------------------------------------


def _json(data: object) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)


def _readme(*, user: User, generated_at) -> str:
    return render_to_string(
        "analytics/data_export_readme.txt",
        {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "generated_at": generated_at,
            "sections": personal_data_sections(),
            "user": user,
        },
    )


def data_export_zip_write(*, user: User, target, generated_at=None) -> None:
    """Write the ZIP of `user`'s data into the binary file object `target`."""
    generated_at = generated_at or timezone.now()
    data = personal_data_export(user=user)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(user=user, generated_at=generated_at))
        for name, content in data.items():
            archive.writestr(f"{name}.json", _json(content))
        for zip_name, storage, stored_name in personal_data_files(user=user):
            try:
                with storage.open(stored_name, "rb") as file:
                    archive.writestr(zip_name, file.read())
            except OSError:
                # A picture missing from the storage is not worth failing the export for.
                logger.warning("File %s of user %s is missing from storage", stored_name, user.pk)


def data_export_build(*, export_id: uuid.UUID | str) -> DataExport | None:
    """Build a pending export, store its file and email its link; None when there is
    nothing to do (already built, failed, gone, or being built by another worker right now).

    A transient failure (storage unreachable) raises TransientError and leaves the export
    pending for a retry; any other failure marks it failed, so the learner can ask again.
    """
    try:
        return _build(export_id)
    except Exception as error:
        if error_is_transient(error):
            raise TransientError(str(error)) from error
        logger.exception("Data export %s failed", export_id)
        DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
            status=DataExport.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
        )
        return None


def _build(export_id: uuid.UUID | str) -> DataExport | None:
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=export_id, status=DataExport.Status.PENDING)
            .first()
        )
        if export is None:
            return None
        now = timezone.now()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as buffer:
            data_export_zip_write(user=export.user, target=buffer, generated_at=now)
            export.size_bytes = buffer.tell()
            buffer.seek(0)
            export.file.save("export.zip", File(buffer), save=False)
        stored = export.file.name
        try:  # a failure from here on would leave the stored file an orphan
            export.status = DataExport.Status.READY
            export.ready_at = now
            export.expires_at = now + data_export_ttl()
            export.save(update_fields=["status", "ready_at", "expires_at", "file", "size_bytes"])
            _ready_email_send(export)
        except Exception:
            export.file.storage.delete(stored)
            raise
    return export


def _ready_email_send(export: DataExport) -> None:
    user = export.user
    email_send_template(
        to=user.email,
        template_prefix="analytics/email/data_export_ready",
        context={
            "name": user.display_name,
            "export": export,
            "download_url": data_export_download_url(export=export),
            "data_url": settings.SITE_URL.rstrip("/") + reverse("analytics:data"),
            "ttl_hours": settings.LMS_DATA_EXPORT_TTL_HOURS,
        },
    )


# --- The link ---------------------------------------------------------------------------------


def data_export_token(*, export: DataExport) -> str:
    """The signature of the download link: it names this export. When the link stops
    working is the row's `expires_at` (the purge deletes the file then), checked with it."""
    return signing.Signer(salt=SALT).sign_object({"x": str(export.pk)})


def data_export_download_path(*, export: DataExport) -> str:
    path = reverse("analytics:data_export_download", kwargs={"export_id": export.pk})
    return f"{path}?{urlencode({'t': data_export_token(export=export)})}"


def data_export_download_url(*, export: DataExport) -> str:
    """The absolute link for the email (workers have no request: SITE_URL)."""
    return settings.SITE_URL.rstrip("/") + data_export_download_path(export=export)


def data_export_token_valid(*, export_id: uuid.UUID, token: str) -> bool:
    """Whether `token` is ours and for this export (owner and expiry are checked with the
    row, by `data_export_for_download`)."""
    try:
        claims = signing.Signer(salt=SALT).unsign_object(token or "")
    except (signing.BadSignature, ValueError):
        return False
    return isinstance(claims, dict) and claims.get("x") == str(export_id)


def data_export_for_download(*, export_id: uuid.UUID, user: User) -> DataExport:
    """The export `user` may download now: theirs (another's is as unknown as a made-up
    id: DATA_EXPORT_NOT_FOUND), ready (DATA_EXPORT_NOT_READY) and not expired
    (DATA_EXPORT_EXPIRED). Records the download (audited)."""
    export = DataExport.objects.filter(pk=export_id, user=user).first()
    if export is None:
        raise NotFoundError(ErrorCode.DATA_EXPORT_NOT_FOUND)
    now = timezone.now()
    if export.status == DataExport.Status.EXPIRED or (
        export.status == DataExport.Status.READY and not export.is_downloadable(now)
    ):
        raise ApplicationError(ErrorCode.DATA_EXPORT_EXPIRED)
    if export.status != DataExport.Status.READY:
        raise ApplicationError(ErrorCode.DATA_EXPORT_NOT_READY)
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(downloaded_at=now)
        audit_record(action=AuditLog.Action.DATA_EXPORT_DOWNLOADED, actor=user, target=export)
    return export


# --- Purge and recovery (beat) ---------------------------------------------------------------


def data_exports_purge(*, limit: int = 200) -> int:
    """Delete the files of exports past their expiry (a bounded batch); the rows stay, as
    "expired". Returns how many were purged."""
    now = timezone.now()
    due = list(
        DataExport.objects.filter(status=DataExport.Status.READY, expires_at__lte=now)
        .order_by("expires_at")
        .only("pk", "file")[:limit]
    )
    for export in due:
        if export.file:
            export.file.storage.delete(export.file.name)
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.EXPIRED, file="")
    return len(due)


def data_exports_stale_requeue(*, limit: int = 100) -> int:
    """Queue again the builds still pending STALE_PENDING after they were asked for."""
    from analytics.tasks.exports import data_export_build as build_task

    cutoff = timezone.now() - STALE_PENDING
    stale = list(
        DataExport.objects.filter(status=DataExport.Status.PENDING, requested_at__lt=cutoff)
        .order_by("requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    for export_id in stale:
        build_task.delay(export_id=str(export_id))
    return len(stale)


def data_exports_erase(*, user: User) -> None:
    """For account deletion: the user's exports go, and their files after commit."""
    exports = DataExport.objects.filter(user=user)
    names = [name for name in exports.values_list("file", flat=True) if name]
    exports.delete()
    if names:
        storage = DataExport._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in names])
