"""Daily rollups of the event store: small tables the dashboards read instead of raw events.

Each row is one calendar day (in `LMS_ANALYTICS_TIME_ZONE`) and is always rewritten whole
from the events of that day (`analytics.services.rollups.rollup_days_recompute`), so a rerun
gives the same numbers and a late event is folded in by recomputing its day. Rollups are kept
when the raw events are purged.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CourseDay(models.Model):
    """One course on one day. `active_learners` counts distinct users with any event of the
    course that day; the other counts are events of one type."""

    course_id = models.UUIDField(_("course id"))
    day = models.DateField(_("day"))
    active_learners = models.PositiveIntegerField(_("active learners"), default=0)
    enrollments = models.PositiveIntegerField(_("enrollments"), default=0)
    lesson_views = models.PositiveIntegerField(_("lesson views"), default=0)
    video_plays = models.PositiveIntegerField(_("video plays"), default=0)
    lessons_completed = models.PositiveIntegerField(_("lessons completed"), default=0)
    courses_completed = models.PositiveIntegerField(_("courses completed"), default=0)
    quiz_attempts = models.PositiveIntegerField(_("quiz attempts"), default=0)
    quiz_passes = models.PositiveIntegerField(_("quiz passes"), default=0)
    events = models.PositiveIntegerField(_("events"), default=0)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        ordering = ["course_id", "day"]
        verbose_name = _("course day")
        verbose_name_plural = _("course days")
        constraints = [
            models.UniqueConstraint(fields=["course_id", "day"], name="course_day_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="course_day_day")]

    def __str__(self) -> str:
        return f"{self.course_id} on {self.day}"


class SchoolDay(models.Model):
    """The whole school on one day: signups, distinct active users (any event), and the
    course counts summed over every course."""

    day = models.DateField(_("day"), unique=True)
    signups = models.PositiveIntegerField(_("signups"), default=0)
    active_learners = models.PositiveIntegerField(_("active learners"), default=0)
    enrollments = models.PositiveIntegerField(_("enrollments"), default=0)
    lessons_completed = models.PositiveIntegerField(_("lessons completed"), default=0)
    courses_completed = models.PositiveIntegerField(_("courses completed"), default=0)
    quiz_attempts = models.PositiveIntegerField(_("quiz attempts"), default=0)
    searches = models.PositiveIntegerField(_("searches"), default=0)
    events = models.PositiveIntegerField(_("events"), default=0)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        ordering = ["day"]
        verbose_name = _("school day")
        verbose_name_plural = _("school days")

    def __str__(self) -> str:
        return str(self.day)


class RollupCursor(models.Model):
    """How far the incremental rollup has read the event store: every event with an id at
    or below `last_event_id` has been folded into its day. One row, name "daily"."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    last_event_id = models.BigIntegerField(_("last event id"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("rollup cursor")
        verbose_name_plural = _("rollup cursors")

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"
