"""The course dashboard's page time for a course with 10,000 learners' data.

Seeds (once; later runs reuse it) a course `bench-dashboard` of 20 lessons (8 videos of 10
minutes, 4 quizzes of 5 questions, 8 texts) and `--learners` learners who enrolled over the
last 90 days and dropped off along the course: their enrollments, lesson progress with the
server's watched ranges (some skip a part, some stop mid-video), one quiz attempt per quiz
reached, and their events (enrollment, lesson viewed and completed, two seeks per video),
all with `bulk_create` in large batches; then runs the daily rollups over those 90 days.
Then it times the dashboard page as staff see it (Django's test client in this process,
signed in with a session, production settings: DEBUG off), for the default 30 days and for
90 days, and one chart's CSV, and counts the page's queries.

    python bench/dashboard_bench.py [--learners 10000] [--requests 10] [--skip-setup]
                                    [--json-out F]

`bench/run.py` (`make bench`) runs it after the HTTP figures (the database is migrated and
the static files collected by then) and prints and saves its figures with theirs. Bounded:
the seeding is linear in learners, the timing stops after `MAX_SECONDS`. A benchmark: it
prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (python bench/dashboard_bench.py)
    sys.path.insert(0, str(ROOT))

from bench.run import DEFAULT_DATABASE_URL, database_ensure, manage, step  # noqa: E402

COURSE = "bench-dashboard"
DAYS = 90
LESSONS = 20
VIDEO_SECONDS = 600
QUESTIONS = 5
BATCH = 5000
MAX_SECONDS = 60.0
# Lesson kinds in outline order: a video, then a text or a quiz, repeating.
KINDS = ["video", "text", "video", "quiz", "video", "text", "video", "quiz", "video", "text"] * 2


def _settings_env(env: dict[str, str]) -> None:
    """Production settings for this process, as gunicorn runs them in bench/run.py."""
    os.environ.update(
        {
            **env,
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "testserver",
            "LMS_ADMIN_REQUIRE_MFA": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")


# --- Seeding (inside Django) ----------------------------------------------------------------


def _course_create():
    from django.utils import timezone

    from catalog.models import Choice, Course, Lesson, Question, Quiz, Section

    course = Course.objects.create(
        slug=COURSE,
        title="Dashboard bench course",
        status=Course.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    sections = [
        Section.objects.create(course=course, title=f"Part {n + 1}", order=n) for n in range(2)
    ]
    lessons = Lesson.objects.bulk_create(
        Lesson(
            course=course,
            section=sections[index * 2 // LESSONS],
            title=f"{kind.title()} {index + 1}",
            slug=f"lesson-{index + 1}",
            kind=kind,
            duration_seconds=VIDEO_SECONDS if kind == "video" else 300,
            order=index,
            is_published=True,
        )
        for index, kind in enumerate(KINDS[:LESSONS])
    )
    for lesson in lessons:
        if lesson.kind != "quiz":
            continue
        quiz = Quiz.objects.create(lesson=lesson, pass_mark=60)
        for number in range(QUESTIONS):
            question = Question.objects.create(
                quiz=quiz,
                kind=Question.Kind.SINGLE,
                prompt=f"Question {number + 1}?",
                order=number,
            )
            Choice.objects.bulk_create(
                Choice(question=question, text=text, is_correct=text == "Right", order=order)
                for order, text in enumerate(("Right", "Wrong", "Other"))
            )
    return course, lessons


def _quiz_results(lesson, rng: random.Random) -> tuple[list[dict], int]:
    """One attempt's graded results, as `catalog.quizzes` stores them."""
    results, points = [], 0
    for question in lesson.quiz.questions.all():
        choices = list(question.choices.all())
        # Later questions are harder: fewer learners get them right.
        right = rng.random() < 0.9 - 0.12 * question.order
        chosen = choices[0] if right else rng.choice(choices[1:])
        points += right
        results.append(
            {
                "question_id": str(question.pk),
                "kind": question.kind,
                "prompt": question.prompt,
                "correct": right,
                "points": int(right),
                "max_points": 1,
                "answer": [str(chosen.pk)],
                "correct_answer": [str(choices[0].pk)],
                "explanation": "",
                "choices": [{"id": str(c.pk), "text": c.text} for c in choices],
            }
        )
    return results, points


def _learner_rows(learner, course, lessons, rng: random.Random, now) -> dict[str, list]:
    """Everything one learner leaves behind: their enrollment, progress, attempts, events."""
    from analytics.models import Event
    from progress.models import Enrollment, LessonProgress, QuizAttempt

    enrolled = now - timedelta(days=rng.random() * (DAYS - 1), minutes=rng.randint(0, 600))
    reached = max(1, min(LESSONS, int(LESSONS * rng.random() ** 1.6) + 1))
    rows: dict[str, list] = {"enrollments": [], "progress": [], "attempts": [], "events": []}
    rows["enrollments"].append(
        Enrollment(user=learner, course=course, source="self", created_at=enrolled)
    )

    def event(type_: str, at, lesson=None, **properties) -> None:
        rows["events"].append(
            Event(
                event_id=uuid.uuid4(),
                type=type_,
                source="client" if type_.startswith(("video.", "lesson.viewed")) else "server",
                user=learner,
                app="web",
                course_id=course.pk,
                lesson_id=lesson.pk if lesson else None,
                occurred_at=at,
                received_at=at,
                properties=properties,
            )
        )

    event("enrollment.created", enrolled, source="self")
    at = enrolled
    for index, lesson in enumerate(lessons[:reached]):
        at = min(at + timedelta(hours=rng.random() * 30), now)
        completed = index < reached - 1
        ranges: list = []
        if lesson.kind == "video":
            stop = VIDEO_SECONDS if completed else rng.randint(30, VIDEO_SECONDS - 30)
            gap = rng.randint(60, 400)
            ranges = (
                [[0, gap], [gap + 90, stop]] if completed and rng.random() < 0.3 else [[0, stop]]
            )
            back = rng.uniform(60, stop)
            event("video.seek", at, lesson, **{"from": back, "to": max(back - 30, 0)})
            forward = rng.uniform(0, max(stop - 60, 1))
            event("video.seek", at, lesson, **{"from": forward, "to": forward + 45})
        if lesson.kind == "quiz":
            results, points = _quiz_results(lesson, rng)
            rows["attempts"].append(
                QuizAttempt(
                    user=learner,
                    lesson=lesson,
                    results=results,
                    points=points,
                    max_points=QUESTIONS,
                    score=points * 100 // QUESTIONS,
                    pass_mark=60,
                    passed=points * 100 // QUESTIONS >= 60,
                    created_at=at,
                )
            )
        rows["progress"].append(
            LessonProgress(
                user=learner,
                lesson=lesson,
                course=course,
                status="completed" if completed else "in_progress",
                watched_ranges=ranges,
                watched_seconds=sum(end - start for start, end in ranges),
                position_seconds=ranges[-1][1] if ranges else 0,
                started_at=at,
                updated_at=at,
                completed_at=at if completed else None,
            )
        )
        event("lesson.viewed", at, lesson)
        if completed:
            event("lesson.completed", at, lesson)
    return rows


def seed(*, learners: int) -> dict:
    """The course and its learners' data, and the rollups over it. Reuses a complete seed;
    replaces an incomplete one (an interrupted run)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from analytics.models import Event
    from analytics.selectors import period_last
    from analytics.services.rollups import rollup_period_recompute
    from catalog.models import Course
    from progress.models import Enrollment, LessonProgress, QuizAttempt

    existing = Course.objects.filter(slug=COURSE).first()
    if existing and Enrollment.objects.filter(course=existing).count() >= learners:
        return {"course": existing, "seeded_seconds": None, "rollup_seconds": None}
    if existing:
        Event.objects.filter(course_id=existing.pk).delete()
        existing.delete()
    started = time.perf_counter()
    rng = random.Random(14)  # the same school every run
    now = timezone.now()
    run = secrets.token_hex(3)
    unusable = make_password(None)
    with transaction.atomic():
        course, lessons = _course_create()
        lessons = [
            lesson
            for lesson in course.lessons.order_by("order").prefetch_related(
                "quiz__questions__choices"
            )
        ]
        users = User.objects.bulk_create(
            (
                User(
                    email=f"bench-dash-{run}-{n}@example.com",
                    display_name=f"Dashboard learner {n}",
                    password=unusable,  # these learners never sign in
                )
                for n in range(learners)
            ),
            batch_size=BATCH,
        )
        rows: dict[str, list] = {"enrollments": [], "progress": [], "attempts": [], "events": []}
        for learner in users:
            for name, items in _learner_rows(learner, course, lessons, rng, now).items():
                rows[name] += items
        Enrollment.objects.bulk_create(rows["enrollments"], batch_size=BATCH)
        LessonProgress.objects.bulk_create(rows["progress"], batch_size=BATCH)
        QuizAttempt.objects.bulk_create(rows["attempts"], batch_size=BATCH)
        Event.objects.bulk_create(rows["events"], batch_size=BATCH)
    seeded = time.perf_counter() - started
    print(
        f"  seeded {learners} learners: {len(rows['progress'])} progress rows, "
        f"{len(rows['attempts'])} quiz attempts, {len(rows['events'])} events in {seeded:.1f} s",
        flush=True,
    )
    started = time.perf_counter()
    rollup_period_recompute(period=period_last(DAYS + 1))
    rolled = time.perf_counter() - started
    print(f"  rolled up {DAYS + 1} days in {rolled:.1f} s", flush=True)
    return {"course": course, "seeded_seconds": seeded, "rollup_seconds": rolled}


# --- Timing ---------------------------------------------------------------------------------


def time_get(client, url: str, *, requests: int) -> dict:
    """Milliseconds per GET (after one to warm up) and the queries of one."""
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    timings = []
    deadline = time.monotonic() + MAX_SECONDS / 3
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if time.monotonic() > deadline:
            break
    ordered = sorted(timings)
    return {
        "requests": len(timings),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
        "queries": len(queries),
        "bytes": len(response.content),
    }


def measure(*, learners: int, requests: int) -> dict:
    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    seeded = seed(learners=learners)
    course = seeded["course"]
    staff, _created = User.objects.get_or_create(
        email="bench-dashboard-staff@example.com",
        defaults={"display_name": "Bench staff", "is_staff": True, "is_superuser": True},
    )
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    page = reverse("admin:analytics_coursedashboard_dashboard", args=[course.pk])
    csv_url = reverse("admin:analytics_coursedashboard_csv", args=[course.pk, "funnel"])
    figures = {
        "name": "dashboard",
        "learners": learners,
        "seeded_seconds": seeded["seeded_seconds"],
        "rollup_seconds": seeded["rollup_seconds"],
        "page_30_days": time_get(client, page, requests=requests),
        "page_90_days": time_get(client, f"{page}?range=90", requests=requests),
        "csv_funnel_90_days": time_get(client, f"{csv_url}?range=90", requests=requests),
    }
    return figures


def summary(figures: dict) -> str:
    page, wide = figures["page_30_days"], figures["page_90_days"]
    return (
        f"Course dashboard, {figures['learners']} learners: "
        f"{page['median_ms']:.0f} ms median (p95 {page['p95_ms']:.0f}) for 30 days, "
        f"{wide['median_ms']:.0f} ms median for 90 days, {page['queries']} queries; "
        f"funnel CSV {figures['csv_funnel_90_days']['median_ms']:.0f} ms."
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10_000, help="learners (max 20000)")
    parser.add_argument("--requests", type=int, default=10, help="timed GETs per URL (max 50)")
    parser.add_argument("--skip-setup", action="store_true", help="no migrate/collectstatic")
    parser.add_argument("--json-out", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.learners = min(max(args.learners, 10), 20_000)
    args.requests = min(max(args.requests, 1), 50)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench: needs PostgreSQL, DATABASE_URL is {database_url!r}")
    env = {**os.environ, "DATABASE_URL": database_url}
    if not args.skip_setup:
        database_ensure(database_url)
        step("Migrating")
        manage("migrate", "--no-input", env={**env, "DEBUG": "true"})
        step("Collecting static files (production storage needs the manifest)")
        manage(
            "collectstatic",
            "--no-input",
            env={**env, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(48)},
        )
    step(f"Dashboard: a course with {args.learners} learners' data, then its page as staff")
    _settings_env(env)
    try:
        figures = measure(learners=args.learners, requests=args.requests)
    except RuntimeError as exc:
        print(f"bench: the dashboard step stopped early: {exc}", file=sys.stderr)
        return 1
    print(summary(figures))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
