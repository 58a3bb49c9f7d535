"""The webhook inbox: stored once, processed once after commit, retried, reconciled, replayed."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from lms.errors import TransientError
from lms.models import WebhookEvent
from lms.tasks import webhook_events_reconcile
from lms.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    webhook_event_process,
    webhook_event_store,
    webhook_handler,
)

pytestmark = pytest.mark.django_db

PROVIDER = WebhookEvent.Provider.STRIPE
# What the test handlers below did, by event id; `failures_left` makes "test.flaky" fail.
runs: list[str] = []
failures_left: dict[str, int] = {}


@webhook_handler(PROVIDER, "lms-test.recorded")
def _record(event: WebhookEvent) -> None:
    runs.append(event.event_id)


@webhook_handler(PROVIDER, "lms-test.flaky")
def _flaky(event: WebhookEvent) -> None:
    runs.append(event.event_id)
    # A write that must not survive the failure.
    WebhookEvent.objects.create(
        provider=PROVIDER, event_id=f"side-effect-{event.event_id}", event_type="x", payload={}
    )
    if failures_left.get(event.event_id, 0) > 0:
        failures_left[event.event_id] -= 1
        raise ConnectionError("provider API unreachable")


@pytest.fixture(autouse=True)
def _clean_records():
    runs.clear()
    failures_left.clear()


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _store(event_id: str = "evt_1", event_type: str = "lms-test.recorded", **payload):
    return webhook_event_store(
        provider=PROVIDER,
        event_id=event_id,
        event_type=event_type,
        occurred_at=timezone.now(),
        payload={"id": event_id, **payload},
    )


def test_a_stored_event_is_processed_once_its_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event, created = _store()
    assert created is True
    assert runs == []  # nothing runs before the commit
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED

    for callback in callbacks:
        callback()

    event.refresh_from_db()
    assert runs == ["evt_1"]
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, "")
    assert event.processed_at is not None


def test_a_redelivered_event_returns_the_stored_copy_and_runs_the_handler_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        first, first_created = _store(amount=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, again_created = _store(amount=2)

    assert (first_created, again_created) == (True, False)
    assert again.pk == first.pk
    assert callbacks == []
    assert runs == ["evt_1"]
    assert WebhookEvent.objects.get().payload == {"id": "evt_1", "amount": 1}


def test_an_event_type_without_a_handler_is_stored_and_marked_ignored(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        event, _ = _store(event_type="lms-test.nobody-listens")

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("ignored", 1)
    assert event.processed_at is not None


def test_a_failing_handler_leaves_the_event_failed_with_its_error_and_none_of_its_writes():
    event, _ = WebhookEvent.objects.get_or_create(
        provider=PROVIDER, event_id="evt_flaky", event_type="lms-test.flaky", payload={}
    )
    failures_left["evt_flaky"] = 1

    with pytest.raises(TransientError) as raised:  # what the task retries
        webhook_event_process(event_id=event.pk)
    assert isinstance(raised.value.__cause__, ConnectionError)

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 1)
    assert event.last_error == "ConnectionError: provider API unreachable"
    assert event.processed_at is None
    assert not WebhookEvent.objects.filter(event_id="side-effect-evt_flaky").exists()

    webhook_event_process(event_id=event.pk)  # the retry

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 2, "")
    assert WebhookEvent.objects.filter(event_id="side-effect-evt_flaky").count() == 1


def test_processing_an_already_processed_event_again_does_nothing():
    event, _ = WebhookEvent.objects.get_or_create(
        provider=PROVIDER, event_id="evt_1", event_type="lms-test.recorded", payload={}
    )
    webhook_event_process(event_id=event.pk)
    webhook_event_process(event_id=event.pk)

    event.refresh_from_db()
    assert runs == ["evt_1"]
    assert (event.status, event.attempts) == ("processed", 1)


def test_a_second_handler_for_the_same_event_type_is_refused():
    with pytest.raises(ImproperlyConfigured):

        @webhook_handler(PROVIDER, "lms-test.recorded")
        def _other(event: WebhookEvent) -> None: ...


def _old_event(event_id: str, *, status: str, attempts: int = 0, age=timedelta(minutes=5)):
    return WebhookEvent.objects.create(
        provider=PROVIDER,
        event_id=event_id,
        event_type="lms-test.recorded",
        payload={},
        status=status,
        attempts=attempts,
        received_at=timezone.now() - age,
    )


def test_reconciliation_processes_events_left_received_or_failed_with_attempts_left():
    left_received = _old_event("evt_received", status="received")
    retryable = _old_event("evt_failed", status="failed", attempts=3)
    given_up = _old_event("evt_given_up", status="failed", attempts=WEBHOOK_MAX_ATTEMPTS)
    just_arrived = _old_event("evt_new", status="received", age=timedelta(seconds=5))
    done = _old_event("evt_done", status="processed", attempts=1)

    queued = webhook_events_reconcile.delay().get()

    assert queued == 2
    assert sorted(runs) == ["evt_failed", "evt_received"]
    statuses = {
        event.event_id: (event.status, event.attempts)
        for event in WebhookEvent.objects.filter(
            pk__in=[e.pk for e in (left_received, retryable, given_up, just_arrived, done)]
        )
    }
    assert statuses == {
        "evt_received": ("processed", 1),
        "evt_failed": ("processed", 4),
        "evt_given_up": ("failed", WEBHOOK_MAX_ATTEMPTS),
        "evt_new": ("received", 0),
        "evt_done": ("processed", 1),
    }


# --- Admin ---------------------------------------------------------------------------------

CHANGELIST = reverse("admin:lms_webhookevent_changelist")


def test_the_admin_shows_events_read_only_with_a_pretty_payload(staff_client):
    event = _old_event("evt_admin", status="processed", attempts=1)
    event.payload = {"type": "lms-test.recorded", "data": {"amount": 5}}
    event.save()

    change = staff_client.get(reverse("admin:lms_webhookevent_change", args=[event.pk]))
    add = staff_client.get(reverse("admin:lms_webhookevent_add"))
    delete = staff_client.get(reverse("admin:lms_webhookevent_delete", args=[event.pk]))
    edit = staff_client.post(
        reverse("admin:lms_webhookevent_change", args=[event.pk]), {"status": "failed"}
    )

    assert change.status_code == 200
    html = change.content.decode()
    assert "&quot;amount&quot;: 5" in html
    assert 'name="_save"' not in html
    assert (add.status_code, delete.status_code, edit.status_code) == (403, 403, 403)
    event.refresh_from_db()
    assert event.status == "processed"


def test_the_admin_filters_by_status_and_finds_an_event_by_its_id(staff_client):
    _old_event("evt_a", status="processed", attempts=1)
    _old_event("evt_b", status="failed", attempts=2)

    failed = staff_client.get(CHANGELIST, {"status__exact": "failed"})
    found = staff_client.get(CHANGELIST, {"q": "evt_a"})

    assert [e.event_id for e in failed.context["cl"].result_list] == ["evt_b"]
    assert [e.event_id for e in found.context["cl"].result_list] == ["evt_a"]


def test_replaying_events_from_the_admin_runs_their_handlers_again(staff_client):
    processed = _old_event("evt_processed", status="processed", attempts=1)
    failed = WebhookEvent.objects.create(
        provider=PROVIDER,
        event_id="evt_flaky",
        event_type="lms-test.flaky",
        payload={},
        status="failed",
        attempts=WEBHOOK_MAX_ATTEMPTS,
        last_error="ConnectionError: provider API unreachable",
    )

    response = staff_client.post(
        CHANGELIST,
        {"action": "replay_selected", "_selected_action": [processed.pk, failed.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Replayed 2 events." in response.content.decode()
    assert sorted(runs) == ["evt_flaky", "evt_processed"]
    processed.refresh_from_db()
    failed.refresh_from_db()
    assert (processed.status, processed.attempts) == ("processed", 2)
    assert (failed.status, failed.attempts, failed.last_error) == (
        "processed",
        WEBHOOK_MAX_ATTEMPTS + 1,
        "",
    )


def test_a_replay_that_fails_again_says_so_and_keeps_the_event_failed(staff_client):
    failed = WebhookEvent.objects.create(
        provider=PROVIDER, event_id="evt_flaky", event_type="lms-test.flaky", payload={}
    )
    failures_left["evt_flaky"] = 1

    response = staff_client.post(
        CHANGELIST, {"action": "replay_selected", "_selected_action": [failed.pk]}, follow=True
    )

    assert "Replay failed: evt_flaky: ConnectionError: provider API unreachable" in (
        response.content.decode()
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 1)


def test_staff_who_may_only_view_events_cannot_replay_them(client):
    from django.contrib.auth.models import Permission

    from accounts.tests.factories import UserFactory

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(viewer)
    event = _old_event("evt_view", status="failed", attempts=1)

    page = client.get(CHANGELIST)
    response = client.post(
        CHANGELIST, {"action": "replay_selected", "_selected_action": [event.pk]}
    )

    assert page.status_code == 200
    assert "replay_selected" not in page.content.decode()
    assert response.status_code in (200, 302)
    assert runs == []
    event.refresh_from_db()
    assert event.status == "failed"


def test_an_unknown_event_id_cannot_be_processed():
    with pytest.raises(WebhookEvent.DoesNotExist):
        webhook_event_process(event_id=uuid.uuid4())
