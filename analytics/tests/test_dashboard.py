"""The dashboards in the admin: who may open which, what the pages show, the CSV of each
chart, the date range form, and a query count that does not grow with the learners."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from accounts.roles import Role
from analytics.tests.dashboard_school import (
    School,
    learner_add,
    rollups_run,
    school_build,
    with_role,
)
from analytics.tests.dashboard_school import today as analytics_today
from progress.models import Enrollment

pytestmark = pytest.mark.django_db

INDEX_URL = reverse("admin:analytics_coursedashboard_changelist")
SCHOOL_URL = reverse("admin:analytics_coursedashboard_school")
ADMIN_INDEX = reverse("admin:index")


def dashboard_url(course) -> str:
    return reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk])


def csv_url(course, chart: str) -> str:
    return reverse("admin:analytics_coursedashboard_csv", args=[course.pk, chart])


def school_csv_url(chart: str) -> str:
    return reverse("admin:analytics_coursedashboard_school_csv", args=[chart])


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture(autouse=True)
def _mfa_not_required(settings):
    # About dashboards; accounts/tests/test_mfa_admin.py covers the admin's MFA step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


@pytest.fixture
def school() -> School:
    return school_build()


# --- Who sees what ----------------------------------------------------------------------------


def test_the_admin_index_links_instructors_and_staff_to_the_dashboards(client, school):
    for person in (school.ana, school.staff):
        client.force_login(person)
        app_list = client.get(ADMIN_INDEX).context["app_list"]
        analytics = next(app for app in app_list if app["app_label"] == "analytics")
        names = [model["object_name"] for model in analytics["models"]]
        assert "CourseDashboard" in names
        dashboards = next(m for m in analytics["models"] if m["object_name"] == "CourseDashboard")
        assert dashboards["admin_url"] == INDEX_URL


def test_an_instructors_index_lists_only_the_courses_they_teach(client, school):
    client.force_login(school.ana)

    response = client.get(INDEX_URL)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Ana salsa" in content and dashboard_url(school.course) in content
    assert "Bo bachata" not in content
    assert "School dashboard" not in content


def test_staff_see_every_course_and_the_school_dashboard(client, school):
    client.force_login(school.staff)

    content = client.get(INDEX_URL).content.decode()

    assert "Ana salsa" in content and "Bo bachata" in content
    assert SCHOOL_URL in content
    assert client.get(dashboard_url(school.other)).status_code == 200
    assert client.get(SCHOOL_URL).status_code == 200


def test_an_instructor_is_refused_another_instructors_dashboard_and_csv(client, school):
    client.force_login(school.ana)

    assert client.get(dashboard_url(school.other)).status_code == 404
    assert client.get(csv_url(school.other, "activity")).status_code == 404
    video = school.other.lessons.get()
    assert client.get(f"{csv_url(school.other, 'retention')}?lesson={video.pk}").status_code == 404
    # Nor may they ask their own course's CSV about another course's lesson.
    assert client.get(f"{csv_url(school.course, 'retention')}?lesson={video.pk}").status_code in (
        400,
        404,
    )


def test_instructors_do_not_see_the_school_dashboard(client, school):
    client.force_login(school.ana)

    assert client.get(SCHOOL_URL).status_code == 403
    assert client.get(school_csv_url("churn")).status_code == 403


@pytest.mark.parametrize("role", [Role.LEARNER, Role.MODERATOR])
def test_learners_and_moderators_get_no_dashboard(client, school, role):
    person = with_role(role, email=f"{role}@example.com")
    client.force_login(person)

    urls = [INDEX_URL, dashboard_url(school.course), csv_url(school.course, "funnel"), SCHOOL_URL]
    for url in urls:
        response = client.get(url)
        if role == Role.LEARNER:  # learners never enter the admin: its sign-in page
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))
        else:
            assert response.status_code == 403
    if role == Role.MODERATOR:
        app_labels = [app["app_label"] for app in client.get(ADMIN_INDEX).context["app_list"]]
        assert "analytics" not in app_labels


def test_anonymous_visitors_are_sent_to_sign_in(client, school):
    for url in (INDEX_URL, dashboard_url(school.course), csv_url(school.course, "quiz")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


# --- What the course dashboard shows ----------------------------------------------------------


def test_the_course_dashboard_shows_every_chart_with_its_table_and_csv_link(client, school):
    client.force_login(school.ana)

    response = client.get(dashboard_url(school.course))

    assert response.status_code == 200
    content = response.content.decode()
    # In the admin: its breadcrumbs back to the list of dashboards.
    assert '<div class="breadcrumbs">' in content and INDEX_URL in content
    for heading in (
        "Enrollments and active learners",
        "Completion funnel",
        "Video retention",
        "Rewatched and skipped segments",
        "Quiz item analysis",
    ):
        assert f">{heading}</h2>" in content
    assert content.count('role="img"') == 5
    assert content.count("<summary>Data table</summary>") == 5
    assert content.count(">Download CSV</a>") == 5
    assert "Cohort filters come with cohorts" in content
    assert "Bo secret lesson" not in content
    panels = {panel.key: panel for panel, _url in response.context["panels"]}
    # Four learners enrolled today: the activity table says so.
    today = analytics_today()
    assert next(row for row in panels["activity"].rows if row[0] == today)[1] == 4
    # Half the viewers (the even ones) watch past 50 s: 100% at 0 s, 50% at 60 s.
    retention = {row[0]: row[2] for row in panels["retention"].rows}
    assert retention[0] == 1.0 and retention[60] == 0.5
    # Everybody rewatched 40-50 s once.
    segments = {(row[0], row[1]): row[3] for row in panels["segments"].rows}
    assert segments[(40.0, 45.0)] == segments[(45.0, 50.0)] == 4
    assert segments[(0.0, 5.0)] == segments[(50.0, 55.0)] == 0  # 50 s is where it ends
    # Quiz: the first question right for half, "Three" the wrong answer chosen most.
    first = panels["quiz"].rows[0]
    assert first[0] == "Beats in a bar?"
    assert (first[1], first[2], first[3], first[4]) == (4, 0.5, "Three", 0.5)
    assert "50.0%" in content and "Three" in content


def test_a_course_without_video_or_quiz_says_what_is_missing(client, school):
    client.force_login(school.bo)
    school.other.lessons.update(kind="text")

    content = client.get(dashboard_url(school.other)).content.decode()

    assert "no published video lesson" in content
    assert "no published quiz" in content
    assert content.count('role="img"') == 2


def test_the_date_range_applies_to_every_chart(client, school):
    client.force_login(school.ana)
    today = analytics_today()
    start = today - dt.timedelta(days=9)

    response = client.get(
        dashboard_url(school.course), {"range": "custom", "start": start, "end": today}
    )

    assert response.status_code == 200
    period = response.context["period"]
    assert (period.start, period.end) == (start, today)
    panels = {panel.key: panel for panel, _url in response.context["panels"]}
    assert next(row[0] for row in panels["activity"].rows) == start
    assert len(panels["activity"].rows) == 10
    for _panel, url in response.context["panels"]:
        assert f"start={start}" in url and f"end={today}" in url

    # A period before anything happened shows nothing.
    earlier = {"range": "custom", "start": start - dt.timedelta(days=30), "end": start}
    panels = {
        panel.key: panel
        for panel, _url in client.get(dashboard_url(school.course), earlier).context["panels"]
    }
    assert sum(row[1] for row in panels["activity"].rows) == 0
    assert panels["quiz"].rows[0][1] == 0
    assert all(row[2] == 0 for row in panels["retention"].rows)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "custom"}, "Choose the first day."),
        ({"range": "custom", "start": "2026-02-30", "end": "2026-03-01"}, "Enter a valid date."),
        ({"range": "custom", "start": "2026-03-05", "end": "2026-03-01"}, "on or before"),
        ({"range": "custom", "start": "2020-01-01", "end": "2024-01-01"}, "at most 366 days"),
        ({"range": "custom", "start": "2026-01-01", "end": "2999-01-01"}, "after today"),
        ({"range": "12"}, "Select a valid choice."),
    ],
)
def test_a_bad_range_is_a_form_error_and_the_charts_show_the_last_30_days(
    client, school, query, message
):
    client.force_login(school.ana)

    response = client.get(dashboard_url(school.course), query)

    assert response.status_code == 200
    content = response.content.decode()
    assert message in content
    assert "Please correct the errors below" in content
    assert response.context["period"].days == 30
    csv_response = client.get(csv_url(school.course, "activity"), query)
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_presets_show_the_last_7_30_or_90_days(client, school):
    client.force_login(school.ana)
    for days in (7, 30, 90):
        response = client.get(dashboard_url(school.course), {"range": str(days)})
        period = response.context["period"]
        assert (period.days, period.end) == (days, analytics_today())


def test_each_charts_csv_has_the_numbers_of_its_table(client, school):
    client.force_login(school.ana)
    response = client.get(dashboard_url(school.course), {"range": "7"})

    for panel, url in response.context["panels"]:
        csv_response = client.get(url)
        assert csv_response.status_code == 200
        assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
        period = response.context["period"]
        assert csv_response["Content-Disposition"] == (
            f'attachment; filename="ana-salsa-{panel.key}-{period.start}-{period.end}.csv"'
        )
        header, *rows = read_csv(csv_response)
        assert header == [c.label + c.csv_suffix for c in panel.columns]
        shown = [[text for text, _numeric in row] for row in panel.table()]
        assert len(rows) == len(shown)
        for csv_row, table_row in zip(rows, shown, strict=True):
            for column, csv_cell, table_cell in zip(panel.columns, csv_row, table_row, strict=True):
                if column.csv_suffix == " (%)":
                    assert table_cell == f"{csv_cell}%"
                elif column.numeric:
                    assert table_cell.replace(",", "") == csv_cell
                elif column.label != "Day":
                    assert table_cell == csv_cell


def test_the_quiz_csv_reads_like_a_spreadsheet(client, school):
    client.force_login(school.ana)
    today = analytics_today()

    response = client.get(
        csv_url(school.course, "quiz"),
        {"range": "custom", "start": today, "end": today, "lesson": school.quiz.pk},
    )

    rows = read_csv(response)
    assert rows[0] == [
        "Question",
        "Attempts",
        "Correct (%)",
        "Wrong answer chosen most",
        "Chosen by (%)",
    ]
    assert rows[1] == ["Beats in a bar?", "4", "50.0", "Three", "50.0"]


def test_a_per_lesson_csv_needs_one_of_the_courses_lessons(client, school):
    client.force_login(school.ana)

    assert client.get(csv_url(school.course, "retention")).status_code in (400, 404)
    assert client.get(csv_url(school.course, "nonsense")).status_code == 404
    assert client.get(f"{csv_url(school.course, 'retention')}?lesson=x").status_code == 400


def test_cells_that_a_spreadsheet_would_run_are_written_as_text(client, school):
    client.force_login(school.ana)
    school.text.title = "=HYPERLINK(1)"
    school.text.save()

    rows = read_csv(client.get(csv_url(school.course, "funnel")))

    assert ["Basics", "'=HYPERLINK(1)", "0", "0.0"] in rows


# --- The school dashboard ---------------------------------------------------------------------


def test_the_school_dashboard_shows_signups_subscribers_mrr_and_churn(client, school):
    client.force_login(school.staff)

    response = client.get(SCHOOL_URL)

    content = response.content.decode()
    for heading in ("Signups and active learners", "Subscribers by tier", "MRR by tier", "Churn"):
        assert f">{heading}</h2>" in content
    assert content.count('role="img"') == 4
    for panel, url in response.context["panels"]:
        csv_response = client.get(url)
        assert csv_response.status_code == 200
        assert f"school-{panel.key}-" in csv_response["Content-Disposition"]


# --- Cost ---------------------------------------------------------------------------------------


def test_the_dashboard_costs_the_same_queries_however_many_learners(
    client, school, django_assert_max_num_queries
):
    client.force_login(school.ana)
    client.get(dashboard_url(school.course))  # warm the session and the content types
    with django_assert_max_num_queries(40) as few:
        client.get(dashboard_url(school.course))
    for index in range(10, 30):
        learner_add(school, index)
    rollups_run()
    assert Enrollment.objects.filter(course=school.course).count() == 24

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(dashboard_url(school.course))

    assert response.status_code == 200
