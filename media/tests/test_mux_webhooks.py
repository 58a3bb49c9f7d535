"""`POST /webhooks/mux/`: verified, stored once, processed after commit, stale events ignored."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import TestCase
from django.urls import reverse

from lms.models import WebhookEvent
from media.models import Video
from media.state import video_fields_from_asset, video_state_apply
from media.webhooks import mux_signature_verify

pytestmark = pytest.mark.django_db

URL = reverse("mux-webhook")
SECRET = "whsec-current"
OLD_SECRET = "whsec-previous"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def signature(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A `Mux-Signature` header as Mux computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def mux_event(event_type: str, data: dict, *, at: datetime, event_id: str | None = None) -> dict:
    """A Mux webhook payload, shaped as Mux sends it."""
    return {
        "type": event_type,
        "id": event_id or str(uuid.uuid4()),
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "object": {"type": event_type.split(".")[1], "id": data.get("id")},
        "environment": {"name": "Test", "id": "env1"},
        "data": data,
        "attempts": [],
        "accessor_source": None,
        "accessor": None,
        "request_id": None,
    }


def asset(video: Video, *, status: str, asset_id: str = "asset-1", **extra) -> dict:
    return {
        "id": asset_id,
        "upload_id": video.mux_upload_id,
        "passthrough": str(video.pk),
        "status": status,
        "playback_ids": [{"id": f"pb-{asset_id}", "policy": video.playback_policy}],
        **extra,
    }


def upload_asset_created(video: Video, *, asset_id: str = "asset-1") -> dict:
    return {
        "id": video.mux_upload_id,
        "asset_id": asset_id,
        "status": "asset_created",
        "new_asset_settings": {"passthrough": str(video.pk), "playback_policies": ["signed"]},
    }


def post(client, payload: dict | bytes, *, secret: str = SECRET, timestamp=None, header=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if header is None:
        header = signature(body, secret, timestamp)
    extra = {"HTTP_MUX_SIGNATURE": header} if header else {}
    # The test's transaction never commits: run what the view queues on commit (processing).
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, body, content_type="application/json", **extra)


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.MUX_WEBHOOK_SECRETS = [OLD_SECRET, SECRET]


@pytest.fixture
def video():
    return Video.objects.create(title="Salsa basics", mux_upload_id="upload-1")


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "fields": {}}}


# --- Verification ------------------------------------------------------------------------


def test_a_signed_event_is_stored_acknowledged_and_applied(client, video):
    data = asset(video, status="ready", duration=61.5, aspect_ratio="16:9")
    payload = mux_event("video.asset.ready", data, at=T0)

    response = post(client, payload)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_id, event.event_type) == (
        "mux",
        payload["id"],
        "video.asset.ready",
    )
    assert (event.occurred_at, event.payload, event.status, event.attempts) == (
        T0,
        payload,
        "processed",
        1,
    )
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id, video.playback_id) == (
        "ready",
        "asset-1",
        "pb-asset-1",
    )
    assert (video.duration_seconds, video.aspect_ratio, video.state_at) == (61.5, "16:9", T0)


def test_a_signature_made_with_the_previous_secret_is_accepted_while_rotating(client, video):
    payload = mux_event("video.upload.asset_created", upload_asset_created(video), at=T0)

    response = post(client, payload, secret=OLD_SECRET)

    assert response.status_code == 200
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id) == ("preparing", "asset-1")


def test_a_header_with_several_v1_values_is_accepted_when_one_matches(client, video):
    body = json.dumps(mux_event("video.asset.created", asset(video, status="preparing"), at=T0))
    good = signature(body.encode())
    header = good.replace(",v1=", ",v1=" + "0" * 64 + ",v1=")

    assert post(client, body.encode(), header=header).status_code == 200


SIGNATURE_INVALID = _error(
    "WEBHOOK_SIGNATURE_INVALID", "The webhook signature is missing or does not match."
)
TIMESTAMP_STALE = _error(
    "WEBHOOK_TIMESTAMP_STALE",
    "The webhook signature's timestamp is more than 5 minutes away from our clock.",
)


@pytest.mark.parametrize(
    ("make_header", "expected"),
    [
        pytest.param(lambda body: signature(body, "whsec-wrong"), SIGNATURE_INVALID, id="wrong"),
        pytest.param(lambda body: "", SIGNATURE_INVALID, id="missing"),
        pytest.param(lambda body: "garbage", SIGNATURE_INVALID, id="garbled"),
        pytest.param(
            lambda body: signature(body).split(",")[1], SIGNATURE_INVALID, id="no-timestamp"
        ),
        pytest.param(
            lambda body: signature(body + b" "), SIGNATURE_INVALID, id="body-tampered-after"
        ),
        pytest.param(
            lambda body: signature(body, timestamp=int(time.time()) - 310),
            TIMESTAMP_STALE,
            id="stale",
        ),
        pytest.param(
            lambda body: signature(body, timestamp=int(time.time()) + 310),
            TIMESTAMP_STALE,
            id="future",
        ),
    ],
)
def test_an_unverified_delivery_is_refused_and_not_stored(client, video, make_header, expected):
    body = json.dumps(mux_event("video.asset.ready", asset(video, status="ready"), at=T0)).encode()

    response = post(client, body, header=make_header(body) or "")

    assert response.status_code == 400
    assert response.json() == expected
    assert WebhookEvent.objects.count() == 0
    video.refresh_from_db()
    assert video.status == "waiting"


def test_a_timestamp_within_five_minutes_is_accepted(client, video):
    payload = mux_event("video.asset.created", asset(video, status="preparing"), at=T0)

    response = post(client, payload, timestamp=int(time.time()) - 290)

    assert response.status_code == 200


def test_without_configured_secrets_the_endpoint_says_it_is_not_configured(client, settings, video):
    settings.MUX_WEBHOOK_SECRETS = []

    response = post(client, mux_event("video.asset.ready", asset(video, status="ready"), at=T0))

    assert response.status_code == 503
    assert response.json() == _error(
        "WEBHOOK_NOT_CONFIGURED", "Mux webhooks are not configured on this site."
    )
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", _error("PARSE_ERROR", "The request body is not valid JSON.")),
        (b"\xff\xfe", _error("PARSE_ERROR", "The request body is not valid JSON.")),
        (b'{"id": NaN}', _error("PARSE_ERROR", "The request body is not valid JSON.")),
        (
            b'{"id": "e1\\u0000"}',
            _error("WEBHOOK_PAYLOAD_INVALID", "The payload is not storable text."),
        ),
        (
            b'{"id": "e1\\ud800"}',
            _error("WEBHOOK_PAYLOAD_INVALID", "The payload is not storable text."),
        ),
        (
            b"[1, 2]",
            _error("WEBHOOK_PAYLOAD_INVALID", "The payload is not a JSON object."),
        ),
        (
            b"{}",
            _error("WEBHOOK_PAYLOAD_INVALID", "The event has no valid id, type, created_at."),
        ),
        (
            json.dumps({"id": "e1", "type": "video.asset.ready", "created_at": "yesterday"}),
            _error("WEBHOOK_PAYLOAD_INVALID", "The event has no valid created_at."),
        ),
        (
            json.dumps(
                {"id": "e" * 256, "type": "video.asset.ready", "created_at": "2026-01-01T00:00:00Z"}
            ),
            _error("WEBHOOK_PAYLOAD_INVALID", "The event has no valid id."),
        ),
        (
            json.dumps({"id": "e1", "type": "video.asset.ready", "created_at": "2026-13-45"}),
            _error("WEBHOOK_PAYLOAD_INVALID", "The event has no valid created_at."),
        ),
        (
            json.dumps(
                {
                    "id": "e1",
                    "type": "video.asset.ready",
                    "created_at": "2026-01-01T00:00:00Z",
                    "data": [],
                }
            ),
            _error("WEBHOOK_PAYLOAD_INVALID", "The event's data is not an object."),
        ),
    ],
)
def test_a_signed_but_malformed_payload_gets_400_and_is_not_stored(client, body, expected):
    body = body.encode() if isinstance(body, str) else body

    response = post(client, body)

    assert response.status_code == 400
    assert response.json() == expected
    assert WebhookEvent.objects.count() == 0


def test_only_post_is_allowed(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == _error("METHOD_NOT_ALLOWED", "This method is not allowed here.")


def test_signature_verification_compares_against_every_secret():
    body = b'{"id": "x"}'
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    header = signature(body, "second", timestamp=1_700_000_000)

    mux_signature_verify(header=header, body=body, secrets=["first", "second"], now=now)
    with pytest.raises(Exception, match="signature"):
        mux_signature_verify(header=header, body=body, secrets=["first"], now=now)


# --- Processing --------------------------------------------------------------------------


def test_an_unknown_event_type_is_acknowledged_stored_and_ignored(client, video):
    payload = mux_event("video.asset.track.ready", {"id": "track-1", "asset_id": "a"}, at=T0)

    response = post(client, payload)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.status, event.attempts) == (
        "video.asset.track.ready",
        "ignored",
        1,
    )
    video.refresh_from_db()
    assert video.status == "waiting"


def test_a_redelivered_event_is_acknowledged_and_processed_once(client, video):
    payload = mux_event("video.asset.ready", asset(video, status="ready"), at=T0)

    first = post(client, payload)
    second = post(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"received": True, "duplicate": True}
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)


def test_the_full_upload_lifecycle_in_order(client, video):
    post(client, mux_event("video.upload.asset_created", upload_asset_created(video), at=T0))
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id, video.playback_id) == ("preparing", "asset-1", "")

    preparing = asset(video, status="preparing")
    post(client, mux_event("video.asset.created", preparing, at=T0 + timedelta(seconds=1)))
    ready = asset(video, status="ready", duration=12.0, aspect_ratio="9:16")
    post(client, mux_event("video.asset.ready", ready, at=T0 + timedelta(seconds=30)))
    video.refresh_from_db()
    assert (video.status, video.playback_id, video.duration_seconds, video.aspect_ratio) == (
        "ready",
        "pb-asset-1",
        12.0,
        "9:16",
    )

    post(client, mux_event("video.asset.deleted", ready, at=T0 + timedelta(minutes=5)))
    video.refresh_from_db()
    assert (video.status, video.playback_id, video.is_ready) == ("deleted", "", False)


def test_an_older_preparing_event_arriving_after_ready_leaves_the_video_ready(client, video):
    ready = asset(video, status="ready")
    post(client, mux_event("video.asset.ready", ready, at=T0 + timedelta(seconds=30)))
    older = upload_asset_created(video)
    late = post(client, mux_event("video.upload.asset_created", older, at=T0))

    assert late.status_code == 200
    video.refresh_from_db()
    assert (video.status, video.playback_id) == ("ready", "pb-asset-1")
    assert video.state_at == T0 + timedelta(seconds=30)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_at_the_same_instant_ready_wins_over_preparing(client, video):
    post(client, mux_event("video.asset.ready", asset(video, status="ready"), at=T0))
    post(client, mux_event("video.asset.created", asset(video, status="preparing"), at=T0))

    video.refresh_from_db()
    assert video.status == "ready"


def test_an_errored_asset_records_mux_s_reason(client, video):
    errors = {"type": "invalid_input", "messages": ["The file is not a video."]}
    payload = mux_event(
        "video.asset.errored",
        asset(video, status="errored", errors=errors, playback_ids=[]),
        at=T0,
    )

    post(client, payload)

    video.refresh_from_db()
    assert (video.status, video.error, video.playback_id) == (
        "errored",
        "The file is not a video.",
        "",
    )


def test_a_ready_asset_without_a_playback_id_of_the_videos_policy_is_not_played_publicly(
    client, video
):
    data = asset(video, status="ready", playback_ids=[{"id": "pb-public", "policy": "public"}])

    post(client, mux_event("video.asset.ready", data, at=T0))

    video.refresh_from_db()
    assert (video.status, video.playback_id) == ("errored", "")
    assert video.error == "Mux gave the asset no signed playback id."


def test_a_public_preview_video_gets_its_public_playback_id(client):
    preview = Video.objects.create(
        title="Trailer", mux_upload_id="upload-9", playback_policy=Video.PlaybackPolicy.PUBLIC
    )
    data = asset(preview, status="ready", asset_id="asset-9")
    data["playback_ids"] = [
        {"id": "pb-signed", "policy": "signed"},
        {"id": "pb-public", "policy": "public"},
    ]

    post(client, mux_event("video.asset.ready", data, at=T0))

    preview.refresh_from_db()
    assert (preview.status, preview.playback_id) == ("ready", "pb-public")


def test_events_about_a_replaced_asset_do_not_touch_the_new_one(client, video):
    # The video was re-uploaded: it now waits for upload-2; the old asset is being deleted.
    video.mux_upload_id = "upload-2"
    video.save()
    old_asset = asset(video, status="ready", asset_id="asset-old")
    old_asset["upload_id"] = "upload-1"

    response = post(client, mux_event("video.asset.deleted", old_asset, at=T0))

    assert response.status_code == 200
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id) == ("waiting", None)


def test_an_asset_found_by_upload_id_when_passthrough_is_not_ours(client, video):
    data = asset(video, status="ready")
    data["passthrough"] = "someone-else"

    post(client, mux_event("video.asset.ready", data, at=T0))

    video.refresh_from_db()
    assert video.status == "ready"


def test_an_event_about_an_unknown_asset_is_processed_without_changes(client, video):
    data = {"id": "asset-x", "status": "ready", "playback_ids": [], "upload_id": "upload-x"}

    response = post(client, mux_event("video.asset.ready", data, at=T0))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "processed"
    video.refresh_from_db()
    assert video.status == "waiting"


def test_a_cancelled_upload_marks_the_video_errored(client, video):
    data = {"id": "upload-1", "status": "cancelled", "new_asset_settings": {}}

    post(client, mux_event("video.upload.cancelled", data, at=T0))

    video.refresh_from_db()
    assert (video.status, video.error) == ("errored", "The upload was cancelled.")


def test_state_applied_from_the_api_reports_whether_anything_changed(video):
    data = asset(video, status="ready", duration=3.5, aspect_ratio="4:3")

    first = video_state_apply(at=T0, **video_fields_from_asset(data))
    again = video_state_apply(at=T0 + timedelta(minutes=1), **video_fields_from_asset(data))
    stale = video_state_apply(
        at=T0 - timedelta(minutes=1), **video_fields_from_asset(asset(video, status="preparing"))
    )

    assert (first, again, stale) == (True, False, False)
    video.refresh_from_db()
    assert (video.status, video.duration_seconds, video.state_at) == (
        "ready",
        3.5,
        T0 + timedelta(minutes=1),
    )


def test_a_failing_handler_never_turns_the_delivery_into_a_500(client, video):
    # Another video already holds the asset id (data that cannot be applied): the handler
    # fails, the delivery is still acknowledged and the event waits, failed, for a retry.
    Video.objects.create(title="Other", mux_upload_id="upload-2", mux_asset_id="asset-1")

    response = post(client, mux_event("video.asset.ready", asset(video, status="ready"), at=T0))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("failed", 1)
    assert event.last_error.startswith("IntegrityError: ")
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id) == ("waiting", None)


@pytest.mark.parametrize(
    "header",
    ["t=,v1=", "t=abc,v1=00", "v1=00,t=1", "t=99999999999999999999999999,v1=00", ",,,", "t=1=2"],
)
def test_hostile_signature_headers_get_400_not_500(client, header):
    response = post(client, b'{"id": "x"}', header=header)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"


def test_a_signed_event_with_data_of_the_wrong_shapes_is_acknowledged_and_changes_nothing(
    client, video
):
    data = {
        "id": ["asset"],
        "upload_id": video.mux_upload_id,
        "passthrough": {"video": str(video.pk)},
        "status": ["ready"],
        "playback_ids": "pb-1",
        "duration": "long",
        "aspect_ratio": 16,
        "errors": "bad",
    }

    response = post(client, mux_event("video.asset.ready", data, at=T0))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "processed"
    video.refresh_from_db()
    assert (video.status, video.mux_asset_id, video.playback_id, video.aspect_ratio) == (
        "waiting",
        None,
        "",
        "",
    )


def test_a_delivery_costs_a_fixed_number_of_queries_stored_and_processed(
    client, video, django_assert_max_num_queries
):
    ready = mux_event("video.asset.ready", asset(video, status="ready"), at=T0)
    unknown = mux_event("video.asset.track.ready", {"id": "track-1"}, at=T0)

    # Six statements (find or insert the event; lock it; lock and update the video; update
    # the event), the rest are savepoints of the atomic blocks (they nest in the test's).
    with django_assert_max_num_queries(16):
        post(client, ready)
    with django_assert_max_num_queries(10):
        post(client, unknown)
    with django_assert_max_num_queries(6):
        post(client, ready)  # a duplicate: found, acknowledged

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed", "ignored"}
