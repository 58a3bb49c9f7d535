"""The overlay on a compiled outline (`progress.overlay`) says what the slow way says
(`catalog.selectors.course_outline_get` + `progress.selectors.course_progress_get`), for
random courses (sections and lessons published or not, hidden, required, free previews,
every kind of structure rule) and many viewers with random progress: visitors, learners
enrolled, never enrolled or gone, with early unlocks, the course's instructor and staff.

Random with fixed seeds (hypothesis is not a dependency), so a failure names its seed and
replays the same course.
"""

import random
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog import selectors
from catalog.models import Course, Lesson, SectionUnlock
from catalog.outline import outline_compiled_get
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import Enrollment, LessonProgress
from progress.overlay import outline_overlay_get
from progress.selectors import course_progress_get

pytestmark = pytest.mark.django_db

SEEDS = range(24)
LEARNERS_PER_COURSE = 7


def random_course(rng: random.Random, seed: int) -> Course:
    course = CourseFactory(
        slug=f"random-{seed}",
        visibility=rng.choice([Course.Visibility.PUBLIC, Course.Visibility.MEMBERS]),
        progression=rng.choice(list(Course.Progression.values)),
    )
    now = timezone.now()
    sections = []
    for index in range(rng.randint(1, 5)):
        release = {}
        roll = rng.random()
        if roll < 0.15:
            release["release_at"] = now + timedelta(days=rng.choice([-3, 5]))
        elif roll < 0.3:
            release["release_after_days"] = rng.choice([0, 2, 30])
        section = SectionFactory(
            course=course,
            order=index,
            title=f"Part {index}",
            is_hidden=rng.random() < 0.15,
            **release,
        )
        if sections and rng.random() < 0.3:
            section.prerequisites.add(rng.choice(sections))
        sections.append(section)
        for order in range(rng.randint(0, 5)):
            LessonFactory(
                section=section,
                order=order,
                slug=f"l-{index}-{order}",
                kind=rng.choice([Lesson.Kind.TEXT, Lesson.Kind.VIDEO, Lesson.Kind.QUIZ]),
                duration_seconds=rng.randint(0, 900),
                is_published=rng.random() < 0.85,
                is_hidden=rng.random() < 0.15,
                is_required=rng.random() < 0.8,
                is_free_preview=rng.random() < 0.2,
                is_boss=rng.random() < 0.1,
            )
    if rng.random() < 0.2:
        course.prerequisite_courses.add(CourseFactory(slug=f"before-{seed}"))
    return course


def random_learner(rng: random.Random, course: Course, lessons: list[Lesson]):
    user = UserFactory()
    state = rng.choice(["none", "enrolled", "enrolled", "enrolled", "left"])
    enrollment = None
    if state != "none":
        enrollment = Enrollment.objects.create(
            user=user,
            course=course,
            source=Enrollment.Source.SELF,
            created_at=timezone.now() - timedelta(days=rng.choice([0, 1, 3, 40])),
            unenrolled_at=timezone.now() if state == "left" else None,
        )
    for lesson in rng.sample(lessons, k=rng.randint(0, len(lessons))):
        done = rng.random() < 0.6
        LessonProgress.objects.create(
            user=user,
            lesson=lesson,
            course=course,
            status=LessonProgress.Status.COMPLETED if done else LessonProgress.Status.IN_PROGRESS,
            position_seconds=rng.choice([0.0, 0.5, 42.0]),
            completed_at=timezone.now() if done else None,
        )
    if enrollment is not None and lessons and rng.random() < 0.7:
        Enrollment.objects.filter(pk=enrollment.pk).update(last_lesson=rng.choice(lessons))
    if rng.random() < 0.2:
        section = rng.choice(list(course.sections.all()))
        SectionUnlock.objects.create(section=section, user=user)
    return user


def _resume_point(*, outline, progress):
    """Where "Continue" led on the course page before the overlay (progress/views.py)."""
    if progress is None or not progress.is_enrolled or progress.resume is None:
        return None, 0.0
    item = outline.find(progress.resume.lesson)
    if item is None or item.locked:
        return None, 0.0
    position = progress.resume.position_seconds if item.lesson.kind == Lesson.Kind.VIDEO else 0.0
    return item, position if position >= 1 else 0.0


def slow_way(user, slug: str) -> dict:
    course = selectors.course_get(user=user, slug=slug)
    outline = selectors.course_outline_get(user=user, course=course)
    state = {
        "access": outline.access,
        "sections": [
            (item.section.pk, item.lock, item.lesson_count, item.duration_seconds)
            for item in outline.sections
        ],
        "lessons": [(item.lesson.pk, item.access, item.number) for item in outline.lessons],
        "counts": (outline.lesson_count, outline.duration_seconds, outline.required_count),
    }
    if user.is_authenticated:
        progress = course_progress_get(
            user=user,
            course=course,
            lessons=[item.lesson for item in outline.lessons],
            structure=outline.structure,
        )
        resume, position = _resume_point(outline=outline, progress=progress)
        state["progress"] = {
            "marks": [progress.status_of(item.lesson) for item in outline.lessons],
            "counts": (progress.completed_count, progress.total_count, progress.percent),
            "step": progress.next_step,
            "waiting": progress.waiting,
            "target": progress.resume.lesson.pk if progress.resume else None,
            "resume": (resume.lesson.pk if resume else None, position),
            "enrolled": (progress.is_enrolled, progress.is_completed),
        }
    return state


def fast_way(user, slug: str) -> dict:
    course = selectors.course_get(user=user, slug=slug)
    compiled = outline_compiled_get(course=course)
    overlay = outline_overlay_get(user=user, course=course, compiled=compiled)
    visible = overlay.visible
    state = {
        "access": overlay.access,
        "sections": [
            (
                section_id,
                overlay.section_lock(section_id),
                len(visible.section_lessons[section_id]),
                visible.section_durations[section_id],
            )
            for section_id in visible.section_ids
        ],
        "lessons": [
            (entry.lesson.id, entry.access, entry.number)
            for entry in map(overlay.entry, visible.lesson_ids)
        ],
        "counts": (overlay.lesson_count, overlay.duration_seconds, overlay.required_count),
    }
    if user.is_authenticated:
        resume, position = overlay.resume_point()
        state["progress"] = {
            "marks": [overlay.status_of(pk) for pk in visible.lesson_ids],
            "counts": (overlay.completed_count, overlay.total_count, overlay.percent),
            "step": overlay.next_step,
            "waiting": overlay.waiting,
            "target": overlay.resume_lesson_id,
            "resume": (resume.lesson.id if resume else None, position),
            "enrolled": (overlay.is_enrolled, overlay.is_completed),
        }
    return state


@pytest.mark.parametrize("seed", SEEDS)
def test_overlay_state_equals_the_slow_way_for_random_courses_and_learners(seed):
    rng = random.Random(seed)
    course = random_course(rng, seed)
    lessons = list(Lesson.objects.filter(course=course))
    instructor = UserFactory()
    course.instructors.add(instructor)
    viewers = [
        AnonymousUser(),
        instructor,
        UserFactory(is_staff=True, is_superuser=True),
        *(random_learner(rng, course, lessons) for _ in range(LEARNERS_PER_COURSE)),
    ]
    for number, viewer in enumerate(viewers):
        expected = slow_way(viewer, course.slug)
        assert fast_way(viewer, course.slug) == expected, f"seed {seed}, viewer {number}"
