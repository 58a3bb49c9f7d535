"""The event store in the admin: staff look, filter and search; nobody edits."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from analytics.models import Event

pytestmark = pytest.mark.django_db

URL = "/admin/analytics/event/"


@pytest.fixture
def events():
    learner = UserFactory(email="ana@example.com")
    now = timezone.now()
    rows = [
        ("video.seek", "client", "web", learner, {"from": 10.0, "to": 2.0}),
        ("video.play", "client", "ios", None, {"position": 0.0}),
        ("enrollment.created", "server", "server", learner, {"source": "self"}),
    ]
    return [
        Event.objects.create(
            event_id=uuid.uuid4(),
            type=type,
            source=source,
            app=app,
            user=user,
            occurred_at=now - timedelta(minutes=index),
            properties=properties,
        )
        for index, (type, source, app, user, properties) in enumerate(rows)
    ]


def listed(response) -> int:
    return response.content.decode().count('class="field-type"')


def test_staff_filter_events_by_type_source_and_app(staff_client, events):
    assert listed(staff_client.get(URL)) == 3
    assert listed(staff_client.get(URL, {"type": "video.seek"})) == 1
    assert listed(staff_client.get(URL, {"source__exact": "server"})) == 1
    response = staff_client.get(URL, {"app": "ios"})
    assert listed(response) == 1
    assert "video.play" in response.content.decode()
    assert listed(staff_client.get(URL, {"q": "ana@example.com"})) == 2
    day = events[0].occurred_at
    by_day = {
        "occurred_at__year": day.year,
        "occurred_at__month": day.month,
        "occurred_at__day": day.day,
    }
    assert staff_client.get(URL, by_day).status_code == 200


def test_an_event_is_shown_read_only_and_cannot_be_added_or_deleted(staff_client, events):
    event = events[0]
    page = staff_client.get(f"{URL}{event.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "video.seek" in text and str(event.event_id) in text
    assert 'name="_save"' not in text
    assert staff_client.get(f"{URL}add/").status_code == 403
    assert staff_client.post(f"{URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_learners_do_not_see_the_event_store(user_client, events):
    assert user_client.get(URL).status_code == 302
