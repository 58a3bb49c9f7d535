"""In a browser: an instructor signs in, finds the dashboards in the admin, reads their
course's charts (and no one else's), changes the date range, downloads a chart's CSV, and
axe-core finds no serious violation on the page."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.urls import reverse

from analytics.tests.dashboard_school import PASSWORD, school_build
from analytics.tests.dashboard_school import today as analytics_today


def dashboard_url(course) -> str:
    return reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_instructor_reads_their_dashboard_changes_the_range_and_downloads_a_csv(
    browser, live_server, settings
):
    from playwright.sync_api import expect

    from lms.tests.browser import DESKTOP, axe_serious_violations, screenshot, sign_in

    settings.LMS_ADMIN_REQUIRE_MFA = False
    school = school_build()
    today = analytics_today()
    start = today - dt.timedelta(days=13)
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()

    sign_in(page, live_server.url, email="ana@example.com", password=PASSWORD)
    page.goto(f"{live_server.url}/admin/")
    main = page.locator("#content-main")
    main.get_by_role("link", name="Course dashboards").click()
    expect(main.get_by_role("link", name="Ana salsa")).to_be_visible()
    expect(main.get_by_text("Bo bachata")).to_have_count(0)
    main.get_by_role("link", name="Ana salsa").click()

    expect(page.get_by_role("heading", name="Dashboard: Ana salsa")).to_be_visible()
    for chart in (
        "Enrollments and active learners per day",
        "Completion funnel by lesson",
        "Retention: Basic step video",
        "Rewatched and skipped parts: Basic step video",
        "Share correct per question: Timing quiz",
    ):
        expect(page.get_by_role("img", name=chart)).to_be_visible()
    expect(page.get_by_text("Bo secret lesson")).to_have_count(0)
    expect(page.get_by_text("Last 30 days").first).to_be_attached()

    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(start.isoformat())
    page.get_by_label("To", exact=True).fill(today.isoformat())
    page.get_by_role("button", name="Apply").click()

    expect(page.locator(".dashboard-period")).to_contain_text("(14 days)")
    assert f"start={start.isoformat()}" in page.url
    quiz = page.locator("#panel-quiz")
    quiz.get_by_text("Data table").click()
    expect(quiz.get_by_role("cell", name="Beats in a bar?")).to_be_visible()
    expect(quiz.get_by_role("cell", name="Three")).to_be_visible()

    with page.expect_download() as download_info:
        quiz.get_by_role("link", name="Download CSV: Quiz item analysis").click()
    download = download_info.value
    assert download.suggested_filename == f"ana-salsa-quiz-{start}-{today}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[1] == ["Beats in a bar?", "4", "50.0", "Three", "50.0"]

    assert axe_serious_violations(page) == []
    page.evaluate("window.scrollTo(0, 0)")  # the admin's sticky sidebar beside the top
    screenshot(page, "analytics-dashboard-desktop")

    # Another instructor's course does not exist for Ana.
    other = page.request.get(f"{live_server.url}{dashboard_url(school.other)}")
    assert other.status == 404
    context.close()
