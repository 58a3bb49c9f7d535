import json

from allauth.account.decorators import secure_admin_login
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditLog, User
from accounts.roles import Role, user_has_staff_role, user_role_get, users_with_role
from accounts.services import user_role_set
from lms.http import client_ip

# The admin's own sign-in page hands over to allauth's, so the admin gets the same MFA
# step, rate limits and sign-in audit as the site. Signed-in users without staff status
# get a 403 there, instead of a sign-in page that would send them straight back.
admin.site.login = secure_admin_login(admin.site.login)


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class UserEditForm(UserChangeForm):
    role = forms.ChoiceField(
        label=_("role"),
        choices=Role.choices,
        help_text=_(
            "Moderators moderate discussions and chat; instructors edit their own courses in "
            "the admin; staff manage everything. "
            "Changes are written to the audit log."
        ),
    )

    class Meta:
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "role" in self.fields:
            self.initial["role"] = user_role_get(self.instance).value


class RoleListFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return Role.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() in Role.values:
            return users_with_role(queryset, self.value())
        return queryset


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Roles change only through the role field and actions (`user_role_set`, audited):
    staff status, superuser status and groups are shown, never edited here."""

    form = UserEditForm
    add_form = UserCreateForm
    ordering = ("email",)
    list_display = ("email", "display_name", "role", "is_active", "date_joined")
    list_filter = (RoleListFilter, "is_superuser", "is_active")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name", "bio", "time_zone")}),
        (
            _("Permissions"),
            {
                "fields": (
                    "role",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "password1", "password2"),
            },
        ),
    )
    actions = ("make_learners", "make_moderators", "make_instructors", "make_staff")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple:
        fields = ["last_login", "date_joined", "is_staff", "is_superuser", "groups"]
        if not request.user.is_superuser:
            fields.append("user_permissions")
        if obj is not None and obj.pk == request.user.pk:
            fields.append("role")  # nobody locks themselves out of the admin by mistake
        return tuple(fields)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only a superuser changes a superuser (their password, their role).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("role"))
    def role(self, obj: User) -> str:
        return user_role_get(obj).label

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "role" in form.changed_data:
            user_role_set(
                user=obj,
                role=form.cleaned_data["role"],
                actor=request.user,
                ip_address=client_ip(request),
            )

    def _set_role(self, request: HttpRequest, queryset: QuerySet[User], role: Role) -> None:
        changed, kept = 0, []
        with transaction.atomic():
            for user in queryset:
                if user.pk == request.user.pk or not self.has_change_permission(request, user):
                    kept.append(str(user))
                    continue
                user_role_set(
                    user=user, role=role, actor=request.user, ip_address=client_ip(request)
                )
                changed += 1
        messages_by_role = {
            Role.LEARNER: ngettext(
                "%(count)d user is now a learner.", "%(count)d users are now learners.", changed
            ),
            Role.MODERATOR: ngettext(
                "%(count)d user is now a moderator.",
                "%(count)d users are now moderators.",
                changed,
            ),
            Role.INSTRUCTOR: ngettext(
                "%(count)d user is now an instructor.",
                "%(count)d users are now instructors.",
                changed,
            ),
            Role.STAFF: ngettext(
                "%(count)d user is now staff.", "%(count)d users are now staff.", changed
            ),
        }
        self.message_user(request, messages_by_role[role] % {"count": changed}, messages.SUCCESS)
        if kept:
            self.message_user(
                request,
                gettext("Not changed (your own account, or a superuser's): %(users)s.")
                % {"users": ", ".join(kept)},
                messages.WARNING,
            )

    @admin.action(description=_("Make the selected users learners"), permissions=["change"])
    def make_learners(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, Role.LEARNER)

    @admin.action(description=_("Make the selected users moderators"), permissions=["change"])
    def make_moderators(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, Role.MODERATOR)

    @admin.action(description=_("Make the selected users instructors"), permissions=["change"])
    def make_instructors(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, Role.INSTRUCTOR)

    @admin.action(description=_("Make the selected users staff"), permissions=["change"])
    def make_staff(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, Role.STAFF)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """The audit log is written by services only: nobody adds, edits or deletes an entry
    here, superusers included. Staff read it."""

    list_display = ("created_at", "actor_email", "action", "target_display", "ip_address")
    list_filter = ("action", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("actor_email", "target_repr", "target_id")
    fields = (
        "created_at",
        "actor",
        "actor_email",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "ip_address",
        "details_pretty",
    )
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        # Instructors never read it, whatever permissions they were given.
        return user_has_staff_role(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    @admin.display(description=_("target"), ordering="target_repr")
    def target_display(self, obj: AuditLog) -> str:
        if not obj.target_type:
            return obj.target_repr
        return f"{obj.target_repr} ({obj.target_type})"

    @admin.display(description=_("details"))
    def details_pretty(self, obj: AuditLog) -> str:
        text = json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html("<pre>{}</pre>", text)
