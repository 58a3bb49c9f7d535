"""Raw events past LMS_ANALYTICS_RETENTION_DAYS are purged by a beat task in bounded batches
that queue themselves until nothing expired is left."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analytics.models import Event
from analytics.tasks import events_purge

pytestmark = pytest.mark.django_db


def events_received(days_ago: float, count: int) -> list[Event]:
    at = timezone.now() - timedelta(days=days_ago)
    return Event.objects.bulk_create(
        Event(
            event_id=uuid.uuid4(),
            type="app.opened",
            source="client",
            app="web",
            occurred_at=at,
            received_at=at,
        )
        for _ in range(count)
    )


def test_the_purge_deletes_expired_events_in_batches_until_none_is_left(settings):
    settings.LMS_ANALYTICS_RETENTION_DAYS = 90
    events_received(200, 7)
    events_received(91, 5)
    kept = events_received(89, 4) + events_received(0, 2)

    # Eager Celery: each full batch queues the next one, run at once, until one is short.
    deleted = events_purge.delay(batch_size=5).get()

    assert deleted == 5  # the first batch; the two after it deleted 5 and 2
    assert sorted(Event.objects.values_list("pk", flat=True)) == sorted(e.pk for e in kept)
    assert events_purge.delay(batch_size=5).get() == 0


def test_a_retention_of_zero_keeps_every_event(settings):
    settings.LMS_ANALYTICS_RETENTION_DAYS = 0
    events_received(5000, 3)

    assert events_purge.delay().get() == 0
    assert Event.objects.count() == 3


def test_beat_runs_the_purge():
    entry = settings.CELERY_BEAT_SCHEDULE["analytics-events-purge"]
    assert entry["task"] == events_purge.name == "analytics.tasks.events.events_purge"
