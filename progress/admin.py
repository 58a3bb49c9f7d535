"""Enrollments and invites in the admin. Every write goes through `progress.services`."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from lms.http import client_ip
from progress.models import Enrollment, Invite, InviteRedemption
from progress.selectors import invites_with_status
from progress.services import enrollment_create, invite_create, invite_revoke


def _copy_fields(*, source: Any, target: Any) -> None:
    """Make the admin's unsaved `target` the row a service created, for the admin's log
    entry and redirect."""
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    """Read-mostly: staff may enroll someone by hand (source "staff"), never edit a row."""

    list_display = ("user", "course", "source", "created_at")
    list_filter = ("source", ("course", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "course")
    search_fields = ("user__email", "user__display_name", "course__title")
    autocomplete_fields = ("user", "course")
    date_hierarchy = "created_at"

    def get_fields(self, request: HttpRequest, obj: Enrollment | None = None) -> tuple:
        if obj is None:
            return ("user", "course")
        return ("user", "course", "source", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Enrollment | None = None) -> tuple:
        return () if obj is None else ("user", "course", "source", "created_at")

    def save_model(self, request: HttpRequest, obj: Enrollment, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        enrollment = enrollment_create(
            user=obj.user, course=obj.course, source=Enrollment.Source.STAFF
        )
        _copy_fields(source=enrollment, target=obj)


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
    list_display = (
        "code",
        "role",
        "course",
        "tier",
        "uses",
        "status_label",
        "expires_at",
        "email",
        "created_by",
        "created_at",
    )
    list_filter = (
        InviteStatusFilter,
        "role",
        ("course", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("course", "tier", "created_by")
    search_fields = ("code", "email")
    autocomplete_fields = ("course", "tier")
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]
    inlines = [InviteRedemptionInline]

    _grant_fields = ("role", "course", "tier", "tier_days")
    _limit_fields = ("expires_at", "max_uses")
    _delivery_fields = ("email", "note")
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
            tier=obj.tier,
            tier_days=obj.tier_days,
            expires_at=obj.expires_at,
            max_uses=obj.max_uses,
            email=obj.email,
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
