"""Provider calls in the admin: a read-only ledger of every call, with monthly totals and the
budget left (the rows are written by `assistant.llm` only)."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from accounts.roles import user_has_staff_role
from assistant.llm import budget_remaining, llm_configured, month_spent
from assistant.models import LLMCall
from assistant.selectors.calls import calls_monthly_totals


@admin.register(LLMCall)
class LLMCallAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "purpose",
        "status",
        "model",
        "user",
        "lesson",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "latency_ms",
        "streamed",
    ]
    list_filter = ["status", "purpose", "streamed", "usage_estimated", "model"]
    search_fields = ["user__email", "lesson__title", "course__title", "error_code", "model"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "lesson"]
    readonly_fields = [field.name for field in LLMCall._meta.fields]
    fieldsets = [
        (None, {"fields": ["id", "created_at", "purpose", "user", "course", "lesson"]}),
        ("Provider", {"fields": ["model", "streamed", "status", "error_code", "error_message"]}),
        (
            "Usage and cost",
            {
                "fields": [
                    "prompt_tokens",
                    "completion_tokens",
                    "usage_estimated",
                    "cost_usd",
                    "latency_ms",
                ]
            },
        ),
    ]

    # Staff only, by role (not model permissions: the Staff group's cover the apps of
    # accounts.roles.STAFF_APP_LABELS); instructors never see the school's spend.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_has_staff_role(request.user)

    def has_view_permission(self, request: HttpRequest, obj: LLMCall | None = None) -> bool:
        return user_has_staff_role(request.user)

    # A ledger: written by the provider boundary only, never edited or deleted by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LLMCall | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LLMCall | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra = {
            **(extra_context or {}),
            "llm_configured": llm_configured(),
            "monthly_totals": calls_monthly_totals(months=12),
            "month_spent": month_spent(),
            "budget_remaining": budget_remaining(),
            "budget": settings.LLM_MONTHLY_BUDGET_USD,
        }
        return super().changelist_view(request, extra_context=extra)
