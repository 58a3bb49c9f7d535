"""`media.downloads`: what offline apps download of a video, fetched as an app would (from the
fake Mux stream host, the loopback S3, or our own file view), and stored files' SHA-256."""

import datetime as dt
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lms.errors import ErrorCode
from media.downloads import VideoDownload, file_sha256_ensure, video_downloadable, video_downloads
from media.models import StoredFile, Video
from media.services import video_create, video_file_create, video_refresh_from_mux
from media.storage import StorageError
from media.tests import test_playback_tokens
from media.tests.fake_mux import FakeMux, fake_mux_fixture  # noqa: F401 (fixture)
from media.tests.test_playback_tokens import KEY_ID

pytestmark = pytest.mark.django_db

CLIP = Path(__file__).resolve().parents[1] / "demo_clips" / "clip-1-colour-bars.webm"
SITE = "https://school.example"
# A URL signing key (fixtures `key_pair`, `signing_key`: the public half of the configured key).
key_pair = test_playback_tokens.key_pair
signing_key = test_playback_tokens.signing_key


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def mux_video_with_renditions(
    fake: FakeMux, settings, *, policy: str = "signed", ready: bool = True
) -> Video:
    """A video uploaded while MUX_STATIC_RENDITIONS asked for an MP4 and an M4A, whose asset
    (and, when `ready`, renditions) Mux finished; read back from Mux as the refresh does."""
    settings.MUX_STATIC_RENDITIONS = ["highest", "audio-only"]
    video, _ = video_create(
        title="Salsa basics", playback_policy=policy, created_by=None, cors_origin=SITE
    )
    asset = fake.asset_ready(video.mux_upload_id)
    if ready:
        fake.renditions_ready(asset["id"], width=1920, height=1080, filesize=7_340_032)
    video_refresh_from_mux(video=video)
    video.refresh_from_db()
    return video


def _file_video(**kwargs) -> Video:
    return video_file_create(
        title="Colour bars",
        file=SimpleUploadedFile("bars.webm", CLIP.read_bytes(), content_type="video/webm"),
        **kwargs,
    )


# --- Mux static renditions -------------------------------------------------------------------


def test_a_signed_video_offers_its_ready_renditions_with_a_token_mux_accepts(
    fake_mux, settings, signing_key
):
    fake_mux.signing_public_key = signing_key
    video = mux_video_with_renditions(fake_mux, settings)
    now = timezone.now().replace(microsecond=0)

    downloads = video_downloads(video=video, expires=900, now=now)

    expires_at = now + dt.timedelta(seconds=900)
    base = f"{fake_mux.url}/{video.playback_id}"
    tokens = [parse_qs(urlsplit(d.url).query)["token"][0] for d in downloads]
    assert downloads == [
        VideoDownload(
            name="highest.mp4",
            url=f"{base}/highest.mp4?token={tokens[0]}",
            content_type="video/mp4",
            size_bytes=7_340_032,
            width=1920,
            height=1080,
            expires_at=expires_at,
        ),
        VideoDownload(
            name="audio.m4a",
            url=f"{base}/audio.m4a?token={tokens[1]}",
            content_type="audio/mp4",
            size_bytes=917_504,
            width=None,
            height=None,
            expires_at=expires_at,
        ),
    ]
    # Checked as Mux checks it: the public half of the signing key, audience "v".
    assert jwt.decode(tokens[0], signing_key, algorithms=["RS256"], audience="v") == {
        "sub": video.playback_id,
        "aud": "v",
        "exp": int(expires_at.timestamp()),
        "kid": KEY_ID,
    }
    assert jwt.get_unverified_header(tokens[0])["kid"] == KEY_ID
    fetched = requests.get(downloads[0].url, timeout=10)
    assert (fetched.status_code, fetched.headers["Content-Type"]) == (200, "video/mp4")
    assert fetched.content == f"fake highest.mp4 of {video.mux_asset_id}".encode()


def test_a_download_url_stops_working_once_its_token_expired(fake_mux, settings, signing_key):
    fake_mux.signing_public_key = signing_key
    video = mux_video_with_renditions(fake_mux, settings)
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)

    (download, _audio) = video_downloads(video=video, expires=3600, now=two_hours_ago)

    assert download.expires_at < timezone.now()
    assert requests.get(download.url, timeout=10).status_code == 403
    without_token = download.url.split("?")[0]
    assert requests.get(without_token, timeout=10).status_code == 403


def test_a_public_preview_offers_stable_urls_without_a_token(fake_mux, settings):
    video = mux_video_with_renditions(fake_mux, settings, policy="public")

    downloads = video_downloads(video=video, expires=900)

    assert [(d.name, d.url, d.expires_at) for d in downloads] == [
        ("highest.mp4", f"{fake_mux.url}/{video.playback_id}/highest.mp4", None),
        ("audio.m4a", f"{fake_mux.url}/{video.playback_id}/audio.m4a", None),
    ]
    assert requests.get(downloads[0].url, timeout=10).status_code == 200


def test_renditions_still_preparing_offer_nothing(fake_mux, settings, signing_key):
    video = mux_video_with_renditions(fake_mux, settings, ready=False)

    assert video.static_renditions_status == "preparing"
    assert video_downloadable(video=video) is False
    assert video_downloads(video=video, expires=900) == []


def test_a_signed_video_offers_nothing_without_a_signing_key(fake_mux, settings):
    settings.MUX_SIGNING_KEY_ID = settings.MUX_SIGNING_KEY_PRIVATE = ""
    video = mux_video_with_renditions(fake_mux, settings)

    # It has downloads; this site just cannot sign their URLs.
    assert video_downloadable(video=video) is True
    assert video_downloads(video=video, expires=900) == []


def test_a_video_uploaded_without_renditions_offers_nothing(fake_mux, settings, signing_key):
    settings.MUX_STATIC_RENDITIONS = []
    video, _ = video_create(
        title="Intro", playback_policy="signed", created_by=None, cors_origin=SITE
    )
    fake_mux.asset_ready(video.mux_upload_id)
    video_refresh_from_mux(video=video)
    video.refresh_from_db()

    assert video.is_ready
    assert (video.static_renditions, video.static_renditions_status) == ([], "")
    assert video_downloads(video=video, expires=900) == []


def test_a_deleted_video_offers_nothing(fake_mux, settings, signing_key):
    video = mux_video_with_renditions(fake_mux, settings)
    Video.objects.filter(pk=video.pk).update(deleted_at=timezone.now(), status="deleted")
    video.refresh_from_db()

    assert video_downloads(video=video, expires=900) == []


# --- File videos ------------------------------------------------------------------------------


def test_a_file_video_on_local_storage_downloads_through_the_signed_file_view(client):
    video = _file_video()
    now = timezone.now().replace(microsecond=0)

    (download,) = video_downloads(video=video, expires=600, now=now)

    assert download.url.startswith(f"{SITE}/video-files/{video.pk}/?t=")
    assert (download.name, download.content_type, download.size_bytes) == (
        "file.webm",
        "video/webm",
        len(CLIP.read_bytes()),
    )
    assert (download.width, download.height) == (None, None)
    assert download.expires_at == now + dt.timedelta(seconds=600)
    response = client.get(download.url.removeprefix(SITE))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CLIP.read_bytes()


def test_a_file_video_download_expires(client):
    video = _file_video()

    (download,) = video_downloads(
        video=video, expires=600, now=timezone.now() - dt.timedelta(minutes=11)
    )

    response = client.get(download.url.removeprefix(SITE))
    assert response.status_code == 403
    assert response.content == b"This video link is invalid or has expired."


def test_a_file_video_on_s3_downloads_from_a_presigned_url(s3):
    video = _file_video()

    (download,) = video_downloads(video=video, expires=600)

    assert download.url.startswith(f"{s3['endpoint']}/{s3['bucket']}/{video.file.name}?")
    assert parse_qs(urlsplit(download.url).query)["X-Amz-Expires"] == ["600"]
    fetched = requests.get(download.url, timeout=10)
    assert (fetched.status_code, fetched.headers["Content-Type"]) == (200, "video/webm")
    assert fetched.content == CLIP.read_bytes()
    assert download.expires_at is not None


# --- SHA-256 of stored files ---------------------------------------------------------------


def _stored(s3, body: bytes, *, status: str = StoredFile.Status.CONFIRMED) -> StoredFile:
    file = StoredFile(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title="Footwork.pdf",
        content_type="application/pdf",
        size=len(body),
        status=status,
    )
    file.key = f"attachments/{file.id}.pdf"
    file.save()
    if s3 is not None:
        s3["client"].put_object(Bucket=s3["bucket"], Key=file.key, Body=body)
    return file


def test_a_files_sha256_is_read_from_the_bucket_once_and_kept(s3):
    body = b"%PDF-1.4 " + bytes(range(256)) * 9000  # > 2 MB: several chunks
    file = _stored(s3, body)

    first = file_sha256_ensure(file=file)

    assert first == hashlib.sha256(body).hexdigest()
    assert StoredFile.objects.get(pk=file.pk).sha256 == first
    # The second call reads nothing: it answers even once the object is gone.
    s3["client"].delete_object(Bucket=s3["bucket"], Key=file.key)
    assert file_sha256_ensure(file=StoredFile.objects.get(pk=file.pk)) == first


def test_a_files_sha256_on_local_storage(settings):
    file = _stored(None, b"")
    storages["default"].save(file.key, SimpleUploadedFile("x.pdf", b"%PDF-1.4 local"))

    assert file_sha256_ensure(file=file) == hashlib.sha256(b"%PDF-1.4 local").hexdigest()
    file.refresh_from_db()
    assert file.sha256 == hashlib.sha256(b"%PDF-1.4 local").hexdigest()


def test_hashing_a_file_not_uploaded_yet_or_missing_says_so(s3):
    pending = _stored(s3, b"%PDF", status=StoredFile.Status.PENDING)
    missing = _stored(None, b"")

    with pytest.raises(StorageError) as not_uploaded:
        file_sha256_ensure(file=pending)
    with pytest.raises(StorageError) as gone:
        file_sha256_ensure(file=missing)

    assert not_uploaded.value.code == ErrorCode.UPLOAD_INCOMPLETE
    assert gone.value.code == ErrorCode.FILE_NOT_FOUND
    assert set(StoredFile.objects.values_list("sha256", flat=True)) == {""}
