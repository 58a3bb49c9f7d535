"""The course dashboard's cohort filter: every chart (and its CSV) counts only the cohort's
members, only the course's own cohorts are offered, and the page costs the same queries
with or without a cohort, however many learners it has."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from analytics.tests.dashboard_school import School, learner_add, rollups_run, school_build
from analytics.tests.dashboard_school import today as analytics_today
from progress.cohorts.services import cohort_create, cohort_membership_join
from progress.models import Cohort

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_not_required(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


@pytest.fixture
def school() -> School:
    return school_build()


@pytest.fixture
def evens(school) -> Cohort:
    """Learners 0 and 2: they watch the whole video and answer the quiz right."""
    cohort = cohort_create(
        actor=school.ana, course=school.course, name="Evens", starts_on=dt.date(2026, 3, 2)
    )
    for learner in school.learners[::2]:
        cohort_membership_join(cohort=cohort, user=learner)
    return cohort


def dashboard_url(course, **query) -> str:
    url = reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _panels(response) -> dict:
    return {panel.key: panel for panel, _url in response.context["panels"]}


def _figures(panels: dict) -> dict:
    today = analytics_today()
    activity = next(row for row in panels["activity"].rows if row[0] == today)
    retention = {row[0]: row[2] for row in panels["retention"].rows}
    segments = {(row[0], row[1]): row[3] for row in panels["segments"].rows}
    quiz_first = panels["quiz"].rows[0]
    return {
        "enrollments": activity[1],
        "active": activity[2],
        "retention_at_60": retention[60],
        "rewatches_40_45": segments[(40.0, 45.0)],
        "quiz_attempts": quiz_first[1],
        "quiz_correct": quiz_first[2],
    }


def test_choosing_a_cohort_restricts_every_chart_to_its_members(client, school, evens):
    client.force_login(school.ana)

    everyone = client.get(dashboard_url(school.course))
    cohort = client.get(dashboard_url(school.course, cohort=evens.pk))

    assert everyone.status_code == cohort.status_code == 200
    assert _figures(_panels(everyone)) == {
        "enrollments": 4,
        "active": 4,
        "retention_at_60": 0.5,
        "rewatches_40_45": 4,
        "quiz_attempts": 4,
        "quiz_correct": 0.5,
    }
    assert _figures(_panels(cohort)) == {
        "enrollments": 2,
        "active": 2,
        "retention_at_60": 1.0,  # the evens watched it all
        "rewatches_40_45": 2,
        "quiz_attempts": 2,
        "quiz_correct": 1.0,
    }
    assert "Of the 2 learners who enrolled in the period" in _panels(cohort)["funnel"].svg
    content = cohort.content.decode()
    assert "members of the cohort <strong>Evens</strong> only" in content
    assert f'<option value="{evens.pk}" selected>Evens</option>' in content


def test_each_csv_link_carries_the_cohort_and_its_numbers_are_the_cohorts(client, school, evens):
    client.force_login(school.ana)
    response = client.get(dashboard_url(school.course, cohort=evens.pk))

    urls = {panel.key: url for panel, url in response.context["panels"]}
    assert all(f"cohort={evens.pk}" in url for url in urls.values())
    quiz = client.get(urls["quiz"])
    assert quiz.status_code == 200
    assert f"ana-salsa-quiz-cohort-{evens.pk}-" in quiz["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(quiz.content.decode())))
    assert rows[1][1:3] == ["2", "100.0"]  # two attempts, all correct


def test_only_the_courses_own_cohorts_are_offered_and_another_courses_is_refused(
    client, school, evens
):
    foreign = cohort_create(
        actor=school.bo, course=school.other, name="Bo's evening", starts_on=dt.date(2026, 3, 2)
    )
    client.force_login(school.ana)

    page = client.get(dashboard_url(school.course, cohort=foreign.pk))

    assert page.status_code == 200
    content = page.content.decode()
    assert "Bo&#x27;s evening" not in content and "Bo's evening" not in content
    assert "Select a valid choice." in content
    # Meanwhile the charts show everyone, as for any other error in the filter.
    assert _figures(_panels(page))["enrollments"] == 4
    csv_url = reverse("admin:analytics_coursedashboard_csv", args=[school.course.pk, "funnel"])
    response = client.get(f"{csv_url}?cohort={foreign.pk}")
    assert response.status_code == 400
    assert response.content.decode().startswith("cohort: Select a valid choice.")
    assert client.get(f"{csv_url}?cohort=not-a-number").status_code == 400


def test_a_course_without_cohorts_says_where_they_come_from(client, school):
    client.force_login(school.ana)

    content = client.get(dashboard_url(school.course)).content.decode()

    assert "Cohort filters come with cohorts: this course has none yet" in content
    assert 'name="cohort"' not in content


def test_the_cohort_dashboard_costs_the_same_queries_however_many_members(
    client, school, evens, django_assert_max_num_queries
):
    client.force_login(school.ana)
    client.get(dashboard_url(school.course, cohort=evens.pk))  # warm the session
    with django_assert_max_num_queries(40) as everyone:
        client.get(dashboard_url(school.course))
    with django_assert_max_num_queries(len(everyone.captured_queries)) as few:
        client.get(dashboard_url(school.course, cohort=evens.pk))
    for index in range(10, 30):
        cohort_membership_join(cohort=evens, user=learner_add(school, index))
    rollups_run()

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(dashboard_url(school.course, cohort=evens.pk))

    assert _figures(_panels(response))["enrollments"] == 22
