"""A learner downloads everything the school holds about them: asked for on /profile/data/
or through the API, built by a task, the link emailed, downloadable by its owner only,
until it expires and the purge deletes the file."""

import io
import json
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.personal_data_world import learner_with_data
from analytics.models import DataExport
from analytics.services.exports import data_export_request
from analytics.tasks.exports import data_exports_purge
from lms.errors import ApplicationError, ErrorCode

pytestmark = pytest.mark.django_db

DATA = "/profile/data/"
API = "/api/v1/me/data-exports/"


@pytest.fixture
def ana():
    return learner_with_data(email="ana@example.com", name="Ana Lovelace")


@pytest.fixture
def bob(ana):
    # In the same course as Ana: her export must not carry his posts nor his progress.
    return learner_with_data(email="bob@example.com", name="Bob Babbage", course=ana.course)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _emailed_link() -> str:
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    link = re.search(r"https?://[^\s]+/profile/data/exports/[^\s]+", message.body).group(0)
    html = message.alternatives[0][0]
    assert link.replace("&", "&amp;") in html  # the button and the address in the HTML part
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _zip(response) -> dict[str, bytes]:
    body = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(body))
    return {name: archive.read(name) for name in archive.namelist()}


def test_a_learner_asks_gets_the_email_and_downloads_all_their_data_and_nobody_elses(
    ana, bob, django_capture_on_commit_callbacks
):
    client = _signed_in(ana.user)
    page = client.get(DATA)
    assert page.status_code == 200
    assert "Prepare my data export" in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DATA)
    assert response.status_code == 302

    export = DataExport.objects.get(user=ana.user)
    assert export.status == DataExport.Status.READY
    assert mail.outbox[0].to == ["ana@example.com"]
    assert "ready to download" in mail.outbox[0].subject
    path = _emailed_link()

    download = client.get(path)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "private, no-store"
    assert 'attachment; filename="your-data-' in download["Content-Disposition"]
    files = _zip(download)
    assert set(files) == {
        "README.txt",
        "account.json",
        "notifications.json",
        "billing.json",
        "uploads.json",
        "teaching.json",
        "progress.json",
        "community.json",
        "activity.json",
        "assistant.json",
        "showcase.json",
        "files/avatar.webp",
    }
    account = json.loads(files["account.json"])
    assert account["profile"]["email"] == "ana@example.com"
    assert account["profile"]["display_name"] == "Ana Lovelace"
    assert [a["provider"] for a in account["social_accounts"]] == ["google"]
    progress = json.loads(files["progress.json"])
    assert [e["course__title"] for e in progress["enrollments"]] == [ana.course.title]
    assert [c["code"] for c in progress["certificates"]] == [ana.certificate.code]
    assert progress["lesson_progress"][0]["status"] == "completed"
    community = json.loads(files["community.json"])
    assert [t["title"] for t in community["discussion_threads"]] == [
        "Ana Lovelace asks about the beat"
    ]
    assert [r["body"] for r in community["discussion_replies"]] == [
        "Ana Lovelace answers themselves"
    ]
    activity = json.loads(files["activity.json"])
    assert ana.search_query in [e["properties"].get("query") for e in activity["events"]]
    notifications = json.loads(files["notifications.json"])
    assert [n["title"] for n in notifications["notifications"]] == [
        "Someone replied to Ana Lovelace"
    ]
    assert files["files/avatar.webp"][:4] == b"RIFF"
    readme = files["README.txt"].decode()
    assert "progress.json" in readme and "What deleting your account would do" in readme

    everything = b"".join(files.values())
    for trace in (b"bob@example.com", b"Bob Babbage", bob.search_query.encode()):
        assert trace not in everything
    assert AuditLog.objects.filter(action=AuditLog.Action.DATA_EXPORT_DOWNLOADED).count() == 1


def test_the_link_opens_for_its_owner_only(ana, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _signed_in(ana.user).post(DATA)
    path = _emailed_link()

    # Another learner: as unknown as a made-up export (no hint that it exists).
    assert _signed_in(bob.user).get(path).status_code == 404
    # Nobody signed in: the sign-in page, coming back to the link afterwards.
    anonymous = Client().get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    # A link whose signature is not ours.
    export = DataExport.objects.get(user=ana.user)
    forged = reverse("analytics:data_export_download", kwargs={"export_id": export.pk}) + "?t=x"
    assert _signed_in(ana.user).get(forged).status_code == 403
    assert _signed_in(ana.user).get(path).status_code == 200


def test_an_expired_link_is_refused_and_the_purge_deletes_the_file(
    ana, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _signed_in(ana.user).post(DATA)
    path = _emailed_link()
    export = DataExport.objects.get(user=ana.user)
    stored = export.file.name
    assert default_storage.exists(stored)
    assert export.expires_at - export.ready_at == timezone.timedelta(hours=72)

    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())  # time passes
    gone = _signed_in(ana.user).get(path)
    assert gone.status_code == 410
    assert "ask for a new export" in gone.text

    assert data_exports_purge.delay().get() == {"purged": 1, "requeued": 0}
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED and not export.file
    assert not default_storage.exists(stored)
    assert _signed_in(ana.user).get(path).status_code == 410
    assert "Prepare my data export" in _signed_in(ana.user).get(DATA).text  # ask again


def test_one_pending_export_at_a_time(ana):
    data_export_request(user=ana.user)  # its task runs after a commit that never comes here
    with pytest.raises(ApplicationError) as refused:
        data_export_request(user=ana.user)
    assert refused.value.code == ErrorCode.DATA_EXPORT_PENDING
    client = _signed_in(ana.user)
    page = client.get(DATA)
    assert "Your export is being prepared" in page.text
    assert "Prepare my data export" not in page.text
    answer = client.post(API)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "DATA_EXPORT_PENDING"


def test_a_lost_build_is_queued_again_by_the_purge(ana, django_capture_on_commit_callbacks):
    export = data_export_request(user=ana.user)
    DataExport.objects.filter(pk=export.pk).update(
        requested_at=timezone.now() - timezone.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert data_exports_purge.delay().get() == {"purged": 0, "requeued": 1}
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY
    assert len(mail.outbox) == 1


def test_apps_ask_follow_and_download_an_export(
    ana, bob, api_client, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(ana.user)
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(API)
    assert created.status_code == 202
    assert created.json()["status"] == "pending"
    export_id = created.json()["id"]

    listed = api_client.get(API).json()
    assert listed["count"] == 1
    detail = api_client.get(f"{API}{export_id}/").json()
    assert detail["status"] == "ready"
    assert detail["download_url"].endswith(_emailed_link())
    file = api_client.get(detail["file_url"])
    assert file.status_code == 200
    assert "account.json" in _zip(file)

    api_client.force_authenticate(bob.user)
    assert api_client.get(f"{API}{export_id}/").json()["error"]["code"] == "DATA_EXPORT_NOT_FOUND"
    assert api_client.get(f"{API}{export_id}/file/").status_code == 404
    assert api_client.get(API).json()["count"] == 0
    api_client.force_authenticate(None)
    assert api_client.get(API).status_code == 401


def test_the_page_answers_in_constant_queries(ana, django_assert_max_num_queries):
    client = _signed_in(ana.user)
    for _ in range(3):
        DataExport.objects.create(user=ana.user, status=DataExport.Status.FAILED)
    with django_assert_max_num_queries(12):
        assert client.get(DATA).status_code == 200
