"""Drafts of lesson notes and quiz questions, made by the provider and approved by a person.

The flow: `draft_request` checks who asks (an editor of the lesson's course: staff, or one
of its instructors), builds the prompt from the course's own material only, stores it on a
queued Draft and queues `draft_generate` after commit. That task calls the provider (outside
any transaction, as `assistant.llm` requires) and stores the output: notes as Markdown, a
quiz as questions checked against the catalog's authoring rules. Nothing reaches the
catalog until `draft_approve`, which writes through `catalog.services.lesson_update` or
`catalog.quizzes.quiz_create` / `quiz_questions_add` and audits who approved which draft.

What a prompt holds (and nothing else; the tests compare it whole):
- notes: the course's title, subtitle, level, language and description (an excerpt), its
  outline (section and lesson titles, in order, this lesson marked), the previous and next
  lessons in course order (title and an excerpt of their notes), this lesson's title, kind
  and section, the editor's goals, its current notes, the target length; Markdown only.
- quiz: the course's title, level and language, the quiz lesson's title and section, the
  goals, the notes of the lessons the quiz covers (those since the previous quiz lesson of
  the course, at most QUIZ_SOURCE_LESSONS), the quiz's existing questions (not to repeat
  them), how many questions; JSON only.
No other course's text, and no notes of lessons that are not neighbours (or covered), ever.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.services import audit_record
from assistant.llm import AIError, AINotConfigured, chat_complete, llm_configured
from assistant.models import Draft
from catalog.access import is_course_editor
from catalog.models import Course, Lesson, Question, Quiz, Section
from catalog.quizzes import QuestionSpec, question_problems, quiz_create, quiz_questions_add
from catalog.services import lesson_update
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode

# How much of each text goes into a prompt (characters): enough to give the model the
# thread of the course, bounded so a prompt's cost does not grow with the course.
DESCRIPTION_CHARS = 1500
NEIGHBOUR_NOTES_CHARS = 1500
CURRENT_NOTES_CHARS = 6000
QUIZ_SOURCE_LESSONS = 6
QUIZ_SOURCE_CHARS = 4000  # per covered lesson
# Completion budget: about 1.5 tokens a word of Markdown, and room per quiz question.
TOKENS_PER_WORD = 2
TOKENS_PER_QUESTION = 350
TOKENS_OVERHEAD = 256
CHOICES_MIN, CHOICES_MAX = 2, 8

PURPOSE = {Draft.Kind.NOTES: "draft.notes", Draft.Kind.QUIZ: "draft.quiz"}

NOTES_SYSTEM_PROMPT = (
    "You write the notes of one lesson of an online course, for the course's learners. "
    "Use only the course material you are given: do not mention other courses, and do not "
    "invent facts the material does not support. Write Markdown only (headings, lists, "
    "emphasis, code blocks where useful): no HTML, no front matter, no preamble or closing "
    "remarks, and do not wrap the answer in a code fence. Do not repeat the lesson's title "
    "as a heading. Stay close to the target length."
)
QUIZ_SYSTEM_PROMPT = (
    "You write quiz questions for one quiz of an online course. Ask only about what the "
    "lesson notes you are given say. Reply with JSON only, no code fence, in this shape: "
    '{"questions": [{"kind": "single" | "multiple" | "short", "prompt": "Markdown", '
    '"choices": [{"text": "one line", "correct": true | false}], '
    '"accepted_answers": ["..."], "explanation": "Markdown: why the answer is right"}]}. '
    "A single-choice question has 2 to 8 choices with exactly one correct; a "
    "multiple-choice question 2 to 8 choices with at least one correct; a short-answer "
    "question no choices and one or more accepted answers (a word or a few words each). "
    "Every question has an explanation."
)


# --- Scope: what a prompt may hold ------------------------------------------------------------
@dataclass(frozen=True)
class CourseScope:
    """A course as the prompt sees it: its sections and all its lessons in course order."""

    course: Course
    sections: list[Section]
    lessons: list[Lesson]

    def index(self, lesson: Lesson) -> int:
        return next(i for i, other in enumerate(self.lessons) if other.pk == lesson.pk)

    def neighbours(self, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
        at = self.index(lesson)
        previous = self.lessons[at - 1] if at > 0 else None
        following = self.lessons[at + 1] if at + 1 < len(self.lessons) else None
        return previous, following

    def quiz_sources(self, lesson: Lesson) -> list[Lesson]:
        """The lessons a quiz lesson covers: those before it since the previous quiz lesson
        (the nearest QUIZ_SOURCE_LESSONS of them), in course order."""
        covered: list[Lesson] = []
        for other in reversed(self.lessons[: self.index(lesson)]):
            if other.kind == Lesson.Kind.QUIZ or len(covered) == QUIZ_SOURCE_LESSONS:
                break
            covered.append(other)
        return covered[::-1]


def course_scope_get(*, course: Course) -> CourseScope:
    """Two queries: the sections, and the lessons with their section."""
    sections = list(Section.objects.filter(course=course).order_by("order"))
    lessons = list(
        Lesson.objects.filter(course=course)
        .select_related("section")
        .order_by("section__order", "order")
    )
    return CourseScope(course=course, sections=sections, lessons=lessons)


def _excerpt(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " […]"


def _quoted(text: str) -> str:
    """Text of the school, set apart from our instructions."""
    return f'"""\n{text}\n"""'


def _language(course: Course) -> str:
    return f"{dict(settings.LANGUAGES).get(course.locale, course.locale)} ({course.locale})"


def _outline(scope: CourseScope, current: Lesson) -> str:
    lines = ["Outline of the course (sections and their lessons, in order):"]
    by_section: dict[UUID, list[Lesson]] = {}
    for lesson in scope.lessons:
        by_section.setdefault(lesson.section_id, []).append(lesson)
    for number, section in enumerate(scope.sections, start=1):
        lines.append(f"{number}. {section.title}")
        for lesson in by_section.get(section.pk, []):
            marker = "  <- this lesson" if lesson.pk == current.pk else ""
            lines.append(f"   - {lesson.title} ({lesson.get_kind_display().lower()}){marker}")
    return "\n".join(lines)


def _course_header(course: Course, *, with_description: bool) -> list[str]:
    parts = [f"Course: {course.title}"]
    if course.subtitle:
        parts.append(f"Subtitle: {course.subtitle}")
    parts.append(f"Level: {course.get_difficulty_display().lower()}")
    parts.append(f"Language: {_language(course)}. Write in this language.")
    if with_description and course.description.strip():
        parts.append(
            "About the course:\n" + _quoted(_excerpt(course.description, DESCRIPTION_CHARS))
        )
    return parts


def _neighbour(label: str, lesson: Lesson | None) -> str:
    if lesson is None:
        return f"{label}: none."
    notes = _excerpt(lesson.body, NEIGHBOUR_NOTES_CHARS)
    text = f"{label}: {lesson.title} ({lesson.get_kind_display().lower()})"
    return text + (". Its notes (excerpt):\n" + _quoted(notes) if notes else ". It has no notes.")


def _goals(brief: str) -> str:
    brief = brief.strip()
    if not brief:
        return "Goals: none given; take them from the title and the outline."
    return "Goals (from the course's editor):\n" + _quoted(brief)


def notes_prompt_build(
    *, lesson: Lesson, scope: CourseScope, brief: str, target_words: int
) -> list[dict[str, str]]:
    """The messages asking for a lesson's notes (no queries: `scope` holds the course)."""
    previous, following = scope.neighbours(lesson)
    current = _excerpt(lesson.body, CURRENT_NOTES_CHARS)
    parts = [
        *_course_header(scope.course, with_description=True),
        _outline(scope, lesson),
        _neighbour("Previous lesson", previous),
        _neighbour("Next lesson", following),
        f"This lesson: {lesson.title} ({lesson.get_kind_display().lower()}), "
        f"in the section “{lesson.section.title}”.",
        _goals(brief),
        (
            "Its current notes (improve on them; keep what is right):\n" + _quoted(current)
            if current
            else "It has no notes yet."
        ),
        f"Write the notes of this lesson in Markdown, about {target_words} words.",
    ]
    return [
        {"role": "system", "content": NOTES_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def quiz_questions_text(questions: Sequence[Question]) -> str:
    """A quiz's questions as text, for the prompt (prompts only) and the draft's diff."""
    blocks = []
    for number, question in enumerate(questions, start=1):
        lines = [f"{number}. {question.prompt}"]
        if question.kind == Question.Kind.SHORT:
            lines.extend(f"   = {answer}" for answer in question.accepted_answer_list)
        else:
            lines.extend(
                f"   [{'x' if choice.is_correct else ' '}] {choice.text}"
                for choice in question.choices.all()
            )
        if question.explanation:
            lines.append(f"   Why: {question.explanation}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def quiz_prompt_build(
    *,
    lesson: Lesson,
    scope: CourseScope,
    brief: str,
    question_count: int,
    existing: Sequence[Question],
) -> list[dict[str, str]]:
    """The messages asking for a quiz lesson's questions, from the notes of the lessons it
    covers (no queries: `scope` and `existing` are loaded)."""
    sources = [source for source in scope.quiz_sources(lesson) if source.body.strip()]
    parts = [
        *_course_header(scope.course, with_description=False),
        f"The quiz: {lesson.title}, in the section “{lesson.section.title}”.",
        _goals(brief),
        "It covers these lessons; ask only about what their notes say:",
        *(
            f"Lesson: {source.title}\n" + _quoted(_excerpt(source.body, QUIZ_SOURCE_CHARS))
            for source in sources
        ),
    ]
    if lesson.body.strip():
        parts.append("The quiz's introduction:\n" + _quoted(_excerpt(lesson.body, 1000)))
    if existing:
        prompts = "\n".join(f"- {question.prompt}" for question in existing)
        parts.append("Questions the quiz already has (do not repeat them):\n" + _quoted(prompts))
    parts.append(f"Propose {question_count} new questions, as JSON.")
    return [
        {"role": "system", "content": QUIZ_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def _quiz_existing(lesson: Lesson) -> list[Question]:
    quiz = Quiz.objects.filter(lesson=lesson).first()
    if quiz is None:
        return []
    return list(quiz.questions.order_by("order").prefetch_related("choices"))


# --- Reading the model's output ---------------------------------------------------------------
class DraftOutputInvalid(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.DRAFT_OUTPUT_INVALID, message)


_FENCE = re.compile(r"\A```[\w-]*\n(?P<inner>.*?)\n?```\Z", re.DOTALL)


def _unfenced(text: str) -> str:
    """Models wrap answers in a code fence though told not to: take what is inside."""
    text = text.strip()
    match = _FENCE.match(text)
    return match["inner"].strip() if match else text


def notes_output_read(text: str) -> str:
    notes = _unfenced(text)
    if not notes:
        raise DraftOutputInvalid(_("The model's answer was empty."))
    return notes


def _question_read(number: int, item: Any) -> dict[str, Any]:
    """One question of the model's JSON, checked into the shape `quiz_questions_apply` takes:
    {kind, prompt, explanation, choices: [{text, correct}], accepted_answers: [str]}."""

    def fail(message: str) -> DraftOutputInvalid:
        return DraftOutputInvalid(
            _("Question %(number)d: %(message)s") % {"number": number, "message": message}
        )

    if not isinstance(item, dict):
        raise fail(_("it is not an object."))
    kind = item.get("kind")
    if kind not in Question.Kind.values:
        raise fail(_("its kind must be single, multiple or short."))
    prompt, explanation = item.get("prompt"), item.get("explanation", "")
    if not isinstance(prompt, str) or not prompt.strip():
        raise fail(_("it has no prompt."))
    if not isinstance(explanation, str):
        raise fail(_("its explanation is not text."))
    raw_choices = item.get("choices") or []
    raw_answers = item.get("accepted_answers") or []
    if not isinstance(raw_choices, list) or not isinstance(raw_answers, list):
        raise fail(_("choices and accepted answers must be lists."))
    choices = []
    for choice in raw_choices:
        text = choice.get("text") if isinstance(choice, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > 300 or "\n" in text:
            raise fail(_("each choice needs a text of one line, at most 300 characters."))
        choices.append({"text": text.strip(), "correct": choice.get("correct") is True})
    if kind != Question.Kind.SHORT and not CHOICES_MIN <= len(choices) <= CHOICES_MAX:
        raise fail(_("a choice question needs 2 to 8 choices."))
    answers = [
        answer.strip() for answer in raw_answers if isinstance(answer, str) and answer.strip()
    ]
    problems = question_problems(
        kind=kind,
        accepted_answers="\n".join(answers) if kind == Question.Kind.SHORT else "",
        correct_flags=[choice["correct"] for choice in choices],
    )
    messages = [message for listed in problems.values() for message in listed]
    if messages:
        raise fail(" ".join(messages))
    return {
        "kind": kind,
        "prompt": prompt.strip(),
        "explanation": explanation.strip(),
        "choices": choices if kind != Question.Kind.SHORT else [],
        "accepted_answers": answers if kind == Question.Kind.SHORT else [],
    }


def quiz_output_read(text: str) -> list[dict[str, Any]]:
    """The questions in the model's (or an editor's) JSON, each checked by the catalog's
    authoring rules; DraftOutputInvalid names the first problem."""
    try:
        data = json.loads(_unfenced(text))
    except json.JSONDecodeError as exc:
        raise DraftOutputInvalid(
            _("The answer is not valid JSON (line %(line)d, column %(column)d: %(problem)s).")
            % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg}
        ) from exc
    items = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise DraftOutputInvalid(_("The answer has no list of questions."))
    if len(items) > Draft.QUESTIONS_MAX:
        raise DraftOutputInvalid(
            _("The answer has more than %(max)d questions.") % {"max": Draft.QUESTIONS_MAX}
        )
    return [_question_read(number, item) for number, item in enumerate(items, start=1)]


def quiz_questions_json(questions: list[dict[str, Any]]) -> str:
    """Questions as the editor edits them: the JSON the model was asked for, indented."""
    return json.dumps({"questions": questions}, indent=2, ensure_ascii=False)


def questions_as_specs(questions: list[dict[str, Any]]) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=question["kind"],
            prompt=question["prompt"],
            explanation=question["explanation"],
            accepted_answers="\n".join(question["accepted_answers"]),
            choices=tuple((choice["text"], choice["correct"]) for choice in question["choices"]),
        )
        for question in questions
    ]


def proposed_questions_text(questions: list[dict[str, Any]]) -> str:
    """Proposed questions as text in the same layout as `quiz_questions_text` (for the diff)."""
    blocks = []
    for number, question in enumerate(questions, start=1):
        lines = [f"{number}. {question['prompt']}"]
        lines.extend(f"   = {answer}" for answer in question["accepted_answers"])
        lines.extend(
            f"   [{'x' if choice['correct'] else ' '}] {choice['text']}"
            for choice in question["choices"]
        )
        if question["explanation"]:
            lines.append(f"   Why: {question['explanation']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- Writes ---------------------------------------------------------------------------------
def _require_editor(*, user: User, lesson: Lesson) -> None:
    if not is_course_editor(user=user, course=lesson.course):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)


def draft_current_text(*, draft: Draft) -> str:
    """What the draft would replace (notes) or add to (a quiz), as text, right now."""
    if draft.kind == Draft.Kind.NOTES:
        return draft.lesson.body
    return quiz_questions_text(_quiz_existing(draft.lesson))


@transaction.atomic
def draft_request(
    *,
    lesson: Lesson,
    kind: str,
    user: User,
    brief: str = "",
    target_words: int = Draft.TARGET_WORDS_DEFAULT,
    question_count: int = Draft.QUESTIONS_DEFAULT,
) -> Draft:
    """Ask for a draft of a lesson's notes or a quiz lesson's questions; the provider is
    called by a task after commit. PERMISSION_DENIED unless `user` edits the course,
    AI_NOT_CONFIGURED without a provider, VALIDATION_ERROR for a quiz draft of a lesson that
    is not a quiz lesson or a quiz with nothing to ask about."""
    from assistant.tasks.drafts import draft_generate_task
    from lms.broker import broker_require

    _require_editor(user=user, lesson=lesson)
    if not llm_configured():
        raise AINotConfigured()
    scope = course_scope_get(course=lesson.course)
    lesson = scope.lessons[scope.index(lesson)]  # with its section, as the scope loaded it
    problems = draft_request_problems(lesson=lesson, kind=kind, scope=scope)
    if problems:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields=problems)
    if kind == Draft.Kind.QUIZ:
        messages = quiz_prompt_build(
            lesson=lesson,
            scope=scope,
            brief=brief,
            question_count=question_count,
            existing=_quiz_existing(lesson),
        )
    else:
        messages = notes_prompt_build(
            lesson=lesson, scope=scope, brief=brief, target_words=target_words
        )
    draft = Draft(
        lesson=lesson,
        kind=kind,
        brief=brief.strip(),
        target_words=target_words,
        question_count=question_count,
        prompt=messages,
        created_by=user,
    )
    draft.base_text = draft_current_text(draft=draft)
    draft.full_clean()
    broker_require()
    draft.save()
    draft_id = str(draft.pk)
    transaction.on_commit(lambda: draft_generate_task.delay(draft_id=draft_id))
    return draft


def draft_request_problems(
    *, lesson: Lesson, kind: str, scope: CourseScope
) -> dict[str, list[str]]:
    """Why a draft of this kind cannot be asked for this lesson, by field; empty when it can."""
    if kind != Draft.Kind.QUIZ:
        return {}
    if lesson.kind != Lesson.Kind.QUIZ:
        return {"kind": [_("Only a quiz lesson gets quiz drafts: draft its notes instead.")]}
    if not any(source.body.strip() for source in scope.quiz_sources(lesson)):
        return {
            "kind": [
                _(
                    "The lessons this quiz covers (those since the previous quiz) have no notes "
                    "to ask about yet."
                )
            ]
        }
    return {}


def _max_tokens(draft: Draft) -> int:
    if draft.kind == Draft.Kind.QUIZ:
        return TOKENS_OVERHEAD + TOKENS_PER_QUESTION * draft.question_count
    return TOKENS_OVERHEAD + TOKENS_PER_WORD * draft.target_words


def _draft_claim(draft_id: UUID | str) -> Draft | None:
    """Mark a queued draft as drafting; None when there is nothing to do (it is done, or
    discarded). A draft left "drafting" by a worker that died is taken again."""
    with transaction.atomic():
        draft = (
            Draft.objects.select_for_update().select_related("lesson").filter(pk=draft_id).first()
        )
        if draft is None or draft.status not in (Draft.Status.QUEUED, Draft.Status.RUNNING):
            return None
        draft.status = Draft.Status.RUNNING
        draft.save(update_fields=["status", "updated_at"])
    return draft


def _draft_store(draft_id: UUID | str, **values: Any) -> Draft | None:
    """Store the outcome unless the draft was discarded (or finished) meanwhile."""
    with transaction.atomic():
        draft = Draft.objects.select_for_update().filter(pk=draft_id).first()
        if draft is None or draft.status != Draft.Status.RUNNING:
            return draft
        for name, value in values.items():
            setattr(draft, name, value)
        draft.save(update_fields=[*values, "updated_at"])
    return draft


def _output_values(draft: Draft, text: str) -> dict[str, Any]:
    if draft.kind == Draft.Kind.QUIZ:
        questions = quiz_output_read(text)
        return {"questions": questions, "edited_text": quiz_questions_json(questions)}
    return {"edited_text": notes_output_read(text)}


def draft_generate(*, draft_id: UUID | str, final_attempt: bool = True) -> Draft | None:
    """Call the provider for a queued draft and store what came back (ready), or why not
    (failed, with the error's code). Safe to run twice: a draft no longer queued is left
    alone. A retryable provider error is raised again, draft still drafting, unless this is
    the final attempt (the task retries it)."""
    draft = _draft_claim(draft_id)
    if draft is None:
        return None
    try:
        result = chat_complete(
            messages=draft.prompt,
            purpose=PURPOSE[draft.kind],
            user=draft.created_by,
            course_id=draft.lesson.course_id,
            lesson_id=draft.lesson_id,
            max_tokens=_max_tokens(draft),
        )
    except AIError as error:
        if error.retryable and not final_attempt:
            _draft_store(draft_id, error_code=error.code, error_message=error.message)
            raise
        return _draft_store(
            draft_id,
            status=Draft.Status.FAILED,
            error_code=error.code,
            error_message=error.message,
        )
    values: dict[str, Any] = {"output": result.text, "llm_call_id": result.call_id}
    try:
        values.update(_output_values(draft, result.text))
    except DraftOutputInvalid as error:
        values.update(
            status=Draft.Status.FAILED, error_code=error.code, error_message=error.message
        )
    else:
        values.update(status=Draft.Status.READY, error_code="", error_message="")
    return _draft_store(draft_id, **values)


def _locked_reviewable(draft: Draft) -> Draft:
    locked = Draft.objects.select_for_update().select_related("lesson__course").get(pk=draft.pk)
    if locked.status != Draft.Status.READY:
        raise ApplicationError(ErrorCode.DRAFT_NOT_REVIEWABLE)
    return locked


def _checked_text(draft: Draft, text: str) -> dict[str, Any]:
    """The editor's text as the fields it sets; DraftOutputInvalid for unusable text."""
    if draft.kind == Draft.Kind.QUIZ:
        questions = quiz_output_read(text)
        return {"questions": questions, "edited_text": quiz_questions_json(questions)}
    notes = text.strip()
    if not notes:
        raise DraftOutputInvalid(_("The notes are empty: discard the draft instead."))
    return {"edited_text": notes}


@transaction.atomic
def draft_edit(*, draft: Draft, user: User, text: str) -> Draft:
    """Keep an editor's changes to a ready draft (nothing reaches the lesson yet)."""
    _require_editor(user=user, lesson=draft.lesson)
    locked = _locked_reviewable(draft)
    values = _checked_text(locked, text)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*values, "updated_at"])
    return locked


@transaction.atomic
def draft_approve(*, draft: Draft, user: User, text: str | None = None) -> Draft:
    """Write a ready draft (with the editor's `text`, if given) into the catalog: the notes
    replace the lesson's, the questions are added to its quiz (created if it has none).
    Audited: who approved which draft, of which lesson, edited or not."""
    _require_editor(user=user, lesson=draft.lesson)
    locked = _locked_reviewable(draft)
    if text is not None:
        for name, value in _checked_text(locked, text).items():
            setattr(locked, name, value)
    lesson = locked.lesson
    details: dict[str, Any] = {
        "draft_id": str(locked.pk),
        "kind": locked.kind,
        "lesson_id": str(lesson.pk),
        "course_id": str(lesson.course_id),
        "llm_call_id": str(locked.llm_call_id) if locked.llm_call_id else None,
        "edited": _was_edited(locked),
    }
    if locked.kind == Draft.Kind.NOTES:
        lesson_update(lesson=lesson, data={"body": locked.edited_text})
    else:
        details["questions_added"] = _questions_apply(lesson, locked.questions or [])
    locked.status = Draft.Status.APPROVED
    locked.approved_by = user
    locked.approved_at = timezone.now()
    locked.save()
    audit_record(action=AuditLog.Action.DRAFT_APPROVED, actor=user, target=locked, details=details)
    return locked


def _was_edited(draft: Draft) -> bool:
    try:
        original = _output_values(draft, draft.output)["edited_text"]
    except DraftOutputInvalid:
        return True
    return original != draft.edited_text


def _questions_apply(lesson: Lesson, questions: list[dict[str, Any]]) -> int:
    specs = questions_as_specs(questions)
    quiz = Quiz.objects.filter(lesson=lesson).first()
    if quiz is None:
        quiz_create(lesson=lesson, questions=specs)
    else:
        quiz_questions_add(quiz=quiz, questions=specs)
    return len(specs)


@transaction.atomic
def draft_discard(*, draft: Draft, user: User) -> Draft:
    """Put a draft aside: it stays listed (discarded), and the catalog is untouched. A draft
    being written is discarded too; its late answer is then dropped."""
    _require_editor(user=user, lesson=draft.lesson)
    locked = Draft.objects.select_for_update().select_related("lesson").get(pk=draft.pk)
    if not locked.is_open and locked.status != Draft.Status.FAILED:
        raise ApplicationError(ErrorCode.DRAFT_NOT_REVIEWABLE)
    locked.status = Draft.Status.DISCARDED
    locked.discarded_by = user
    locked.discarded_at = timezone.now()
    locked.save(update_fields=["status", "discarded_by", "discarded_at", "updated_at"])
    audit_record(
        action=AuditLog.Action.DRAFT_DISCARDED,
        actor=user,
        target=locked,
        details={
            "draft_id": str(locked.pk),
            "kind": locked.kind,
            "lesson_id": str(locked.lesson_id),
        },
    )
    return locked
