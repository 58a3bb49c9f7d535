"""The dashboard benchmark's seeding and timing, on a small school."""

import pytest

from analytics.models import CourseDay
from bench.dashboard_bench import COURSE, LESSONS, measure, summary
from progress.models import Enrollment, LessonProgress, QuizAttempt


@pytest.mark.django_db
def test_the_dashboard_bench_seeds_a_course_rolls_it_up_and_times_its_page(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False

    figures = measure(learners=40, requests=2)

    assert Enrollment.objects.filter(course__slug=COURSE).count() == 40
    progress = LessonProgress.objects.filter(course__slug=COURSE)
    assert 40 <= progress.count() <= 40 * LESSONS
    assert progress.exclude(watched_ranges=[]).exists()
    assert QuizAttempt.objects.filter(lesson__course__slug=COURSE).exists()
    assert sum(CourseDay.objects.values_list("enrollments", flat=True)) == 40
    for name in ("page_30_days", "page_90_days", "csv_funnel_90_days"):
        assert figures[name]["requests"] == 2
        assert figures[name]["queries"] > 0
    assert summary(figures).startswith("Course dashboard, 40 learners: ")
    # A second run reuses the seeded course.
    again = measure(learners=40, requests=1)
    assert again["seeded_seconds"] is None
    assert Enrollment.objects.filter(course__slug=COURSE).count() == 40
