"""Release notices: when a scheduled section opens for a learner, they are told once, by an
in-app notification and (by their preference for "Sections opening", at once by default)
an email, both with the instant in the learner's own time zone and a link to the section's
first lesson.

`section_release_notices_send` is run by a beat task (`progress.tasks`) every
LMS_RELEASE_NOTICE_SECONDS. Each run looks at the sections with a schedule (a fixed instant,
or days after the enrollment or the cohort start) whose instant for a learner fell within
the last LMS_RELEASE_NOTICE_WINDOW_DAYS, among the learners actively enrolled, and tells
those for whom the section is now open by the access policy: not hidden, not still waiting
for a prerequisite, not closed by the tier, not opened before by an early unlock or by
starting it. The `SectionReleaseNotice` row (unique learner and section) is written in the
same transaction as the notification: however many runs overlap, one of them writes it and
sends; the others find it and send nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.access import course_access, is_course_editor
from catalog.models import Course, Lesson, Section, SectionUnlock
from catalog.structure import (
    SectionRules,
    course_rules_get,
    learner_facts_get,
    section_release_instant,
    structure_evaluate,
)
from notifications.services import notification_send
from progress.models import CohortMembership, Enrollment, SectionReleaseNotice

logger = logging.getLogger(__name__)

KIND = "section_released"
# A cohort starts at midnight in each learner's zone: up to 14 hours either side of UTC's.
_ZONE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class _Window:
    since: datetime
    now: datetime


def section_release_notices_send(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Tell each learner about the scheduled sections that opened for them within the
    window; returns how many notices this run sent (at most `limit`, default
    LMS_RELEASE_NOTICE_BATCH: the task runs again at once when it reached it)."""
    now = now or timezone.now()
    limit = limit or settings.LMS_RELEASE_NOTICE_BATCH
    window = _Window(since=now - timedelta(days=settings.LMS_RELEASE_NOTICE_WINDOW_DAYS), now=now)
    sent = 0
    for _course_id, sections in groupby(_scheduled_sections(window), key=lambda s: s.course_id):
        sections = list(sections)
        course = sections[0].course
        rules = {rule.id: rule for rule in course_rules_get(course=course).sections}
        for section in sections:
            for enrollment in _candidates(section, window):
                if sent >= limit:
                    return sent
                if _notify_if_open(
                    course=course,
                    section=section,
                    rules=rules[section.pk],
                    user=enrollment.user,
                    window=window,
                ):
                    sent += 1
    if sent:
        logger.info("Sent %d section release notices", sent)
    return sent


def _scheduled_sections(window: _Window) -> QuerySet[Section]:
    """Visible sections of courses learners can see with a schedule that may have come in
    the window: a fixed instant alone only when it lies in it."""
    fixed_in_window = Q(release_at__gte=window.since, release_at__lte=window.now)
    return (
        Section.objects.filter(
            Q(release_after_days__isnull=False, release_at__isnull=True)
            | Q(release_after_days__isnull=False, release_at__lte=window.now)
            | (Q(release_after_days__isnull=True) & fixed_in_window),
            is_hidden=False,
        )
        .exclude(course__status=Course.Status.DRAFT)
        .select_related("course")
        .order_by("course_id", "order")
    )


def _candidates(section: Section, window: _Window) -> QuerySet[Enrollment]:
    """The active enrollments whose instant for this section may lie in the window (the
    exact instant is decided per learner) and who were not told yet."""
    enrollments = Enrollment.objects.filter(
        course_id=section.course_id, unenrolled_at__isnull=True, user__is_active=True
    ).exclude(user_id__in=SectionReleaseNotice.objects.filter(section=section).values("user_id"))
    if section.release_after_days is not None:
        days = timedelta(days=section.release_after_days)
        fixed_in_window = section.release_at is not None and section.release_at >= window.since
        # The later of the two instants lies in the window: the days' one too, or the fixed
        # one with the days' one already past.
        earliest = None if fixed_in_window else window.since - days
        counted = Q(created_at__lte=window.now - days)
        if earliest is not None:
            counted &= Q(created_at__gte=earliest)
        if section.release_from == Section.ReleaseFrom.COHORT:
            starts = Q(cohort__starts_on__lte=(window.now - days + _ZONE_SLACK).date())
            if earliest is not None:
                starts &= Q(cohort__starts_on__gte=(earliest - _ZONE_SLACK).date())
            members = CohortMembership.objects.filter(starts, course_id=section.course_id)
            counted |= Q(user_id__in=members.values("user_id"))
        enrollments = enrollments.filter(counted)
    return enrollments.select_related("user").order_by("created_at", "pk")


def _notify_if_open(
    *, course: Course, section: Section, rules: SectionRules, user: User, window: _Window
) -> bool:
    """Whether this learner was told now: the section's instant for them lies in the
    window and the access policy opens the section to them."""
    facts = learner_facts_get(user=user, course=course)
    opens_at = section_release_instant(section=rules, facts=facts, zone=user.zoneinfo)
    if opens_at is None or not window.since <= opens_at <= window.now:
        return False
    if any(pk in facts.started_lesson_ids for pk, *_rest in rules.lessons):
        return False  # they are in it already
    if is_course_editor(user=user, course=course):
        return False  # rules never closed it to them
    if not course_access(user=user, course=course).allowed:
        return False  # the tier closes it: no news of content they cannot open
    if SectionUnlock.objects.filter(section=section, user=user).exists():
        return False  # opened early for them
    structure = structure_evaluate(
        rules=course_rules_get(course=course), facts=facts, zone=user.zoneinfo, now=window.now
    )
    if structure.section_lock(section.pk) is not None:
        return False  # still waiting for a prerequisite: it is not open yet
    lesson = _first_lesson(rules)
    if lesson is None:
        return False  # nothing in it to open
    return _notice_send(section=section, user=user, opens_at=opens_at, lesson=lesson)


def _first_lesson(rules: SectionRules) -> Lesson | None:
    first = next((pk for pk, hidden, _required, _title in rules.lessons if not hidden), None)
    if first is None:
        return None
    return Lesson.objects.select_related("course").filter(pk=first).first()


def opened_at_text(*, instant: datetime, user: User) -> str:
    """The instant as the learner reads it: their zone, named."""
    local = timezone.localtime(instant, user.zoneinfo)
    return f"{date_format(local, 'l j F Y, H:i')} ({user.zoneinfo.key})"


def _notice_send(*, section: Section, user: User, opens_at: datetime, lesson: Lesson) -> bool:
    """Write the notice and send the notification (and its email, queued in the outbox,
    sent after commit), once: a concurrent run waits on the unique row, then finds it."""
    with transaction.atomic():
        _notice, created = SectionReleaseNotice.objects.get_or_create(
            section=section, user=user, defaults={"opened_at": opens_at}
        )
        if not created:
            return False
        when = opened_at_text(instant=opens_at, user=user)
        notification_send(
            user=user,
            kind=KIND,
            title=_("Now open: %(section)s") % {"section": section.title},
            body=_(
                "“%(section)s” in “%(course)s” opened for you on %(when)s. Start with “%(lesson)s”."
            )
            % {
                "section": section.title,
                "course": section.course.title,
                "when": when,
                "lesson": lesson.title,
            },
            url=lesson.get_absolute_url(),
            source=f"{KIND}:{section.pk}:{user.pk}",
        )
    return True
