"""Quiz authoring in the admin: a quiz page edits its pass mark and questions (inline); a
question page edits one question in full with its choices (inline).

The forms hold the authoring rules (`catalog.quizzes.question_problems`): a single-choice
question has exactly one correct choice, a multiple-choice question at least one, a
short-answer question accepted answers and no choices. Choices live on the question's page,
so a new choice question is saved first and flagged on the quiz page until its choices are
in. Instructors see only the quizzes of the courses they teach, as everywhere in the catalog
admin. Every write (quizzes, questions, choices, deletes) goes through `catalog.quizzes` with
the admin's user as the actor, as in `catalog.admin`.
"""

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog.admin import InstructorScopeMixin, ServiceWritesMixin, _saved, _take_identity
from catalog.forms_admin import OrderedInlineFormSet, _CatalogAdminForm, changed_values
from catalog.models import Choice, Course, Lesson, Question, Quiz
from catalog.quizzes import (
    ChoiceSpec,
    choice_html,
    question_create,
    question_delete,
    question_problems,
    question_update,
    quiz_create,
    quiz_delete,
    quiz_update,
)

# --- Forms ----------------------------------------------------------------------------------


class QuestionForm(_CatalogAdminForm):
    """A question's own rules: a short answer needs accepted answers, and a saved question
    may not change kind in a way its choices do not fit (they are edited on its page)."""

    parent_field = "quiz"

    class Meta:
        model = Question
        fields = ("quiz", "kind", "prompt", "explanation", "accepted_answers", "points", "order")
        widgets = {
            "prompt": forms.Textarea(attrs={"rows": 3}),
            "explanation": forms.Textarea(attrs={"rows": 2}),
            "accepted_answers": forms.Textarea(attrs={"rows": 2}),
        }

    # Set by the question page, where the choices formset checks the choices instead.
    choices_checked_by_formset = False

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        kind = cleaned_data.get("kind")
        # An untouched row was checked when it was saved.
        if kind is None or (_saved(self.instance) and not self.has_changed()):
            return cleaned_data
        saved_choices = (
            [choice.is_correct for choice in self.instance.choices.all()]
            if _saved(self.instance)
            else []
        )
        problems = question_problems(
            kind=kind,
            accepted_answers=cleaned_data.get("accepted_answers", ""),
            correct_flags=saved_choices,
        )
        for message in problems.get("accepted_answers", []):
            self.add_error("accepted_answers", message)
        # A choice question without choices yet is fine here: they come on its own page.
        if not self.choices_checked_by_formset and saved_choices:
            for message in problems.get("choices", []):
                self.add_error("kind", message + " " + gettext("Edit its choices first."))
        return cleaned_data


class QuestionInlineForm(QuestionForm):
    order_checked_by_formset = True

    class Meta(QuestionForm.Meta):
        fields = ("kind", "prompt", "explanation", "accepted_answers", "points", "order")


class QuestionInlineFormSet(OrderedInlineFormSet):
    """A quiz's questions, whose orders may be swapped in one save."""

    # A choice question is saved here before its choices, which come on its own page (and
    # it is flagged here until they are in): `choices_pending`.
    def create_row(self, data: dict[str, Any]) -> Question:
        return question_create(quiz=self.instance, **data, choices_pending=True, actor=self.actor)

    def update_row(self, obj: Question, data: dict[str, Any]) -> None:
        question_update(question=obj, data=data, choices_pending=True, actor=self.actor)

    def delete_row(self, obj: Question) -> None:
        question_delete(question=obj, actor=self.actor)

    def siblings(self) -> QuerySet[Question]:
        return Question.objects.filter(quiz=self.instance)


class ChoiceInlineFormSet(BaseInlineFormSet):
    """A question's choices, checked against its kind as submitted on the same page."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        question = self.instance
        flags = [
            bool(form.cleaned_data.get("is_correct"))
            for form in self.forms
            if form.cleaned_data
            and not (self.can_delete and self._should_delete_form(form))
            and form.cleaned_data.get("text")
        ]
        problems = question_problems(
            kind=question.kind, accepted_answers=question.accepted_answers, correct_flags=flags
        )
        if problems.get("choices"):
            raise ValidationError(problems["choices"], code="choices")


# --- Quizzes ----------------------------------------------------------------------------------


class QuestionInline(admin.StackedInline):
    model = Question
    form = QuestionInlineForm
    formset = QuestionInlineFormSet
    fields = (
        "kind",
        "prompt",
        "explanation",
        "accepted_answers",
        "points",
        "order",
        "choices_summary",
    )
    readonly_fields = ("choices_summary",)
    ordering = ("order",)
    show_change_link = True
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        # The choices for the summary and the form's checks: one query for all questions.
        return super().get_queryset(request).prefetch_related("choices")

    @admin.display(description=_("choices"))
    def choices_summary(self, obj: Question) -> str:
        if not _saved(obj):
            return gettext("Save the question, then add its choices on its page (“Change”).")
        choices = list(obj.choices.all())
        problems = question_problems(
            kind=obj.kind,
            accepted_answers=obj.accepted_answers,
            correct_flags=[choice.is_correct for choice in choices],
        )
        if obj.kind == Question.Kind.SHORT:
            summary = ", ".join(obj.accepted_answer_list)
        else:
            summary = ", ".join(
                f"{choice.text} ✓" if choice.is_correct else choice.text for choice in choices
            ) or gettext("No choices yet.")
        messages = [message for listed in problems.values() for message in listed]
        if not messages:
            return summary
        return format_html(
            '{}<br><strong class="errornote">{}</strong>', summary, " ".join(messages)
        )


class QuizAdminForm(forms.ModelForm):
    class Meta:
        model = Quiz
        fields = ("lesson", "pass_mark", "max_attempts", "retry_wait_minutes", "reveal_answers")


@admin.register(Quiz)
class QuizAdmin(ServiceWritesMixin, InstructorScopeMixin, admin.ModelAdmin):
    course_path = "lesson__course"
    form = QuizAdminForm
    inlines = (QuestionInline,)
    list_display = (
        "lesson",
        "course_display",
        "pass_mark",
        "attempts_display",
        "retry_wait_minutes",
        "reveal_answers",
        "question_count",
    )
    list_filter = ("reveal_answers", ("lesson__course", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("lesson", "lesson__course")
    search_fields = ("lesson__title", "lesson__course__title")
    ordering = ("lesson__course__title", "lesson__section__order", "lesson__order")
    autocomplete_fields = ("lesson",)
    fieldsets = (
        (None, {"fields": ("lesson", "pass_mark", "lesson_link")}),
        (
            _("Attempts and answers"),
            {
                "fields": ("max_attempts", "retry_wait_minutes", "reveal_answers"),
                "description": _(
                    "What keeps the pass mark meaningful: a limit on attempts, an optional "
                    "wait after a failed one, and the answers kept back until the learner "
                    "can no longer use them. Staff can grant a learner one more attempt from "
                    "Quiz attempts (action)."
                ),
            },
        ),
    )
    readonly_fields = ("lesson_link",)
    save_on_top = True

    def course_of(self, obj: Model) -> Course:
        return obj.lesson.course

    def get_queryset(self, request: HttpRequest) -> QuerySet[Quiz]:
        return (
            super()
            .get_queryset(request)
            .select_related("lesson", "lesson__course")
            .annotate(question_total=Count("questions"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Quiz | None = None) -> tuple:
        # A quiz stays with its lesson; a lesson has at most one quiz.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "lesson") if obj else readonly

    def save_model(
        self, request: HttpRequest, obj: Quiz, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            quiz_update(quiz=obj, data=changed_values(form), actor=request.user)
            return
        values = changed_values(form, list(form._meta.fields))
        _take_identity(obj, quiz_create(**values, actor=request.user))

    def delete_row(self, obj: Quiz, actor) -> None:
        quiz_delete(quiz=obj, actor=actor)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "lesson":
            lessons = Lesson.objects.filter(kind=Lesson.Kind.QUIZ)
            if self.scoped(request):
                lessons = lessons.filter(course__in=self.taught_courses(request))
            kwargs["queryset"] = lessons.select_related("course")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("course"), ordering="lesson__course__title")
    def course_display(self, obj: Quiz) -> Course:
        return obj.lesson.course

    @admin.display(description=_("attempts"), ordering="max_attempts")
    def attempts_display(self, obj: Quiz) -> str:
        return gettext("unlimited") if obj.max_attempts is None else str(obj.max_attempts)

    @admin.display(description=_("questions"), ordering="question_total")
    def question_count(self, obj: Quiz) -> int | None:
        return getattr(obj, "question_total", None)

    @admin.display(description=_("on site"))
    def lesson_link(self, obj: Quiz) -> str | None:
        if not _saved(obj):
            return None
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            obj.lesson.get_absolute_url(),
            gettext("View the lesson"),
        )


# --- Questions --------------------------------------------------------------------------------


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceInlineFormSet
    fields = ("text", "is_correct", "order", "preview")
    readonly_fields = ("preview",)
    ordering = ("order",)
    extra = 3

    @admin.display(description=_("shown as"))
    def preview(self, obj: Choice) -> str:
        # The choice as learners see it: Markdown, inline (catalog.quizzes.choice_html).
        return choice_html(obj.text) if _saved(obj) else ""


class QuestionAdminForm(QuestionForm):
    choices_checked_by_formset = True


@admin.register(Question)
class QuestionAdmin(ServiceWritesMixin, InstructorScopeMixin, admin.ModelAdmin):
    course_path = "quiz__lesson__course"
    form = QuestionAdminForm
    inlines = (ChoiceInline,)
    list_display = ("prompt_display", "quiz", "kind", "points", "order", "choice_count")
    list_filter = ("kind", ("quiz__lesson__course", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("quiz", "quiz__lesson")
    search_fields = ("prompt", "quiz__lesson__title", "quiz__lesson__course__title")
    ordering = ("quiz__lesson__title", "order")
    autocomplete_fields = ("quiz",)
    fieldsets = (
        (None, {"fields": ("quiz", "kind", "prompt", "points", "order")}),
        (_("Answers"), {"fields": ("accepted_answers", "explanation")}),
    )
    save_on_top = True

    def course_of(self, obj: Model) -> Course:
        return obj.quiz.lesson.course

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return (
            super()
            .get_queryset(request)
            .select_related("quiz__lesson__course")
            .annotate(
                choice_total=Count("choices"),
                correct_total=Count("choices", filter=Q(choices__is_correct=True)),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Question | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "quiz") if obj else readonly

    def save_model(
        self, request: HttpRequest, obj: Question, form: forms.ModelForm, change: bool
    ) -> None:
        # The question and its choices are one write, checked as a whole: `save_related`.
        pass

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        choice_formsets = [formset for formset in formsets if formset.model is Choice]
        choices = _choice_specs(choice_formsets[0]) if choice_formsets else None
        if change:
            data = changed_values(form)
            data.pop("quiz", None)
            question_update(question=form.instance, data=data, choices=choices, actor=request.user)
            return
        values = changed_values(form, list(form._meta.fields))
        # An order left empty puts the question after the quiz's others.
        created = question_create(**values, choices=choices or (), actor=request.user)
        _take_identity(form.instance, created)

    def delete_row(self, obj: Question, actor) -> None:
        question_delete(question=obj, actor=actor)

    def get_form(self, request: HttpRequest, obj: Question | None = None, **kwargs) -> type:
        form = super().get_form(request, obj, **kwargs)
        if self.scoped(request) and "quiz" in form.base_fields:
            field = copy.deepcopy(form.base_fields["quiz"])
            field.queryset = field.queryset.filter(lesson__course__in=self.taught_courses(request))
            form.base_fields["quiz"] = field
        return form

    @admin.display(description=_("question"), ordering="prompt")
    def prompt_display(self, obj: Question) -> str:
        return str(obj)

    @admin.display(description=_("choices"), ordering="choice_total")
    def choice_count(self, obj: Question) -> str:
        total = getattr(obj, "choice_total", 0)
        correct = getattr(obj, "correct_total", 0)
        return ngettext(
            "%(total)d (%(correct)d correct)", "%(total)d (%(correct)d correct)", total
        ) % {"total": total, "correct": correct}


def _choice_specs(formset: BaseInlineFormSet) -> list[ChoiceSpec] | None:
    """The choices a question page submits, in their order (rows without one last), or None
    when the formset changes nothing. Records what it saves for the admin's history."""
    rows, formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], [], []
    initial = set(formset.initial_forms)
    for position, row in enumerate(formset.forms):
        data = getattr(row, "cleaned_data", None) or {}
        if formset.can_delete and formset._should_delete_form(row):
            if row in initial:
                formset.deleted_objects.append(row.instance)
            continue
        if not data.get("text") or (row not in initial and not row.has_changed()):
            continue
        if row in initial and row.has_changed():
            formset.changed_objects.append((row.instance, row.changed_data))
        elif row not in initial:
            formset.new_objects.append(row.instance)
        order = data.get("order")
        spec = ChoiceSpec(
            text=data["text"],
            is_correct=bool(data.get("is_correct")),
            id=row.instance.pk if row in initial else None,
        )
        rows.append((order is None, order or 0, position, spec))
    if not (formset.new_objects or formset.changed_objects or formset.deleted_objects):
        return None
    return [spec for *_key, spec in sorted(rows, key=lambda row: row[:3])]
