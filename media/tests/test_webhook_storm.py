"""A storm of Mux webhooks: redelivered, shuffled and concurrent, on PostgreSQL.

330 signed deliveries (231 distinct events, 30% duplicates) for 33 videos are posted in a
random order from 12 threads at once, each with its own test client and database
connection; Celery runs eagerly, so each event is processed in the request's thread right
after its commit, racing the others for the same videos. Every video must end in the state
of its newest event, and every event must have run exactly once.
"""

import json
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client

from lms.models import WebhookEvent
from lms.tests.concurrency import run_together
from media.models import Video
from media.tests.test_mux_webhooks import SECRET, T0, URL, mux_event, signature

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VIDEOS = 33
THREADS = 12
HANDLED = {
    "video.upload.asset_created",
    "video.asset.created",
    "video.asset.ready",
    "video.asset.errored",
    "video.asset.deleted",
    # Handled (its static renditions are applied), though these carry none.
    "video.asset.static_renditions.ready",
}


def _lifecycle(video: Video, index: int) -> list[dict]:
    """Seven events in the order Mux sends them, one second apart; the video's fate is
    ready (index % 3 == 1), errored (2) or ready then deleted (0)."""
    upload_id, asset_id = video.mux_upload_id, f"asset-{index}"
    passthrough = str(video.pk)
    upload = {"id": upload_id, "new_asset_settings": {"passthrough": passthrough}}
    asset = {"id": asset_id, "upload_id": upload_id, "passthrough": passthrough}
    playback = [{"id": f"pb-{index}", "policy": "signed"}]
    if index % 3 == 2:
        errors = {"type": "invalid_input", "messages": [f"bad file {index}"]}
        final = ("video.asset.errored", {**asset, "status": "errored", "errors": errors})
    else:
        final = ("video.asset.ready", {**asset, "status": "ready", "duration": float(index)})
    final[1].update(playback_ids=playback, aspect_ratio="16:9")
    steps = [
        ("video.upload.created", {**upload, "status": "waiting"}),
        ("video.upload.asset_created", {**upload, "status": "asset_created", "asset_id": asset_id}),
        ("video.asset.created", {**asset, "status": "preparing", "playback_ids": playback}),
        ("video.asset.track.created", {"id": f"track-{index}", "asset_id": asset_id}),
        final,
        ("video.asset.track.ready", {"id": f"track-{index}", "asset_id": asset_id}),
        ("video.asset.deleted", {**final[1], "status": "ready"})
        if index % 3 == 0
        else ("video.asset.static_renditions.ready", {**asset, "status": "ready"}),
    ]
    return [
        mux_event(event_type, data, at=T0 + timedelta(seconds=second))
        for second, (event_type, data) in enumerate(steps)
    ]


def test_a_storm_of_duplicated_shuffled_concurrent_events_ends_in_the_latest_state_once_each(
    settings,
):
    settings.MUX_WEBHOOK_SECRETS = [SECRET]
    videos = [
        Video.objects.create(title=f"Video {index}", mux_upload_id=f"upload-{index}")
        for index in range(VIDEOS)
    ]
    events = [event for index, video in enumerate(videos) for event in _lifecycle(video, index)]
    rng = random.Random(5)
    duplicates = rng.choices(events, k=len(events) * 3 // 7)  # 30% of all deliveries
    deliveries = [json.dumps(event).encode() for event in events + duplicates]
    rng.shuffle(deliveries)
    assert len(deliveries) >= 300

    def poster(bodies: list[bytes]):
        def post_all() -> list[tuple[int, dict]]:
            client = Client(enforce_csrf_checks=True)
            answers = []
            for body in bodies:
                response = client.post(
                    URL, body, content_type="application/json", HTTP_MUX_SIGNATURE=signature(body)
                )
                answers.append((response.status_code, response.json()))
            return answers

        return post_all

    results = run_together(
        [poster(deliveries[start::THREADS]) for start in range(THREADS)], timeout=120
    )

    answers = [answer for thread in results for answer in thread]
    assert Counter(status for status, _ in answers) == {200: len(deliveries)}
    assert Counter(body["duplicate"] for _, body in answers) == {
        False: len(events),
        True: len(duplicates),
    }

    stored = list(WebhookEvent.objects.all())
    assert sorted(event.event_id for event in stored) == sorted(event["id"] for event in events)
    assert {(event.attempts, event.last_error) for event in stored} == {(1, "")}
    assert Counter(event.status for event in stored) == {
        "processed": sum(event["type"] in HANDLED for event in events),
        "ignored": sum(event["type"] not in HANDLED for event in events),
    }

    final = {
        video.mux_upload_id: (
            video.status,
            video.mux_asset_id,
            video.playback_id,
            video.duration_seconds,
            video.error,
        )
        for video in Video.objects.all()
    }
    expected = {}
    for index in range(VIDEOS):
        if index % 3 == 0:
            state = ("deleted", f"asset-{index}", "", float(index), "")
        elif index % 3 == 1:
            state = ("ready", f"asset-{index}", f"pb-{index}", float(index), "")
        else:
            state = ("errored", f"asset-{index}", f"pb-{index}", None, f"bad file {index}")
        expected[f"upload-{index}"] = state
    assert final == expected
