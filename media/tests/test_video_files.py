"""Video files (the source beside Mux): the admin upload and its checks, and the signed view
that serves local files with byte ranges; on S3, presigned GETs against the loopback bucket."""

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from media.models import Video
from media.services import video_file_create, video_restore, video_soft_delete
from media.video_files import video_file_url

pytestmark = pytest.mark.django_db

CLIP = Path(__file__).resolve().parents[1] / "demo_clips" / "clip-1-colour-bars.webm"
MP4 = Path(__file__).parent / "data" / "tiny.mp4"
UPLOAD_FILE_URL = reverse("admin:media_video_upload_file")
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def editor(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _upload(name: str, data: bytes, content_type: str = "video/webm") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _file_video(path: Path = CLIP, **kwargs) -> Video:
    return video_file_create(
        title=kwargs.pop("title", "Colour bars"),
        file=_upload(path.name, path.read_bytes()),
        **kwargs,
    )


# --- Upload in the admin -----------------------------------------------------------------


def test_editor_uploads_a_webm_and_it_is_ready_with_its_duration(client, editor):
    response = client.post(
        UPLOAD_FILE_URL,
        {
            "title": " Colour bars ",
            "playback_policy": "signed",
            "file": _upload("c.webm", CLIP.read_bytes()),
        },
        **JSON,
    )

    assert response.status_code == 201
    video = Video.objects.get()
    assert response.json() == {
        "video": {
            "id": str(video.pk),
            "title": "Colour bars",
            "source": "file",
            "status": "ready",
            "status_label": "Ready",
            "playback_policy": "signed",
            "playback_id": "",
            "duration_seconds": 8.008,
            "aspect_ratio": "",
            "error": "",
            "deleted": False,
        },
        "change_url": reverse("admin:media_video_change", args=[video.pk]),
    }
    assert (video.source, video.file_content_type, video.file_size, video.created_by) == (
        "file",
        "video/webm",
        CLIP.stat().st_size,
        editor,
    )
    assert video.file.name.startswith("videos/") and video.file.name.endswith(".webm")
    assert storages["default"].open(video.file.name).read() == CLIP.read_bytes()


def test_an_mp4_named_webm_is_stored_as_the_mp4_it_is(client, editor):
    response = client.post(
        UPLOAD_FILE_URL,
        {"title": "Tiny", "file": _upload("tiny.webm", MP4.read_bytes(), "video/webm")},
        **JSON,
    )

    assert response.status_code == 201
    video = Video.objects.get()
    assert (video.file_content_type, video.duration_seconds) == ("video/mp4", 2.5)
    assert video.file.name.endswith(".mp4")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("clip.mp4", b"GIF89a" + bytes(500), "This is not an MP4 or WebM video"),
        ("clip.webm", CLIP.read_bytes()[:200], "incomplete"),
        ("clip.mp4", b"", "The file is empty."),
    ],
    ids=["gif-named-mp4", "truncated-webm", "empty"],
)
def test_a_file_that_is_not_a_readable_video_is_a_field_error_and_stores_nothing(
    client, editor, name, data, message
):
    response = client.post(UPLOAD_FILE_URL, {"title": "Bad", "file": _upload(name, data)}, **JSON)

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert list(body["error"]["fields"]) == ["file"]
    assert message in body["error"]["fields"]["file"][0]
    assert not Video.objects.exists()
    assert not storages["default"].exists("videos") or not storages["default"].listdir("videos")[1]


def test_a_file_over_the_size_limit_is_refused(client, editor, settings):
    settings.LMS_VIDEO_FILE_MAX_BYTES = 1000

    response = client.post(
        UPLOAD_FILE_URL, {"title": "Big", "file": _upload("c.webm", CLIP.read_bytes())}, **JSON
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "file": [
            f"The file is {CLIP.stat().st_size} bytes; the limit is 1000 bytes "
            "(LMS_VIDEO_FILE_MAX_BYTES)."
        ]
    }
    assert not Video.objects.exists()


def test_without_javascript_errors_show_on_the_upload_page_with_status_400(client, editor):
    response = client.post(
        UPLOAD_FILE_URL, {"title": "", "file": _upload("c.webm", CLIP.read_bytes())}
    )

    assert response.status_code == 400
    assert "This field cannot be blank." in response.content.decode()
    assert not Video.objects.exists()


def test_without_javascript_a_missing_file_is_a_form_error_and_a_good_one_redirects(client, editor):
    missing = client.post(UPLOAD_FILE_URL, {"title": "No file"})
    done = client.post(
        UPLOAD_FILE_URL, {"title": "Bars", "file": _upload("c.webm", CLIP.read_bytes())}
    )

    assert missing.status_code == 400
    assert "Choose an MP4 or WebM file." in missing.content.decode()
    video = Video.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:media_video_change", args=[video.pk])


def test_upload_page_offers_the_file_upload_with_its_limit(client, editor, settings):
    settings.LMS_VIDEO_FILE_MAX_BYTES = 50 * 1024 * 1024

    page = client.get(reverse("admin:media_video_upload")).content.decode()

    assert "Or upload a video file (no Mux needed)" in page
    assert "at most 50.0\xa0MB" in page
    assert 'data-max-bytes="52428800"' in page
    assert "js/admin-video-file.js" in page


def test_list_and_page_say_which_source_a_video_uses(client, editor):
    file_video = _file_video(title="From a file")
    Video.objects.create(title="From Mux", playback_id="abc", status=Video.Status.READY)

    listing = client.get(reverse("admin:media_video_changelist")).content.decode()
    page = client.get(reverse("admin:media_video_change", args=[file_video.pk])).content.decode()

    assert '<td class="field-source">File</td>' in listing
    assert '<td class="field-source">Mux</td>' in listing
    assert '<div class="readonly">File</div>' in page
    assert file_video.file.name in page
    assert "Upload a new file" not in page  # the Mux replace uploader is for Mux videos


def test_a_learner_cannot_upload(client):
    client.force_login(UserFactory())

    response = client.post(UPLOAD_FILE_URL, {"title": "x", "file": _upload("c.webm", b"x")})

    assert response.status_code == 302  # to the admin sign-in
    assert not Video.objects.exists()


def test_deleting_and_restoring_a_file_video_keeps_it_playable():
    video = video_soft_delete(video=_file_video())
    assert video.status == "deleted"

    video = video_restore(video=video)

    video.refresh_from_db()
    assert (video.status, video.deleted_at, video.duration_seconds) == ("ready", None, 8.008)


# --- The signed view (local storage) ----------------------------------------------------------


def _get(client, url: str, **headers):
    response = client.get(url, headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_a_signed_url_serves_the_whole_file_privately(client):
    video = _file_video()
    signed = video_file_url(video=video, signed=True)

    response, body = _get(client, signed.url)

    assert response.status_code == 200
    assert body == CLIP.read_bytes()
    assert response["Content-Type"] == "video/webm"
    assert response["Content-Length"] == str(CLIP.stat().st_size)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"].startswith("private, max-age=")
    assert 3590 <= int(response["Cache-Control"].split("=")[1]) <= 3600
    assert signed.expires_at is not None


def test_a_stable_url_for_open_lessons_is_cacheable_and_the_same_each_time(client):
    video = _file_video()
    first = video_file_url(video=video, signed=False)

    response, _body = _get(client, first.url)

    assert first.expires_at is None
    assert video_file_url(video=video, signed=False).url == first.url
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=86400"


def test_an_expired_url_is_refused(client, settings):
    settings.LMS_PLAYBACK_TOKEN_TTL = 60
    video = _file_video()
    signed = video_file_url(video=video, signed=True, now=timezone.now() - dt.timedelta(minutes=2))

    response, body = _get(client, signed.url)

    assert response.status_code == 403
    assert body == b"This video link is invalid or has expired."


def test_a_tampered_token_is_refused(client):
    video = _file_video()
    url = video_file_url(video=video, signed=True).url
    token = parse_qs(urlsplit(url).query)["t"][0]
    # Make the link never expire by editing its claims: the signature no longer matches.
    claims, signature = token.rsplit(":", 1)
    forged = f"{claims[:-2]}xx:{signature}"

    assert _get(client, f"{url.split('?')[0]}?{urlencode({'t': forged})}")[0].status_code == 403
    assert _get(client, url.split("?")[0])[0].status_code == 403
    assert _get(client, url.split("?")[0] + "?t=garbage")[0].status_code == 403


def test_a_url_signed_for_another_video_is_refused(client):
    mine, other = _file_video(title="Mine"), _file_video(title="Other")
    url = video_file_url(video=mine, signed=True).url

    response, _ = _get(client, url.replace(str(mine.pk), str(other.pk)))

    assert response.status_code == 403


def test_a_deleted_video_or_a_mux_video_has_no_file(client):
    video = _file_video()
    url = video_file_url(video=video, signed=True).url
    video_soft_delete(video=video)

    assert _get(client, url)[0].status_code == 404


def test_a_replaced_file_stops_the_old_links(client):
    video = _file_video()
    url = video_file_url(video=video, signed=False).url
    video.file.name = storages["default"].save("videos/new.webm", ContentFile(CLIP.read_bytes()))
    video.save()

    assert _get(client, url)[0].status_code == 404


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, None),
        ("bytes=-500", None, None),
        ("bytes=100-999999999", 100, None),
    ],
    ids=["closed", "open-ended", "suffix", "past-the-end"],
)
def test_range_requests_get_206_with_the_right_bytes(client, header, first, last):
    data = CLIP.read_bytes()
    size = len(data)
    video = _file_video()
    if first is None:
        first = size - 500
    if last is None:
        last = size - 1

    response, body = _get(client, video_file_url(video=video, signed=True).url, Range=header)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body == data[first : last + 1]
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=99999999-", "bytes=-0"])
def test_an_unsatisfiable_range_gets_416_with_the_size(client, header):
    video = _file_video()

    response, _ = _get(client, video_file_url(video=video, signed=True).url, Range=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{CLIP.stat().st_size}"


@pytest.mark.parametrize("header", ["bytes=0-10,20-30", "items=0-5", "bytes=50-10"])
def test_a_range_we_do_not_serve_gets_the_whole_file(client, header):
    video = _file_video()

    response, body = _get(client, video_file_url(video=video, signed=True).url, Range=header)

    assert response.status_code == 200
    assert body == CLIP.read_bytes()


def test_head_and_post(client):
    video = _file_video()
    url = video_file_url(video=video, signed=True).url

    head = client.head(url)

    assert head.status_code == 200
    assert head["Content-Length"] == str(CLIP.stat().st_size)
    assert client.post(url).status_code == 405


# --- On S3: presigned GETs ------------------------------------------------------------------


def test_on_s3_the_file_goes_to_the_bucket_and_plays_from_a_presigned_url(s3, settings):
    settings.LMS_PLAYBACK_TOKEN_TTL = 300
    video = _file_video()

    stored = s3["client"].get_object(Bucket=s3["bucket"], Key=video.file.name)
    signed = video_file_url(video=video, signed=True)
    whole = requests.get(signed.url, timeout=10)
    part = requests.get(signed.url, headers={"Range": "bytes=10-19"}, timeout=10)

    assert stored["Body"].read() == CLIP.read_bytes()
    assert signed.url.startswith(f"{s3['endpoint']}/{s3['bucket']}/{video.file.name}?")
    assert parse_qs(urlsplit(signed.url).query)["X-Amz-Expires"] == ["300"]
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "video/webm"
    assert whole.content == CLIP.read_bytes()
    assert part.status_code == 206
    assert part.content == CLIP.read_bytes()[10:20]
    assert signed.expires_at is not None
