"""Quizzes, the read side: loading a lesson's quiz, the authoring rules for a question, and
grading a set of answers.

Grading is pure: it takes a loaded quiz and the learner's answers and returns the result,
so the API, the page and the tests all grade the same way and storing the attempt is
`progress.services.quiz_attempt_submit`'s business. The writes at the end (quizzes and their
questions with choices: create, update, delete) serve the admin, the authoring API, the demo
school and approved quiz drafts. Like `catalog.services`, each runs in one transaction that
calls `catalog.changes.course_content_changed` and, given an `actor`, writes the audit row.

Answers, as clients send them (question ids as keys):
- single choice: `[choice_id]` (exactly one);
- multiple choice: `[choice_id, ...]` (right only when exactly the correct set is chosen);
- short answer: `"text"` (matched against the accepted lines ignoring case and spaces).
A question left out is unanswered, and counts as wrong.
"""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, Prefetch, QuerySet
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from catalog.changes import course_content_changed
from catalog.models import Choice, Lesson, Question, Quiz
from catalog.services import content_audit
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from lms.markdown import render_markdown

SHORT_ANSWER_MAX_LENGTH = 500
CHOICE_KINDS = (Question.Kind.SINGLE, Question.Kind.MULTIPLE)


# --- Loading --------------------------------------------------------------------------------
def quiz_get(*, lesson: Lesson) -> Quiz:
    """The quiz of a quiz lesson with its questions and their choices, in order: three
    queries, however many questions. QUIZ_NOT_FOUND when the lesson is not a quiz lesson or
    its quiz has no questions yet (there is nothing to answer)."""
    if lesson.kind != Lesson.Kind.QUIZ:
        raise NotFoundError(ErrorCode.QUIZ_NOT_FOUND)
    questions = Question.objects.order_by("order").prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("order", "text"))
    )
    quiz = (
        Quiz.objects.filter(lesson=lesson)
        .prefetch_related(Prefetch("questions", queryset=questions))
        .first()
    )
    if quiz is None or not quiz.questions.all():
        raise NotFoundError(ErrorCode.QUIZ_NOT_FOUND)
    quiz.lesson = lesson  # already loaded, with its course
    for question in quiz.questions.all():
        question.quiz = quiz
    return quiz


_ONE_PARAGRAPH = re.compile(r"\A<p>(?P<inner>.*)</p>\Z", re.DOTALL)


def choice_html(text: str) -> SafeString:
    """A choice's text as inline HTML: Markdown like a prompt (`code`, *emphasis*), without
    the paragraph around it, so it sits in a label. Sanitized by `render_markdown`."""
    html = str(render_markdown(text)).strip()
    match = _ONE_PARAGRAPH.match(html)
    if match and "<p>" not in match["inner"]:
        html = match["inner"]
    return mark_safe(html)  # noqa: S308 - render_markdown's output, sanitized by nh3


# --- Authoring rules ------------------------------------------------------------------------
def question_problems(
    *, kind: str, accepted_answers: str, correct_flags: Sequence[bool]
) -> dict[str, list[str]]:
    """What keeps a question from being answerable, by the field to fix ("accepted_answers"
    or "choices"); empty when it is fine. `correct_flags` has one entry per choice."""
    problems: dict[str, list[str]] = {}
    correct = sum(1 for flag in correct_flags if flag)
    if kind == Question.Kind.SHORT:
        if not any(line.strip() for line in accepted_answers.splitlines()):
            problems["accepted_answers"] = [
                _("A short-answer question needs at least one accepted answer.")
            ]
        if correct_flags:
            problems["choices"] = [
                _("A short-answer question has no choices: delete them or change the kind.")
            ]
    elif kind == Question.Kind.SINGLE and correct != 1:
        problems["choices"] = [
            _("A single-choice question needs exactly one correct choice (it has %(count)d).")
            % {"count": correct}
        ]
    elif kind == Question.Kind.MULTIPLE and correct == 0:
        problems["choices"] = [_("A multiple-choice question needs at least one correct choice.")]
    return problems


# --- Grading --------------------------------------------------------------------------------
def short_answer_normalize(text: str) -> str:
    """Case and spacing do not matter: "  Eight  Counts" equals "eight counts"."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class QuestionResult:
    """One graded question. `answer` is what the learner gave (choice ids, the text, or None
    when unanswered); `correct_answer` is the correct choice ids or the accepted answers."""

    question: Question
    correct: bool
    points: int
    answer: list[str] | str | None
    correct_answer: list[str]

    @property
    def max_points(self) -> int:
        return self.question.points

    def as_json(self) -> dict[str, Any]:
        """The result as stored on the attempt: a snapshot that later edits of the quiz do
        not change (the choices' texts included, to show the feedback again)."""
        question = self.question
        return {
            "question_id": str(question.pk),
            "kind": question.kind,
            "prompt": question.prompt,
            "correct": self.correct,
            "points": self.points,
            "max_points": question.points,
            "answer": self.answer,
            "correct_answer": self.correct_answer,
            "explanation": question.explanation,
            "choices": [
                {"id": str(choice.pk), "text": choice.text} for choice in question.choices.all()
            ],
        }


@dataclass(frozen=True)
class Grade:
    results: list[QuestionResult]
    answers: dict[str, list[str] | str]  # the answers as understood, JSON-safe
    points: int
    max_points: int
    score: int  # percent of the points, rounded down
    pass_mark: int
    passed: bool

    def results_json(self) -> list[dict[str, Any]]:
        return [result.as_json() for result in self.results]


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _read_answers(
    quiz: Quiz, answers: Any
) -> tuple[dict[uuid.UUID, list[str] | str], dict[str, list[str]]]:
    """Check the answers' shape against the quiz: (answers by question id, field errors)."""
    if not isinstance(answers, Mapping):
        return {}, {"answers": [_("Send an object of answers keyed by question id.")]}
    questions = {question.pk: question for question in quiz.questions.all()}
    read: dict[uuid.UUID, list[str] | str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in answers.items():
        field = f"answers.{key}"
        question = questions.get(_as_uuid(key))
        if question is None:
            errors[field] = [_("This quiz has no question with this id.")]
            continue
        if question.kind == Question.Kind.SHORT:
            if not isinstance(value, str):
                errors[field] = [_("Send the answer as text.")]
            elif len(value) > SHORT_ANSWER_MAX_LENGTH:
                errors[field] = [
                    _("Keep the answer to %(max)d characters.") % {"max": SHORT_ANSWER_MAX_LENGTH}
                ]
            else:
                read[question.pk] = value
            continue
        if not isinstance(value, list):
            errors[field] = [_("Send a list of choice ids.")]
            continue
        choice_ids = {str(choice.pk) for choice in question.choices.all()}
        chosen = []
        for item in value:
            parsed = _as_uuid(item)
            if parsed is None or str(parsed) not in choice_ids:
                errors[field] = [_("This question has no choice with id “%(id)s”.") % {"id": item}]
                break
            if str(parsed) not in chosen:
                chosen.append(str(parsed))
        else:
            if question.kind == Question.Kind.SINGLE and len(chosen) != 1:
                errors[field] = [_("Choose exactly one answer.")]
            else:
                read[question.pk] = chosen
    return read, errors


def _grade_question(question: Question, answer: list[str] | str | None) -> QuestionResult:
    if question.kind == Question.Kind.SHORT:
        accepted = question.accepted_answer_list
        given = short_answer_normalize(answer) if isinstance(answer, str) else ""
        correct = bool(given) and given in {short_answer_normalize(line) for line in accepted}
        # An empty text is no answer.
        shown: list[str] | str | None = answer if isinstance(answer, str) and given else None
        correct_answer = accepted
    else:
        right = [str(choice.pk) for choice in question.choices.all() if choice.is_correct]
        shown = answer if isinstance(answer, list) and answer else None
        # Exactly the right set: no partial credit for a multiple-choice question.
        correct = shown is not None and set(shown) == set(right)
        correct_answer = right
    return QuestionResult(
        question=question,
        correct=correct,
        points=question.points if correct else 0,
        answer=shown,
        correct_answer=correct_answer,
    )


def quiz_grade(*, quiz: Quiz, answers: Any) -> Grade:
    """Grade answers to a quiz loaded by `quiz_get`. No queries.

    Raises VALIDATION_ERROR, with a message per `answers.<question id>`, for an unknown
    question, a choice of another question, or an answer of the wrong shape.
    """
    read, errors = _read_answers(quiz, answers)
    if errors:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields=errors)
    results = [
        _grade_question(question, read.get(question.pk)) for question in quiz.questions.all()
    ]
    points = sum(result.points for result in results)
    max_points = sum(result.max_points for result in results)
    # A quiz whose questions are all worth nothing cannot be failed.
    score = points * 100 // max_points if max_points else 100
    return Grade(
        results=results,
        answers={str(question_id): answer for question_id, answer in read.items()},
        points=points,
        max_points=max_points,
        score=score,
        pass_mark=quiz.pass_mark,
        passed=score >= quiz.pass_mark,
    )


# --- Authoring: writes ------------------------------------------------------------------------
Action = AuditLog.Action


@dataclass(frozen=True)
class ChoiceSpec:
    """A choice to write. With `id`, the question's existing choice of that id is kept (and
    changed); without, a new one is made."""

    text: str
    is_correct: bool = False
    id: uuid.UUID | None = None
    client_id: str = ""


@dataclass(frozen=True)
class QuestionSpec:
    """A question to create: `choices` are (text, correct) pairs or ChoiceSpecs;
    `accepted_answers` one per line (short answer)."""

    kind: str
    prompt: str
    explanation: str = ""
    accepted_answers: str = ""
    points: int = 1
    choices: tuple[tuple[str, bool] | ChoiceSpec, ...] = ()
    client_id: str = ""


def _choice_specs(choices: Sequence[tuple[str, bool] | ChoiceSpec]) -> list[ChoiceSpec]:
    return [
        choice
        if isinstance(choice, ChoiceSpec)
        else ChoiceSpec(text=choice[0], is_correct=choice[1])
        for choice in choices
    ]


def _course_id(quiz: Quiz) -> uuid.UUID:
    return quiz.lesson.course_id


def _problems_raise(problems: dict[str, list[str]], prefix: str = "") -> None:
    if problems:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={f"{prefix}{name}": list(messages) for name, messages in problems.items()},
        )


_QUIZ_FIELDS = ("pass_mark", "max_attempts", "retry_wait_minutes", "reveal_answers")


@transaction.atomic
def quiz_create(
    *,
    lesson: Lesson,
    pass_mark: int = 70,
    max_attempts: int | None = Quiz.DEFAULT_MAX_ATTEMPTS,
    retry_wait_minutes: int = Quiz.DEFAULT_RETRY_WAIT_MINUTES,
    reveal_answers: str = Quiz.Reveal.AFTER_LAST_ATTEMPT,
    questions: Sequence[QuestionSpec] = (),
    actor: User | None = None,
) -> Quiz:
    """Create a quiz lesson's quiz with its rules and questions, each checked by the
    authoring rules (`question_problems`); VALIDATION_ERROR names what to fix."""
    quiz = Quiz(
        lesson=lesson,
        pass_mark=pass_mark,
        max_attempts=max_attempts,
        retry_wait_minutes=retry_wait_minutes,
        reveal_answers=reveal_answers,
    )
    quiz.full_clean()
    quiz.save()
    content_audit(
        action=Action.CONTENT_CREATED, actor=actor, target=quiz, course_id=lesson.course_id
    )
    _questions_create(quiz=quiz, questions=questions, first_order=0, actor=actor)
    course_content_changed(course_id=lesson.course_id)
    return quiz


def _question_write(
    *,
    question: Question,
    choices: Sequence[ChoiceSpec] | None,
    prefix: str = "",
    choices_pending: bool = False,
) -> None:
    """Check a question (its own fields, then the authoring rules against its choices) and
    save it with its choices. `choices` None keeps the saved ones. `choices_pending`: a
    choice question with no choices at all is saved anyway (the admin's quiz page, where
    choices come next on the question's page)."""
    question.full_clean()
    kept = (
        {} if question._state.adding else {choice.pk: choice for choice in question.choices.all()}
    )
    if choices is None:
        flags = [choice.is_correct for choice in kept.values()]
    else:
        flags = [choice.is_correct for choice in choices]
        unknown = [str(spec.id) for spec in choices if spec.id is not None and spec.id not in kept]
        if unknown:
            raise ApplicationError(
                ErrorCode.VALIDATION_ERROR,
                fields={
                    f"{prefix}choices": [
                        _("This question has no choice with id “%(id)s”.") % {"id": unknown[0]}
                    ]
                },
            )
    problems = question_problems(
        kind=question.kind, accepted_answers=question.accepted_answers, correct_flags=flags
    )
    if choices_pending and not flags:
        problems.pop("choices", None)
    _problems_raise(problems, prefix)
    question.save()
    if choices is not None:
        _choices_replace(question=question, choices=choices, saved=kept)


def _choices_replace(
    *, question: Question, choices: Sequence[ChoiceSpec], saved: dict[uuid.UUID, Choice]
) -> None:
    """The question's choices become `choices`, in that order: those with a saved id are
    changed, the others created, the saved ones not listed deleted."""
    listed = {spec.id for spec in choices if spec.id is not None}
    Choice.objects.filter(question=question).exclude(pk__in=listed).delete()
    # Orders of kept choices are not unique, so they can be written as they come.
    rows = []
    for order, spec in enumerate(choices):
        choice = saved.get(spec.id) if spec.id is not None else None
        if choice is None:
            choice = Choice(question=question, client_id=spec.client_id)
        choice.text, choice.is_correct, choice.order = spec.text, spec.is_correct, order
        choice.full_clean(exclude=["question"])
        rows.append(choice)
    Choice.objects.bulk_create([row for row in rows if row._state.adding])
    existing = [row for row in rows if not row._state.adding]
    if existing:
        Choice.objects.bulk_update(existing, ["text", "is_correct", "order"])


def _questions_create(
    *,
    quiz: Quiz,
    questions: Sequence[QuestionSpec],
    first_order: int,
    actor: User | None = None,
) -> list[Question]:
    created = []
    for index, spec in enumerate(questions):
        question = Question(
            quiz=quiz,
            kind=spec.kind,
            prompt=spec.prompt,
            explanation=spec.explanation,
            accepted_answers=spec.accepted_answers,
            points=spec.points,
            order=first_order + index,
            client_id=spec.client_id,
        )
        _question_write(
            question=question, choices=_choice_specs(spec.choices), prefix=f"questions.{index}."
        )
        content_audit(
            action=Action.CONTENT_CREATED, actor=actor, target=question, course_id=_course_id(quiz)
        )
        created.append(question)
    return created


def _quiz_lock(quiz: Quiz) -> None:
    Quiz.objects.select_for_update().filter(pk=quiz.pk).first()  # one writer of the orders


@transaction.atomic
def quiz_questions_add(
    *, quiz: Quiz, questions: Sequence[QuestionSpec], actor: User | None = None
) -> list[Question]:
    """Add questions after the quiz's own, each checked by the authoring rules
    (VALIDATION_ERROR names what to fix, and nothing is added). Learners' past attempts keep
    their snapshot (`QuestionResult.as_json`), so adding questions never rewrites them."""
    _quiz_lock(quiz)
    last = Question.objects.filter(quiz=quiz).aggregate(last=Max("order"))["last"]
    created = _questions_create(
        quiz=quiz, questions=questions, first_order=0 if last is None else last + 1, actor=actor
    )
    course_content_changed(course_id=_course_id(quiz))
    return created


@transaction.atomic
def quiz_update(*, quiz: Quiz, data: Mapping[str, Any], actor: User | None = None) -> Quiz:
    """Change a quiz's pass mark and rules; `data` holds only what changes (checked like the
    admin form)."""
    unknown = set(data) - set(_QUIZ_FIELDS)
    if unknown:
        raise ValueError(f"quiz_update cannot change {', '.join(sorted(unknown))} this way.")
    if not data:
        return quiz
    for name, value in data.items():
        setattr(quiz, name, value)
    quiz.full_clean()
    quiz.save(update_fields=sorted(data))
    content_audit(
        action=Action.CONTENT_CHANGED,
        actor=actor,
        target=quiz,
        course_id=_course_id(quiz),
        fields=sorted(data),
    )
    course_content_changed(course_id=_course_id(quiz))
    return quiz


def quiz_rules_update(
    *,
    quiz: Quiz,
    max_attempts: int | None,
    retry_wait_minutes: int,
    reveal_answers: str,
    actor: User | None = None,
) -> Quiz:
    """Set a quiz's attempt limit, wait and reveal policy (checked like the admin form)."""
    return quiz_update(
        quiz=quiz,
        data={
            "max_attempts": max_attempts,
            "retry_wait_minutes": retry_wait_minutes,
            "reveal_answers": reveal_answers,
        },
        actor=actor,
    )


@transaction.atomic
def quiz_delete(*, quiz: Quiz, actor: User | None = None) -> None:
    """Delete a quiz and its questions (its lesson stays; learners' attempts keep their
    snapshots)."""
    course_id = _course_id(quiz)
    content_audit(action=Action.CONTENT_DELETED, actor=actor, target=quiz, course_id=course_id)
    quiz.delete()
    course_content_changed(course_id=course_id)


@transaction.atomic
def question_create(
    *,
    quiz: Quiz,
    kind: str,
    prompt: str,
    explanation: str = "",
    accepted_answers: str = "",
    points: int = 1,
    choices: Sequence[tuple[str, bool] | ChoiceSpec] = (),
    order: int | None = None,
    client_id: str = "",
    choices_pending: bool = False,
    actor: User | None = None,
) -> Question:
    """Add one question with its choices (at the end unless `order` is given), checked by the
    authoring rules: VALIDATION_ERROR with `fields` (accepted_answers, choices) otherwise.
    `choices_pending`: see `_question_write`."""
    if order is None:
        _quiz_lock(quiz)
        last = Question.objects.filter(quiz=quiz).aggregate(last=Max("order"))["last"]
        order = 0 if last is None else last + 1
    question = Question(
        quiz=quiz,
        kind=kind,
        prompt=prompt,
        explanation=explanation,
        accepted_answers=accepted_answers,
        points=points,
        order=order,
        client_id=client_id,
    )
    _question_write(
        question=question, choices=_choice_specs(choices), choices_pending=choices_pending
    )
    content_audit(
        action=Action.CONTENT_CREATED, actor=actor, target=question, course_id=_course_id(quiz)
    )
    course_content_changed(course_id=_course_id(quiz))
    return question


_QUESTION_FIELDS = ("kind", "prompt", "explanation", "accepted_answers", "points", "order")


@transaction.atomic
def question_update(
    *,
    question: Question,
    data: Mapping[str, Any],
    choices: Sequence[tuple[str, bool] | ChoiceSpec] | None = None,
    choices_pending: bool = False,
    actor: User | None = None,
) -> Question:
    """Change a question; `choices`, when given, become its choices (see ChoiceSpec). The
    result is checked by the authoring rules as a whole: VALIDATION_ERROR otherwise, and
    nothing changes. Past attempts keep their snapshot."""
    unknown = set(data) - set(_QUESTION_FIELDS)
    if unknown:
        raise ValueError(f"question_update cannot change {', '.join(sorted(unknown))} this way.")
    if not data and choices is None:
        return question
    for name, value in data.items():
        setattr(question, name, value)
    _question_write(
        question=question,
        choices=None if choices is None else _choice_specs(choices),
        choices_pending=choices_pending,
    )
    fields = sorted({*data, *(["choices"] if choices is not None else [])})
    course_id = _course_id(question.quiz)
    content_audit(
        action=Action.CONTENT_CHANGED,
        actor=actor,
        target=question,
        course_id=course_id,
        fields=fields,
    )
    course_content_changed(course_id=course_id)
    return question


@transaction.atomic
def question_delete(*, question: Question, actor: User | None = None) -> None:
    """Delete a question and its choices; learners' past attempts keep their snapshot."""
    course_id = _course_id(question.quiz)
    content_audit(action=Action.CONTENT_DELETED, actor=actor, target=question, course_id=course_id)
    question.delete()
    course_content_changed(course_id=course_id)


def questions_of(*, quiz: Quiz) -> QuerySet[Question]:
    """A quiz's questions in order with their choices (two queries), for authors: answers
    included."""
    return (
        Question.objects.filter(quiz=quiz)
        .order_by("order")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order", "text")))
    )
