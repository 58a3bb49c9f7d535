"""Structure rules: prerequisites, sequential progression, scheduled release and hidden items.

`catalog.access` applies them after the tier check, so every surface that asks the access
policy (pages, API, playback, downloads, completion, sync, bundles) obeys the same answer.
The rules are authored on the course and its sections (`Course.progression`,
`Course.prerequisite_courses`, `Section.prerequisites`, `Section.release_*`, `is_hidden` on
sections and lessons); what the learner has done comes from `progress`, which sits above the
catalog, through the loader it registers at start-up (`learner_facts_loader_register`).

The semantics, in the order they are decided for a section:

1. Staff and the course's instructors bypass every rule (hidden items included).
2. A hidden section or lesson does not exist for learners (404), and hidden lessons never
   count towards completing a section or course.
3. A section staff unlocked early for this learner (`SectionUnlock`), or one they have
   already started (any progress on one of its lessons), is open: a rule added later never
   locks again what a learner has begun.
4. A prerequisite (another section, the previous section of a sequential course, or a
   prerequisite course) is met when the learner completed every published, visible,
   required lesson of it; one with no such lessons counts as met. An unmet one locks with
   `LOCKED_PREREQUISITE`, naming what to complete.
5. A scheduled section opens at its fixed instant, or `release_after_days` after the
   learner's enrollment (or their cohort's start day, midnight in the learner's time zone,
   when the section counts from the cohort and they are in one); both set, the later wins.
   Before that it locks with `LOCKED_UNTIL` and the instant (none yet for a learner who has
   not enrolled: the count has not started).

Sequential lessons (`progression = "lessons"`) add, within open sections, that each
required lesson needs the required lesson before it (in course order) completed; started
lessons stay open. Free-preview lessons skip the tier check only, not these rules.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from catalog.models import Course, Lesson, Section, SectionUnlock


# --- What the learner has done (loaded by `progress`) ------------------------------------
@dataclass(frozen=True)
class LearnerFacts:
    """One learner's history in one course, as the rules need it."""

    completed_lesson_ids: frozenset[UUID] = frozenset()
    started_lesson_ids: frozenset[UUID] = frozenset()  # any progress row, completed included
    enrolled_at: datetime | None = None  # the active enrollment's start
    cohort_starts_on: date | None = None  # their cohort of this course, if any
    completed_course_ids: frozenset[UUID] = frozenset()  # of the ids asked for


NO_FACTS = LearnerFacts()

# (user, course, prerequisite course ids) -> LearnerFacts
FactsLoader = Callable[[User, Course, tuple[UUID, ...]], LearnerFacts]
_facts_loader: FactsLoader | None = None


def learner_facts_loader_register(loader: FactsLoader) -> None:
    """Called once by `progress` at start-up: the catalog never imports it."""
    global _facts_loader
    _facts_loader = loader


def _facts_load(
    *, user: User | AnonymousUser, course: Course, course_ids: tuple[UUID, ...]
) -> LearnerFacts:
    if not user.is_authenticated or _facts_loader is None:
        return NO_FACTS
    return _facts_loader(user, course, course_ids)


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


def course_structure_plain(*, course: Course) -> "Structure":
    """The structure of a course `lesson_rule_flags` found without rules (no query)."""
    return Structure(
        bypass=False,
        rules=CourseRules(
            course_id=course.pk,
            progression=course.progression,
            prerequisite_courses=(),
            sections=(),  # not loaded: none of them is hidden or ruled
            hidden_lesson_ids=frozenset(),
        ),
    )


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


# --- One learner's locks ------------------------------------------------------------------
LOCK_PREREQUISITE = "prerequisite"
LOCK_UNTIL = "until"


@dataclass(frozen=True)
class Lock:
    """Why a section or lesson is closed to this learner, and when it opens if known."""

    kind: str  # LOCK_PREREQUISITE or LOCK_UNTIL
    requires: tuple[str, ...] = ()  # titles of the sections or courses to complete first
    opens_at: datetime | None = None  # the release instant, when the time is known
    opens_after_days: int | None = None  # "N days after you enroll", before enrolling


@dataclass(frozen=True)
class Structure:
    """The rules of one course decided for one learner at one instant."""

    bypass: bool  # staff or an instructor of the course: nothing is hidden or locked
    rules: CourseRules
    section_locks: dict[UUID, Lock] = field(default_factory=dict)
    lesson_locks: dict[UUID, Lock] = field(default_factory=dict)
    unlocked_section_ids: frozenset[UUID] = frozenset()
    # What it was decided from, so `completing` can decide again without a query.
    facts: LearnerFacts = NO_FACTS
    zone: object = None
    now: datetime | None = None

    def completing(self, lesson_ids: Iterable[UUID]) -> "Structure":
        """The same learner's structure once they completed these lessons too (pure): a
        batch of progress events opens the next lesson or section as it goes."""
        ids = frozenset(lesson_ids)
        if self.bypass or not self.rules.needs_facts or ids <= self.facts.completed_lesson_ids:
            return self
        facts = replace(
            self.facts,
            completed_lesson_ids=self.facts.completed_lesson_ids | ids,
            started_lesson_ids=self.facts.started_lesson_ids | ids,
        )
        return structure_evaluate(
            rules=self.rules,
            facts=facts,
            unlocked_section_ids=self.unlocked_section_ids,
            zone=self.zone,
            now=self.now,
        )

    def section_hidden(self, section_id: UUID) -> bool:
        return not self.bypass and section_id in self.rules.hidden_section_ids

    def lesson_hidden(self, lesson: Lesson) -> bool:
        if self.bypass:
            return False
        return lesson.is_hidden or lesson.section_id in self.rules.hidden_section_ids

    def section_lock(self, section_id: UUID) -> Lock | None:
        return None if self.bypass else self.section_locks.get(section_id)

    def lesson_lock(self, lesson: Lesson) -> Lock | None:
        """The section's lock, else the lesson's own (sequential lessons)."""
        if self.bypass:
            return None
        return self.section_locks.get(lesson.section_id) or self.lesson_locks.get(lesson.pk)


def _release_instant(
    section: SectionRules, facts: LearnerFacts, zone
) -> tuple[bool, datetime | None]:
    """(has a schedule, the instant it opens for this learner or None when not yet known)."""
    instants: list[datetime | None] = []
    if section.release_at is not None:
        instants.append(section.release_at)
    if section.release_after_days is not None:
        days = timedelta(days=section.release_after_days)
        if section.release_from == Section.ReleaseFrom.COHORT and facts.cohort_starts_on:
            start = datetime.combine(facts.cohort_starts_on, time.min, tzinfo=zone)
            instants.append(start + days)
        elif facts.enrolled_at is not None:
            instants.append(facts.enrolled_at + days)
        else:
            instants.append(None)
    if not instants:
        return False, None
    if any(instant is None for instant in instants):
        return True, None
    return True, max(instants)


def section_release_instant(
    *, section: SectionRules, facts: LearnerFacts, zone=None
) -> datetime | None:
    """The instant a scheduled section opens for a learner with these facts (the rule of 5
    above: the later of a fixed instant and the days after enrollment or cohort start), or
    None when it has no schedule or the count has not started (not enrolled). For callers
    outside the decision itself, such as the release notices."""
    return _release_instant(section, facts, zone or timezone.get_current_timezone())[1]


def learner_facts_get(*, user: User | AnonymousUser, course: Course) -> LearnerFacts:
    """What the rules know of this learner in this course (progress's loader), for callers
    that evaluate the rules themselves (`structure_evaluate`) at another instant."""
    rules = course_rules_get(course=course)
    return _facts_load(
        user=user, course=course, course_ids=tuple(pk for pk, _t in rules.prerequisite_courses)
    )


def structure_evaluate(
    *,
    rules: CourseRules,
    facts: LearnerFacts,
    unlocked_section_ids: frozenset[UUID] = frozenset(),
    zone=None,
    now: datetime | None = None,
) -> Structure:
    """Decide every section and lesson of the course for one learner (pure: no queries)."""
    now = now or timezone.now()
    zone = zone or timezone.get_current_timezone()
    completed = facts.completed_lesson_ids
    started = facts.started_lesson_ids
    by_id = {section.id: section for section in rules.sections}

    def section_done(section: SectionRules) -> bool:
        return all(pk in completed for pk in section.countable_ids)

    courses_unmet = tuple(
        title for pk, title in rules.prerequisite_courses if pk not in facts.completed_course_ids
    )
    course_started = bool(started)
    sequential = rules.progression != Course.Progression.FREE
    section_locks: dict[UUID, Lock] = {}
    previous: SectionRules | None = None
    for section in rules.sections:
        if section.is_hidden:
            continue
        begun = section.id in unlocked_section_ids or any(
            pk in started for pk, *_rest in section.lessons
        )
        requires: list[str] = []
        if courses_unmet and not course_started:
            requires.extend(courses_unmet)
        needed = [by_id[pk] for pk in section.prerequisite_ids if pk in by_id]
        if sequential and previous is not None:
            needed.insert(0, previous)
        requires.extend(
            s.title for s in dict.fromkeys(needed) if not s.is_hidden and not section_done(s)
        )
        scheduled, opens_at = _release_instant(section, facts, zone)
        if section.countable_ids or section.lessons:
            previous = section
        if begun:
            continue
        if requires:
            section_locks[section.id] = Lock(
                LOCK_PREREQUISITE,
                requires=tuple(dict.fromkeys(requires)),
                opens_at=opens_at if opens_at and opens_at > now else None,
            )
        elif scheduled and (opens_at is None or opens_at > now):
            section_locks[section.id] = Lock(
                LOCK_UNTIL,
                opens_at=opens_at,
                opens_after_days=section.release_after_days if opens_at is None else None,
            )

    lesson_locks: dict[UUID, Lock] = {}
    if rules.progression == Course.Progression.LESSONS:
        before: tuple[UUID, str] | None = None  # the previous required lesson, its title
        for section in rules.sections:
            if section.is_hidden:
                continue
            if section.id in unlocked_section_ids:
                before = None  # unlocked early: its first lesson opens with it
            for pk, hidden, required, title in section.lessons:
                if hidden:
                    continue
                if before is not None and before[0] not in completed and pk not in started:
                    lesson_locks[pk] = Lock(LOCK_PREREQUISITE, requires=(before[1],))
                if required:
                    before = (pk, title)
    return Structure(
        bypass=False,
        rules=rules,
        section_locks=section_locks,
        lesson_locks=lesson_locks,
        unlocked_section_ids=unlocked_section_ids,
        facts=facts,
        zone=zone,
        now=now,
    )


def course_structure_get(
    *,
    user: User | AnonymousUser,
    course: Course,
    editor: bool,
    now: datetime | None = None,
) -> Structure:
    """The course's rules decided for this user: the rules (`course_rules_get`), plus, when a
    rule depends on the learner, their facts (a few queries from `progress`) and, when
    something is locked for them, their early unlocks (one query)."""
    rules = course_rules_get(course=course)
    if editor:
        return Structure(bypass=True, rules=rules)
    if not rules.needs_facts:
        return Structure(bypass=False, rules=rules)
    facts = _facts_load(
        user=user, course=course, course_ids=tuple(pk for pk, _t in rules.prerequisite_courses)
    )
    zone = user.zoneinfo if user.is_authenticated else None
    structure = structure_evaluate(rules=rules, facts=facts, zone=zone, now=now)
    if user.is_authenticated and (structure.section_locks or structure.lesson_locks):
        # Early unlocks only matter where something is locked: no query for a learner for
        # whom everything is open already.
        unlocked = frozenset(
            SectionUnlock.objects.filter(user=user, section__course_id=course.pk).values_list(
                "section_id", flat=True
            )
        )
        if unlocked:
            structure = structure_evaluate(
                rules=rules, facts=facts, unlocked_section_ids=unlocked, zone=zone, now=now
            )
    return structure
