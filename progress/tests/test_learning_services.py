"""The progress engine: completions, heartbeats, XP, streaks, course completion, replays."""

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.errors import ApplicationError, ErrorCode
from progress.models import (
    ActivityDay,
    Certificate,
    Enrollment,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    XPAward,
)
from progress.selectors import course_progress_get, stats_view
from progress.services import (
    ProgressEventIn,
    enrollment_unenroll,
    learner_stats_rebuild,
    lesson_complete,
    lesson_position_save,
    progress_apply,
)

pytestmark = pytest.mark.django_db


def course_of(*kinds: str, **course_kwargs) -> tuple[Course, list[Lesson]]:
    course = CourseFactory(**course_kwargs)
    section = SectionFactory(course=course, order=1)
    lessons = [
        LessonFactory(section=section, kind=kind, order=index, xp_value=10, duration_seconds=100)
        for index, kind in enumerate(kinds)
    ]
    return course, lessons


def heartbeats(lesson: Lesson, positions: list[float], *, start: datetime, every: float = 10):
    return [
        ProgressEventIn(
            kind="position",
            lesson_id=lesson.pk,
            client_id=uuid.uuid4(),
            occurred_at=start + timedelta(seconds=every * index),
            position_seconds=position,
        )
        for index, position in enumerate(positions)
    ]


# --- Completing lessons -----------------------------------------------------------------------
def test_completing_a_text_lesson_marks_it_awards_its_xp_and_enrolls():
    user = UserFactory()
    course, (lesson, _other) = course_of("text", "text")

    outcome = lesson_complete(user=user, lesson=lesson)

    row = LessonProgress.objects.get(user=user, lesson=lesson)
    assert row.status == LessonProgress.Status.COMPLETED
    assert row.completed_at is not None
    assert outcome.xp_awarded == 10
    assert outcome.completed_lessons == [lesson]
    assert list(XPAward.objects.filter(user=user).values_list("source_key", "amount")) == [
        (f"lesson:{lesson.pk}", 10)
    ]
    assert LearnerStats.objects.get(user=user).xp_total == 10
    enrollment = Enrollment.objects.get(user=user, course=course)
    assert enrollment.last_lesson == lesson
    assert enrollment.completed_at is None


def test_completing_twice_awards_xp_once_and_keeps_one_row():
    user = UserFactory()
    _course, (lesson, _other) = course_of("text", "text")

    lesson_complete(user=user, lesson=lesson)
    first = LessonProgress.objects.get(user=user, lesson=lesson)
    again = lesson_complete(user=user, lesson=lesson)

    assert again.xp_awarded == 0
    assert again.completed_lessons == []
    assert LessonProgress.objects.filter(user=user, lesson=lesson).count() == 1
    assert LessonProgress.objects.get(pk=first.pk).completed_at == first.completed_at
    assert XPAward.objects.filter(user=user).count() == 1
    assert LearnerStats.objects.get(user=user).xp_total == 10


@pytest.mark.parametrize("kind", ["video", "quiz"])
def test_video_and_quiz_lessons_cannot_be_marked_complete_by_hand(kind):
    user = UserFactory()
    _course, (lesson,) = course_of(kind)

    with pytest.raises(ApplicationError) as error:
        lesson_complete(user=user, lesson=lesson)

    assert error.value.code == ErrorCode.COMPLETION_NOT_MANUAL
    assert not LessonProgress.objects.filter(user=user).exists()
    assert not XPAward.objects.exists()


def test_a_paid_lesson_without_the_tier_is_refused_and_nothing_is_written():
    user = UserFactory()
    tier = TierFactory()
    _course, (lesson,) = course_of("text", visibility=Course.Visibility.PAID, required_tier=tier)

    with pytest.raises(ApplicationError) as error:
        lesson_complete(user=user, lesson=lesson)

    assert error.value.code == ErrorCode.UPGRADE_REQUIRED
    assert not LessonProgress.objects.exists()
    assert not Enrollment.objects.exists()


def test_a_free_preview_of_a_paid_course_can_be_completed():
    user = UserFactory()
    _course, (lesson,) = course_of(
        "text", visibility=Course.Visibility.PAID, required_tier=TierFactory()
    )
    Lesson.objects.filter(pk=lesson.pk).update(is_free_preview=True)
    lesson.refresh_from_db()

    lesson_complete(user=user, lesson=lesson)

    assert LessonProgress.objects.get(user=user).is_completed


def test_a_boss_lesson_awards_its_bonus_once(settings):
    settings.LMS_XP_BOSS_BONUS = 50
    user = UserFactory()
    _course, (lesson, _other) = course_of("text", "text")
    Lesson.objects.filter(pk=lesson.pk).update(is_boss=True)
    lesson.refresh_from_db()

    lesson_complete(user=user, lesson=lesson)
    lesson_complete(user=user, lesson=lesson)

    assert sorted(XPAward.objects.values_list("reason", "amount")) == [
        ("boss_bonus", 50),
        ("lesson_completed", 10),
    ]


# --- Courses: completion, progress %, certificates ------------------------------------------
def test_completing_every_required_lesson_completes_the_course_once(settings):
    settings.LMS_XP_COURSE_COMPLETE = 100
    user = UserFactory(display_name="Ada Lovelace")
    course, (first, second, optional) = course_of("text", "lab", "text")
    Lesson.objects.filter(pk=optional.pk).update(is_required=False)

    lesson_complete(user=user, lesson=first)
    assert Enrollment.objects.get(user=user).completed_at is None
    outcome = lesson_complete(user=user, lesson=second)

    assert outcome.completed_courses == [course]
    assert outcome.xp_awarded == 10 + 100
    enrollment = Enrollment.objects.get(user=user)
    assert enrollment.completed_at is not None
    certificate = Certificate.objects.get(user=user, course=course)
    assert (certificate.learner_name, certificate.course_title) == ("Ada Lovelace", course.title)
    assert outcome.certificates == [certificate]

    # Unenrolling and completing the optional lesson later issues nothing new.
    enrollment_unenroll(user=user, course=course)
    lesson_complete(user=user, lesson=optional)
    assert Certificate.objects.filter(user=user).count() == 1
    assert XPAward.objects.filter(user=user, reason="course_completed").count() == 1
    assert Enrollment.objects.get(user=user).unenrolled_at is None  # learning re-enrolls


def test_draft_lessons_do_not_count_towards_progress_or_completion():
    user = UserFactory()
    course, (first, draft) = course_of("text", "text")
    Lesson.objects.filter(pk=draft.pk).update(is_published=False)

    lesson_complete(user=user, lesson=first)

    progress = course_progress_get(user=user, course=course)
    assert (progress.completed_count, progress.total_count, progress.percent) == (1, 1, 100)
    assert progress.is_completed


def test_progress_percent_rounds_down_and_stays_within_0_and_100():
    user = UserFactory()
    course, lessons = course_of("text", "text", "text")

    assert course_progress_get(user=user, course=course).percent == 0
    lesson_complete(user=user, lesson=lessons[0])
    assert course_progress_get(user=user, course=course).percent == 33
    for lesson in lessons[1:]:
        lesson_complete(user=user, lesson=lesson)
    assert course_progress_get(user=user, course=course).percent == 100


def test_a_course_without_lessons_is_at_zero_percent_and_never_completed():
    user = UserFactory()
    course = CourseFactory()

    progress = course_progress_get(user=user, course=course)

    assert (progress.completed_count, progress.total_count, progress.percent) == (0, 0, 0)
    assert not progress.is_completed


def test_resume_points_at_the_last_lesson_worked_on_with_its_position():
    user = UserFactory()
    course, (text, video) = course_of("text", "video")
    lesson_complete(user=user, lesson=text)
    lesson_position_save(user=user, lesson=video, position_seconds=42.5)

    resume = course_progress_get(user=user, course=course).resume

    assert resume.lesson == video
    assert resume.position_seconds == 42.5


# --- Video heartbeats -------------------------------------------------------------------------
def test_a_single_heartbeat_at_the_end_does_not_complete_a_video():
    user = UserFactory()
    _course, (video,) = course_of("video")

    lesson_position_save(user=user, lesson=video, position_seconds=100)

    row = LessonProgress.objects.get(user=user, lesson=video)
    assert row.status == LessonProgress.Status.IN_PROGRESS
    assert row.watched_seconds == 0
    assert row.position_seconds == 100


def test_jumping_from_the_start_to_the_end_is_seeking_not_watching():
    user = UserFactory()
    _course, (video,) = course_of("video")
    start = timezone.now() - timedelta(minutes=5)

    progress_apply(user=user, events=heartbeats(video, [0, 100], start=start, every=5))

    row = LessonProgress.objects.get(user=user, lesson=video)
    assert row.status == LessonProgress.Status.IN_PROGRESS
    assert row.watched_seconds == 0


def test_watching_ninety_percent_at_plausible_speed_completes_the_video():
    user = UserFactory()
    _course, (video, _text) = course_of("video", "text")
    start = timezone.now() - timedelta(minutes=5)

    progress_apply(user=user, events=heartbeats(video, [0, 20, 40, 60, 80], start=start, every=10))
    row = LessonProgress.objects.get(user=user, lesson=video)
    assert (row.status, row.watched_seconds) == (LessonProgress.Status.IN_PROGRESS, 80)

    outcome = progress_apply(
        user=user, events=heartbeats(video, [90], start=start + timedelta(seconds=60))
    )

    row.refresh_from_db()
    assert (row.status, row.watched_seconds) == (LessonProgress.Status.COMPLETED, 90)
    assert outcome.xp_awarded == 10


def test_watching_the_same_part_again_does_not_add_up():
    user = UserFactory()
    _course, (video,) = course_of("video")
    start = timezone.now() - timedelta(minutes=10)
    forward = [0, 10, 20, 30]
    events = heartbeats(video, forward + forward + forward, start=start, every=10)

    progress_apply(user=user, events=events)

    row = LessonProgress.objects.get(user=user, lesson=video)
    assert row.watched_seconds == 30
    assert row.watched_ranges == [[0, 30]]
    assert row.status == LessonProgress.Status.IN_PROGRESS


def test_an_older_heartbeat_never_moves_the_position_back():
    user = UserFactory()
    _course, (video,) = course_of("video")
    now = timezone.now()
    progress_apply(user=user, events=heartbeats(video, [50], start=now - timedelta(seconds=10)))

    outcome = progress_apply(
        user=user, events=heartbeats(video, [5], start=now - timedelta(seconds=60))
    )

    assert outcome.events[0].result == "stale"
    assert LessonProgress.objects.get(user=user).position_seconds == 50


def test_a_position_on_a_text_lesson_is_refused():
    user = UserFactory()
    _course, (text,) = course_of("text")

    with pytest.raises(ApplicationError) as error:
        lesson_position_save(user=user, lesson=text, position_seconds=3)

    assert error.value.code == ErrorCode.POSITION_NOT_VIDEO


# --- Batches: replays, per-event results, bounded queries -------------------------------------
def test_replaying_a_batch_changes_nothing_and_reports_duplicates():
    user = UserFactory()
    _course, (text, video) = course_of("text", "video")
    start = timezone.now() - timedelta(minutes=5)
    events = [
        ProgressEventIn(
            kind="complete", lesson_id=text.pk, client_id=uuid.uuid4(), occurred_at=start
        ),
        *heartbeats(video, [0, 10, 20], start=start),
    ]

    first = progress_apply(user=user, events=events)
    snapshot = list(LessonProgress.objects.values_list("lesson_id", "status", "watched_seconds"))
    second = progress_apply(user=user, events=events)

    assert [event.result for event in first.events] == ["applied"] * 4
    assert [event.result for event in second.events] == ["duplicate"] * 4
    assert second.xp_awarded == 0
    assert sorted(
        LessonProgress.objects.values_list("lesson_id", "status", "watched_seconds")
    ) == sorted(snapshot)
    assert XPAward.objects.count() == 1
    assert ProgressEvent.objects.filter(user=user).count() == 4


def test_a_batch_reports_each_bad_event_and_applies_the_rest():
    user = UserFactory()
    _course, (text, video) = course_of("text", "video")
    draft = LessonFactory(section=text.section, order=9, is_published=False)
    now = timezone.now()
    events = [
        ProgressEventIn(kind="complete", lesson_id=uuid.uuid4(), client_id=uuid.uuid4()),
        ProgressEventIn(kind="complete", lesson_id=draft.pk, client_id=uuid.uuid4()),
        ProgressEventIn(kind="complete", lesson_id=video.pk, client_id=uuid.uuid4()),
        ProgressEventIn(
            kind="complete",
            lesson_id=text.pk,
            client_id=uuid.uuid4(),
            occurred_at=now + timedelta(days=1),
        ),
        ProgressEventIn(kind="complete", lesson_id=text.pk, client_id=uuid.uuid4()),
    ]

    outcome = progress_apply(user=user, events=events)

    assert [event.result for event in outcome.events] == [
        ErrorCode.LESSON_NOT_FOUND,
        ErrorCode.LESSON_NOT_FOUND,
        ErrorCode.COMPLETION_NOT_MANUAL,
        ErrorCode.EVENT_IN_FUTURE,
        "applied",
    ]
    assert list(LessonProgress.objects.values_list("lesson_id", flat=True)) == [text.pk]


@pytest.mark.parametrize("size", [5, 500])
def test_a_sync_batch_costs_the_same_queries_whatever_its_size(size, django_assert_max_num_queries):
    user = UserFactory()
    course = CourseFactory()
    section = SectionFactory(course=course)
    lessons = Lesson.objects.bulk_create(
        [
            Lesson(
                course=course,
                section=section,
                title=f"L{index}",
                slug=f"l-{index}",
                kind=Lesson.Kind.VIDEO if index % 2 else Lesson.Kind.TEXT,
                duration_seconds=60,
                order=index,
            )
            for index in range(size)
        ]
    )
    start = timezone.now() - timedelta(hours=1)
    events = [
        ProgressEventIn(
            kind="position" if lesson.kind == Lesson.Kind.VIDEO else "complete",
            lesson_id=lesson.pk,
            client_id=uuid.uuid4(),
            occurred_at=start + timedelta(seconds=index),
            position_seconds=5,
        )
        for index, lesson in enumerate(lessons)
    ]

    # A fixed number of statements, plus whatever splitting of the bulk inserts the database
    # driver needs (SQLite caps the parameters per statement; PostgreSQL does not split).
    def batches(columns: int, rows: int) -> int:
        return math.ceil(rows / connection.ops.bulk_batch_size([None] * columns, [None] * rows))

    # Progress rows (12 columns), XP awards (8), the events with their outcome (10) and the
    # analytics events (11: the completions, the enrollment), one statement each here.
    splits = batches(12, size) + batches(8, size // 2) + batches(10, size) + batches(11, size) - 4
    with django_assert_max_num_queries(19 + splits):
        outcome = progress_apply(user=user, events=events)

    assert all(event.result == "applied" for event in outcome.events)
    assert LessonProgress.objects.filter(user=user).count() == size


# --- Streaks and time zones -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("time_zone", "expected_days"),
    [
        # 23:30 and 00:30 UTC: one day apart in UTC and in Los Angeles (15:30, 16:30 the
        # day before), but the same day in Auckland (12:30 and 13:30 the next day).
        ("UTC", 2),
        ("America/Los_Angeles", 1),
        ("Pacific/Auckland", 1),
    ],
)
def test_activity_days_are_counted_in_the_learners_time_zone(time_zone, expected_days):
    user = UserFactory(time_zone=time_zone)
    _course, (first, second) = course_of("text", "text")
    evening = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    events = [
        ProgressEventIn(
            kind="complete", lesson_id=first.pk, client_id=uuid.uuid4(), occurred_at=evening
        ),
        ProgressEventIn(
            kind="complete",
            lesson_id=second.pk,
            client_id=uuid.uuid4(),
            occurred_at=evening + timedelta(hours=1),
        ),
    ]

    progress_apply(user=user, events=events)

    assert ActivityDay.objects.filter(user=user).count() == expected_days
    stats = LearnerStats.objects.get(user=user)
    assert stats.current_streak == expected_days
    assert stats.longest_streak == expected_days


def test_the_streak_breaks_after_a_missed_day_and_the_longest_is_kept():
    user = UserFactory(time_zone="Europe/Berlin")
    _course, lessons = course_of("text", "text", "text", "text")
    noon = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
    days = [noon, noon + timedelta(days=1), noon + timedelta(days=2), noon + timedelta(days=5)]
    for lesson, moment in zip(lessons, days, strict=True):
        progress_apply(
            user=user,
            events=[ProgressEventIn(kind="complete", lesson_id=lesson.pk, occurred_at=moment)],
        )

    stats = LearnerStats.objects.get(user=user)
    assert (stats.current_streak, stats.longest_streak) == (1, 3)


def test_an_offline_event_that_fills_a_gap_joins_the_streaks():
    user = UserFactory()
    _course, lessons = course_of("text", "text", "text")
    day = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for lesson, moment in ((lessons[0], day), (lessons[1], day + timedelta(days=2))):
        progress_apply(
            user=user,
            events=[ProgressEventIn(kind="complete", lesson_id=lesson.pk, occurred_at=moment)],
        )
    assert LearnerStats.objects.get(user=user).longest_streak == 1

    progress_apply(
        user=user,
        events=[
            ProgressEventIn(
                kind="complete", lesson_id=lessons[2].pk, occurred_at=day + timedelta(days=1)
            )
        ],
    )

    stats = LearnerStats.objects.get(user=user)
    assert (stats.current_streak, stats.longest_streak) == (3, 3)


def test_the_shown_streak_lapses_after_a_whole_day_without_learning(settings):
    settings.LMS_STREAK_MILESTONES = [3, 7]
    user = UserFactory(time_zone="Asia/Tokyo")
    stats = LearnerStats(
        user=user, current_streak=2, longest_streak=5, last_active_day=datetime(2026, 5, 3).date()
    )

    on_the_day = stats_view(user=user, stats=stats, today=datetime(2026, 5, 3).date())
    next_day = stats_view(user=user, stats=stats, today=datetime(2026, 5, 4).date())
    day_after = stats_view(user=user, stats=stats, today=datetime(2026, 5, 5).date())

    assert (on_the_day.current_streak, on_the_day.active_today, on_the_day.next_milestone) == (
        2,
        True,
        3,
    )
    assert (next_day.current_streak, next_day.active_today) == (2, False)
    assert (day_after.current_streak, day_after.longest_streak, day_after.next_milestone) == (
        0,
        5,
        3,
    )


def test_levels_follow_the_xp_thresholds_in_settings(settings):
    settings.LMS_XP_LEVELS = [0, 100, 250]
    user = UserFactory()

    def view(xp):
        return stats_view(user=user, stats=LearnerStats(user=user, xp_total=xp))

    assert (view(0).level, view(0).next_level_xp, view(0).level_percent) == (1, 100, 0)
    assert (view(175).level, view(175).level_start_xp, view(175).level_percent) == (2, 100, 50)
    assert (view(900).level, view(900).next_level_xp, view(900).level_percent) == (3, None, 100)


# --- Rebuilding totals --------------------------------------------------------------------------
def test_totals_rebuilt_from_the_ledger_match_the_running_totals():
    user = UserFactory()
    _course, lessons = course_of("text", "text", "lab")
    day = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for offset, lesson in enumerate(lessons):
        progress_apply(
            user=user,
            events=[
                ProgressEventIn(
                    kind="complete", lesson_id=lesson.pk, occurred_at=day + timedelta(days=offset)
                )
            ],
        )
    running = LearnerStats.objects.get(user=user)
    LearnerStats.objects.filter(user=user).update(xp_total=0, current_streak=0, longest_streak=0)

    rebuilt = learner_stats_rebuild(user=user)

    assert (rebuilt.xp_total, rebuilt.current_streak, rebuilt.longest_streak) == (
        running.xp_total,
        running.current_streak,
        running.longest_streak,
    )
    assert rebuilt.xp_total == sum(
        XPAward.objects.filter(user=user).values_list("amount", flat=True)
    )


def test_an_editor_previewing_a_draft_records_no_progress():
    instructor = UserFactory()
    course, (lesson,) = course_of("text", status=Course.Status.DRAFT, published_at=None)
    course.instructors.add(instructor)
    _published_course, (published,) = course_of("text")
    hidden = LessonFactory(section=published.section, order=5, is_published=False)
    hidden.course.instructors.add(instructor)

    for target in (lesson, hidden):
        with pytest.raises(ApplicationError) as error:
            lesson_complete(user=instructor, lesson=target)
        assert error.value.code == ErrorCode.PREVIEW_ONLY

    assert not LessonProgress.objects.exists()
    assert not Enrollment.objects.exists()
    assert not XPAward.objects.exists()


def test_a_burst_of_heartbeats_sent_at_once_does_not_count_as_watching():
    user = UserFactory()
    _course, (video, _text) = course_of("video", "text")
    start = timezone.now() - timedelta(minutes=1)
    burst = [start + timedelta(milliseconds=index) for index in range(34)]
    events = [
        ProgressEventIn(
            kind="position",
            lesson_id=video.pk,
            client_id=uuid.uuid4(),
            occurred_at=moment,
            position_seconds=3 * index,
        )
        for index, moment in enumerate(burst)
    ]

    progress_apply(user=user, events=events)

    row = LessonProgress.objects.get(user=user, lesson=video)
    assert row.status == LessonProgress.Status.IN_PROGRESS
    assert row.watched_seconds < 1


def test_other_learners_progress_does_not_stop_a_course_from_completing():
    other, learner = UserFactory(), UserFactory()
    course, (first, second) = course_of("text", "text")
    lesson_complete(user=other, lesson=first)
    lesson_complete(user=learner, lesson=first)

    outcome = lesson_complete(user=learner, lesson=second)

    assert outcome.completed_courses == [course]
    assert Enrollment.objects.get(user=other).completed_at is None
