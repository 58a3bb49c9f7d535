"""Issue 17, Must show 2: each semantic rule of `catalog.structure`, pure and with the
database, and release instants for learners in different time zones.

Time is the `now=` the policy takes (no clock patching): a second before the release instant
the section is locked with that instant, at it the section is open.
"""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.access import Reason, lesson_access, lesson_is_visible, structure_for
from catalog.models import Course, Lesson, Section
from catalog.selectors import course_outline_get
from catalog.structure import (
    LOCK_PREREQUISITE,
    LOCK_UNTIL,
    CourseRules,
    LearnerFacts,
    Lock,
    SectionRules,
    structure_evaluate,
)
from catalog.structure_services import section_unlock_early
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.cohorts.models import Cohort, CohortMembership
from progress.models import Enrollment
from progress.services.enrollments import enrollment_create
from progress.services.learning import lesson_complete

UTC = zoneinfo.ZoneInfo("UTC")


SECOND = timedelta(seconds=1)


# --- Pure: the decision from rules and facts, no database --------------------------------


def _section(title: str, order: int, lessons=(), **rules) -> SectionRules:
    fields = {
        "is_hidden": False,
        "prerequisite_ids": (),
        "release_at": None,
        "release_after_days": None,
        "release_from": Section.ReleaseFrom.ENROLLMENT,
    }
    fields.update(rules)
    return SectionRules(id=_uuid(title), title=title, order=order, lessons=tuple(lessons), **fields)


def _lesson(title: str, *, hidden: bool = False, required: bool = True):
    return (_uuid(title), hidden, required, title)


def _uuid(name: str):
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, name)


def _rules(*sections: SectionRules, progression=Course.Progression.FREE, courses=()):
    return CourseRules(
        course_id=_uuid("course"),
        progression=progression,
        prerequisite_courses=tuple(courses),
        sections=sections,
        hidden_lesson_ids=frozenset(
            pk for section in sections for pk, hidden, *_r in section.lessons if hidden
        ),
    )


def test_a_prerequisite_without_published_lessons_counts_as_met():
    empty = _section("Empty", 0)
    only_hidden = _section("Hidden only", 1, [_lesson("Secret", hidden=True)])
    target = _section("Target", 2, [_lesson("T1")], prerequisite_ids=(empty.id, only_hidden.id))

    structure = structure_evaluate(rules=_rules(empty, only_hidden, target), facts=LearnerFacts())

    assert structure.section_lock(target.id) is None


def test_an_unmet_prerequisite_locks_naming_it_and_completing_it_opens():
    basics = _section("Basics", 0, [_lesson("B1"), _lesson("B2"), _lesson("Extra", required=False)])
    target = _section("Turns", 1, [_lesson("T1")], prerequisite_ids=(basics.id,))
    rules = _rules(basics, target)

    locked = structure_evaluate(rules=rules, facts=LearnerFacts())
    half = structure_evaluate(
        rules=rules,
        facts=LearnerFacts(completed_lesson_ids=frozenset({_uuid("B1")})),
    )
    # The optional lesson is not needed.
    done = frozenset({_uuid("B1"), _uuid("B2")})
    opened = structure_evaluate(rules=rules, facts=LearnerFacts(completed_lesson_ids=done))

    assert locked.section_lock(target.id) == Lock(LOCK_PREREQUISITE, requires=("Basics",))
    assert half.section_lock(target.id) == Lock(LOCK_PREREQUISITE, requires=("Basics",))
    assert opened.section_lock(target.id) is None


def test_hidden_lessons_never_count_towards_completing_a_prerequisite():
    basics = _section("Basics", 0, [_lesson("B1"), _lesson("Secret", hidden=True)])
    target = _section("Turns", 1, [_lesson("T1")], prerequisite_ids=(basics.id,))

    structure = structure_evaluate(
        rules=_rules(basics, target),
        facts=LearnerFacts(completed_lesson_ids=frozenset({_uuid("B1")})),
    )

    assert structure.section_lock(target.id) is None


def test_sequential_sections_each_need_the_visible_one_before_with_lessons():
    first = _section("One", 0, [_lesson("O1")])
    hidden = _section("Hidden", 1, [_lesson("H1")], is_hidden=True)
    empty = _section("Empty", 2)
    third = _section("Three", 3, [_lesson("T1")])
    rules = _rules(first, hidden, empty, third, progression=Course.Progression.SECTIONS)

    fresh = structure_evaluate(rules=rules, facts=LearnerFacts())
    after_one = structure_evaluate(
        rules=rules, facts=LearnerFacts(completed_lesson_ids=frozenset({_uuid("O1")}))
    )

    assert fresh.section_lock(first.id) is None
    # Neither the hidden section nor the empty one stands in the way: "One" does.
    assert fresh.section_lock(third.id) == Lock(LOCK_PREREQUISITE, requires=("One",))
    assert after_one.section_lock(third.id) is None


def test_sequential_lessons_each_need_the_required_one_before_and_started_ones_stay_open():
    first = _section("One", 0, [_lesson("L1"), _lesson("Optional", required=False), _lesson("L2")])
    rules = _rules(first, progression=Course.Progression.LESSONS)
    lesson = {
        name: Lesson(id=_uuid(name), section_id=first.id) for name in ("L1", "Optional", "L2")
    }

    fresh = structure_evaluate(rules=rules, facts=LearnerFacts())
    started = structure_evaluate(
        rules=rules, facts=LearnerFacts(started_lesson_ids=frozenset({_uuid("L2")}))
    )
    after_first = fresh.completing([_uuid("L1")])

    assert fresh.lesson_lock(lesson["L1"]) is None
    assert fresh.lesson_lock(lesson["Optional"]) == Lock(LOCK_PREREQUISITE, requires=("L1",))
    # The optional lesson is not a step: L2 needs L1.
    assert fresh.lesson_lock(lesson["L2"]) == Lock(LOCK_PREREQUISITE, requires=("L1",))
    assert started.lesson_lock(lesson["L2"]) is None
    assert after_first.lesson_lock(lesson["L2"]) is None


def test_started_content_is_never_locked_again_and_an_early_unlock_opens():
    target = _section(
        "Later",
        0,
        [_lesson("L1")],
        release_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    rules = _rules(target)
    now = datetime(2029, 1, 1, tzinfo=UTC)

    fresh = structure_evaluate(rules=rules, facts=LearnerFacts(), now=now)
    started = structure_evaluate(
        rules=rules, facts=LearnerFacts(started_lesson_ids=frozenset({_uuid("L1")})), now=now
    )
    unlocked = structure_evaluate(
        rules=rules, facts=LearnerFacts(), unlocked_section_ids=frozenset({target.id}), now=now
    )

    assert fresh.section_lock(target.id) == Lock(LOCK_UNTIL, opens_at=target.release_at)
    assert started.section_lock(target.id) is None
    assert unlocked.section_lock(target.id) is None


def test_prerequisite_courses_lock_until_completed_unless_the_learner_already_began():
    course_id = _uuid("Foundations")
    first = _section("One", 0, [_lesson("O1")])
    rules = _rules(first, courses=[(course_id, "Foundations")])

    fresh = structure_evaluate(rules=rules, facts=LearnerFacts())
    completed = structure_evaluate(
        rules=rules, facts=LearnerFacts(completed_course_ids=frozenset({course_id}))
    )
    began = structure_evaluate(
        rules=rules, facts=LearnerFacts(started_lesson_ids=frozenset({_uuid("O1")}))
    )

    assert fresh.section_lock(first.id) == Lock(LOCK_PREREQUISITE, requires=("Foundations",))
    assert completed.section_lock(first.id) is None
    assert began.section_lock(first.id) is None


def test_days_after_enrolling_are_unknown_before_enrolling_and_the_later_instant_wins():
    fixed = datetime(2030, 1, 10, tzinfo=UTC)
    both = _section("Both", 0, [_lesson("B1")], release_at=fixed, release_after_days=3)
    days = _section("Days", 1, [_lesson("D1")], release_after_days=3)
    rules = _rules(both, days)
    now = datetime(2030, 1, 1, tzinfo=UTC)

    visitor = structure_evaluate(rules=rules, facts=LearnerFacts(), now=now)
    enrolled_at = datetime(2030, 1, 8, 12, tzinfo=UTC)
    learner = structure_evaluate(rules=rules, facts=LearnerFacts(enrolled_at=enrolled_at), now=now)

    assert visitor.section_lock(days.id) == Lock(LOCK_UNTIL, opens_after_days=3)
    assert learner.section_lock(days.id) == Lock(
        LOCK_UNTIL, opens_at=enrolled_at + timedelta(days=3)
    )
    # Fixed 10 January, enrollment + 3 days 11 January noon: the later.
    assert learner.section_lock(both.id) == Lock(
        LOCK_UNTIL, opens_at=enrolled_at + timedelta(days=3)
    )


# --- With the database ----------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def _course(**kwargs):
    course = CourseFactory(**kwargs)
    basics = SectionFactory(course=course, title="Basics", order=0)
    later = SectionFactory(course=course, title="Later", order=1)
    first = LessonFactory(section=basics, title="Steps", order=0)
    second = LessonFactory(section=later, title="Turns", order=0)
    return course, basics, later, first, second


def _learner(course, *, zone: str = "UTC"):
    learner = UserFactory(time_zone=zone)
    enrollment = enrollment_create(user=learner, course=course, source="self")
    return learner, enrollment


def _fresh(course: Course) -> Course:
    """The course as a new request loads it (rules not kept on the instance)."""
    return Course.objects.get(pk=course.pk)


@pytestmark_db
def test_a_prerequisite_with_no_published_lessons_counts_as_met_in_the_database():
    course, basics, later, _first, second = _course()
    Lesson.objects.filter(section=basics).update(is_published=False)
    later.prerequisites.add(basics)
    learner, _enrollment = _learner(course)

    assert lesson_access(user=learner, course=_fresh(course), lesson=second).allowed


@pytestmark_db
def test_content_already_started_is_not_locked_again_by_a_rule_added_later():
    course, basics, later, _first, second = _course()
    learner, _enrollment = _learner(course)
    lesson_complete(user=learner, lesson=second)  # open: no rule yet

    later.prerequisites.add(basics)
    later.release_at = timezone.now() + timedelta(days=7)
    later.save()

    course = _fresh(course)
    assert lesson_access(user=learner, course=course, lesson=second).allowed
    newcomer, _enrollment = _learner(course)
    assert lesson_access(user=newcomer, course=_fresh(course), lesson=second).reason == (
        Reason.LOCKED_PREREQUISITE
    )


@pytestmark_db
def test_staff_and_the_courses_instructors_bypass_every_rule():
    instructor = UserFactory()
    course, basics, later, _first, second = _course(
        instructors=[instructor], progression=Course.Progression.LESSONS
    )
    later.prerequisites.add(basics)
    later.is_hidden = True
    later.release_at = timezone.now() + timedelta(days=7)
    later.save()
    other_instructor = UserFactory()
    CourseFactory(instructors=[other_instructor])

    for editor in (UserFactory(is_staff=True), instructor):
        course = _fresh(course)
        assert lesson_is_visible(user=editor, course=course, lesson=second)
        assert lesson_access(user=editor, course=course, lesson=second).allowed
    # An instructor of another course is a learner here.
    assert not lesson_is_visible(user=other_instructor, course=_fresh(course), lesson=second)


@pytestmark_db
def test_an_early_unlock_opens_the_section_for_that_learner_only():
    course, basics, later, _first, second = _course()
    later.prerequisites.add(basics)
    learner, _enrollment = _learner(course)
    classmate, _enrollment = _learner(course)

    section_unlock_early(actor=UserFactory(is_staff=True), section=later, user=learner)

    assert lesson_access(user=learner, course=_fresh(course), lesson=second).allowed
    assert lesson_access(user=classmate, course=_fresh(course), lesson=second).reason == (
        Reason.LOCKED_PREREQUISITE
    )


@pytestmark_db
def test_the_course_completes_without_its_hidden_lessons():
    course, basics, _later, first, second = _course()
    LessonFactory(section=basics, title="Secret", is_hidden=True, order=1)
    hidden_section = SectionFactory(course=course, title="Staff notes", order=2, is_hidden=True)
    LessonFactory(section=hidden_section, title="Notes", order=0)
    learner, enrollment = _learner(course)

    lesson_complete(user=learner, lesson=first)
    lesson_complete(user=learner, lesson=second)

    enrollment.refresh_from_db()
    assert enrollment.completed_at is not None


@pytestmark_db
def test_hidden_items_are_absent_from_a_learners_outline_and_present_for_editors():
    course, basics, later, _first, _second = _course()
    later.is_hidden = True
    later.save()
    LessonFactory(section=basics, title="Secret", is_hidden=True, order=1)
    learner, _enrollment = _learner(course)

    outline = course_outline_get(user=learner, course=_fresh(course))
    staff = course_outline_get(user=UserFactory(is_staff=True), course=_fresh(course))

    assert [section.section.title for section in outline.sections] == ["Basics"]
    assert [item.lesson.title for item in outline.lessons] == ["Steps"]
    assert [item.lesson.title for item in staff.lessons] == ["Steps", "Secret", "Turns"]


@pytestmark_db
def test_sequential_sections_and_lessons_open_one_after_another():
    course, basics, _later, first, second = _course(progression=Course.Progression.LESSONS)
    rhythm = LessonFactory(section=basics, title="Rhythm", order=1)
    learner, _enrollment = _learner(course)

    def reason(lesson):
        return lesson_access(user=learner, course=_fresh(course), lesson=lesson).reason

    assert reason(first) != Reason.LOCKED_PREREQUISITE
    assert reason(rhythm) == Reason.LOCKED_PREREQUISITE
    assert reason(second) == Reason.LOCKED_PREREQUISITE
    lesson_complete(user=learner, lesson=first)
    assert reason(rhythm) != Reason.LOCKED_PREREQUISITE
    assert reason(second) == Reason.LOCKED_PREREQUISITE
    lesson_complete(user=learner, lesson=rhythm)
    assert reason(second) != Reason.LOCKED_PREREQUISITE


@pytestmark_db
def test_a_course_requiring_another_opens_once_that_one_is_completed():
    foundations, _b, _l, f_first, f_second = _course(title="Foundations")
    course, _basics, _later, first, _second = _course()
    course.prerequisite_courses.add(foundations)
    learner, _enrollment = _learner(course)
    enrollment_create(user=learner, course=foundations, source="self")

    locked = lesson_access(user=learner, course=_fresh(course), lesson=first)
    lesson_complete(user=learner, lesson=f_first)
    lesson_complete(user=learner, lesson=f_second)

    assert locked.reason == Reason.LOCKED_PREREQUISITE
    assert locked.requires == ("Foundations",)
    assert lesson_access(user=learner, course=_fresh(course), lesson=first).allowed


# --- Release instants, in several time zones -------------------------------------------------


def _decision(learner, course, lesson, now):
    structure = structure_for(user=learner, course=_fresh(course), now=now)
    return lesson_access(user=learner, course=_fresh(course), lesson=lesson, structure=structure)


@pytestmark_db
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "UTC"])
def test_a_fixed_release_opens_at_the_same_instant_everywhere(zone):
    course, _basics, later, _first, second = _course()
    instant = datetime(2031, 3, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    later.release_at = instant
    later.save()
    learner, _enrollment = _learner(course, zone=zone)

    before = _decision(learner, course, second, instant - SECOND)
    at = _decision(learner, course, second, instant)

    assert (before.reason, before.opens_at) == (Reason.LOCKED_UNTIL, instant)
    assert at.allowed


@pytestmark_db
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_days_after_enrolling_count_from_the_enrollment_instant(zone):
    course, _basics, later, _first, second = _course()
    later.release_after_days = 3
    later.save()
    learner, enrollment = _learner(course, zone=zone)
    instant = Enrollment.objects.get(pk=enrollment.pk).created_at + timedelta(days=3)

    before = _decision(learner, course, second, instant - SECOND)
    at = _decision(learner, course, second, instant)

    assert (before.reason, before.opens_at) == (Reason.LOCKED_UNTIL, instant)
    assert at.allowed


@pytestmark_db
@pytest.mark.parametrize(
    ("zone", "opens_at_utc"),
    [
        # The cohort starts on 1 March; 3 days later is midnight of 4 March where they live.
        ("Pacific/Auckland", datetime(2031, 3, 3, 11, 0, tzinfo=UTC)),  # NZDT, +13
        ("America/Los_Angeles", datetime(2031, 3, 4, 8, 0, tzinfo=UTC)),  # PST, -8
    ],
)
def test_days_after_the_cohort_start_open_at_midnight_in_the_learners_zone(zone, opens_at_utc):
    course, _basics, later, _first, second = _course()
    later.release_after_days = 3
    later.release_from = Section.ReleaseFrom.COHORT
    later.save()
    learner, _enrollment = _learner(course, zone=zone)
    cohort = Cohort.objects.create(course=course, name="Spring", starts_on=date(2031, 3, 1))
    CohortMembership.objects.create(cohort=cohort, course=course, user=learner)

    before = _decision(learner, course, second, opens_at_utc - SECOND)
    at = _decision(learner, course, second, opens_at_utc)

    assert (before.reason, before.opens_at) == (Reason.LOCKED_UNTIL, opens_at_utc)
    assert timezone.localtime(before.opens_at, learner.zoneinfo).hour == 0
    assert at.allowed


@pytestmark_db
def test_a_section_counting_from_the_cohort_counts_from_enrollment_without_one():
    course, _basics, later, _first, second = _course()
    later.release_after_days = 2
    later.release_from = Section.ReleaseFrom.COHORT
    later.save()
    learner, enrollment = _learner(course, zone="Pacific/Auckland")
    instant = Enrollment.objects.get(pk=enrollment.pk).created_at + timedelta(days=2)

    assert _decision(learner, course, second, instant - SECOND).opens_at == instant
    assert _decision(learner, course, second, instant).allowed
