"""The tutor in the admin: questions a day per tier, and the answers learners reported.

Staff only (instructors have staff status for their courses, not these): quotas are the
school's plans, and a reported answer shows a learner's question. Staff see only reported
answers here, never the rest of a learner's conversations.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.roles import user_has_staff_role
from assistant.models import Message, TutorQuota
from assistant.selectors.tutor_pages import flagged_answers, question_of
from assistant.services.tutor import tutor_message_review
from lms.markdown import render_markdown


class StaffOnlyMixin:
    """The staff role decides, not model permissions: the Staff group's permissions cover
    the apps in `accounts.roles.STAFF_APP_LABELS`, and an instructor's staff status never
    opens these pages."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_has_staff_role(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_has_staff_role(request.user)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return user_has_staff_role(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_has_staff_role(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return user_has_staff_role(request.user)


@admin.register(TutorQuota)
class TutorQuotaAdmin(StaffOnlyMixin, admin.ModelAdmin):
    """A row per tier (and one for learners without a tier); a tier without a row gets
    LMS_TUTOR_QUESTIONS_PER_DAY. 0 means no tutor for that plan."""

    list_display = ("tier_display", "questions_per_day", "updated_at")
    list_editable = ("questions_per_day",)
    list_display_links = ("tier_display",)
    list_select_related = ("tier",)
    fields = ("tier", "questions_per_day", "updated_at")
    readonly_fields = ("updated_at",)

    @admin.display(description=_("tier"), ordering="tier__rank")
    def tier_display(self, quota: TutorQuota) -> str:
        return quota.tier.name if quota.tier_id else _("Learners without a tier")


class ReviewStateFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("todo", _("To review")), ("done", _("Reviewed"))]

    def queryset(self, request, queryset):
        if self.value() == "todo":
            return queryset.filter(reviewed_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


@admin.register(Message)
class FlaggedAnswerAdmin(StaffOnlyMixin, admin.ModelAdmin):
    """Reported tutor answers: the question, the answer, its sources, the lesson and the
    learner, and who reviewed it. Read-only; "Mark reviewed" is the one write."""

    list_display = ("answer_excerpt", "lesson", "learner", "flagged_at", "reviewed_at")
    list_filter = (ReviewStateFilter, "flagged_at")
    search_fields = ("text", "flag_reason", "conversation__user__email")
    date_hierarchy = "flagged_at"
    ordering = ("-flagged_at",)
    actions = ("mark_reviewed",)
    fields = (
        "lesson",
        "learner",
        "question",
        "answer",
        "sources",
        "flagged_at",
        "flag_reason",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    )
    readonly_fields = fields
    change_form_template = "admin/assistant/message/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return flagged_answers()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # the learner deletes their conversation; staff only review

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_mark_reviewed" in request.POST and object_id:
            message = self.get_object(request, unquote(object_id))
            if message is None:
                raise Http404
            if not self.has_change_permission(request, message):
                raise PermissionDenied
            tutor_message_review(reviewer=request.user, message=message)
            self.message_user(request, _("Marked reviewed."), messages.SUCCESS)
            return redirect(request.path)
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        """Nothing here is edited (every field is read-only); "Mark reviewed" is the write."""

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Reported tutor answers")}
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Mark selected answers reviewed"), permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = 0
        for message in queryset.filter(reviewed_at__isnull=True):
            tutor_message_review(reviewer=request.user, message=message)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d answer marked reviewed.", "%(count)d answers marked reviewed.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.display(description=_("answer"))
    def answer_excerpt(self, message: Message) -> str:
        return message.text[:100]

    @admin.display(description=_("lesson"), ordering="conversation__lesson__title")
    def lesson(self, message: Message) -> str:
        lesson = message.conversation.lesson
        return format_html('<a href="{}">{}</a>', lesson.get_absolute_url(), lesson.title)

    @admin.display(description=_("learner"), ordering="conversation__user__email")
    def learner(self, message: Message) -> str:
        return message.conversation.user.email

    @admin.display(description=_("question"))
    def question(self, message: Message) -> str:
        asked = question_of(answer=message)
        return asked.text if asked else "—"

    @admin.display(description=_("answer"))
    def answer(self, message: Message) -> str:
        return render_markdown(message.text)

    @admin.display(description=_("sources"))
    def sources(self, message: Message) -> str:
        if not message.citations:
            return "—"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a></li>',
                ((c["url"], c["title"]) for c in message.citations),
            ),
        )
