"""The benchmark's learners and lessons, prepared inside Django (`manage.py shell`).

`bench/run.py` runs outside Django and calls `main()` through `manage.py shell -c`, passing
what it needs in environment variables (the password never appears on a command line):

- `BENCH_RUN`: an id for this run; each run signs in fresh learners, so every run measures
  first completions rather than repeats;
- `BENCH_LEARNERS`: how many learners to create;
- `BENCH_PASSWORD`: their password.

It prints one JSON line: the large course's first lesson slug and lesson count, the learners'
emails, the ids of the lessons a learner completes by hand (text and lab) and of the videos
with their durations (for heartbeats).
"""

import json
import os

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts.models import User
from catalog.models import Lesson

LARGE_COURSE = "demo-large"


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


def lessons_describe() -> dict:
    lessons = list(
        Lesson.objects.filter(course__slug=LARGE_COURSE, is_published=True)
        .order_by("section__order", "order")
        .values("pk", "slug", "kind", "duration_seconds")
    )
    if not lessons:
        raise SystemExit(f"bench: the course {LARGE_COURSE!r} has no published lessons")
    return {
        "first_lesson": lessons[0]["slug"],
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


def main() -> None:
    count = int(os.environ.get("BENCH_LEARNERS", "0"))
    emails = learners_create(
        run=os.environ["BENCH_RUN"], count=count, password=os.environ["BENCH_PASSWORD"]
    )
    print(json.dumps({**lessons_describe(), "learners": emails}))
