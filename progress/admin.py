"""Enrollments, invites and the learning records in the admin.

Every write goes through `progress.services`: staff enroll someone by hand, create and revoke
invites, and rebuild a learner's stats from the ledger. Progress, quiz attempts, the XP ledger,
certificates and stats are written only by the learning engine, so their admins are read-only.
Instructors (see `catalog.admin.InstructorScopeMixin`) only ever see the rows of the courses
they teach.
"""

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin, messages
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog.admin import InstructorScopeMixin
from catalog.models import Course, Lesson, Quiz
from lms.admin import ReadOnlyAdminMixin
from lms.http import client_ip
from progress.cohorts.forms import InviteAdminForm
from progress.models import (
    Certificate,
    Enrollment,
    Invite,
    InviteRedemption,
    LearnerStats,
    LessonProgress,
    ProgressEvent,
    QuizAttempt,
    XPAward,
)
from progress.selectors import invites_with_status, progress_percent
from progress.services import (
    enrollment_create,
    invite_create,
    invite_revoke,
    learner_stats_rebuild,
)
from progress.services.quizzes import quiz_attempt_grant


def _copy_fields(*, source: Any, target: Any) -> None:
    """Make the admin's unsaved `target` the row a service created, for the admin's log
    entry and redirect."""
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


# --- Enrollments: who takes which course, and how far they got ------------------------------


def _count_of(queryset: QuerySet) -> Coalesce:
    """COUNT(*) of a correlated queryset as a subquery (0 when it has no rows)."""
    counted = queryset.order_by().values(group=Value(1)).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def enrollments_with_progress(queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """Annotate each enrollment with its course's published lessons, how many of them the
    learner completed and the whole percent, as `course_progress_get` counts them: two
    correlated subqueries, so a page of enrollments is still one query."""
    published = Lesson.objects.filter(course=OuterRef("course_id"), is_published=True)
    completed = LessonProgress.objects.filter(
        user=OuterRef("user_id"),
        course=OuterRef("course_id"),
        status=LessonProgress.Status.COMPLETED,
        lesson__is_published=True,
    )
    return queryset.annotate(
        total_lessons=_count_of(published),
        completed_lessons=_count_of(completed),
    ).annotate(
        # For sorting; the integer division floors, like `progress_percent`.
        progress_percent=Case(
            When(total_lessons=0, then=Value(0)),
            default=F("completed_lessons") * 100 / F("total_lessons"),
            output_field=IntegerField(),
        )
    )


class EnrollmentStatus(TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    UNENROLLED = "unenrolled", _("Unenrolled")


# One status per enrollment: leaving the course beats having completed it.
ENROLLMENT_STATUS_CONDITIONS = {
    EnrollmentStatus.UNENROLLED: Q(unenrolled_at__isnull=False),
    EnrollmentStatus.COMPLETED: Q(unenrolled_at__isnull=True, completed_at__isnull=False),
    EnrollmentStatus.ACTIVE: Q(unenrolled_at__isnull=True, completed_at__isnull=True),
}


def enrollment_status(enrollment: Enrollment) -> EnrollmentStatus:
    if enrollment.unenrolled_at is not None:
        return EnrollmentStatus.UNENROLLED
    if enrollment.completed_at is not None:
        return EnrollmentStatus.COMPLETED
    return EnrollmentStatus.ACTIVE


class EnrollmentStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> tuple:
        return EnrollmentStatus.choices

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Enrollment]
    ) -> QuerySet[Enrollment]:
        condition = ENROLLMENT_STATUS_CONDITIONS.get(self.value())
        return queryset if condition is None else queryset.filter(condition)


CSV_HEADER = (
    "Learner email",
    "Learner name",
    "Course",
    "Enrolled at",
    "Progress %",
    "Completed lessons",
    "Total lessons",
    "Last activity",
    "Completed at",
    "Status",
)
# Spreadsheets run a cell starting with one of these as a formula: learners choose their
# names, so such cells are written as text.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def _csv_time(value: Any) -> str:
    return "" if value is None else timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


class _Echo:
    """A file-like object whose `write` hands the line back, for streaming a csv.writer."""

    def write(self, value: str) -> str:
        return value


def enrollment_csv_rows(queryset: QuerySet[Enrollment]) -> Iterator[str]:
    """The CSV lines of annotated enrollments (`enrollments_with_progress`), header first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for enrollment in queryset.iterator(chunk_size=500):
        yield writer.writerow(
            (
                _csv_text(enrollment.user.email),
                _csv_text(enrollment.user.display_name),
                _csv_text(enrollment.course.title),
                _csv_time(enrollment.created_at),
                progress_percent(enrollment.completed_lessons, enrollment.total_lessons),
                enrollment.completed_lessons,
                enrollment.total_lessons,
                _csv_time(enrollment.last_activity_at),
                _csv_time(enrollment.completed_at),
                enrollment_status(enrollment).value,
            )
        )


@admin.register(Enrollment)
class EnrollmentAdmin(InstructorScopeMixin, admin.ModelAdmin):
    """Who takes which course and how far they got. Read-mostly: staff may enroll someone
    by hand (source "staff"), never edit a row; progress is the learners' own doing."""

    course_path = "course"
    list_display = (
        "learner",
        "course",
        "source",
        "created_at",
        "progress_display",
        "last_activity_at",
        "completed_at",
        "unenrolled_at",
    )
    list_filter = (
        ("course", admin.RelatedOnlyFieldListFilter),
        EnrollmentStatusFilter,
        "source",
    )
    list_select_related = ("user", "course")
    search_fields = ("user__email", "user__display_name", "course__title")
    autocomplete_fields = ("user", "course")
    date_hierarchy = "created_at"
    actions = ("export_csv",)
    _record_fields = (
        "user",
        "course",
        "source",
        "created_at",
        "status_display",
        "progress_display",
        "lessons_display",
        "last_lesson",
        "last_activity_at",
        "completed_at",
        "unenrolled_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        return enrollments_with_progress(super().get_queryset(request))

    def get_fields(self, request: HttpRequest, obj: Enrollment | None = None) -> tuple:
        return ("user", "course") if obj is None else self._record_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Enrollment | None = None) -> tuple:
        return () if obj is None else self._record_fields

    def has_delete_permission(self, request: HttpRequest, obj: Enrollment | None = None) -> bool:
        # Unenrolling keeps the row and its history; deleting would lose them.
        return False

    @admin.display(description=_("learner"), ordering="user__email")
    def learner(self, enrollment: Enrollment) -> str:
        user = enrollment.user
        if user.display_name:
            return format_html("{} <small>{}</small>", user.display_name, user.email)
        return user.email

    @admin.display(description=_("progress"), ordering="progress_percent")
    def progress_display(self, enrollment: Enrollment) -> str:
        completed = getattr(enrollment, "completed_lessons", 0)
        return f"{progress_percent(completed, getattr(enrollment, 'total_lessons', 0))}%"

    @admin.display(description=_("lessons completed"))
    def lessons_display(self, enrollment: Enrollment) -> str:
        return f"{enrollment.completed_lessons} / {enrollment.total_lessons}"

    @admin.display(description=_("status"))
    def status_display(self, enrollment: Enrollment) -> str:
        return enrollment_status(enrollment).label

    def save_model(self, request: HttpRequest, obj: Enrollment, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        enrollment = enrollment_create(
            user=obj.user, course=obj.course, source=Enrollment.Source.STAFF
        )
        _copy_fields(source=enrollment, target=obj)

    @admin.action(description=_("Export selected enrollments as CSV"), permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Enrollment]
    ) -> StreamingHttpResponse:
        filename = timezone.localtime().strftime("enrollments-%Y%m%d-%H%M.csv")
        return StreamingHttpResponse(
            enrollment_csv_rows(queryset),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


class InviteStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return Invite.Status.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invite]) -> QuerySet[Invite]:
        if self.value() in Invite.Status.values:
            return invites_with_status(queryset=queryset, status=self.value())
        return queryset


class InviteRedemptionInline(admin.TabularInline):
    model = InviteRedemption
    fields = ("user", "redeemed_at", "ip_address", "enrollment", "tier_grant")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("redemptions")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[InviteRedemption]:
        return (
            super()
            .get_queryset(request)
            .select_related("user", "enrollment__course", "tier_grant__tier")
        )


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    """Invites are created here and then only revoked: what an invite grants never changes
    after someone may have received it."""

    change_form_template = "progress/admin/invite_change_form.html"
    form = InviteAdminForm
    list_display = (
        "code",
        "role",
        "course",
        "cohort",
        "tier",
        "uses",
        "status_label",
        "expires_at",
        "redeemable_by",
        "created_by",
        "created_at",
    )
    list_filter = (
        InviteStatusFilter,
        "open_to_anyone",
        "role",
        ("course", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("course", "cohort", "tier", "created_by")
    search_fields = ("code", "email")
    autocomplete_fields = ("course", "cohort", "tier")
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]
    inlines = [InviteRedemptionInline]

    _grant_fields = ("role", "course", "cohort", "tier", "tier_days")
    _limit_fields = ("expires_at", "max_uses")
    _delivery_fields = ("email", "open_to_anyone", "note")
    _record_fields = (
        "code",
        "status_label",
        "uses_count",
        "created_by",
        "created_at",
        "revoked_at",
        "revoked_by",
    )

    def get_fieldsets(self, request: HttpRequest, obj: Invite | None = None) -> list:
        fieldsets = [
            (_("What it grants"), {"fields": self._grant_fields}),
            (_("Limits"), {"fields": self._limit_fields}),
            (_("Delivery"), {"fields": self._delivery_fields}),
        ]
        if obj is not None:
            fieldsets.insert(0, (None, {"fields": self._record_fields}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Invite | None = None) -> tuple:
        if obj is None:
            return ()
        return (
            *self._record_fields,
            *self._grant_fields,
            *self._limit_fields,
            *self._delivery_fields,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Invite | None = None) -> bool:
        # Redemptions and the audit trail point at invites: revoke them instead.
        return False

    @admin.display(description=_("uses"))
    def uses(self, invite: Invite) -> str:
        return f"{invite.uses_count} / {invite.max_uses}"

    @admin.display(description=_("status"))
    def status_label(self, invite: Invite) -> str:
        return invite.status.label

    @admin.display(description=_("redeemable by"), ordering="email")
    def redeemable_by(self, invite: Invite) -> str:
        if invite.addressee:
            return _("only %(email)s") % {"email": invite.addressee}
        if invite.email:
            return _("anyone with the code (sent to %(email)s)") % {"email": invite.email}
        return _("anyone with the code")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if object_id is not None:
            invite = self.get_object(request, object_id)
            if invite is not None:
                extra_context["redeem_url"] = request.build_absolute_uri(invite.get_absolute_url())
            # Nothing on an existing invite can be edited; revoke it from the list.
            extra_context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Invite, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        invite = invite_create(
            created_by=request.user,
            role=obj.role,
            course=obj.course,
            cohort=obj.cohort,
            tier=obj.tier,
            tier_days=obj.tier_days,
            expires_at=obj.expires_at,
            max_uses=obj.max_uses,
            email=obj.email,
            open_to_anyone=obj.open_to_anyone,
            note=obj.note,
            ip_address=client_ip(request),
            request=request,
        )
        _copy_fields(source=invite, target=obj)

    @admin.action(description=_("Revoke selected invites"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        revoked = 0
        for invite in queryset.filter(revoked_at__isnull=True):
            invite_revoke(invite=invite, actor=request.user, ip_address=client_ip(request))
            revoked += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)d invite.", "Revoked %(count)d invites.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


# --- The learning records: written by the engine only, read here ------------------------------


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnlyAdminMixin, InstructorScopeMixin, admin.ModelAdmin):
    course_path = "course"
    list_display = (
        "user",
        "lesson",
        "course",
        "status",
        "position_seconds",
        "watched_seconds",
        "started_at",
        "completed_at",
        "updated_at",
    )
    list_filter = (("course", admin.RelatedOnlyFieldListFilter), "status")
    list_select_related = ("user", "lesson", "course")
    search_fields = ("user__email", "user__display_name")
    date_hierarchy = "updated_at"


@admin.register(QuizAttempt)
class QuizAttemptAdmin(ReadOnlyAdminMixin, InstructorScopeMixin, admin.ModelAdmin):
    course_path = "lesson__course"
    list_display = ("user", "lesson", "score_display", "points_display", "passed", "created_at")
    list_filter = ("passed", ("lesson__course", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "lesson")
    search_fields = ("user__email", "user__display_name", "lesson__title")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuizAttempt]:
        return super().get_queryset(request).select_related("user", "lesson__course")

    def course_of(self, obj: QuizAttempt) -> Course:
        return obj.lesson.course

    @admin.display(description=_("score"), ordering="score")
    def score_display(self, attempt: QuizAttempt) -> str:
        return f"{attempt.score}% (pass: {attempt.pass_mark}%)"

    @admin.display(description=_("points"))
    def points_display(self, attempt: QuizAttempt) -> str:
        return f"{attempt.points} / {attempt.max_points}"

    actions = ("grant_one_more_attempt",)

    @admin.action(description=_("Grant the learners of the selected attempts one more attempt"))
    def grant_one_more_attempt(self, request: HttpRequest, queryset: QuerySet[QuizAttempt]) -> None:
        """One grant per learner and quiz among the selected attempts (the grant rows are the
        audit trail). The queryset is already scoped to the courses an instructor teaches."""
        pairs = set(queryset.values_list("user_id", "lesson_id"))
        lesson_ids = {lesson_id for _user_id, lesson_id in pairs}
        quizzes = {quiz.lesson_id: quiz for quiz in Quiz.objects.filter(lesson_id__in=lesson_ids)}
        user_ids = {user_id for user_id, _lesson_id in pairs}
        users = {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
        granted = 0
        for user_id, lesson_id in sorted(pairs, key=str):
            if lesson_id in quizzes:
                quiz_attempt_grant(
                    user=users[user_id],
                    quiz=quizzes[lesson_id],
                    granted_by=request.user,
                    reason=gettext("Granted in the admin"),
                )
                granted += 1
        self.message_user(
            request,
            ngettext(
                "Granted one more attempt for %(count)d learner and quiz. If a quiz shows the "
                "answers after the last attempt, a learner who had run out has seen them.",
                "Granted one more attempt for %(count)d learners and quizzes. If a quiz shows "
                "the answers after the last attempt, a learner who had run out has seen them.",
                granted,
            )
            % {"count": granted},
            messages.SUCCESS,
        )


@admin.register(XPAward)
class XPAwardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The XP ledger: a learner's total is the sum of their rows (see "Rebuild stats")."""

    list_display = ("user", "amount", "reason", "source_key", "course", "lesson", "created_at")
    list_filter = ("reason",)
    list_select_related = ("user", "course", "lesson")
    search_fields = ("user__email", "user__display_name", "source_key")
    date_hierarchy = "created_at"


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdminMixin, InstructorScopeMixin, admin.ModelAdmin):
    course_path = "course"
    list_display = ("code", "learner_name", "user", "course", "issued_at", "public_link")
    list_filter = (("course", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("user", "course")
    search_fields = ("code", "learner_name", "user__email")
    date_hierarchy = "issued_at"

    @admin.display(description=_("public page"))
    def public_link(self, certificate: Certificate) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            certificate.get_absolute_url(),
            _("View"),
        )


@admin.register(ProgressEvent)
class ProgressEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the apps' offline sync sent and what became of each event, for support."""

    # `result` is the latest delivery's; a refused event the app resent shows its attempts.
    list_display = (
        "user",
        "kind",
        "lesson",
        "result",
        "attempts",
        "occurred_at",
        "received_at",
        "last_received_at",
    )
    list_filter = ("kind", "result")
    list_select_related = ("user", "lesson")
    search_fields = ("user__email", "user__display_name")
    date_hierarchy = "received_at"


@admin.register(LearnerStats)
class LearnerStatsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Running totals kept by the engine; "Rebuild stats" recomputes them from the ledger."""

    list_display = (
        "user",
        "xp_total",
        "current_streak",
        "longest_streak",
        "last_active_day",
        "updated_at",
    )
    list_select_related = ("user",)
    search_fields = ("user__email", "user__display_name")
    actions = ("rebuild_stats",)

    def has_rebuild_permission(self, request: HttpRequest) -> bool:
        # The rows stay read-only in the forms; recomputing them is a change, done by the
        # service, for those allowed to change stats.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(
        description=_("Rebuild stats from the XP ledger and activity days"),
        permissions=["rebuild"],
    )
    def rebuild_stats(self, request: HttpRequest, queryset: QuerySet[LearnerStats]) -> None:
        rebuilt = 0
        for stats in queryset.select_related("user"):
            learner_stats_rebuild(user=stats.user)
            rebuilt += 1
        self.message_user(
            request,
            ngettext(
                "Rebuilt the stats of %(count)d learner.",
                "Rebuilt the stats of %(count)d learners.",
                rebuilt,
            )
            % {"count": rebuilt},
            messages.SUCCESS,
        )


# Cohorts and learning paths keep their admin beside their code.
from progress.cohorts import admin as cohorts_admin  # noqa: E402, F401
from progress.paths import admin as paths_admin  # noqa: E402, F401
