"""The quiz on a lesson page: the panel's context (questions, the latest attempt's feedback)
and the submit view behind its form.

The lesson page (`progress.views`) merges `quiz_panel_context` into its context for quiz
lessons and includes `progress/_quiz.html`. The form never carries the answers: which
choices are right, the accepted answers and the explanations reach the page only from a
stored attempt, and only once the quiz's reveal policy allows (`QuizRecord.answers_revealed`);
before that the learner sees their score, the pass mark and the attempts left.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from catalog import selectors
from catalog.access import lesson_access
from catalog.models import Lesson, Question, Quiz
from catalog.quizzes import SHORT_ANSWER_MAX_LENGTH, choice_html, quiz_get
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from lms.markdown import render_markdown
from progress.models import QuizAttempt
from progress.selectors import QuizRecord, quiz_attempt_list, quiz_record_get
from progress.services import quiz_attempt_submit
from progress.services.quizzes import QuizSubmission

FIELD_PREFIX = "question-"


class QuizForm(forms.Form):
    """One field per question, named `question-<id>`: radios, checkboxes or a text box.

    A hidden `client_id`, new for every page, makes a double-clicked submit count once.
    """

    client_id = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, quiz: Quiz, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"client_id": uuid.uuid4()})
        super().__init__(*args, **kwargs)
        self.quiz = quiz
        for number, question in enumerate(quiz.questions.all(), start=1):
            self.fields[f"{FIELD_PREFIX}{question.pk}"] = self._field(question, number)

    @staticmethod
    def _field(question: Question, number: int) -> forms.Field:
        label = _("Question %(number)d") % {"number": number}
        choices = [(str(choice.pk), choice_html(choice.text)) for choice in question.choices.all()]
        if question.kind == Question.Kind.SINGLE:
            return forms.ChoiceField(
                label=label,
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={"required": gettext_lazy("Choose an answer.")},
            )
        if question.kind == Question.Kind.MULTIPLE:
            return forms.MultipleChoiceField(
                label=label,
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": gettext_lazy("Choose at least one answer.")},
            )
        return forms.CharField(
            label=label,
            max_length=SHORT_ANSWER_MAX_LENGTH,
            error_messages={"required": gettext_lazy("Type an answer.")},
        )

    def questions(self) -> list["QuestionField"]:
        """The questions with their bound fields, in order, for the template."""
        return [
            QuestionField(
                number=number,
                question=question,
                prompt=render_markdown(question.prompt),
                field=self[f"{FIELD_PREFIX}{question.pk}"],
            )
            for number, question in enumerate(self.quiz.questions.all(), start=1)
        ]

    def answers(self) -> dict[str, list[str] | str]:
        """The cleaned answers in the service's format."""
        answers: dict[str, list[str] | str] = {}
        for question in self.quiz.questions.all():
            value = self.cleaned_data[f"{FIELD_PREFIX}{question.pk}"]
            answers[str(question.pk)] = [value] if question.kind == Question.Kind.SINGLE else value
        return answers


@dataclass(frozen=True)
class QuestionField:
    number: int
    question: Question
    prompt: SafeString
    field: forms.BoundField


@dataclass(frozen=True)
class Feedback:
    """One question of a stored attempt, ready to show: the texts of what the learner
    answered and of the right answer, and the explanation."""

    number: int
    prompt: SafeString
    correct: bool
    points: int
    max_points: int
    answer: list[str]  # choice texts as inline HTML, or the typed text
    correct_answer: list[str]
    explanation: SafeString


def attempt_feedback(attempt: QuizAttempt) -> list[Feedback]:
    """The attempt's stored results as feedback rows (from the snapshot taken when it was
    graded, so later edits to the quiz do not rewrite it)."""
    rows = []
    for number, result in enumerate(attempt.results, start=1):
        texts = {choice["id"]: choice_html(choice["text"]) for choice in result.get("choices", [])}
        answer = result.get("answer")
        if result["kind"] == Question.Kind.SHORT:
            given = [answer] if answer else []
            right = list(result["correct_answer"])
        else:
            given = [texts.get(choice_id, _("(a removed choice)")) for choice_id in answer or []]
            right = [texts.get(choice_id, "") for choice_id in result["correct_answer"]]
        rows.append(
            Feedback(
                number=number,
                prompt=render_markdown(result["prompt"]),
                correct=result["correct"],
                points=result["points"],
                max_points=result["max_points"],
                answer=given,
                correct_answer=right,
                explanation=render_markdown(result["explanation"]),
            )
        )
    return rows


def quiz_panel_context(*, user: User | AnonymousUser, lesson: Lesson) -> dict[str, Any]:
    """The quiz panel's part of a quiz lesson page's context (keys all start with `quiz`).

    - `quiz`: the quiz with its questions, or None when the lesson has no questions yet;
    - `quiz_form`: a fresh form to answer (the submit view passes its bound one instead);
    - `quiz_questions`: the form's questions with their fields, in order;
    - `quiz_attempt`: the learner's latest attempt, or None;
    - `quiz_feedback`: that attempt's per-question feedback, only once the quiz's reveal
      policy allows (else empty: nothing right or wrong reaches the page);
    - `quiz_record`: the learner's standing under the quiz's rules (`QuizRecord`: attempts
      left, when the next one opens, whether the answers are revealed).
    At most six queries, however many questions.
    """
    try:
        quiz = quiz_get(lesson=lesson)
    except NotFoundError:
        return {"quiz": None}
    form = QuizForm(quiz=quiz)
    record = quiz_record_get(user=user, quiz=quiz)
    attempt = quiz_attempt_list(user=user, lesson=lesson).first() if record.attempt_count else None
    return {
        "quiz": quiz,
        "quiz_form": form,
        "quiz_questions": form.questions(),
        "quiz_attempt": attempt,
        "quiz_feedback": attempt_feedback(attempt) if attempt and record.answers_revealed else [],
        "quiz_record": record,
    }


def _result_message(submission: QuizSubmission) -> str:
    attempt = submission.attempt
    if attempt.passed:
        if submission.xp_awarded:
            return _("Passed: %(score)d%%. +%(xp)d XP") % {
                "score": attempt.score,
                "xp": submission.xp_awarded,
            }
        return _("Passed: %(score)d%%.") % {"score": attempt.score}
    score = {"score": attempt.score, "pass_mark": attempt.pass_mark}
    return (
        _("Not yet: %(score)d%%. Pass mark %(pass_mark)d%%.") % score
        + " "
        + _next_step(submission.record)
    )


def _next_step(record: QuizRecord) -> str:
    """What a learner who has not passed can do next, in words."""
    if record.attempts_left == 0:
        return _("You have no attempts left.")
    if record.next_attempt_at is not None:
        return _("Your next attempt opens later: the quiz below says when.")
    if record.attempts_left is None:
        return _("Try again.")
    left = record.attempts_left
    message = ngettext(
        "You have %(count)d attempt left.", "You have %(count)d attempts left.", left
    )
    return message % {"count": left}


_RULE_CODES = (ErrorCode.QUIZ_ATTEMPTS_EXHAUSTED, ErrorCode.QUIZ_RETRY_NOT_YET)


@require_POST
def quiz_submit(request: HttpRequest, course_slug: str, lesson_slug: str) -> HttpResponse:
    """Grade the learner's answers and go back to the lesson page, whose quiz panel shows
    the feedback (post/redirect/get). A question left unanswered re-renders the page with
    the form's errors, at 400; a refused submission (locked lesson, no quiz) goes back to the
    lesson page with its message, like the page's other actions."""
    # Imported here: the lesson page's module imports this one for the panel.
    from progress.views import render_lesson_page

    course = selectors.course_get(user=request.user, slug=course_slug)
    lesson = selectors.lesson_get(user=request.user, course=course, slug=lesson_slug)
    lesson_url = lesson.get_absolute_url()
    if not request.user.is_authenticated:
        return redirect_to_login(lesson_url)
    access = lesson_access(user=request.user, course=course, lesson=lesson)
    if access.locked:
        # The lesson page says what would open it.
        messages.error(request, _("Your answers were not sent: this lesson is locked."))
        return redirect(lesson_url)
    try:
        quiz = quiz_get(lesson=lesson)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(lesson_url)

    form = QuizForm(request.POST, quiz=quiz)
    if form.is_valid():
        try:
            submission = quiz_attempt_submit(
                user=request.user,
                lesson=lesson,
                answers=form.answers(),
                client_id=form.cleaned_data["client_id"],
            )
        except ApplicationError as error:
            if error.code != ErrorCode.VALIDATION_ERROR:
                # Out of attempts or waiting: the panel shows the rule and when it opens.
                messages.error(request, error.message)
                anchor = "#quiz" if error.code in _RULE_CODES else ""
                return redirect(f"{lesson_url}{anchor}")
            # The quiz changed between showing the form and answering it.
            form.add_error(None, _("The quiz has changed since you opened it: answer again."))
        else:
            level = messages.SUCCESS if submission.attempt.passed else messages.WARNING
            messages.add_message(request, level, _result_message(submission))
            return redirect(f"{lesson_url}#quiz")
    # The page builds the rest of the panel; the bound form replaces the fresh one.
    extra = {"quiz_form": form, "quiz_questions": form.questions()}
    return render_lesson_page(request, course=course, lesson=lesson, extra=extra, status=400)


urlpatterns = [
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/quiz/",
        quiz_submit,
        name="quiz_submit",
    ),
]
