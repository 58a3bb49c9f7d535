"""The learner pages, webhooks and targets of `make bench`, against the real views."""

import json

import pytest
from django.test import Client

from bench.inprocess import figures_for
from bench.learners import READER_EMAIL, reader_ensure, reader_session, sweep_course_ensure
from bench.report import targets_evaluate
from bench.webhooks import mux_calls, stripe_calls


@pytest.mark.django_db
def test_the_sweep_course_and_the_reader_with_progress_and_a_browser_session():
    from progress.models import LessonProgress

    course = sweep_course_ensure(lessons=20)
    again = sweep_course_ensure(lessons=20)  # made once
    reader_ensure(password="bench-password-1", courses=[course.slug])
    reader = reader_ensure(password="bench-password-2", courses=[course.slug])  # adds nothing
    cookie = reader_session(reader)["cookie"]

    assert again.pk == course.pk and course.lessons.count() == 20
    assert reader.email == READER_EMAIL
    done = LessonProgress.objects.filter(user=reader, status=LessonProgress.Status.COMPLETED)
    assert done.count() == 6  # 30% of 20
    # The session cookie alone signs a browser in: My learning lists the course.
    response = Client(HTTP_COOKIE=cookie).get("/learn/")
    assert response.status_code == 200
    assert course.title in response.content.decode()


@pytest.mark.django_db
def test_webhook_deliveries_are_accepted_as_new_events_every_time(client, settings):
    from lms.models import WebhookEvent

    settings.STRIPE_WEBHOOK_SECRET = "whsec_bench"
    settings.MUX_WEBHOOK_SECRETS = ["mux-bench"]
    calls = [
        call_for(0, number)
        for call_for in (stripe_calls(secret="whsec_bench"), mux_calls(secret="mux-bench"))
        for number in range(2)
    ]

    answers = [
        client.generic(
            call.method,
            call.path,
            call.body,
            content_type="application/json",
            headers=call.headers,
        )
        for call in calls
    ]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert {answer.json()["duplicate"] for answer in answers} == {False}
    assert WebhookEvent.objects.count() == 4


@pytest.mark.django_db
def test_in_process_figures_count_queries_and_statuses():
    figures = figures_for(
        Client(raise_request_exception=False),
        [{"method": "GET", "path": "/healthz", "body": None, "headers": {}}] * 7
        + [{"method": "GET", "path": "/courses/nowhere/", "body": None, "headers": {}}] * 3,
    )

    assert figures["statuses"] == {"200": 5, "404": 3}  # the first 2 only warm up
    assert figures["ms_p50"] > 0
    assert figures["queries"] >= 1  # the missing course was looked up


def test_targets_compare_with_healthz_and_the_sweep_with_its_smallest_course():
    results = {
        "healthz": {"rps": 1000.0},
        "home": {"rps": 700.0},
        "course_learner_200": {"rps": 200.0},
        "sync": {"rps": 60.0, "inprocess": {"queries": 9}},
        "sweep_lesson_learner_20": {"rps": 300.0},
        "sweep_lesson_learner_1000": {"rps": 100.0},
    }

    rows = {
        row["target"]: row
        for row in targets_evaluate(results, sync_batch=500, sweep_sizes=[20, 1000])
    }

    assert rows["home, anonymous"]["met"] is True
    assert rows["course page (200), signed-in learner"]["met"] is False  # 0.20 < 0.25
    assert rows["catalog, anonymous"]["met"] is None  # not measured
    assert rows["sync, 500-event batch: events/s"]["met"] is True  # 30,000
    assert rows["sync, 500-event batch: queries"]["met"] is True
    lesson = rows["lesson page, signed in: cost at 1,000 / at 20 lessons"]
    assert (lesson["shown"], lesson["met"]) == ("3.00x", False)
    json.dumps(rows)  # saved as JSON
