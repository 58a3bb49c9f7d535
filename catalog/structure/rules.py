"""The rules of one course, the same for every learner: built from the course's sections and
lessons, cached, and dropped whenever its content changes (`catalog.signals`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from catalog.models import Course, Lesson, Section


# --- The rules of one course (the same for every learner) --------------------------------
@dataclass(frozen=True)
class SectionRules:
    id: UUID
    title: str
    order: int
    is_hidden: bool
    prerequisite_ids: tuple[UUID, ...]
    release_at: datetime | None
    release_after_days: int | None
    release_from: str
    # Published lessons in course order: (id, is_hidden, is_required, title).
    lessons: tuple[tuple[UUID, bool, bool, str], ...]

    @property
    def countable_ids(self) -> tuple[UUID, ...]:
        """The lessons that complete the section: published, visible and required."""
        return tuple(pk for pk, hidden, required, _t in self.lessons if required and not hidden)


@dataclass(frozen=True)
class CourseRules:
    course_id: UUID
    progression: str
    prerequisite_courses: tuple[tuple[UUID, str], ...]  # (id, title) of published ones
    sections: tuple[SectionRules, ...]
    hidden_lesson_ids: frozenset[UUID]

    @property
    def needs_facts(self) -> bool:
        """Whether any rule depends on what a learner has done (hidden items do not)."""
        return bool(
            self.progression != Course.Progression.FREE
            or self.prerequisite_courses
            or any(
                s.prerequisite_ids or s.release_at or s.release_after_days is not None
                for s in self.sections
            )
        )

    @property
    def hidden_section_ids(self) -> frozenset[UUID]:
        return frozenset(s.id for s in self.sections if s.is_hidden)


_SECTION_FIELDS = (
    "id",
    "title",
    "order",
    "is_hidden",
    "release_at",
    "release_after_days",
    "release_from",
)


_RULES_KEY = "catalog:structure-rules:{}"


def section_rule_flags() -> dict[str, Exists]:
    """Annotations for a query of a course's sections that say whether the rules need their
    prerequisite links at all: with them, building the rules of a course without such links
    costs no query beyond the sections and lessons the caller loads anyway."""
    return {
        "rules_has_prerequisites": Exists(
            Section.prerequisites.through.objects.filter(from_section_id=OuterRef("pk"))
        ),
        "rules_course_has_prerequisites": Exists(
            Course.prerequisite_courses.through.objects.filter(from_course_id=OuterRef("course_id"))
        ),
    }


def _plain(course_ref: str, progression: str) -> ExpressionWrapper:
    ruled_sections = Section.objects.filter(course_id=OuterRef(course_ref)).filter(
        Q(is_hidden=True)
        | Q(release_at__isnull=False)
        | Q(release_after_days__isnull=False)
        | Q(prerequisites__isnull=False)
    )
    prerequisite_courses = Course.prerequisite_courses.through.objects.filter(
        from_course_id=OuterRef(course_ref)
    )
    return ExpressionWrapper(
        Q(**{progression: Course.Progression.FREE})
        & ~Exists(ruled_sections)
        & ~Exists(prerequisite_courses),
        output_field=BooleanField(),
    )


def lesson_rule_flags() -> dict[str, ExpressionWrapper]:
    """An annotation for a query of lessons: `rules_course_plain`, true when their course has
    no structure rule at all (free progression, no prerequisite course, no section hidden,
    scheduled or with prerequisites). For such a lesson `course_structure_plain` decides
    without loading the rules: nothing is locked, and only the lesson's own `is_hidden` hides
    it."""
    return {"rules_course_plain": _plain("course_id", "course__progression")}


def course_rule_flags() -> dict[str, ExpressionWrapper]:
    """`lesson_rule_flags` for a query of courses: `rules_course_plain` on each course."""
    return {"rules_course_plain": _plain("pk", "progression")}


def course_rules_get(*, course: Course, sections: Iterable[Section] | None = None) -> CourseRules:
    """The course's rules, from the cache (no query) or built on a miss whatever the course's
    size: its sections and lessons (two queries), plus one query for the sections'
    prerequisite links and one for the prerequisite courses, each only when the course has
    such links. A caller that already loaded the course's sections (in order, each with its
    lessons in order as `outline_lessons`, the query annotated with `section_rule_flags()`,
    as `catalog.selectors.course_outline_get` loads them) passes them: a miss then costs
    nothing more for a course without links. Kept on the course instance too, so deciding
    for many lessons of one loaded course reads them once.

    Every save or delete of a course, section or lesson and every change of a prerequisite
    drops the cached copy (`catalog.signals`), now and again when its transaction commits;
    `LMS_STRUCTURE_RULES_CACHE_SECONDS` bounds how long a copy lives if a drop was lost
    (Redis down at that moment)."""
    cached = getattr(course, "_structure_rules", None)
    if cached is not None:
        return cached
    if sections is None:
        course_rules_prefetch(courses=[course])
        return course._structure_rules
    key = _RULES_KEY.format(course.pk)
    cached = cache.get(key)
    if not _fits(cached, course):
        cached = _rules_from_sections(course=course, sections=sections)
        cache.set(key, cached, settings.LMS_STRUCTURE_RULES_CACHE_SECONDS)
    course._structure_rules = cached
    return cached


def course_rules_prefetch(*, courses: Iterable[Course]) -> None:
    """Load the rules of many courses at once (a sync batch across courses): one cache read,
    and for the courses missing from it two queries whatever their number (sections and
    lessons), plus one each for prerequisite links when some of them have any. Each course
    instance (several may stand for one course) then keeps its rules."""
    by_pk: dict[UUID, list[Course]] = {}
    for course in courses:
        if getattr(course, "_structure_rules", None) is None:
            by_pk.setdefault(course.pk, []).append(course)
    if not by_pk:
        return
    keys = {pk: _RULES_KEY.format(pk) for pk in by_pk}
    found = cache.get_many(list(keys.values()))
    rules: dict[UUID, CourseRules] = {}
    missing: dict[UUID, Course] = {}
    for pk, instances in by_pk.items():
        cached = found.get(keys[pk])
        if _fits(cached, instances[0]):
            rules[pk] = cached
        else:
            missing[pk] = instances[0]
    if missing:
        built = _rules_build_many(courses=missing)
        cache.set_many(
            {keys[pk]: value for pk, value in built.items()},
            settings.LMS_STRUCTURE_RULES_CACHE_SECONDS,
        )
        rules.update(built)
    for pk, instances in by_pk.items():
        for course in instances:
            course._structure_rules = rules[pk]


def _fits(cached: object, course: Course) -> bool:
    # The progression is on the course row the caller loaded: a copy saved before the
    # course's progression changed (and not yet dropped) is not used.
    return isinstance(cached, CourseRules) and cached.progression == course.progression


def course_rules_invalidate(*, course_ids: Iterable[UUID | str]) -> None:
    """Drop the cached rules of these courses, now and once the current transaction
    commits (so a reader between the two cannot keep what the transaction replaced)."""
    keys = [_RULES_KEY.format(pk) for pk in course_ids]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


_FLAGS = ("rules_has_prerequisites", "rules_course_has_prerequisites")  # section_rule_flags
_LessonRow = tuple[UUID, bool, bool, str]  # (id, is_hidden, is_required, title)


def _rules_from_sections(*, course: Course, sections: Iterable[Section]) -> CourseRules:
    """The rules from sections the caller loaded (with `outline_lessons`)."""
    rows: list[dict] = []
    lessons: dict[UUID, list[_LessonRow]] = {}
    for section in sections:
        row = {name: getattr(section, name) for name in _SECTION_FIELDS}
        row.update({flag: getattr(section, flag, None) for flag in _FLAGS})
        rows.append(row)
        lessons[section.pk] = [
            (lesson.pk, lesson.is_hidden, lesson.is_required, lesson.title)
            for lesson in section.outline_lessons
            if lesson.is_published
        ]
    pk = course.pk
    requirements = _section_requirements(course_ids=_flagged({pk: rows}, _FLAGS[0]))
    prerequisites = _prerequisite_courses(course_ids=_flagged({pk: rows}, _FLAGS[1]))
    return _rules_assemble(
        course=course,
        rows=rows,
        lessons=lessons,
        requirements=requirements,
        prerequisite_courses=tuple(prerequisites.get(pk, ())),
    )


def _rules_build_many(*, courses: dict[UUID, Course]) -> dict[UUID, CourseRules]:
    rows_by_course: dict[UUID, list[dict]] = {pk: [] for pk in courses}
    for row in (
        Section.objects.filter(course_id__in=list(courses))
        .annotate(**section_rule_flags())
        .order_by("course_id", "order")
        .values("course_id", *_SECTION_FIELDS, *_FLAGS)
    ):
        rows_by_course[row.pop("course_id")].append(row)
    lessons: dict[UUID, list[_LessonRow]] = {}
    for pk, section_id, hidden, required, title in (
        Lesson.objects.filter(course_id__in=list(courses), is_published=True)
        .order_by("section__order", "order")
        .values_list("id", "section_id", "is_hidden", "is_required", "title")
    ):
        lessons.setdefault(section_id, []).append((pk, hidden, required, title))
    requirements = _section_requirements(course_ids=_flagged(rows_by_course, _FLAGS[0]))
    prerequisites = _prerequisite_courses(course_ids=_flagged(rows_by_course, _FLAGS[1]))
    return {
        pk: _rules_assemble(
            course=course,
            rows=rows_by_course[pk],
            lessons=lessons,
            requirements=requirements,
            prerequisite_courses=tuple(prerequisites.get(pk, ())),
        )
        for pk, course in courses.items()
    }


def _flagged(rows_by_course: dict[UUID, list[dict]], flag: str) -> list[UUID]:
    """The courses whose rows say yes, or cannot say: no sections (a course without
    sections has nothing to lock, but its prerequisite courses are still shown), or rows
    from a query without `section_rule_flags()`."""
    return [
        pk
        for pk, rows in rows_by_course.items()
        if not rows or any(row[flag] is not False for row in rows)
    ]


def _section_requirements(*, course_ids: list[UUID]) -> dict[UUID, list[UUID]]:
    """Each section's prerequisite sections (in course order), for these courses."""
    requirements: dict[UUID, list[UUID]] = {}
    if not course_ids:
        return requirements
    for from_id, to_id in (
        Section.prerequisites.through.objects.filter(from_section__course_id__in=course_ids)
        .order_by("to_section__order")
        .values_list("from_section_id", "to_section_id")
    ):
        requirements.setdefault(from_id, []).append(to_id)
    return requirements


def _prerequisite_courses(*, course_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, str]]]:
    """Each course's published (or archived) prerequisite courses, by title."""
    found: dict[UUID, list[tuple[UUID, str]]] = {}
    if not course_ids:
        return found
    for course_id, pk, title in (
        Course.prerequisite_courses.through.objects.filter(from_course_id__in=course_ids)
        .exclude(to_course__status=Course.Status.DRAFT)
        .order_by("to_course__title", "to_course_id")
        .values_list("from_course_id", "to_course_id", "to_course__title")
    ):
        found.setdefault(course_id, []).append((pk, title))
    return found


def _rules_assemble(
    *,
    course: Course,
    rows: list[dict],
    lessons: dict[UUID, list[_LessonRow]],
    requirements: dict[UUID, list[UUID]],
    prerequisite_courses: tuple[tuple[UUID, str], ...],
) -> CourseRules:
    sections = tuple(
        SectionRules(
            **{name: row[name] for name in _SECTION_FIELDS},
            prerequisite_ids=tuple(requirements.get(row["id"], ())),
            lessons=tuple(lessons.get(row["id"], ())),
        )
        for row in rows
    )
    return CourseRules(
        course_id=course.pk,
        progression=course.progression,
        prerequisite_courses=prerequisite_courses,
        sections=sections,
        hidden_lesson_ids=frozenset(
            pk for section in sections for pk, hidden, *_rest in section.lessons if hidden
        ),
    )


def course_rules_forget(course: Course) -> None:
    """Drop the rules kept on this instance (after changing them through it)."""
    course.__dict__.pop("_structure_rules", None)
