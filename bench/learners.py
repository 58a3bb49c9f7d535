"""The benchmark's courses, learners and lessons, prepared inside Django (`manage.py shell`).

`bench/run.py` runs outside Django and calls `main()` through `manage.py shell -c`, passing
what it needs in environment variables (the password never appears on a command line):

- `BENCH_RUN`: an id for this run; each run signs in fresh learners, so every run measures
  first completions rather than repeats;
- `BENCH_LEARNERS`: how many learners to create;
- `BENCH_PASSWORD`: their password (and this run's password of the reader, below);
- `BENCH_SWEEP`: course sizes for the course-size sweep, e.g. `20,200,1000`.

It prints one JSON line: the large course's first lesson slug and lesson count, the learners'
emails, the ids of the lessons a learner completes by hand (text and lab) and of the videos
with their durations (for heartbeats); the sweep's courses (`bench-sweep-<n>`, created once,
through the catalog's services); and the reader: one learner, kept from run to run, enrolled
in the large course and the sweep's with about 30% of each done and a few videos under way,
signed in with a browser session made for this run (with the server's SECRET_KEY and session
store, which the caller passes in the environment).
"""

import json
import os
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from catalog.models import Course, Lesson
from catalog.services import course_create, course_publish, lesson_create, section_create
from progress.models import Enrollment, LessonProgress
from progress.services import ProgressEventIn, enrollment_lesson_opened, progress_apply

LARGE_COURSE = "demo-large"
SWEEP_PREFIX = "bench-sweep-"
LESSONS_PER_SECTION = 20
READER_EMAIL = "bench-reader@example.com"
# The reader has done this share of each course's lessons (60 of the large course's 200).
READER_DONE_SHARE = 0.30
READER_VIDEOS_UNDER_WAY = 5


def learners_create(*, run: str, count: int, password: str) -> list[str]:
    """`count` learners with verified emails (sign-in requires one), sharing one password
    hash: hashing is deliberately slow, and these accounts only exist for one run."""
    hashed = make_password(password)
    users = [
        User(
            email=f"bench-{run}-{number}@example.com",
            display_name=f"Bench learner {number}",
            password=hashed,
        )
        for number in range(count)
    ]
    with transaction.atomic():
        User.objects.bulk_create(users)
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
        )
    return [user.email for user in users]


def _published_lessons(slug: str) -> list[dict]:
    return list(
        Lesson.objects.filter(course__slug=slug, is_published=True)
        .order_by("section__order", "order")
        .values("pk", "slug", "kind", "duration_seconds")
    )


def lessons_describe(slug: str = LARGE_COURSE) -> dict:
    lessons = _published_lessons(slug)
    if not lessons:
        raise SystemExit(f"bench: the course {slug!r} has no published lessons")
    return {
        "first_lesson": lessons[0]["slug"],
        # The lesson page measured: halfway through, in neither the first nor the last section.
        "lesson": lessons[len(lessons) // 2]["slug"],
        "lesson_count": len(lessons),
        "completable": [
            str(lesson["pk"])
            for lesson in lessons
            if lesson["kind"] in (Lesson.Kind.TEXT, Lesson.Kind.LAB)
        ],
        "videos": [
            [str(lesson["pk"]), lesson["duration_seconds"]]
            for lesson in lessons
            if lesson["kind"] == Lesson.Kind.VIDEO
        ],
    }


# --- The course-size sweep ----------------------------------------------------------------------


@transaction.atomic  # one outline rebuild and one bundle build at commit, not one per lesson
def sweep_course_ensure(*, lessons: int) -> Course:
    """A public course of `lessons` text and lab lessons in sections of 20, made once."""
    slug = f"{SWEEP_PREFIX}{lessons}"
    course = Course.objects.filter(slug=slug).first()
    if course is None:
        course = course_create(
            title=f"Bench sweep: {lessons} lessons",
            slug=slug,
            subtitle="A course of a given size for make bench",
            description="Made by bench/learners.py to measure pages against course size.",
            course_type=Course.CourseType.COURSE,
            difficulty=Course.Difficulty.BEGINNER,
            visibility=Course.Visibility.PUBLIC,
        )
    existing = course.lessons.count()
    if existing < lessons:
        sections = list(course.sections.order_by("order"))
        for number in range(existing + 1, lessons + 1):
            index = (number - 1) // LESSONS_PER_SECTION
            while len(sections) <= index:
                sections.append(section_create(course=course, title=f"Part {len(sections) + 1}"))
            lesson_create(
                section=sections[index],
                title=f"Step {number}",
                slug=f"step-{number:04d}",
                kind=Lesson.Kind.TEXT if number % 2 else Lesson.Kind.LAB,
                body=f"## Step {number}\n\nRead this, then try it **{number % 5 + 1} times**.\n",
                duration_seconds=60 * (2 + number % 7),
            )
    if course.status != Course.Status.PUBLISHED:
        course = course_publish(course=course)
    return course


def _sweep_describe(slug: str) -> dict:
    lessons = _published_lessons(slug)
    # A lesson halfway through: its section is neither the first nor the last.
    return {"course": slug, "lessons": len(lessons), "lesson": lessons[len(lessons) // 2]["slug"]}


# --- The reader: a learner with progress, signed in with a browser session ---------------------


def reader_ensure(*, password: str, courses: list[str]) -> User:
    user = User.objects.filter(email=READER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=READER_EMAIL, display_name="Bench reader")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    user.set_password(password)
    user.save(update_fields=["password"])
    for slug in courses:
        reader_progress_ensure(user=user, slug=slug)
    return user


def reader_progress_ensure(*, user: User, slug: str) -> None:
    """About 30% of the course's lessons done (text and lab ones, in order), a few videos
    part-watched, and the lesson after the last one done opened last (the Continue target)."""
    lessons = _published_lessons(slug)
    completable = [
        lesson for lesson in lessons if lesson["kind"] in (Lesson.Kind.TEXT, Lesson.Kind.LAB)
    ]
    wanted = completable[: round(len(lessons) * READER_DONE_SHARE)]
    done = set(
        LessonProgress.objects.filter(
            user=user, course__slug=slug, status=LessonProgress.Status.COMPLETED
        ).values_list("lesson_id", flat=True)
    )
    now = timezone.now()
    events = [
        ProgressEventIn(
            kind="complete", lesson_id=lesson["pk"], occurred_at=now - timedelta(minutes=10)
        )
        for lesson in wanted
        if lesson["pk"] not in done
    ]
    videos = [lesson for lesson in lessons if lesson["kind"] == Lesson.Kind.VIDEO]
    for number, video in enumerate(videos[:READER_VIDEOS_UNDER_WAY]):
        if video["pk"] not in done:
            events.append(
                ProgressEventIn(
                    kind="position",
                    lesson_id=video["pk"],
                    occurred_at=now - timedelta(minutes=5, seconds=number),
                    position_seconds=float(min(30 * (number + 1), video["duration_seconds"])),
                )
            )
    if events:
        progress_apply(user=user, events=events)
    if wanted:
        following = lessons[min(lessons.index(wanted[-1]) + 1, len(lessons) - 1)]
        lesson = Lesson.objects.get(pk=following["pk"])
        enrollment = Enrollment.objects.filter(user=user, course_id=lesson.course_id).first()
        enrollment_lesson_opened(enrollment=enrollment, lesson=lesson)


def reader_session(user: User) -> dict:
    """A browser session for the reader, as signing in makes it (allauth records it too)."""
    client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    name = settings.SESSION_COOKIE_NAME
    return {"cookie": f"{name}={client.cookies[name].value}", "email": user.email}


def main() -> None:
    count = int(os.environ.get("BENCH_LEARNERS", "0"))
    password = os.environ["BENCH_PASSWORD"]
    emails = learners_create(run=os.environ["BENCH_RUN"], count=count, password=password)
    sizes = [int(size) for size in os.environ.get("BENCH_SWEEP", "").split(",") if size]
    sweep = {str(size): _sweep_describe(sweep_course_ensure(lessons=size).slug) for size in sizes}
    reader = reader_ensure(
        password=password, courses=[LARGE_COURSE, *(entry["course"] for entry in sweep.values())]
    )
    print(
        json.dumps(
            {
                **lessons_describe(),
                "learners": emails,
                "sweep": sweep,
                "reader": reader_session(reader),
            }
        )
    )
