from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Course, Section

__all__ = ["Cohort", "CohortMembership", "SectionReleaseNotice"]


class Cohort(models.Model):
    """A named group of learners in one course, with a start date drip release can count
    from (`catalog.models.Section.release_from`)."""

    id = models.BigAutoField(primary_key=True)
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="cohorts"
    )
    name = models.CharField(_("name"), max_length=120)
    starts_on = models.DateField(
        _("starts on"),
        help_text=_("Sections released 'after the cohort start' count days from this date."),
    )
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["course", "-starts_on", "name"]
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "name"],
                name="cohort_unique_name_per_course",
                violation_error_message=_("This course already has a cohort with this name."),
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="cohort_ends_after_start",
                violation_error_message=_("A cohort cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course}: {self.name}"


class CohortMembership(models.Model):
    """A learner in a cohort. One cohort per learner and course (`course` is the cohort's,
    kept here so the database enforces it); cohorts of different courses are independent."""

    id = models.BigAutoField(primary_key=True)
    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.CASCADE, related_name="memberships"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.CASCADE,
        related_name="cohort_memberships",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["cohort", "created_at"]
        verbose_name = _("cohort member")
        verbose_name_plural = _("cohort members")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "user"],
                name="cohort_membership_one_per_course",
                violation_error_message=_("This learner is already in a cohort of this course."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cohort} / {self.user}"


class SectionReleaseNotice(models.Model):
    """One row per learner and scheduled section once they were told it opened: the unique
    pair is what makes the beat task's email and notification happen once, however many
    runs overlap."""

    id = models.BigAutoField(primary_key=True)
    section = models.ForeignKey(
        Section, verbose_name=_("section"), on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.CASCADE,
        related_name="section_release_notices",
    )
    opened_at = models.DateTimeField(_("opened at"))
    created_at = models.DateTimeField(_("notified at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("section release notice")
        verbose_name_plural = _("section release notices")
        constraints = [
            models.UniqueConstraint(
                fields=["section", "user"], name="section_release_notice_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section} / {self.user}"
