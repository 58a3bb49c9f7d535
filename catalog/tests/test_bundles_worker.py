"""Bundle builds with a real broker and worker: changes committed while a build waits its
`LMS_BUNDLE_BUILD_DELAY_SECONDS` share that build, and a change after it starts gets its own.

The worker is a separate `celery worker` process on Redis, reading the test database (so this
needs PostgreSQL as well); the test process publishes the builds its edits queue.
"""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from catalog.bundles.models import SectionBundle
from catalog.models import Lesson
from catalog.services import lesson_update
from catalog.tests.test_bundles_build import current, salsa_course
from lms.tests.worker import database_url_for_worker, tasks_published_to, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 45
BUILD_RAN = re.compile(r"Task catalog\.bundles\.tasks\.course_bundles_build\[[^]]+\] succeeded")


@pytest.fixture
def worker_log(tmp_path: Path, settings) -> Iterator[Path]:
    """A worker on the default queue; the test's edits publish their builds to it."""
    settings.LMS_BUNDLE_BUILD_DELAY_SECONDS = 2
    broker_url = os.environ["REDIS_URL"]  # the `worker` marker skips when it is unset
    redis.Redis.from_url(broker_url).delete("default")  # earlier runs' leftovers
    log_path = tmp_path / "worker.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="lms.settings",
        DATABASE_URL=database_url_for_worker(tmp_path),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    with tasks_published_to(broker_url):
        process = worker_start(
            queues="default", name="bundles-test", environment=environment, log_path=log_path
        )
        try:
            yield log_path
        finally:
            worker_stop(process)


def _builds_run(log_path: Path) -> int:
    return len(BUILD_RAN.findall(log_path.read_text(errors="replace")))


def _wait_for_title(course, title: str, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        basics = current(course).get("Basics")
        if basics is not None and basics.manifest["lessons"][0]["title"] == title:
            return
        time.sleep(0.2)
    pytest.fail(f"no bundle with {title!r} in {WAIT_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def test_changes_while_a_build_waits_share_it_and_later_ones_get_their_own(worker_log):
    course = salsa_course()  # no bundles yet: the first build makes them
    lesson = Lesson.objects.get(slug="basic-step")

    for title in ("Side step", "Cross step", "Back step"):  # three commits within the delay
        lesson_update(lesson=lesson, data={"title": title})
    _wait_for_title(course, "Back step", worker_log)
    time.sleep(3)  # any other build queued by those edits would have run by now

    assert _builds_run(worker_log) == 1
    assert SectionBundle.objects.filter(section__title="Basics").count() == 1

    lesson_update(lesson=lesson, data={"title": "Box step"})  # after the build: its own
    _wait_for_title(course, "Box step", worker_log)

    assert _builds_run(worker_log) == 2
    assert SectionBundle.objects.filter(section__title="Basics").count() == 2
