"""Reconciliation: videos whose webhooks never arrived are re-read from (a fake) Mux."""

from datetime import timedelta

import pytest
from django.utils import timezone

from media.models import Video
from media.services import video_create
from media.tasks import videos_reconcile
from media.tests.fake_mux import FakeMux, fake_mux_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def uploaded_video(fake: FakeMux, *, minutes_ago: int, title: str = "Intro") -> Video:
    """A video whose upload was created `minutes_ago` and has heard nothing since."""
    video, _ = video_create(
        title=title, playback_policy="signed", created_by=None, cors_origin="https://lms.test"
    )
    Video.objects.filter(pk=video.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return video


def test_reconciliation_repairs_a_video_whose_webhook_never_arrived(fake_mux, settings):
    settings.LMS_VIDEO_STUCK_MINUTES = 30
    video = uploaded_video(fake_mux, minutes_ago=31)
    asset = fake_mux.asset_ready(video.mux_upload_id, duration=93.4, aspect_ratio="16:9")

    read = videos_reconcile.delay().result

    video.refresh_from_db()
    assert read == 1
    assert video.status == Video.Status.READY
    assert video.mux_asset_id == asset["id"]
    assert video.playback_id == asset["playback_ids"][0]["id"]
    assert (video.duration_seconds, video.aspect_ratio) == (93.4, "16:9")
    assert video.is_ready


def test_videos_younger_than_the_threshold_are_left_to_their_webhooks(fake_mux, settings):
    settings.LMS_VIDEO_STUCK_MINUTES = 30
    video = uploaded_video(fake_mux, minutes_ago=29)
    fake_mux.asset_ready(video.mux_upload_id)
    requests_before = len(fake_mux.requests)

    assert videos_reconcile.delay().result == 0

    assert len(fake_mux.requests) == requests_before
    video.refresh_from_db()
    assert video.status == Video.Status.WAITING


def test_the_threshold_comes_from_the_settings(fake_mux, settings):
    settings.LMS_VIDEO_STUCK_MINUTES = 5
    video = uploaded_video(fake_mux, minutes_ago=6)
    fake_mux.asset_ready(video.mux_upload_id)

    videos_reconcile.delay()

    video.refresh_from_db()
    assert video.status == Video.Status.READY


def test_an_upload_that_timed_out_at_mux_makes_the_video_errored(fake_mux):
    video = uploaded_video(fake_mux, minutes_ago=120)
    fake_mux.uploads[video.mux_upload_id]["status"] = "timed_out"

    videos_reconcile.delay()

    video.refresh_from_db()
    assert (video.status, video.error) == (
        "errored",
        "No file arrived before the upload expired. Upload the file again.",
    )


def test_an_upload_still_waiting_is_read_again_only_after_another_threshold(fake_mux):
    video = uploaded_video(fake_mux, minutes_ago=120)

    assert videos_reconcile.delay().result == 1
    assert videos_reconcile.delay().result == 0  # touched: not stuck again until later

    video.refresh_from_db()
    assert video.status == Video.Status.WAITING
    assert len(fake_mux.seen("GET", f"/video/v1/uploads/{video.mux_upload_id}")) == 1


def test_reconciliation_reads_bounded_batches_until_every_stuck_video_is_done(fake_mux):
    videos = [uploaded_video(fake_mux, minutes_ago=60 + n, title=f"V{n}") for n in range(5)]
    for video in videos:
        fake_mux.asset_ready(video.mux_upload_id)

    first_batch = videos_reconcile.delay(batch_size=2).result

    assert first_batch == 2
    statuses = set(Video.objects.values_list("status", flat=True))
    assert statuses == {Video.Status.READY}
    # Each upload and asset read once: batches moved on rather than re-reading.
    assert len(fake_mux.seen("GET", "/video/v1/uploads/")) == 5
    assert len(fake_mux.seen("GET", "/video/v1/assets/")) == 5


def test_mux_being_down_leaves_videos_for_the_next_run_without_failing(fake_mux):
    video = uploaded_video(fake_mux, minutes_ago=60)
    fake_mux.asset_ready(video.mux_upload_id)
    fake_mux.fail_next(503)

    result = videos_reconcile.delay()

    assert result.successful()
    video.refresh_from_db()
    assert video.status == Video.Status.WAITING
    assert len(fake_mux.seen("GET", "/video/v1/uploads/")) == 1


def test_deleted_videos_are_not_reconciled(fake_mux):
    video = uploaded_video(fake_mux, minutes_ago=60)
    Video.objects.filter(pk=video.pk).update(
        deleted_at=timezone.now(), updated_at=timezone.now() - timedelta(hours=1)
    )
    requests_before = len(fake_mux.requests)

    assert videos_reconcile.delay().result == 0
    assert len(fake_mux.requests) == requests_before


def test_reconciliation_does_nothing_when_mux_is_not_configured(settings):
    settings.MUX_TOKEN_ID = ""
    Video.objects.create(title="Old", mux_upload_id="upload-1")
    Video.objects.update(updated_at=timezone.now() - timedelta(days=1))

    assert videos_reconcile.delay().result == 0
