"""Video services and tasks against a loopback fake of Mux's API, through the real mux-python."""

import pytest
from django.utils import timezone
from mux_python.exceptions import UnauthorizedException

from accounts.tests.factories import UserFactory
from media.models import Video
from media.mux import MuxNotConfiguredError
from media.services import (
    video_create,
    video_refresh_from_mux,
    video_restore,
    video_soft_delete,
    video_upload_replace,
)
from media.tasks import mux_asset_delete
from media.tests.fake_mux import FakeMux, fake_mux_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

ORIGIN = "https://lms.example.com"


def ready_video(fake: FakeMux, **kwargs) -> Video:
    """A video uploaded and made ready at Mux, as its webhooks would have left it."""
    video, _ = video_create(
        title=kwargs.get("title", "Intro"),
        playback_policy=kwargs.get("playback_policy", Video.PlaybackPolicy.SIGNED),
        created_by=None,
        cors_origin=ORIGIN,
    )
    fake.asset_ready(video.mux_upload_id)
    video_refresh_from_mux(video=video)
    video.refresh_from_db()
    assert video.status == Video.Status.READY
    return video


def test_creating_a_video_asks_mux_for_a_direct_upload_with_our_id_and_policy(fake_mux):
    editor = UserFactory()

    video, upload_url = video_create(
        title="  Warm-up  ",
        playback_policy=Video.PlaybackPolicy.PUBLIC,
        created_by=editor,
        cors_origin=ORIGIN,
    )

    [request] = fake_mux.seen("POST", "/video/v1/uploads")
    assert request.authorized
    assert request.body["cors_origin"] == ORIGIN
    assert request.body["new_asset_settings"]["playback_policy"] == ["public"]
    assert request.body["new_asset_settings"]["passthrough"] == str(video.id)
    video.refresh_from_db()
    assert (video.title, video.status, video.created_by) == ("Warm-up", "waiting", editor)
    assert video.mux_upload_id in fake_mux.uploads
    assert upload_url == fake_mux.uploads[video.mux_upload_id]["url"]


def test_creating_a_video_without_mux_configured_fails_clearly_and_saves_nothing(settings):
    settings.MUX_TOKEN_ID = ""
    settings.MUX_TOKEN_SECRET = ""

    with pytest.raises(MuxNotConfiguredError, match="not configured"):
        video_create(title="Intro", playback_policy="signed", created_by=None, cors_origin=ORIGIN)

    assert Video.objects.count() == 0


def test_refresh_applies_an_asset_made_ready_at_mux(fake_mux):
    video, _ = video_create(
        title="Intro", playback_policy="signed", created_by=None, cors_origin=ORIGIN
    )
    asset = fake_mux.asset_ready(video.mux_upload_id, duration=61.2, aspect_ratio="4:3")

    changed = video_refresh_from_mux(video=video)

    video.refresh_from_db()
    assert changed is True
    assert video.status == Video.Status.READY
    assert video.mux_asset_id == asset["id"]
    assert video.playback_id == asset["playback_ids"][0]["id"]
    assert (video.duration_seconds, video.aspect_ratio) == (61.2, "4:3")
    assert video_refresh_from_mux(video=video) is False  # nothing new the second time


def test_refresh_records_an_asset_that_errored_at_mux(fake_mux):
    video, _ = video_create(
        title="Broken", playback_policy="signed", created_by=None, cors_origin=ORIGIN
    )
    fake_mux.asset_errored(video.mux_upload_id, message="The file is not a video")

    video_refresh_from_mux(video=video)

    video.refresh_from_db()
    assert (video.status, video.error, video.playback_id) == (
        "errored",
        "The file is not a video",
        "",
    )


def test_soft_delete_deletes_the_mux_asset_only_after_commit(
    fake_mux, django_capture_on_commit_callbacks
):
    video = ready_video(fake_mux)
    asset_id = video.mux_asset_id

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        video_soft_delete(video=video)
    assert fake_mux.seen("DELETE") == []  # nothing sent before the commit
    for callback in callbacks:
        callback()

    [request] = fake_mux.seen("DELETE")
    assert request.path == f"/video/v1/assets/{asset_id}"
    assert asset_id not in fake_mux.assets
    video.refresh_from_db()
    assert video.status == Video.Status.DELETED
    assert video.deleted_at is not None
    assert video.playback_id == ""
    assert video.is_ready is False


def test_soft_deleting_twice_deletes_the_asset_once(fake_mux, django_capture_on_commit_callbacks):
    video = ready_video(fake_mux)

    with django_capture_on_commit_callbacks(execute=True):
        video_soft_delete(video=video)
    with django_capture_on_commit_callbacks(execute=True) as second:
        video_soft_delete(video=video)

    assert len(fake_mux.seen("DELETE")) == 1
    assert second == []


def test_restore_brings_a_deleted_video_back_waiting_for_a_new_file(
    fake_mux, django_capture_on_commit_callbacks
):
    video = ready_video(fake_mux)
    with django_capture_on_commit_callbacks(execute=True):
        video_soft_delete(video=video)

    video_restore(video=video)

    video.refresh_from_db()
    assert video.deleted_at is None
    assert video.status == Video.Status.WAITING
    assert (video.mux_asset_id, video.mux_upload_id, video.playback_id) == (None, None, "")
    url = video_upload_replace(video=video, cors_origin=ORIGIN)
    video.refresh_from_db()
    assert url == fake_mux.uploads[video.mux_upload_id]["url"]


def test_replacing_the_file_starts_a_new_upload_and_deletes_the_old_asset(
    fake_mux, django_capture_on_commit_callbacks
):
    video = ready_video(fake_mux)
    old_upload, old_asset = video.mux_upload_id, video.mux_asset_id

    with django_capture_on_commit_callbacks(execute=True):
        url = video_upload_replace(video=video, cors_origin=ORIGIN)

    video.refresh_from_db()
    assert video.mux_upload_id not in (None, old_upload)
    assert url == fake_mux.uploads[video.mux_upload_id]["url"]
    assert (video.status, video.mux_asset_id, video.playback_id) == ("waiting", None, "")
    assert [r.path for r in fake_mux.seen("DELETE")] == [f"/video/v1/assets/{old_asset}"]
    # The new file, once ready, becomes the video's.
    new_asset = fake_mux.asset_ready(video.mux_upload_id)
    video_refresh_from_mux(video=video)
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id) == ("ready", new_asset["id"])


def test_deleting_an_asset_mux_no_longer_has_is_a_success(fake_mux):
    result = mux_asset_delete.delay(asset_id="asset-gone-already")

    assert result.successful()
    assert result.result is False
    [request] = fake_mux.seen("DELETE")
    assert request.path == "/video/v1/assets/asset-gone-already"


def test_deleting_an_asset_retries_while_mux_is_unavailable(fake_mux):
    fake_mux.add_asset("asset-1")
    fake_mux.fail_next(503, 429)

    result = mux_asset_delete.delay(asset_id="asset-1")

    assert result.result is True
    assert len(fake_mux.seen("DELETE")) == 3
    assert "asset-1" not in fake_mux.assets


def test_deleting_an_asset_with_a_revoked_token_fails_without_retrying(fake_mux, settings):
    fake_mux.add_asset("asset-1")
    settings.MUX_TOKEN_SECRET = "revoked"

    with pytest.raises(UnauthorizedException):
        mux_asset_delete.delay(asset_id="asset-1")

    assert len(fake_mux.seen("DELETE")) == 1
    assert "asset-1" in fake_mux.assets


def test_a_deleted_video_is_not_refreshed(fake_mux, django_capture_on_commit_callbacks):
    video = ready_video(fake_mux)
    with django_capture_on_commit_callbacks(execute=True):
        video_soft_delete(video=video)
    requests_before = len(fake_mux.requests)

    assert video_refresh_from_mux(video=video) is False
    assert len(fake_mux.requests) == requests_before
    video.refresh_from_db()
    assert video.status == Video.Status.DELETED
    assert video.deleted_at <= timezone.now()
