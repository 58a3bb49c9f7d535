"""Mux static renditions (MP4/M4A downloads): asked for on new uploads behind a setting, kept
from webhooks in time order whatever order and how often they arrive, read back by the refresh
and the reconciliation, shown and asked for in the admin."""

import uuid
from datetime import timedelta

import pytest
from django.core import checks
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from lms.models import WebhookEvent
from media.downloads import video_downloadable
from media.models import Video
from media.services import video_create, video_refresh_from_mux, video_upload_replace
from media.tasks import videos_reconcile
from media.tests.fake_mux import FakeMux, fake_mux_fixture  # noqa: F401 (fixture)
from media.tests.test_mux_webhooks import SECRET, T0, asset, mux_event, post

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:media_video_changelist")
ORIGIN = "https://lms.test"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.MUX_WEBHOOK_SECRETS = [SECRET]


@pytest.fixture
def video():
    """A ready signed video of asset-1 (its asset webhooks were applied at T0)."""
    return Video.objects.create(
        title="Salsa basics",
        mux_upload_id="upload-1",
        mux_asset_id="asset-1",
        playback_id="pb-asset-1",
        status="ready",
        state_at=T0,
    )


def rendition_event(kind: str, *, at, name: str = "highest.mp4", asset_id="asset-1", **data):
    """A `video.asset.static_rendition.<kind>` webhook as Mux sends it: the rendition in
    `data`, its asset in `data.asset_id` and in `object`."""
    ready = {"width": 1920, "height": 1080, "bitrate": 4_000_000, "filesize": "7340032"}
    rendition = {
        "id": f"r-{name}",
        "name": name,
        "ext": name.rpartition(".")[2],
        "resolution": "highest",
        "type": "standard",
        "status": {"created": "preparing", "deleted": "ready"}.get(kind, kind),
        "asset_id": asset_id,
        **(ready if kind in ("ready", "deleted") else {}),
        **data,
    }
    payload = mux_event(f"video.asset.static_rendition.{kind}", rendition, at=at)
    payload["object"] = {"type": "asset", "id": asset_id}
    return payload


def kept(video: Video) -> list[tuple]:
    """What the video keeps of its renditions, as (name, status, width, height, size)."""
    video.refresh_from_db()
    return [
        (r["name"], r["status"], r["width"], r["height"], r["size_bytes"])
        for r in video.static_renditions
    ]


HIGHEST_READY = ("highest.mp4", "ready", 1920, 1080, 7_340_032)


# --- New uploads ------------------------------------------------------------------------------


def test_new_uploads_ask_mux_for_the_renditions_the_setting_names(fake_mux, settings):
    settings.MUX_STATIC_RENDITIONS = ["highest", "audio-only", "highest"]

    video_create(title="Intro", playback_policy="signed", created_by=None, cors_origin=ORIGIN)

    (request,) = fake_mux.seen("POST", "/video/v1/uploads")
    assert request.body["new_asset_settings"] == {
        "playback_policy": ["signed"],
        "passthrough": str(Video.objects.get().pk),
        "static_renditions": [{"resolution": "highest"}, {"resolution": "audio-only"}],
        # The SDK's defaults, sent with every asset.
        "copy_overlays": True,
        "normalize_audio": False,
    }


def test_by_default_new_uploads_ask_for_no_renditions(fake_mux, settings):
    settings.MUX_STATIC_RENDITIONS = []

    video_create(title="Intro", playback_policy="signed", created_by=None, cors_origin=ORIGIN)

    (request,) = fake_mux.seen("POST", "/video/v1/uploads")
    assert "static_renditions" not in request.body["new_asset_settings"]


def test_an_unknown_resolution_in_the_setting_fails_the_system_check(settings):
    settings.MUX_STATIC_RENDITIONS = ["highest", "4k"]

    errors = [e for e in checks.run_checks() if e.id == "media.E001"]

    assert [e.msg for e in errors] == ["MUX_STATIC_RENDITIONS has unknown resolutions: 4k."]


# --- Webhooks ---------------------------------------------------------------------------------


def test_a_rendition_asked_for_then_ready_is_kept_with_its_size(client, video):
    post(client, rendition_event("created", at=T0 + timedelta(seconds=1)))
    assert kept(video) == [("highest.mp4", "preparing", None, None, None)]
    assert video.static_renditions_status == "preparing"
    assert not video_downloadable(video=video)

    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))

    assert kept(video) == [HIGHEST_READY]
    assert video.static_renditions_status == "ready"
    assert video_downloadable(video=video)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_late_created_event_after_ready_leaves_the_rendition_ready(client, video):
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))
    post(client, rendition_event("created", at=T0 + timedelta(seconds=1)))

    assert kept(video) == [HIGHEST_READY]
    assert video.static_renditions_status == "ready"


def test_a_redelivered_or_repeated_event_changes_nothing(client, video):
    ready = rendition_event("ready", at=T0 + timedelta(seconds=60))
    post(client, ready)
    video.refresh_from_db()
    updated_at = video.updated_at

    post(client, ready)  # the same delivery again: acknowledged as a duplicate
    post(client, {**ready, "id": str(uuid.uuid4())})  # the same news under a new event id

    assert kept(video) == [HIGHEST_READY]
    assert video.updated_at == updated_at
    assert WebhookEvent.objects.count() == 2


def test_a_deleted_rendition_is_not_brought_back_by_a_late_ready(client, video):
    post(client, rendition_event("deleted", at=T0 + timedelta(seconds=90)))
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))

    assert kept(video) == [("highest.mp4", "deleted", 1920, 1080, 7_340_032)]
    assert video.static_renditions_status == ""
    assert not video_downloadable(video=video)


def test_a_skipped_or_errored_rendition_offers_nothing(client, video):
    post(client, rendition_event("skipped", at=T0, name="1080p.mp4", resolution="1080p"))
    post(client, rendition_event("errored", at=T0, name="audio.m4a", resolution="audio-only"))

    assert kept(video) == [
        ("1080p.mp4", "skipped", None, None, None),
        ("audio.m4a", "errored", None, None, None),
    ]
    assert video.static_renditions_status == "errored"
    assert not video_downloadable(video=video)


def test_the_asset_is_found_from_the_events_object_when_data_has_no_asset_id(client, video):
    event = rendition_event("ready", at=T0)
    del event["data"]["asset_id"]

    post(client, event)

    assert kept(video) == [HIGHEST_READY]


def test_a_rendition_of_an_asset_we_do_not_have_is_processed_without_changes(client, video):
    post(client, rendition_event("ready", at=T0, asset_id="someone-elses"))

    assert kept(video) == []
    assert WebhookEvent.objects.get().status == "processed"


def test_a_rendition_event_of_the_wrong_shapes_is_acknowledged_and_changes_nothing(client, video):
    event = rendition_event("ready", at=T0)
    event["data"].update(name=["highest.mp4"], filesize={"bytes": 1})
    other = rendition_event("ready", at=T0, name="../../etc/passwd")

    assert post(client, event).status_code == 200
    assert post(client, other).status_code == 200

    assert kept(video) == []
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_an_asset_event_carries_the_renditions_and_an_older_one_does_not_undo_them(client, video):
    files = [
        {"name": "highest.mp4", "ext": "mp4", "status": "ready", "width": 1280, "height": 720},
        {"name": "audio.m4a", "ext": "m4a", "status": "preparing"},
    ]
    updated = asset(video, status="ready", static_renditions={"files": files})
    post(client, mux_event("video.asset.updated", updated, at=T0 + timedelta(seconds=30)))
    assert kept(video) == [
        ("audio.m4a", "preparing", None, None, None),
        ("highest.mp4", "ready", 1280, 720, None),
    ]

    # video.asset.ready from before, delivered late: both still preparing then.
    earlier = [{**item, "status": "preparing"} for item in files]
    ready = asset(video, status="ready", static_renditions={"files": earlier})
    post(client, mux_event("video.asset.ready", ready, at=T0 + timedelta(seconds=10)))

    assert kept(video) == [
        ("audio.m4a", "preparing", None, None, None),
        ("highest.mp4", "ready", 1280, 720, None),
    ]
    assert video.static_renditions_status == "preparing"


def test_a_rendition_missing_from_a_newer_asset_report_is_gone(client, video):
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60), name="audio.m4a"))

    files = [{"name": "audio.m4a", "ext": "m4a", "status": "ready"}]
    later = asset(video, status="ready", static_renditions={"files": files})
    post(client, mux_event("video.asset.updated", later, at=T0 + timedelta(seconds=120)))

    assert [(name, status) for name, status, *_ in kept(video)] == [
        ("audio.m4a", "ready"),
        ("highest.mp4", "deleted"),
    ]


def test_the_older_mp4_support_api_reports_its_files_for_the_whole_asset(client, video):
    legacy = {"status": "ready", "files": [{"name": "capped-1080p.mp4", "ext": "mp4"}]}
    data = asset(video, status="ready", static_renditions=legacy)

    post(
        client, mux_event("video.asset.static_renditions.ready", data, at=T0 + timedelta(seconds=1))
    )

    assert kept(video) == [("capped-1080p.mp4", "ready", None, None, None)]
    video.refresh_from_db()
    assert video.state_at == T0  # only the renditions are taken from these events


def test_a_deleted_asset_leaves_no_downloads(client, video):
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))

    gone = asset(video, status="ready")
    post(client, mux_event("video.asset.deleted", gone, at=T0 + timedelta(seconds=90)))

    video.refresh_from_db()
    assert (video.status, video.static_renditions, video.static_renditions_status) == (
        "deleted",
        [],
        "",
    )


def test_a_new_upload_starts_with_no_downloads(fake_mux, video, client):
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))

    video_upload_replace(video=video, cors_origin=ORIGIN)

    video.refresh_from_db()
    assert (video.status, video.static_renditions, video.static_renditions_status) == (
        "waiting",
        [],
        "",
    )


# --- Refresh and reconciliation -------------------------------------------------------------


def _uploaded(fake: FakeMux, settings) -> Video:
    settings.MUX_STATIC_RENDITIONS = ["highest"]
    video, _ = video_create(
        title="Intro", playback_policy="signed", created_by=None, cors_origin=ORIGIN
    )
    return video


def test_the_refresh_reads_the_renditions_from_mux(fake_mux, settings):
    video = _uploaded(fake_mux, settings)
    mux_asset = fake_mux.asset_ready(video.mux_upload_id)

    video_refresh_from_mux(video=video)
    assert kept(video) == [("highest.mp4", "preparing", None, None, None)]

    fake_mux.renditions_ready(mux_asset["id"], width=1280, height=720, filesize=1_048_576)
    video_refresh_from_mux(video=video)

    assert kept(video) == [("highest.mp4", "ready", 1280, 720, 1_048_576)]
    assert video.static_renditions_status == "ready"


def test_the_reconciliation_rereads_ready_videos_whose_renditions_are_still_preparing(
    fake_mux, settings
):
    settings.LMS_VIDEO_STUCK_MINUTES = 30
    stuck, recent = _uploaded(fake_mux, settings), _uploaded(fake_mux, settings)
    for video in (stuck, recent):
        fake_mux.asset_ready(video.mux_upload_id)
        video_refresh_from_mux(video=video)
        fake_mux.renditions_ready(Video.objects.get(pk=video.pk).mux_asset_id)
    Video.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=31))

    assert videos_reconcile.delay().result == 1

    assert kept(stuck) == [HIGHEST_READY]
    assert kept(recent) == [("highest.mp4", "preparing", None, None, None)]
    assert videos_reconcile.delay().result == 0  # stuck is ready now, recent not yet due


# --- Admin ----------------------------------------------------------------------------------


@pytest.fixture
def editor(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))


def test_the_video_page_lists_its_downloads(client, editor, video):
    post(client, rendition_event("ready", at=T0 + timedelta(seconds=60)))
    post(client, rendition_event("created", at=T0 + timedelta(seconds=60), name="audio.m4a"))

    page = client.get(reverse("admin:media_video_change", args=[video.pk])).content.decode()

    assert "<li>highest.mp4 (1920×1080, 7.0\xa0MB): ready</li>" in page
    assert "<li>audio.m4a (—): preparing</li>" in page


def test_a_video_without_downloads_says_apps_cannot_download_it(client, editor, video):
    page = client.get(reverse("admin:media_video_change", args=[video.pk])).content.decode()

    assert "None. Offline apps cannot download this video." in page


def test_the_list_filters_videos_by_downloads(client, editor, video):
    post(client, rendition_event("ready", at=T0))
    Video.objects.create(title="No downloads", mux_upload_id="upload-2")

    page = client.get(LIST_URL, {"static_renditions_status__exact": "ready"}).content.decode()

    assert "Salsa basics" in page
    assert "No downloads" not in page


def test_the_admin_asks_mux_for_downloads_of_older_videos(client, editor, fake_mux, settings):
    settings.MUX_STATIC_RENDITIONS = []
    old, _ = video_create(
        title="Old", playback_policy="signed", created_by=None, cors_origin=ORIGIN
    )
    fake_mux.asset_ready(old.mux_upload_id)
    video_refresh_from_mux(video=old)
    waiting, _ = video_create(
        title="Waiting", playback_policy="signed", created_by=None, cors_origin=ORIGIN
    )

    response = client.post(
        LIST_URL,
        {"action": "request_downloads_selected", "_selected_action": [old.pk, waiting.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "Mux is making downloads of 1 video(s); they appear when ready." in page
    assert "1 video(s) are not ready Mux videos and were left alone." in page
    old.refresh_from_db()
    (request,) = fake_mux.seen("POST", f"/video/v1/assets/{old.mux_asset_id}/static-renditions")
    assert request.body == {"resolution": "highest"}
    assert kept(old) == [("highest.mp4", "preparing", None, None, None)]

    # Asking again asks for nothing more: the video has that rendition.
    client.post(LIST_URL, {"action": "request_downloads_selected", "_selected_action": [old.pk]})
    assert len(fake_mux.seen("POST", f"/video/v1/assets/{old.mux_asset_id}/")) == 1
