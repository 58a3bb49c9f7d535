"""Read queries for the catalog. Each runs a fixed number of queries, whatever the course size."""

import uuid
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import user_has_staff_role
from catalog.access import (
    Access,
    course_access,
    course_is_visible,
    is_course_editor,
    lesson_access,
    lesson_is_visible,
    structure_for,
)
from catalog.models import Course, Lesson, Section
from catalog.search import course_search
from catalog.structure import (
    Structure,
    course_rules_get,
    lesson_rule_flags,
    section_rule_flags,
)
from lms.errors import ErrorCode, NotFoundError

PUBLISHED_LESSONS = Q(lessons__is_published=True)


@dataclass(frozen=True)
class OutlineLesson:
    lesson: Lesson
    access: Access
    number: int  # 1-based position in the whole course

    @property
    def locked(self) -> bool:
        return self.access.locked


@dataclass(frozen=True)
class OutlineSection:
    section: Section
    lessons: list[OutlineLesson]
    # The section's own structure lock for this user (`catalog.structure`), if any.
    lock: Access | None = None

    @property
    def locked(self) -> bool:
        return self.lock is not None

    @property
    def lesson_count(self) -> int:
        return len(self.lessons)

    @property
    def duration_seconds(self) -> int:
        return sum(item.lesson.duration_seconds for item in self.lessons)


@dataclass(frozen=True)
class Outline:
    course: Course
    access: Access
    sections: list[OutlineSection]
    structure: Structure | None = None
    lessons: list[OutlineLesson] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "lessons", [item for section in self.sections for item in section.lessons]
        )

    @property
    def lesson_count(self) -> int:
        return len(self.lessons)

    @property
    def duration_seconds(self) -> int:
        return sum(item.lesson.duration_seconds for item in self.lessons)

    @property
    def first_lesson(self) -> OutlineLesson | None:
        return self.lessons[0] if self.lessons else None

    @property
    def required_count(self) -> int:
        """Published required lessons: completing them completes the course."""
        return sum(
            1 for item in self.lessons if item.lesson.is_published and item.lesson.is_required
        )

    def section_of(self, lesson: Lesson | None) -> OutlineSection | None:
        """The section holding `lesson`, else the first section (where a newcomer starts)."""
        if lesson is not None:
            for section in self.sections:
                if any(item.lesson.pk == lesson.pk for item in section.lessons):
                    return section
        return self.sections[0] if self.sections else None

    def find(self, lesson: Lesson) -> OutlineLesson | None:
        return next((item for item in self.lessons if item.lesson.pk == lesson.pk), None)

    def neighbours(self, lesson: Lesson) -> tuple[OutlineLesson | None, OutlineLesson | None]:
        """The lessons before and after `lesson` in course order, across sections."""
        for index, item in enumerate(self.lessons):
            if item.lesson.pk == lesson.pk:
                previous = self.lessons[index - 1] if index > 0 else None
                following = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
                return previous, following
        return None, None


def course_list(
    *,
    search: str = "",
    course_type: str | None = None,
    difficulty: str | None = None,
    user: User | AnonymousUser | None = None,
) -> QuerySet[Course]:
    """Listed (published) courses with their lesson counts and durations: one query.

    `search` also finds courses through their lessons, as far as `user` may see them
    (`catalog.search`); `catalog.search.lesson_hits_for` then lists those lessons."""
    queryset = (
        Course.objects.filter(status=Course.Status.PUBLISHED)
        .select_related("required_tier")
        .annotate(
            lesson_count=Count("lessons", filter=PUBLISHED_LESSONS),
            total_duration_seconds=Coalesce(
                Sum("lessons__duration_seconds", filter=PUBLISHED_LESSONS), 0
            ),
        )
        # Explicit: Django drops Meta.ordering from GROUP BY queries, so without this the
        # list (and its pages) would come back in no particular order.
        .order_by("-published_at", "title", "slug")
    )
    if course_type:
        queryset = queryset.filter(course_type=course_type)
    if difficulty:
        queryset = queryset.filter(difficulty=difficulty)
    return course_search(queryset, text=search, user=user)


def _course_queryset(user: User | AnonymousUser) -> QuerySet[Course]:
    queryset = Course.objects.select_related("required_tier", "preview_video")
    if user.is_authenticated and not user_has_staff_role(user):
        # The access policy checks instructors; prefetching keeps that to one query.
        queryset = queryset.prefetch_related("instructors")
    return queryset


def course_get(*, user: User | AnonymousUser, slug: str) -> Course:
    """The course at `slug` if this user may see it; COURSE_NOT_FOUND otherwise."""
    course = _course_queryset(user).filter(slug=slug).first()
    if course is None or not course_is_visible(user=user, course=course):
        raise NotFoundError(ErrorCode.COURSE_NOT_FOUND)
    return course


@dataclass(frozen=True)
class Instructor:
    """An instructor as a course page shows them: never their email or any part of it."""

    name: str
    bio: str
    picture_url: str  # the small avatar, else the full one, else ""


def course_instructors_get(*, course: Course) -> list[Instructor]:
    """The course's instructors with a name to show, picture and bio: one query at most (none
    when `course_get` prefetched them). An instructor without a display name is shown as
    "Instructor", as certificates and public pages never fall back to the email."""
    people = sorted(
        course.instructors.all(),
        key=lambda user: (not user.display_name, user.display_name.casefold()),
    )
    return [
        Instructor(
            name=user.display_name or gettext("Instructor"),
            bio=user.bio,
            picture_url=_picture_url(user),
        )
        for user in people
    ]


def _picture_url(user: User) -> str:
    picture = user.avatar_thumbnail or user.avatar
    return picture.url if picture else ""


def course_outline_get(*, user: User | AnonymousUser, course: Course) -> Outline:
    """Sections and lessons in order, each lesson with the user's access: four queries, and
    the learner's facts when a structure rule depends on them (`catalog.structure`).

    Hidden sections and lessons are left out but for the course's editors. Lesson bodies are
    deferred; load the one you show with `lesson_get`.
    """
    editor = is_course_editor(user=user, course=course)
    lessons = Lesson.objects.filter(course=course).defer("body").order_by("order")
    if not editor:
        lessons = lessons.filter(is_published=True)
    sections = list(
        Section.objects.filter(course=course)
        .annotate(**section_rule_flags())  # a cold rules cache costs no query without links
        .prefetch_related(Prefetch("lessons", queryset=lessons, to_attr="outline_lessons"))
    )
    course_rules_get(course=course, sections=sections)
    structure = structure_for(user=user, course=course)
    decision = course_access(user=user, course=course)
    number = 0
    outline_sections = []
    for section in sections:
        if structure.section_hidden(section.pk):
            continue
        section.course = course  # already loaded; saves a query per section
        items = []
        for lesson in section.outline_lessons:
            lesson.course = course
            lesson.section = section
            if structure.lesson_hidden(lesson):
                continue
            number += 1
            access = lesson_access(
                user=user,
                course=course,
                lesson=lesson,
                course_decision=decision,
                structure=structure,
            )
            items.append(OutlineLesson(lesson=lesson, access=access, number=number))
        lock = structure.section_lock(section.pk)
        outline_sections.append(
            OutlineSection(
                section=section,
                lessons=items,
                lock=Access.from_lock(lock) if lock is not None else None,
            )
        )
    return Outline(course=course, access=decision, sections=outline_sections, structure=structure)


def lesson_get(*, user: User | AnonymousUser, course: Course, slug: str) -> Lesson:
    """The lesson of `course` at `slug` if this user may see it exists; LESSON_NOT_FOUND otherwise.

    Whether they may open its content is `catalog.access.lesson_access`.
    """
    # A course whose rules are loaded (`catalog.outline.outline_compiled_get` leaves them on
    # it) answers `rules_course_plain` from them; otherwise the query asks the database, so
    # a course without rules needs none read.
    rules = getattr(course, "_structure_rules", None)
    lessons = Lesson.objects.select_related("section", "video")
    if rules is None:
        lessons = lessons.annotate(**lesson_rule_flags())
    lesson = lessons.filter(course=course, slug=slug).first()
    if lesson is None:
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    if rules is not None:
        lesson.rules_course_plain = not rules.needs_facts and not rules.hidden_section_ids
    lesson.course = course
    if not lesson_is_visible(user=user, course=course, lesson=lesson):
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    return lesson


def lesson_get_by_id(*, user: User | AnonymousUser, lesson_id: uuid.UUID | str) -> Lesson:
    """A lesson by id, with its course and section, if this user may see it exists."""
    queryset = Lesson.objects.select_related(
        "section", "course", "course__required_tier", "video"
    ).annotate(**lesson_rule_flags())  # no rules to read for a course without any
    if user.is_authenticated and not user_has_staff_role(user):
        queryset = queryset.prefetch_related("course__instructors")
    try:
        lesson = queryset.filter(pk=lesson_id).first()
    except (ValueError, TypeError, ValidationError):
        lesson = None
    if lesson is None or not lesson_is_visible(user=user, course=lesson.course, lesson=lesson):
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    return lesson
