"""The rules of one course decided for one learner at one instant (pure once the rules and
the learner's facts are loaded)."""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import User
from catalog.models import Course, Lesson, Section, SectionUnlock
from catalog.structure.facts import NO_FACTS, LearnerFacts, _facts_load
from catalog.structure.rules import CourseRules, SectionRules, course_rules_get

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
    """The instant a scheduled section opens for a learner with these facts (rule 5 of
    `catalog.structure`: the later of a fixed instant and the days after enrollment or
    cohort start), or None when it has no schedule or the count has not started (not
    enrolled). For callers outside the decision itself, such as the release notices."""
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


def course_structure_plain(*, course: Course) -> Structure:
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
