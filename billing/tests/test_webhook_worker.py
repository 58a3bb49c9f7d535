"""Nothing is lost while the worker is down: Stripe's events are stored and acknowledged, wait
in the broker, and a real `celery worker` started later applies them.

The worker is a separate process: it reads the test database (so this needs PostgreSQL as
well as Redis) and talks to the loopback fake Stripe, whose address and key it gets from its
environment like any deployment would. It also consumes the email queue, delivering to files.
"""

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.entitlements import user_active_tier_rank
from billing.models import BillingNotice, Subscription
from billing.services import checkout_session_create, plan_ensure, tier_ensure
from billing.tests.fake_stripe import (
    API_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    fake_stripe_fixture,  # noqa: F401
    webhook_post,
)
from lms.email import EMAIL_QUEUE
from lms.models import WebhookEvent
from lms.tests.worker import (
    database_url_for_worker,
    tasks_published_to,
    worker_start,
    worker_stop,
)
from lms.webhooks import WEBHOOK_QUEUE

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 45


@pytest.fixture
def start_worker(tmp_path: Path, fake_stripe: FakeStripe) -> Iterator[Callable[[], Path]]:
    """Publish tasks to Redis instead of running them; `start_worker()` starts a worker on the
    webhooks and email queues, pointed at the fake Stripe, and returns its log file."""
    broker_url = os.environ["REDIS_URL"]  # the `worker` marker skips when it is unset
    redis.Redis.from_url(broker_url).delete(WEBHOOK_QUEUE, EMAIL_QUEUE)  # earlier runs' leftovers
    processes: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> Path:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
        environment.update(
            DJANGO_SETTINGS_MODULE="lms.settings",
            DATABASE_URL=database_url_for_worker(tmp_path),
            CELERY_BROKER_URL=broker_url,
            CELERY_TASK_ALWAYS_EAGER="false",
            STRIPE_SECRET_KEY=API_KEY,
            STRIPE_API_BASE=fake_stripe.url,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            # django-environ drops one slash of the path: "filemail:///" + "/tmp/..."
            EMAIL_URL=f"filemail:///{tmp_path / 'mail'}",
        )
        processes.append(
            worker_start(
                queues=f"{WEBHOOK_QUEUE},{EMAIL_QUEUE}",
                name="stripe-webhooks-test",
                environment=environment,
                log_path=log_path,
            )
        )
        return log_path

    with tasks_published_to(broker_url):
        try:
            yield start
        finally:
            for process in processes:
                worker_stop(process)
            redis.Redis.from_url(broker_url).delete(WEBHOOK_QUEUE, EMAIL_QUEUE)


def _wait_for(done: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return done()


def test_stripe_events_that_arrive_while_the_worker_is_down_are_applied_when_it_returns(
    client, fake_stripe, start_worker, tmp_path
):
    tier = tier_ensure(slug="advanced", name="Advanced", rank=2)
    plan = plan_ensure(
        slug="advanced", tier=tier, name="Advanced", stripe_price_monthly="price_advanced_month"
    )
    user = UserFactory(email="dancer@example.com")
    url = checkout_session_create(
        user=user,
        plan=plan,
        interval="month",
        success_url="http://testserver/billing/checkout/success/",
        cancel_url="http://testserver/billing/checkout/cancel/",
    )
    events = fake_stripe.checkout_complete(url.rsplit("/", 1)[1])

    responses = [webhook_post(client, event) for event in events]

    assert [(r.status_code, r.json()) for r in responses] == [
        (200, {"received": True, "duplicate": False})
    ] * len(events)
    time.sleep(1)  # no worker: nothing may process them
    assert sorted(WebhookEvent.objects.values_list("event_id", "status", "attempts")) == sorted(
        (event["id"], "received", 0) for event in events
    )
    assert not Subscription.objects.exists()
    assert user_active_tier_rank(user=User.objects.get(pk=user.pk)) is None

    log_path = start_worker()

    received = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
    mail_dir = tmp_path / "mail"
    delivered = _wait_for(lambda: not received.exists() and any(mail_dir.glob("*.log")))
    log = log_path.read_text(errors="replace")[-4000:]
    assert delivered, log
    assert sorted(WebhookEvent.objects.values_list("event_id", "status", "attempts")) == sorted(
        (event["id"], "processed", 1) for event in events
    ), log
    subscription = Subscription.objects.get()
    remote = fake_stripe.subscriptions[subscription.stripe_id]
    assert (subscription.user_id, subscription.plan, subscription.status) == (
        user.pk,
        plan,
        "active",
    )
    assert (
        subscription.current_period_end.timestamp()
        == (remote["items"]["data"][0]["current_period_end"])
    )
    assert user_active_tier_rank(user=User.objects.get(pk=user.pk)) == 2
    assert list(BillingNotice.objects.values_list("kind", flat=True)) == ["started"]
    (mail,) = [path.read_text() for path in mail_dir.glob("*.log")]
    assert "To: dancer@example.com" in mail
