"""The dashboards' metrics from known data: retention from watched ranges, rewatched and
skipped segments from seeks, quiz item analysis from graded attempts, the completion funnel,
subscriptions and revenue by tier; and query counts that do not grow with the learners."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from analytics.models import CourseDay, Event, SchoolDay
from analytics.selectors import (
    Period,
    QuizItem,
    RetentionPoint,
    Segment,
    TierSummary,
    course_activity_series,
    course_funnel,
    course_funnel_cohort,
    quiz_items,
    quiz_lessons,
    school_series,
    subscription_series,
    subscription_summary,
    video_lessons,
    video_retention,
    video_segments,
)
from billing.models import Subscription
from billing.tests.factories import PlanFactory, SubscriptionFactory, TierFactory
from catalog.models import Lesson, Question
from catalog.quizzes import QuestionSpec, quiz_create
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import Enrollment, LessonProgress, QuizAttempt
from progress.services.enrollments import enrollment_create
from progress.services.quizzes import quiz_attempt_submit

pytestmark = pytest.mark.django_db

UTC = dt.UTC
PERIOD = Period(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
IN_PERIOD = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)
BEFORE = dt.datetime(2026, 2, 10, 12, tzinfo=UTC)


def progress(lesson: Lesson, ranges, *, user=None, when=IN_PERIOD, status="in_progress"):
    return LessonProgress.objects.create(
        user=user or UserFactory(),
        lesson=lesson,
        course=lesson.course,
        status=status,
        watched_ranges=ranges,
        started_at=when,
        updated_at=when,
        completed_at=when if status == "completed" else None,
    )


@pytest.fixture(name="video")
def video_fixture() -> Lesson:
    return LessonFactory(kind=Lesson.Kind.VIDEO, duration_seconds=100, title="Groove basics")


def test_retention_is_the_share_of_viewers_whose_watched_ranges_cover_each_point(video):
    progress(video, [[0, 100]])  # watched it all
    progress(video, [[0, 50]])  # stopped halfway
    progress(video, [[0, 25], [75, 100]])  # skipped the middle
    progress(video, [[20, 40], [10, 30]])  # unmerged and out of order: [10, 40]
    progress(video, [])  # opened, never played: no viewer
    progress(video, [[0, 100]], when=BEFORE)  # watched before the period

    retention = video_retention(lesson_id=video.pk, period=PERIOD, points=4)

    assert (retention.duration_seconds, retention.viewers) == (100.0, 4)
    assert retention.points == [
        RetentionPoint(second=0.0, share=0.75),
        RetentionPoint(second=25.0, share=1.0),
        RetentionPoint(second=50.0, share=0.5),
        RetentionPoint(second=75.0, share=0.5),
    ]
    assert video_lessons(course_id=video.course_id)[0].duration_seconds == 100.0


def test_retention_without_viewers_or_duration_is_empty_not_an_error(video):
    assert video_retention(lesson_id=video.pk, period=PERIOD).viewers == 0
    untimed = LessonFactory(kind=Lesson.Kind.VIDEO, duration_seconds=0)
    assert video_retention(lesson_id=untimed.pk, period=PERIOD).points == []
    progress(untimed, [[0, 40]])  # the longest watched range stands in for the length
    assert video_retention(lesson_id=untimed.pk, period=PERIOD, points=2).points == [
        RetentionPoint(second=0.0, share=1.0),
        RetentionPoint(second=20.0, share=1.0),
    ]


def seek(lesson: Lesson, start, end, *, when=IN_PERIOD) -> Event:
    properties = {"from": start, "to": end} if end is not None else {"from": start}
    return Event(
        type="video.seek",
        source=Event.Source.CLIENT,
        lesson_id=lesson.pk,
        course_id=lesson.course_id,
        occurred_at=when,
        properties=properties,
    )


def test_backward_seeks_are_rewatches_and_forward_seeks_are_skips_of_the_segments(video):
    other = LessonFactory(kind=Lesson.Kind.VIDEO, duration_seconds=100)
    Event.objects.bulk_create(
        [
            seek(video, 10, 60),  # skips [10, 60]: segments 0-2
            seek(video, 12.5, 40),  # skips [12.5, 40]: segments 0-1
            seek(video, 80, 30),  # rewatches [30, 80]: segments 1-3
            seek(video, 99, 0),  # rewatches it all
            seek(video, 40, 40),  # no move
            seek(video, 40, None),  # malformed: no "to"
            seek(video, 0, 90, when=BEFORE),
            seek(other, 0, 90),
        ]
    )

    assert video_segments(lesson_id=video.pk, period=PERIOD, segments=4) == [
        Segment(start=0.0, end=25.0, rewatches=1, skips=2),
        Segment(start=25.0, end=50.0, rewatches=2, skips=2),
        Segment(start=50.0, end=75.0, rewatches=2, skips=1),
        Segment(start=75.0, end=100.0, rewatches=2, skips=0),
    ]


@pytest.fixture(name="quiz_lesson")
def quiz_lesson_fixture() -> Lesson:
    lesson = LessonFactory(kind=Lesson.Kind.QUIZ, title="Check your rhythm")
    quiz_create(
        lesson=lesson,
        pass_mark=100,
        max_attempts=None,
        retry_wait_minutes=0,
        questions=[
            QuestionSpec(
                kind="single",
                prompt="How many beats in a bar of 4/4?",
                choices=(("Four", True), ("Three", False), ("Six", False)),
            ),
            QuestionSpec(
                kind="multiple",
                prompt="Which are downbeats?",
                choices=(("One", True), ("Three", True), ("And", False)),
            ),
            QuestionSpec(kind="short", prompt="Name the count.", accepted_answers="eight counts"),
        ],
    )
    return lesson


def answer(learner, lesson: Lesson, single: str, multiple: list[str], short=None, *, when):
    """Submit through the quiz service, choices named by their text."""
    questions = list(Question.objects.filter(quiz__lesson=lesson).order_by("order"))
    ids = [{c.text: str(c.pk) for c in q.choices.all()} for q in questions]
    answers = {
        str(questions[0].pk): [ids[0][single]],
        str(questions[1].pk): [ids[1][text] for text in multiple],
    }
    if short is not None:
        answers[str(questions[2].pk)] = short
    quiz_attempt_submit(user=learner, lesson=lesson, answers=answers, now=when)


def test_quiz_items_give_the_share_correct_and_the_wrong_answer_chosen_most(quiz_lesson):
    learners = [UserFactory() for _ in range(5)]
    for learner in learners:
        enrollment_create(user=learner, course=quiz_lesson.course, source="self")
    answer(learners[0], quiz_lesson, "Four", ["One", "Three"], "  Eight   Counts ", when=IN_PERIOD)
    answer(learners[1], quiz_lesson, "Three", ["One"], "seven", when=IN_PERIOD)
    answer(learners[2], quiz_lesson, "Three", ["Three", "And", "One"], "Seven", when=IN_PERIOD)
    answer(learners[3], quiz_lesson, "Six", ["One"], when=IN_PERIOD)  # short one unanswered
    answer(learners[4], quiz_lesson, "Six", ["And"], "nine", when=BEFORE)  # not in the period
    questions = list(Question.objects.filter(quiz__lesson=quiz_lesson).order_by("order"))

    items = quiz_items(lesson_id=quiz_lesson.pk, period=PERIOD)

    assert items == [
        QuizItem(
            question_id=str(questions[0].pk),
            prompt="How many beats in a bar of 4/4?",
            attempts=4,
            correct_share=0.25,
            top_wrong_answer="Three",
            top_wrong_share=0.5,
        ),
        QuizItem(
            question_id=str(questions[1].pk),
            prompt="Which are downbeats?",
            attempts=4,
            correct_share=0.25,
            top_wrong_answer="One",
            top_wrong_share=0.5,
        ),
        QuizItem(
            question_id=str(questions[2].pk),
            prompt="Name the count.",
            attempts=4,
            correct_share=0.25,
            top_wrong_answer="seven",  # as graded: case and spaces ignored
            top_wrong_share=0.5,
        ),
    ]
    assert quiz_lessons(course_id=quiz_lesson.course_id)[0].title == "Check your rhythm"


def test_the_funnel_follows_the_learners_who_enrolled_in_the_period_in_outline_order():
    course = CourseFactory()
    second = SectionFactory(course=course, order=2, title="Grooves")
    first = SectionFactory(course=course, order=1, title="Basics")
    lessons = [
        LessonFactory(section=first, order=1, title="Count in"),
        LessonFactory(section=first, order=2, title="First beat"),
        LessonFactory(section=second, order=1, title="Swing"),
    ]
    LessonFactory(section=second, order=2, title="Draft", is_published=False)
    cohort = [UserFactory() for _ in range(4)]
    early = UserFactory()
    for learner in cohort:
        Enrollment.objects.create(user=learner, course=course, source="self", created_at=IN_PERIOD)
    Enrollment.objects.create(user=early, course=course, source="self", created_at=BEFORE)
    done = {0: [*cohort, early], 1: cohort[:2], 2: cohort[:1]}
    for index, learners in done.items():
        for learner in learners:
            progress(lessons[index], [], user=learner, status="completed")

    funnel = course_funnel_cohort(course_id=course.pk, period=PERIOD)

    assert funnel.cohort == 4
    assert [
        (s.section_title, s.lesson_title, s.learners_completed, s.share) for s in funnel.steps
    ] == [
        ("Basics", "Count in", 4, 1.0),
        ("Basics", "First beat", 2, 0.5),
        ("Grooves", "Swing", 1, 0.25),
    ]
    assert course_funnel(course_id=course.pk, period=PERIOD) == funnel.steps


def subscription(plan, *, start, end=None, status="active", amount=1900, interval="month"):
    sub = SubscriptionFactory(
        plan=plan,
        status=status,
        interval=interval,
        amount_cents=amount,
        currency="usd",
        ended_at=end,
    )
    Subscription.objects.filter(pk=sub.pk).update(created_at=start)  # auto_now_add
    return sub


def day(n: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, n, hour, tzinfo=UTC)


def test_subscribers_mrr_starts_and_churn_by_tier_from_known_subscriptions():
    pro = PlanFactory(tier=TierFactory(slug="pro", name="Pro", rank=2))
    basic = PlanFactory(tier=TierFactory(slug="basic", name="Basic", rank=1))
    subscription(pro, start=dt.datetime(2026, 2, 1, tzinfo=UTC))  # 1900 a month
    subscription(pro, start=dt.datetime(2026, 2, 5, tzinfo=UTC), amount=12000, interval="year")
    subscription(pro, start=day(1), end=day(3), status="canceled")  # churned on the 3rd
    subscription(pro, start=day(4))
    subscription(pro, start=day(2), status="incomplete_expired")  # never paid: not counted
    subscription(basic, start=dt.datetime(2026, 1, 1, tzinfo=UTC), end=day(2), status="canceled")
    period = Period(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 4))

    series = subscription_series(period=period)

    assert [
        (p.tier_slug, p.day.day, p.subscribers, p.mrr_cents, p.started, p.churned) for p in series
    ] == [
        ("basic", 1, 1, 1900, 0, 0),
        ("basic", 2, 0, 0, 0, 1),
        ("basic", 3, 0, 0, 0, 0),
        ("basic", 4, 0, 0, 0, 0),
        ("pro", 1, 3, 1900 + 1000 + 1900, 1, 0),
        ("pro", 2, 3, 4800, 0, 0),
        ("pro", 3, 2, 2900, 0, 1),
        ("pro", 4, 3, 4800, 1, 0),
    ]
    assert {p.currency for p in series} == {"usd"}
    assert subscription_summary(period=period) == [
        TierSummary(
            tier_slug="basic",
            tier_name="Basic",
            subscribers_start=1,
            subscribers_end=0,
            started=0,
            churned=1,
            churn_rate=1.0,
            mrr_cents_end=0,
            currency="usd",
        ),
        TierSummary(
            tier_slug="pro",
            tier_name="Pro",
            subscribers_start=2,
            subscribers_end=3,
            started=2,
            churned=1,
            churn_rate=0.5,
            mrr_cents_end=4800,
            currency="usd",
        ),
    ]


def test_series_read_the_rollups_with_every_day_of_the_period():
    course = uuid.uuid4()
    CourseDay.objects.create(
        course_id=course, day="2026-03-02", enrollments=3, active_learners=5, lessons_completed=4
    )
    SchoolDay.objects.create(day="2026-03-03", signups=2, active_learners=9)
    period = Period(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3))

    assert [
        (p.day.day, p.enrollments, p.active_learners, p.lessons_completed)
        for p in course_activity_series(course_id=course, period=period)
    ] == [(1, 0, 0, 0), (2, 3, 5, 4), (3, 0, 0, 0)]
    assert [(p.day.day, p.signups, p.active_learners) for p in school_series(period=period)] == [
        (1, 0, 0),
        (2, 0, 0),
        (3, 2, 9),
    ]


def test_a_period_must_not_end_before_it_starts():
    with pytest.raises(ValueError):
        Period(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))


def learners_join(course, video: Lesson, quiz: Lesson, count: int) -> None:
    """`count` more learners with an enrollment, watched ranges, seeks and a quiz attempt."""
    users = [UserFactory() for _ in range(count)]
    Enrollment.objects.bulk_create(
        Enrollment(user=u, course=course, source="self", created_at=IN_PERIOD) for u in users
    )
    LessonProgress.objects.bulk_create(
        LessonProgress(
            user=u,
            lesson=video,
            course=course,
            status="completed",
            completed_at=IN_PERIOD,
            started_at=IN_PERIOD,
            updated_at=IN_PERIOD,
            watched_ranges=[[0, 30 + n % 60], [70, 100]],
        )
        for n, u in enumerate(users)
    )
    Event.objects.bulk_create(seek(video, 50, n % 100) for n in range(count))
    results = [{"question_id": str(uuid.uuid4()), "correct": False, "answer": "x", "prompt": "?"}]
    QuizAttempt.objects.bulk_create(
        QuizAttempt(user=u, lesson=quiz, results=results, created_at=IN_PERIOD) for u in users
    )
    plan = PlanFactory()
    for _ in range(3):
        subscription(plan, start=day(2))


def test_every_selector_takes_the_same_queries_for_ten_or_forty_learners(video, quiz_lesson):
    course = video.course
    quiz_lesson.course = course
    Lesson.objects.filter(pk=quiz_lesson.pk).update(course=course, section=video.section)

    def queries() -> list[int]:
        counts = []
        for read in (
            lambda: course_activity_series(course_id=course.pk, period=PERIOD),
            lambda: course_funnel(course_id=course.pk, period=PERIOD),
            lambda: video_lessons(course_id=course.pk),
            lambda: video_retention(lesson_id=video.pk, period=PERIOD),
            lambda: video_segments(lesson_id=video.pk, period=PERIOD),
            lambda: quiz_lessons(course_id=course.pk),
            lambda: quiz_items(lesson_id=quiz_lesson.pk, period=PERIOD),
            lambda: school_series(period=PERIOD),
            lambda: subscription_series(period=PERIOD),
            lambda: subscription_summary(period=PERIOD),
        ):
            with CaptureQueriesContext(connection) as captured:
                read()
            counts.append(len(captured))
        return counts

    learners_join(course, video, quiz_lesson, 10)
    few = queries()
    learners_join(course, video, quiz_lesson, 30)
    many = queries()

    assert few == many
    assert max(many) <= 3
    assert timezone.is_aware(PERIOD.start_at)
