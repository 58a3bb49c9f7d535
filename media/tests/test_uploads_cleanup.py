"""Uploads never confirmed are cleaned up: `media.tasks.uploads_pending_cleanup` deletes the
files still pending after LMS_UPLOAD_PENDING_HOURS and their objects, on the loopback S3 (moto
over HTTP, real boto3) and on local files, and leaves everything else alone."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import LessonFactory
from lms.errors import ErrorCode
from lms.tests.concurrency import run_together
from media.models import StoredFile
from media.services import uploads_abandoned_delete
from media.storage import StorageError, upload_confirm, upload_presign
from media.tasks import uploads_pending_cleanup

PDF = b"%PDF-1.4\n" + b"0" * 100


@dataclass(frozen=True)
class Store:
    """Puts and finds objects by key in whichever default storage the test runs on."""

    put: Callable[[str], None]
    has: Callable[[str], bool]


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "s3":
        s3 = request.getfixturevalue("s3")
        client, bucket = s3["client"], s3["bucket"]

        def put(key: str) -> None:
            client.put_object(Bucket=bucket, Key=key, Body=PDF, ContentType="application/pdf")

        def has(key: str) -> bool:
            listed = client.list_objects_v2(Bucket=bucket, Prefix=key)
            return any(item["Key"] == key for item in listed.get("Contents", []))

        return Store(put=put, has=has)

    root = Path(django_settings.MEDIA_ROOT)  # the conftest's per-test folder

    def put_local(key: str) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)

    return Store(put=put_local, has=lambda key: (root / key).exists())


def _file(
    store: Store,
    name: str,
    *,
    hours_old: float,
    status: str = StoredFile.Status.PENDING,
    uploaded: bool = True,
) -> StoredFile:
    key = f"attachments/{name}.pdf"
    file = StoredFile.objects.create(
        purpose=StoredFile.Purpose.ATTACHMENT,
        key=key,
        title=f"{name}.pdf",
        content_type="application/pdf",
        size=len(PDF),
        status=status,
        created_at=timezone.now() - timedelta(hours=hours_old),
        confirmed_at=timezone.now() if status == StoredFile.Status.CONFIRMED else None,
    )
    if uploaded:
        store.put(key)
    return file


def _remaining() -> set[str]:
    return set(StoredFile.objects.values_list("title", flat=True))


@pytest.mark.django_db
def test_abandoned_uploads_go_with_their_objects_and_everything_else_stays(store):
    abandoned = _file(store, "abandoned", hours_old=25)
    never_sent = _file(store, "never-sent", hours_old=30, uploaded=False)
    young = _file(store, "young", hours_old=23)
    confirmed = _file(store, "confirmed", hours_old=500, status=StoredFile.Status.CONFIRMED)
    attached = _file(store, "attached", hours_old=48)
    LessonFactory().attachments.add(attached)

    deleted = uploads_pending_cleanup.delay().get()

    assert deleted == 2
    assert _remaining() == {"young.pdf", "confirmed.pdf", "attached.pdf"}
    assert not store.has(abandoned.key)
    assert not store.has(never_sent.key)
    assert store.has(young.key)
    assert store.has(confirmed.key)
    assert store.has(attached.key)
    assert list(attached.lessons.all()) != []


@pytest.mark.django_db
def test_the_age_comes_from_lms_upload_pending_hours(settings, store):
    settings.LMS_UPLOAD_PENDING_HOURS = 2
    three_hours = _file(store, "three-hours", hours_old=3)
    one_hour = _file(store, "one-hour", hours_old=1)

    assert uploads_pending_cleanup.delay().get() == 1

    assert _remaining() == {"one-hour.pdf"}
    assert not store.has(three_hours.key)
    assert store.has(one_hour.key)


@pytest.mark.django_db
def test_a_run_takes_a_bounded_batch_of_the_oldest(store):
    for hours in range(30, 35):
        _file(store, f"old-{hours}", hours_old=hours)

    deleted = uploads_abandoned_delete(
        created_before=timezone.now() - timedelta(hours=24), batch_size=2
    )

    assert deleted == 2
    assert _remaining() == {"old-30.pdf", "old-31.pdf", "old-32.pdf"}


@pytest.mark.django_db
def test_a_full_batch_queues_the_next_until_none_are_left(store):
    files = [_file(store, f"old-{hours}", hours_old=hours) for hours in range(30, 35)]
    _file(store, "young", hours_old=1)

    first = uploads_pending_cleanup.delay(batch_size=2).get()

    assert first == 2
    assert _remaining() == {"young.pdf"}
    assert not [file.key for file in files if store.has(file.key)]


@pytest.mark.django_db
def test_an_object_that_cannot_be_deleted_keeps_its_row_for_the_next_run(caplog):
    # On local files, a key that has become a non-empty folder cannot be removed.
    root = Path(django_settings.MEDIA_ROOT)
    store = Store(put=lambda key: None, has=lambda key: (root / key).exists())
    stuck = _file(store, "stuck", hours_old=40)
    (root / stuck.key / "inside").mkdir(parents=True)
    other = _file(store, "other", hours_old=30)

    assert uploads_pending_cleanup.delay(batch_size=2).get() == 1

    assert _remaining() == {"stuck.pdf"}
    assert store.has(stuck.key)
    assert f"Deleting the abandoned upload {stuck.pk}" in caplog.text
    assert not StoredFile.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db
def test_an_upload_sent_but_never_confirmed_is_gone_and_can_no_longer_be_confirmed(s3):
    user = UserFactory(is_staff=True)
    presigned = upload_presign(
        purpose="attachments", content_type="application/pdf", size=len(PDF), user=user
    )
    sent = requests.post(
        presigned.url,
        data=presigned.fields,
        files={"file": ("notes.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert sent.status_code == 204, sent.text
    StoredFile.objects.filter(pk=presigned.file.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert uploads_pending_cleanup.delay().get() == 1

    listed = s3["client"].list_objects_v2(Bucket=s3["bucket"])
    assert listed.get("Contents", []) == []
    with pytest.raises(StorageError) as error:
        upload_confirm(file_id=presigned.file.pk, user=user)
    assert error.value.code == ErrorCode.UPLOAD_NOT_FOUND


def test_beat_runs_the_cleanup_every_hour():
    entries = [
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "media.tasks.uploads_pending_cleanup"
    ]

    assert [entry["schedule"] for entry in entries] == [3600.0]


# --- Concurrency (PostgreSQL: real row locks, threads with their own connections) ----------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runs_at_the_same_time_share_the_work_without_errors(s3):
    store = Store(put=lambda key: None, has=lambda key: False)
    for index in range(12):
        _file(store, f"old-{index}", hours_old=30, uploaded=False)
    cutoff = timezone.now() - timedelta(hours=24)

    results = run_together(
        [lambda: uploads_abandoned_delete(created_before=cutoff, batch_size=12)] * 3
    )

    assert sum(results) == 12
    assert _remaining() == set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_file_being_confirmed_meanwhile_is_left_alone(s3):
    client, bucket = s3["client"], s3["bucket"]
    store = Store(
        put=lambda key: client.put_object(Bucket=bucket, Key=key, Body=PDF),
        has=lambda key: "Contents" in client.list_objects_v2(Bucket=bucket, Prefix=key),
    )
    confirming = _file(store, "confirming", hours_old=30)
    abandoned = _file(store, "abandoned", hours_old=30)
    locked, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def confirm() -> None:
        # What upload_confirm does: lock the row, check the object, mark it confirmed.
        try:
            with transaction.atomic():
                file = StoredFile.objects.select_for_update().get(pk=confirming.pk)
                locked.set()
                assert release.wait(timeout=10)
                file.status = StoredFile.Status.CONFIRMED
                file.confirmed_at = timezone.now()
                file.save(update_fields=["status", "confirmed_at"])
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=confirm)
    thread.start()
    assert locked.wait(timeout=10)
    try:
        deleted = uploads_abandoned_delete(
            created_before=timezone.now() - timedelta(hours=24), batch_size=10
        )
    finally:
        release.set()
        thread.join(timeout=10)

    assert failures == []
    assert deleted == 1
    confirming.refresh_from_db()
    assert confirming.status == StoredFile.Status.CONFIRMED
    assert store.has(confirming.key)
    assert not store.has(abandoned.key)
    assert _remaining() == {"confirming.pdf"}
