"""`manage.py seed_demo_analytics`: a month of believable learning in the demo courses, so
the analytics dashboards of `make run` have something to show.

`seed_demo` runs it at its end (by name: `progress` imports nothing above it). It adds
`--learners` demo learners (`demo-learner-NN@example.com`, no password: nobody signs in as
them) and, for each, a journey through some of the demo courses over the last `--days` days:
they start on a day of their own, go through the outline lesson by lesson and drop off along
the way; they watch the videos (heartbeats, so the server checks the watched ranges), stop
watching part way, seek back to rewatch and forward to skip; they fail and pass the quizzes
(a few questions are harder, with one tempting wrong answer); and they search the catalog.
Then the rollups of those days are recomputed, so the charts show the data at once.

Everything goes through the owning apps' services, dated in the past where they allow it:
- lessons, videos and completions: `progress.services.progress_apply` with events dated when
  they happened (`ProgressEventIn.occurred_at`). The progress rows, watched ranges, lesson
  completions, activity days and the enrollment (dated by the learner's first activity: a
  learner enrolls by starting the course, so `enrollment_create`, which dates "now", is not
  used) carry those dates. What the engine dates by the server's clock stays "now": XP
  awards and a course completion (its certificate and `course.completed` event, so the
  learners who finish a course finish it today);
- quiz attempts: `progress.services.quiz_attempt_submit(now=...)`;
- client events (lesson viewed, video play/pause/seek/rate, quiz started, search):
  `analytics.services.ingest.events_ingest`, each event at its time. Ingestion refuses
  events older than `LMS_ANALYTICS_MAX_AGE_DAYS` (30), so `--days` stays below that;
- the paid course: a staff tier grant (`billing.services.tier_grant_create`) from the
  learner's first day, for some of the learners who try it; the others stop at its paywall;
- subscriptions are NOT seeded: a subscription is only stored by `subscription_sync`, which
  reads it from Stripe. Without Stripe there is no honest way to make one, so the staff
  dashboard's subscriber and revenue charts stay empty in the demo school.

Idempotent: a demo learner who exists is left alone, and each learner is created with all
their activity in one transaction (so a learner has all of it or does not exist); the ids
of their events are derived from their email, so a replay would be a duplicate anyway.
Deterministic: each learner's journey comes from a random generator seeded with their
number; only its dates move with the day the command runs.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import user_learner_ensure
from analytics.selectors import Period, local_day
from analytics.services.ingest import events_ingest
from analytics.services.rollups import rollup_period_recompute
from billing.models import TierGrant
from billing.services import tier_grant_create
from catalog.models import Course, Lesson, Question, Quiz
from catalog.quizzes import quiz_get
from notifications.services import notifications_unsubscribe
from progress.management import demo_school
from progress.services import ProgressEventIn, progress_apply, quiz_attempt_submit

EMAIL = "demo-learner-{number:02d}@example.com"
NAMESPACE = uuid.UUID("0b6f3c1e-7d2a-4f61-9a0e-3c5d8e2b4a71")
GRANT_SOURCE_ID = "seed_demo_analytics"
APP = {"name": "web", "version": "demo"}

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Luca", "Maya", "Nils", "Olga", "Pablo", "Qiu", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = ("Demo", "Sample", "Example", "Testa", "Muster", "Trial")
# How likely a learner is to try each demo course, in demo_school.COURSES order.
COURSE_INTEREST = (0.85, 0.6, 0.45)
# Of the learners trying a paid course, the share given its tier (the rest meet the paywall).
PAID_ACCESS_SHARE = 0.6
SEARCHES = (
    ("salsa", 1), ("python", 1), ("basic step", 2), ("turns", 1), ("loops", 1),
    ("contemporary", 1), ("beginner", 3), ("quiz", 3), ("hip hop", 0),
)  # fmt: skip
# Per question in a quiz (by place): how likely a first attempt answers it right.
QUESTION_EASE = (0.8, 0.5, 0.65, 0.7)
HEARTBEATS_PER_VIDEO = 20

# A demo course, its published lessons in outline order, and how likely a learner tries it.
CourseRef = tuple[Course, list[Lesson], float]


@dataclass
class Journey:
    """One learner's activity, collected before it is written."""

    user: User
    rng: random.Random
    now: dt.datetime
    client: list[dict[str, Any]] = field(default_factory=list)
    progress: list[ProgressEventIn] = field(default_factory=list)
    quizzes: list[tuple[Lesson, dt.datetime]] = field(default_factory=list)
    grants: list[tuple[Course, dt.datetime]] = field(default_factory=list)

    def _id(self, kind: str) -> uuid.UUID:
        count = len(self.client) + len(self.progress)
        return uuid.uuid5(NAMESPACE, f"{self.user.email}:{kind}:{count}")

    def event(self, type: str, at: dt.datetime, *, lesson: Lesson | None = None, **props) -> None:
        if at > self.now:  # a long lesson started late today: what is still to come is not
            return
        self.client.append(
            {
                "id": str(self._id("event")),
                "type": type,
                "occurred_at": at.isoformat(),
                "lesson": str(lesson.pk) if lesson else None,
                "properties": props,
            }
        )

    def step(self, kind: str, lesson: Lesson, at: dt.datetime, position: float | None = None):
        if at > self.now:
            return
        self.progress.append(
            ProgressEventIn(
                kind=kind,
                lesson_id=lesson.pk,
                client_id=self._id("progress"),
                occurred_at=at,
                position_seconds=position,
            )
        )


@dataclass
class Totals:
    learners: int = 0
    existing: int = 0
    events: int = 0
    heartbeats: int = 0
    attempts: int = 0


class Command(BaseCommand):
    help = (
        "Add demo learners with a month of activity in the demo courses (lessons, videos, "
        "quizzes, searches) and recompute the analytics rollups. Run after seed_demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--learners", type=int, default=40, help="How many demo learners (default 40)."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=28,
            help="Over how many past days their activity spreads (default 28).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (as seed_demo does).",
        )

    def handle(
        self, *args, learners: int, days: int, allow_production: bool = False, **options
    ) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("DEBUG is off: pass --allow-production for a throwaway site.")
        if learners < 0:
            raise CommandError("--learners must be zero or more.")
        if not 1 <= days < settings.LMS_ANALYTICS_MAX_AGE_DAYS:
            raise CommandError(
                f"--days must be 1 to {settings.LMS_ANALYTICS_MAX_AGE_DAYS - 1}: ingestion "
                "refuses older events (LMS_ANALYTICS_MAX_AGE_DAYS)."
            )
        courses = self._courses()
        self.quizzes: dict[uuid.UUID, Quiz] = {}
        now = timezone.now().replace(microsecond=0)
        totals = Totals()
        for number in range(1, learners + 1):
            self._learner_ensure(number, courses=courses, now=now, days=days, totals=totals)
        period = Period(start=local_day(now - dt.timedelta(days=days + 1)), end=local_day(now))
        recomputed = rollup_period_recompute(period=period)
        self._report(totals=totals, recomputed=len(recomputed))

    def _courses(self) -> list[CourseRef]:
        """The demo courses with their published lessons in outline order, and how likely a
        learner is to try each."""
        slugs = [demo.slug for demo in demo_school.COURSES]
        found = {
            course.slug: course
            for course in Course.objects.filter(slug__in=slugs).select_related("required_tier")
        }
        if len(found) != len(slugs):
            raise CommandError("The demo courses are missing: run `manage.py seed_demo` first.")
        courses = []
        for slug, interest in zip(slugs, COURSE_INTEREST, strict=True):
            course = found[slug]
            lessons = list(
                Lesson.objects.filter(course=course, is_published=True)
                .select_related("course")
                .order_by("section__order", "order")
            )
            courses.append((course, lessons, interest))
        return courses

    # --- one learner ---------------------------------------------------------------------
    def _learner_ensure(
        self, number: int, *, courses: list[CourseRef], now: dt.datetime, days: int, totals: Totals
    ) -> None:
        email = EMAIL.format(number=number)
        if User.objects.filter(email__iexact=email).exists():
            totals.existing += 1
            return
        rng = random.Random(f"seed_demo_analytics:{number}")
        name = f"{FIRST_NAMES[(number - 1) % len(FIRST_NAMES)]} {rng.choice(LAST_NAMES)}"
        with transaction.atomic():
            user, _created = user_learner_ensure(email=email, password=None, display_name=name)
            # Their addresses are made up: no emails (a certificate's, say) for them.
            notifications_unsubscribe(user=user, kind=None)
            journey = Journey(user=user, rng=rng, now=now)
            start = self._first_visit(rng, now=now, days=days)
            skill = rng.uniform(-0.15, 0.15)
            for course, lessons, interest in courses:
                if rng.random() < interest:
                    at = start + dt.timedelta(days=rng.uniform(0, 4), minutes=rng.uniform(1, 30))
                    self._course_journey(journey, course=course, lessons=lessons, at=at)
            self._searches(journey, start=start)
            self._write(journey, skill=skill, totals=totals)
        totals.learners += 1

    @staticmethod
    def _first_visit(rng: random.Random, *, now: dt.datetime, days: int) -> dt.datetime:
        """A daytime moment on one of the last `days` days (no later than an hour ago)."""
        day = now - dt.timedelta(days=rng.uniform(0, days - 0.5))
        moment = day.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59), second=0)
        return min(moment, now - dt.timedelta(hours=1))

    def _course_journey(
        self, journey: Journey, *, course: Course, lessons: list[Lesson], at: dt.datetime
    ) -> None:
        """Lesson by lesson in outline order until the learner drops off (or meets the
        paywall, or reaches today)."""
        rng = journey.rng
        persistence = rng.uniform(0.7, 0.97)
        paid = course.visibility == Course.Visibility.PAID and course.required_tier_id
        has_tier = not paid or rng.random() < PAID_ACCESS_SHARE
        if paid and has_tier:
            journey.grants.append((course, at))
        for place, lesson in enumerate(lessons):
            if at >= journey.now - dt.timedelta(minutes=30):
                return
            journey.event("lesson.viewed", at, lesson=lesson)
            if not has_tier and not lesson.is_free_preview:
                return  # the paywall: they saw the locked page and left
            done, at = self._lesson(journey, lesson=lesson, at=at, place=place)
            if rng.random() > (persistence if done else persistence * 0.4):
                return
            # The next lesson in the same sitting, or on a later day.
            pause = (
                dt.timedelta(minutes=rng.uniform(1, 20))
                if rng.random() < 0.55
                else dt.timedelta(days=rng.uniform(0.6, 4))
            )
            at += pause

    def _lesson(
        self, journey: Journey, *, lesson: Lesson, at: dt.datetime, place: int
    ) -> tuple[bool, dt.datetime]:
        """The learner's time in one lesson: (whether they finished it, when they left)."""
        rng = journey.rng
        if lesson.kind == Lesson.Kind.VIDEO:
            return self._video(journey, lesson=lesson, at=at, place=place)
        if lesson.kind == Lesson.Kind.QUIZ:
            journey.event("quiz.started", at, lesson=lesson)
            journey.quizzes.append((lesson, at))
            return True, at + dt.timedelta(minutes=8)
        reading = dt.timedelta(seconds=max(60, lesson.duration_seconds) * rng.uniform(0.5, 1.2))
        chance = 0.7 if lesson.kind == Lesson.Kind.LAB else 0.9
        if rng.random() >= chance:
            return False, at + reading / 2
        journey.step("complete", lesson, at + reading)
        return True, at + reading

    def _video(
        self, journey: Journey, *, lesson: Lesson, at: dt.datetime, place: int
    ) -> tuple[bool, dt.datetime]:
        """Play the video with the player's heartbeats: some stop part way, some seek back to
        rewatch a part, some forward to skip one. A skipped part is no watched range (the
        server credits only what could have played), so a skipper does not complete it."""
        rng = journey.rng
        duration = float(lesson.duration_seconds or 0)
        if duration <= 0:
            return False, at
        step = max(2.0, duration / HEARTBEATS_PER_VIDEO)
        # Later lessons lose more viewers part way.
        leaving = 0.12 + 0.04 * min(place, 8)
        stop = duration if rng.random() > leaving else duration * rng.uniform(0.15, 0.85)
        # (seek at this position, to that one), in the order they happen.
        seeks = []
        if rng.random() < 0.15:
            seeks.append((0.2 * duration, rng.uniform(0.5, 0.75) * duration))
        if rng.random() < 0.3:
            seeks.append((0.55 * duration, rng.uniform(0.1, 0.35) * duration))
        skipped = any(to > start for start, to in seeks)
        if rng.random() < 0.1:
            journey.event("video.rate", at, lesson=lesson, position=0.0, rate=1.5)
        journey.event("video.play", at, lesson=lesson, position=0.0)
        journey.step("position", lesson, at, 0.0)
        position, moment = 0.0, at
        while position < stop:
            if seeks and position >= seeks[0][0]:
                jump = seeks.pop(0)[1]
                moment += dt.timedelta(seconds=0.4)
                journey.event("video.seek", moment, lesson=lesson, **{"from": position, "to": jump})
                position, moment = jump, moment + dt.timedelta(seconds=0.5)
            else:
                following = min(position + step, stop)
                moment += dt.timedelta(seconds=following - position)
                position = following
            journey.step("position", lesson, moment, round(position, 2))
        journey.event("video.pause", moment, lesson=lesson, position=round(position, 2))
        return stop >= duration and not skipped, moment

    def _searches(self, journey: Journey, *, start: dt.datetime) -> None:
        rng = journey.rng
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            at = start + dt.timedelta(days=rng.uniform(0, 10), minutes=rng.uniform(0, 600))
            if at < journey.now - dt.timedelta(minutes=5):
                query, results = rng.choice(SEARCHES)
                journey.event("search", at, query=query, results=results)

    # --- writing it through the services -------------------------------------------------
    def _write(self, journey: Journey, *, skill: float, totals: Totals) -> None:
        user = journey.user
        for course, at in journey.grants:
            tier_grant_create(
                user=user,
                tier=course.required_tier,
                source=TierGrant.Source.STAFF,
                source_id=f"{GRANT_SOURCE_ID}:{course.slug}",
                starts_at=at - dt.timedelta(minutes=1),
            )
        if journey.progress:
            progress_apply(user=user, events=journey.progress)
            totals.heartbeats += sum(1 for step in journey.progress if step.kind == "position")
        for lesson, at in journey.quizzes:
            totals.attempts += self._quiz(journey, lesson=lesson, at=at, skill=skill)
        batch = settings.LMS_ANALYTICS_BATCH_MAX
        for first in range(0, len(journey.client), batch):
            outcome = events_ingest(
                user_id=user.pk, app=APP, events=journey.client[first : first + batch]
            )
            totals.events += outcome.accepted

    def _quiz(self, journey: Journey, *, lesson: Lesson, at: dt.datetime, skill: float) -> int:
        """Up to the quiz's attempts until a pass, each a little better; some give up."""
        rng = journey.rng
        if lesson.pk not in self.quizzes:
            self.quizzes[lesson.pk] = quiz_get(lesson=lesson)
        quiz = self.quizzes[lesson.pk]
        attempts = quiz.max_attempts or 3
        for number in range(attempts):
            moment = at + dt.timedelta(minutes=2 + 3 * number)
            if moment >= journey.now:
                return number
            answers = {
                str(question.pk): _answer(rng, question, ease=ease + skill + 0.15 * number)
                for question, ease in zip(quiz.questions.all(), _eases(quiz), strict=True)
            }
            submission = quiz_attempt_submit(
                user=journey.user,
                lesson=lesson,
                answers=answers,
                client_id=uuid.uuid5(NAMESPACE, f"{journey.user.email}:quiz:{lesson.pk}:{number}"),
                now=moment,
            )
            if submission.attempt.passed or rng.random() < 0.25:
                return number + 1
        return attempts

    def _report(self, *, totals: Totals, recomputed: int) -> None:
        self.stdout.write(
            f"Analytics demo: {totals.learners} demo learners added ({totals.existing} were "
            f"there already) with {totals.events} client events, {totals.heartbeats} video "
            f"heartbeats and {totals.attempts} quiz attempts; rollups recomputed for "
            f"{recomputed} days -> {reverse('admin:analytics_coursedashboard_changelist')}"
        )


def _eases(quiz: Quiz) -> list[float]:
    count = len(quiz.questions.all())
    return [QUESTION_EASE[index % len(QUESTION_EASE)] for index in range(count)]


def _answer(rng: random.Random, question: Question, *, ease: float) -> list[str] | str:
    """A right answer with probability `ease`, else a wrong one: the first wrong choice is
    the tempting one (three times as likely as each other)."""
    right = rng.random() < ease
    if question.kind == Question.Kind.SHORT:
        accepted = question.accepted_answer_list
        if right and accepted:
            return accepted[0]
        given = accepted[0] if accepted else ""
        return str(int(given) // 2) if given.isdigit() else "not sure"
    choices = list(question.choices.all())
    correct = [str(choice.pk) for choice in choices if choice.is_correct]
    wrong = [str(choice.pk) for choice in choices if not choice.is_correct]
    if right or not wrong:
        return correct
    tempting = rng.choices(wrong, weights=[3] + [1] * (len(wrong) - 1))[0]
    if question.kind == Question.Kind.MULTIPLE:
        return [*correct[:-1], tempting]
    return [tempting]
