"""Drafts in the admin: ask for a lesson's notes or a quiz's questions, review, approve.

A lesson's page links here ("Draft notes", "Draft a quiz": templates/admin/catalog/lesson/
change_form.html). The add page asks for the draft (lesson, goals, length) and queues it;
the draft's page shows the current text beside the draft (a line diff rendered on the
server), the editable draft, what was sent, and Approve / Discard. Approving writes through
the catalog's services and is audited (`assistant.services.drafts`).

Who may: whoever may edit lessons in the catalog (`catalog.change_lesson`: staff and
instructors), on the courses they edit (`catalog.access.is_course_editor`; instructors see
only the drafts of their own courses). Approving a quiz draft also takes adding questions
(`catalog.add_question`).
"""

from datetime import datetime
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assistant.llm import AINotConfigured, llm_configured
from assistant.models import Draft
from assistant.services.drafts import (
    DraftOutputInvalid,
    course_scope_get,
    draft_approve,
    draft_current_text,
    draft_discard,
    draft_edit,
    draft_request,
    draft_request_problems,
    proposed_questions_text,
    quiz_output_read,
)
from catalog.admin import InstructorScopeMixin, _saved, _take_identity
from catalog.models import Course, Lesson, Quiz

LESSON_CHANGE = "catalog.change_lesson"
QUESTION_ADD = "catalog.add_question"
QUIZ_ADD = "catalog.add_quiz"
# While a draft is being written its page reloads itself (a meta refresh: no script).
REFRESH_SECONDS = 5


def _when(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else ""


# --- The diff ---------------------------------------------------------------------------------
def diff_rows(current: str, draft: str) -> list[tuple[str, str, str, str]]:
    """Line pairs for a side-by-side view: (current line, its state, draft line, its state),
    a state being "same", "removed", "added" or "empty"."""
    left, right = current.splitlines(), draft.splitlines()
    rows: list[tuple[str, str, str, str]] = []
    matcher = SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend((line, "same", line, "same") for line in left[i1:i2])
            continue
        for old, new in zip_longest(left[i1:i2], right[j1:j2]):
            rows.append(
                (
                    old or "",
                    "removed" if old is not None else "empty",
                    new or "",
                    "added" if new is not None else "empty",
                )
            )
    return rows


def diff_table(current: str, draft: str, *, current_label: str, draft_label: str) -> str:
    rows = format_html_join(
        "\n",
        '<tr><td class="draft-diff-{}">{}</td><td class="draft-diff-{}">{}</td></tr>',
        (
            (lstate, left, rstate, right)
            for left, lstate, right, rstate in diff_rows(current, draft)
        ),
    )
    return format_html(
        '<table class="draft-diff"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        current_label,
        draft_label,
        rows,
    )


# --- Forms ------------------------------------------------------------------------------------
class DraftRequestForm(forms.ModelForm):
    """The add page: which lesson, notes or quiz, the goals and the length."""

    class Meta:
        model = Draft
        fields = ("lesson", "kind", "brief", "target_words", "question_count")
        widgets = {"brief": forms.Textarea(attrs={"rows": 4})}

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if not llm_configured():
            raise forms.ValidationError(AINotConfigured().message, code="AI_NOT_CONFIGURED")
        lesson, kind = cleaned_data.get("lesson"), cleaned_data.get("kind")
        if lesson is not None and kind:
            scope = course_scope_get(course=lesson.course)
            for field, errors in draft_request_problems(
                lesson=lesson, kind=kind, scope=scope
            ).items():
                for message in errors:
                    self.add_error(field, message)
        return cleaned_data


class DraftReviewForm(forms.ModelForm):
    """The draft's page: the editable draft, checked as approval would check it."""

    class Meta:
        model = Draft
        fields = ("edited_text",)
        widgets = {"edited_text": forms.Textarea(attrs={"rows": 24, "class": "draft-editor"})}

    def clean_edited_text(self) -> str:
        text = self.cleaned_data["edited_text"]
        try:
            if self.instance.kind == Draft.Kind.QUIZ:
                quiz_output_read(text)
            elif not text.strip():
                raise DraftOutputInvalid(gettext("The notes are empty: discard the draft instead."))
        except DraftOutputInvalid as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        return text


# --- The admin --------------------------------------------------------------------------------
@admin.register(Draft)
class DraftAdmin(InstructorScopeMixin, admin.ModelAdmin):
    course_path = "lesson__course"
    change_form_template = "admin/assistant/draft/change_form.html"
    list_display = ("lesson", "course_display", "kind", "status", "created_by", "created_at")
    list_filter = ("status", "kind", ("lesson__course", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("lesson", "lesson__course", "created_by")
    search_fields = ("lesson__title", "lesson__course__title")
    ordering = ("-created_at",)
    autocomplete_fields = ("lesson",)
    add_fieldsets = (
        (None, {"fields": ("lesson", "kind", "brief")}),
        (
            _("Length"),
            {
                "fields": ("target_words", "question_count"),
                "description": _("Notes: about how many words. A quiz: how many questions."),
            },
        ),
    )
    review_fields = (
        "lesson_link",
        "kind",
        "status",
        "created_by",
        "created_at",
        "brief",
        "length_display",
        "error_display",
        "comparison",
        "edited_text",
        "prompt_display",
        "llm_call_display",
        "decision_display",
    )

    def course_of(self, obj: Model) -> Course:
        return obj.lesson.course

    # Permissions follow the catalog's: drafting is editing lessons, on one's own courses.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(LESSON_CHANGE)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(LESSON_CHANGE) and self._may_edit(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(LESSON_CHANGE)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(LESSON_CHANGE) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a draft is discarded, and stays on record

    def get_queryset(self, request: HttpRequest) -> QuerySet[Draft]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "lesson__course",
                "lesson__section",
                "created_by",
                "approved_by",
                "discarded_by",
                "llm_call",
            )
        )

    # --- the add page -----------------------------------------------------------------------
    def get_form(self, request: HttpRequest, obj: Draft | None = None, **kwargs) -> type:
        kwargs["form"] = DraftReviewForm if _saved(obj) else DraftRequestForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Draft | None = None) -> Any:
        if not _saved(obj):
            return self.add_fieldsets
        return [(None, {"fields": self.review_fields})]

    def get_readonly_fields(self, request: HttpRequest, obj: Draft | None = None) -> tuple:
        if not _saved(obj):
            return ()
        readonly = tuple(name for name in self.review_fields if name != "edited_text")
        return readonly if obj.is_reviewable else (*readonly, "edited_text")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "lesson":
            lessons = Lesson.objects.select_related("course")
            if self.scoped(request):
                lessons = lessons.filter(course__in=self.taught_courses(request))
            kwargs["queryset"] = lessons
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        self._warn_not_configured(request)
        return super().add_view(request, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        self._warn_not_configured(request)
        return super().changelist_view(request, extra_context)

    def _warn_not_configured(self, request: HttpRequest) -> None:
        if request.method == "GET" and not llm_configured():
            self.message_user(request, AINotConfigured().message, messages.WARNING)

    def save_model(self, request: HttpRequest, obj: Draft, form: forms.ModelForm, change: bool):
        if not change:
            data = form.cleaned_data
            draft = draft_request(
                lesson=data["lesson"],
                kind=data["kind"],
                user=request.user,
                brief=data.get("brief") or "",
                target_words=data["target_words"],
                question_count=data["question_count"],
            )
            _take_identity(obj, draft)
            return
        text = form.cleaned_data["edited_text"]
        if "_approve" in request.POST:
            if not self.may_approve(request, obj):
                raise PermissionDenied
            draft_approve(draft=obj, user=request.user, text=text)
        else:
            draft_edit(draft=obj, user=request.user, text=text)
        obj.refresh_from_db()

    def response_add(self, request: HttpRequest, obj: Draft, post_url_continue=None):
        self.message_user(
            request,
            gettext("The draft is being written: this page shows it when it is ready."),
            messages.SUCCESS,
        )
        return redirect(reverse("admin:assistant_draft_change", args=[obj.pk]))

    def response_change(self, request: HttpRequest, obj: Draft) -> HttpResponse:
        if obj.status == Draft.Status.APPROVED:
            what = (
                gettext("The notes of “%(lesson)s” are updated.")
                if obj.kind == Draft.Kind.NOTES
                else gettext("The questions are added to the quiz of “%(lesson)s”.")
            )
            self.message_user(
                request,
                gettext("Approved.") + " " + what % {"lesson": obj.lesson},
                messages.SUCCESS,
            )
            return redirect(reverse("admin:catalog_lesson_change", args=[obj.lesson_id]))
        self.message_user(
            request, gettext("Your edits are kept; nothing is published yet."), messages.SUCCESS
        )
        return redirect(reverse("admin:assistant_draft_change", args=[obj.pk]))

    def may_approve(self, request: HttpRequest, obj: Draft) -> bool:
        if obj.kind == Draft.Kind.NOTES:
            return True
        needed = [QUESTION_ADD]
        if not Quiz.objects.filter(lesson_id=obj.lesson_id).exists():
            needed.append(QUIZ_ADD)
        return request.user.has_perms(needed)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        draft = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if draft is not None and self.has_change_permission(request, draft):
            context.update(
                may_approve=draft.is_reviewable and self.may_approve(request, draft),
                may_discard=draft.is_open or draft.status == Draft.Status.FAILED,
                discard_url=reverse("admin:assistant_draft_discard", args=[draft.pk]),
                refresh_seconds=REFRESH_SECONDS
                if draft.status in (Draft.Status.QUEUED, Draft.Status.RUNNING)
                else None,
                redraft_url=self._redraft_url(draft),
                title=gettext("Review the draft") if draft.is_reviewable else gettext("Draft"),
            )
        return super().change_view(request, object_id, form_url, context)

    @staticmethod
    def _redraft_url(draft: Draft) -> str:
        return (
            f"{reverse('admin:assistant_draft_add')}?lesson={draft.lesson_id}&kind={draft.kind}"
            f"&target_words={draft.target_words}&question_count={draft.question_count}"
        )

    # --- discard ------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        discard = path(
            "<path:object_id>/discard/",
            self.admin_site.admin_view(self.discard_view),
            name="assistant_draft_discard",
        )
        return [discard, *super().get_urls()]

    def discard_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        draft = self.get_object(request, unquote(object_id))
        if draft is None:
            raise Http404
        if not self.has_change_permission(request, draft):
            raise PermissionDenied
        if draft.is_open or draft.status == Draft.Status.FAILED:
            draft_discard(draft=draft, user=request.user)
            self.message_user(
                request, gettext("Discarded: the lesson is unchanged."), messages.SUCCESS
            )
        else:
            self.message_user(
                request, gettext("This draft was already approved or discarded."), messages.WARNING
            )
        return redirect(reverse("admin:assistant_draft_change", args=[draft.pk]))

    # --- what the draft's page shows ------------------------------------------------------------
    @admin.display(description=_("course"), ordering="lesson__course__title")
    def course_display(self, obj: Draft) -> str:
        return str(obj.lesson.course)

    @admin.display(description=_("lesson"))
    def lesson_link(self, obj: Draft) -> str:
        return format_html(
            '<a href="{}">{}</a> · {}',
            reverse("admin:catalog_lesson_change", args=[obj.lesson_id]),
            obj.lesson,
            obj.lesson.course,
        )

    @admin.display(description=_("asked for"))
    def length_display(self, obj: Draft) -> str:
        if obj.kind == Draft.Kind.QUIZ:
            return gettext("%(count)d questions") % {"count": obj.question_count}
        return gettext("about %(words)d words") % {"words": obj.target_words}

    @admin.display(description=_("error"))
    def error_display(self, obj: Draft) -> str:
        if not obj.error_code:
            return "—"
        return format_html(
            '<strong class="errornote">{}</strong> {}', obj.error_code, obj.error_message
        )

    @admin.display(description=_("current text beside the draft"))
    def comparison(self, obj: Draft) -> str:
        if obj.status in (Draft.Status.QUEUED, Draft.Status.RUNNING):
            return gettext("The draft is being written; this page reloads until it is ready.")
        if not obj.edited_text:
            return "—"
        current = draft_current_text(draft=obj)
        if obj.kind == Draft.Kind.QUIZ:
            draft_text = proposed_questions_text(obj.questions or [])
            labels = (gettext("The quiz's questions now"), gettext("Questions to add"))
        else:
            draft_text = obj.edited_text
            labels = (gettext("The lesson's notes now"), gettext("The draft"))
        table = diff_table(current, draft_text, current_label=labels[0], draft_label=labels[1])
        if obj.is_reviewable and current != obj.base_text:
            return format_html(
                '<p class="errornote">{}</p>{}',
                gettext(
                    "The lesson changed since this draft was asked for: the left column is "
                    "the lesson as it is now, which approving replaces or adds to."
                ),
                table,
            )
        return table

    @admin.display(description=_("prompt sent"))
    def prompt_display(self, obj: Draft) -> str:
        return format_html(
            '<details class="draft-prompt"><summary>{}</summary>{}</details>',
            gettext("What the model was given (only this course's material)"),
            format_html_join(
                "",
                '<h4>{}</h4><pre class="draft-pre">{}</pre>',
                ((message.get("role", ""), message.get("content", "")) for message in obj.prompt),
            ),
        )

    @admin.display(description=_("provider call"))
    def llm_call_display(self, obj: Draft) -> str:
        call = obj.llm_call
        if call is None:
            return "—"
        return gettext("%(model)s · %(prompt)d + %(completion)d tokens · %(cost)s USD") % {
            "model": call.model,
            "prompt": call.prompt_tokens,
            "completion": call.completion_tokens,
            "cost": call.cost_usd,
        }

    @admin.display(description=_("decision"))
    def decision_display(self, obj: Draft) -> str:
        if obj.status == Draft.Status.APPROVED:
            return gettext("Approved by %(who)s on %(when)s") % {
                "who": obj.approved_by or gettext("a deleted account"),
                "when": _when(obj.approved_at),
            }
        if obj.status == Draft.Status.DISCARDED:
            return gettext("Discarded by %(who)s on %(when)s") % {
                "who": obj.discarded_by or gettext("a deleted account"),
                "when": _when(obj.discarded_at),
            }
        return gettext("Waiting: nothing is published until someone approves.")
