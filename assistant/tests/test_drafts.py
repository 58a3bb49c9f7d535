"""Drafts of lesson notes and quizzes: the prompt holds exactly the course's in-scope material
(as the loopback provider received it, through the real `openai` SDK), a draft changes
nothing until a person approves it, and approval is audited."""

import json

import pytest

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from assistant.llm import AIError, AINotConfigured
from assistant.models import Draft, LLMCall
from assistant.services.drafts import (
    NOTES_SYSTEM_PROMPT,
    QUIZ_SYSTEM_PROMPT,
    draft_approve,
    draft_discard,
    draft_edit,
    draft_generate,
    draft_request,
)
from catalog.models import Choice, Lesson, Question, Quiz
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode

pytestmark = pytest.mark.django_db

QUIZ_JSON = {
    "questions": [
        {
            "kind": "single",
            "prompt": "On which counts do you **pause**?",
            "choices": [
                {"text": "1 and 5", "correct": False},
                {"text": "4 and 8", "correct": True},
            ],
            "explanation": "You step on 1-2-3 and 5-6-7.",
        },
        {
            "kind": "short",
            "prompt": "How many counts in a phrase?",
            "accepted_answers": ["eight", "8"],
            "explanation": "Salsa phrases are eight counts.",
        },
    ]
}


@pytest.fixture
def school():
    """A course of two sections and five lessons, and another course with its own text."""
    ana = user_role_set(user=UserFactory(email="ana@example.com"), role=Role.INSTRUCTOR, actor=None)
    course = CourseFactory(
        title="Salsa Foundations",
        subtitle="Your first steps",
        description="Eight counts, two feet, one partner.",
        instructors=[ana],
    )
    basics = SectionFactory(course=course, title="Basics", order=0)
    turns = SectionFactory(course=course, title="Turns", order=1)
    lessons = {
        "welcome": LessonFactory(
            section=basics, title="Welcome", order=0, kind=Lesson.Kind.VIDEO, body="FAR-AWAY notes."
        ),
        "timing": LessonFactory(
            section=basics, title="Timing", order=1, body="Step on 1-2-3, pause on 4."
        ),
        "basic": LessonFactory(section=basics, title="The basic step", order=2, body=""),
        "right-turn": LessonFactory(
            section=turns, title="Right turn", order=0, body="Spot your partner."
        ),
        "turn-quiz": LessonFactory(
            section=turns, title="Turn check", order=1, kind=Lesson.Kind.QUIZ, body=""
        ),
    }
    other = CourseFactory(title="Bachata Nights", description="OTHER-COURSE description.")
    LessonFactory(
        section=SectionFactory(course=other), title="Hip motion", body="OTHER-COURSE notes."
    )
    return {"ana": ana, "course": course, "lessons": lessons}


def _ask(django_capture_on_commit_callbacks, **kwargs) -> Draft:
    """Ask for a draft; the task runs on commit (eagerly, as in tests)."""
    with django_capture_on_commit_callbacks(execute=True):
        draft = draft_request(**kwargs)
    draft.refresh_from_db()
    return draft


# --- The prompt --------------------------------------------------------------------------------
def test_the_notes_prompt_holds_exactly_the_course_outline_neighbours_and_goals(
    fake_llm, school, django_capture_on_commit_callbacks
):
    fake_llm.reply("## Your feet\n\nStep on one.")
    lesson = school["lessons"]["basic"]

    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=lesson,
        kind=Draft.Kind.NOTES,
        user=school["ana"],
        brief="Learners can step the basic in place.",
        target_words=300,
    )

    assert len(fake_llm.requests) == 1
    sent = fake_llm.last.body
    assert sent["model"] == fake_llm.model
    assert sent["messages"] == [
        {"role": "system", "content": NOTES_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": (
                "Course: Salsa Foundations\n\n"
                "Subtitle: Your first steps\n\n"
                "Level: beginner\n\n"
                "Language: English (en). Write in this language.\n\n"
                'About the course:\n"""\nEight counts, two feet, one partner.\n"""\n\n'
                "Outline of the course (sections and their lessons, in order):\n"
                "1. Basics\n"
                "   - Welcome (video)\n"
                "   - Timing (text)\n"
                "   - The basic step (text)  <- this lesson\n"
                "2. Turns\n"
                "   - Right turn (text)\n"
                "   - Turn check (quiz)\n\n"
                'Previous lesson: Timing (text). Its notes (excerpt):\n"""\n'
                'Step on 1-2-3, pause on 4.\n"""\n\n'
                'Next lesson: Right turn (text). Its notes (excerpt):\n"""\n'
                'Spot your partner.\n"""\n\n'
                "This lesson: The basic step (text), in the section “Basics”.\n\n"
                'Goals (from the course\'s editor):\n"""\n'
                'Learners can step the basic in place.\n"""\n\n'
                "It has no notes yet.\n\n"
                "Write the notes of this lesson in Markdown, about 300 words."
            ),
        },
    ]
    # What was sent is kept on the draft, as sent.
    assert draft.prompt == sent["messages"]
    prompt = fake_llm.prompts[0]
    assert "FAR-AWAY" not in prompt  # a lesson that is not a neighbour: its title only
    assert "OTHER-COURSE" not in prompt and "Bachata" not in prompt and "Hip motion" not in prompt


def test_the_quiz_prompt_holds_the_notes_of_the_lessons_it_covers_and_its_questions(
    fake_llm, school, django_capture_on_commit_callbacks
):
    quiz_lesson = school["lessons"]["turn-quiz"]
    quiz_with_questions(lesson=quiz_lesson)
    fake_llm.reply(json.dumps(QUIZ_JSON))

    _ask(
        django_capture_on_commit_callbacks,
        lesson=quiz_lesson,
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
        question_count=2,
    )

    assert fake_llm.last.body["messages"] == [
        {"role": "system", "content": QUIZ_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": (
                "Course: Salsa Foundations\n\n"
                "Subtitle: Your first steps\n\n"
                "Level: beginner\n\n"
                "Language: English (en). Write in this language.\n\n"
                "The quiz: Turn check, in the section “Turns”.\n\n"
                "Goals: none given; take them from the title and the outline.\n\n"
                "It covers these lessons; ask only about what their notes say:\n\n"
                'Lesson: Welcome\n"""\nFAR-AWAY notes.\n"""\n\n'
                'Lesson: Timing\n"""\nStep on 1-2-3, pause on 4.\n"""\n\n'
                'Lesson: Right turn\n"""\nSpot your partner.\n"""\n\n'
                'Questions the quiz already has (do not repeat them):\n"""\n'
                "- Beats in a bar?\n- Which are directions?\n- Counts in a dance phrase?\n"
                '"""\n\n'
                "Propose 2 new questions, as JSON."
            ),
        },
    ]
    assert "OTHER-COURSE" not in fake_llm.prompts[0]


def test_a_quiz_covers_only_the_lessons_since_the_previous_quiz(
    fake_llm, school, django_capture_on_commit_callbacks
):
    lessons = school["lessons"]
    # "The basic step" becomes a quiz: "Turn check" then covers only "Right turn".
    Lesson.objects.filter(pk=lessons["basic"].pk).update(kind=Lesson.Kind.QUIZ)
    fake_llm.reply(json.dumps(QUIZ_JSON))

    _ask(
        django_capture_on_commit_callbacks,
        lesson=lessons["turn-quiz"],
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
    )

    prompt = fake_llm.prompts[0]
    assert "Spot your partner." in prompt
    assert "Step on 1-2-3" not in prompt and "FAR-AWAY" not in prompt


# --- Nothing changes until approved -------------------------------------------------------------
def test_a_notes_draft_changes_nothing_until_approved_and_approval_is_audited(
    fake_llm, school, django_capture_on_commit_callbacks
):
    lesson = school["lessons"]["timing"]
    before = Lesson.objects.get(pk=lesson.pk)
    fake_llm.reply("```markdown\n## Timing\n\nStep on **1**.\n```", prompt_tokens=900)

    draft = _ask(
        django_capture_on_commit_callbacks, lesson=lesson, kind=Draft.Kind.NOTES, user=school["ana"]
    )

    assert draft.status == Draft.Status.READY
    assert draft.edited_text == "## Timing\n\nStep on **1**."  # the fence the model added, gone
    assert draft.base_text == "Step on 1-2-3, pause on 4."
    assert draft.llm_call.purpose == "draft.notes"
    assert draft.llm_call.prompt_tokens == 900
    after = Lesson.objects.get(pk=lesson.pk)
    assert (after.body, after.updated_at) == (before.body, before.updated_at)
    assert not AuditLog.objects.filter(action=AuditLog.Action.DRAFT_APPROVED).exists()

    draft_edit(draft=draft, user=school["ana"], text="## Timing\n\nStep on **one**.")
    assert Lesson.objects.get(pk=lesson.pk).body == before.body  # edits are the draft's

    approved = draft_approve(draft=draft, user=school["ana"])

    assert Lesson.objects.get(pk=lesson.pk).body == "## Timing\n\nStep on **one**."
    assert (approved.status, approved.approved_by) == (Draft.Status.APPROVED, school["ana"])
    entry = AuditLog.objects.get(action=AuditLog.Action.DRAFT_APPROVED)
    assert (entry.actor, entry.actor_email) == (school["ana"], "ana@example.com")
    assert (entry.target_type, entry.target_id) == ("assistant.draft", str(draft.pk))
    assert entry.details == {
        "draft_id": str(draft.pk),
        "kind": "notes",
        "lesson_id": str(lesson.pk),
        "course_id": str(lesson.course_id),
        "llm_call_id": str(draft.llm_call_id),
        "edited": True,
    }


def test_a_quiz_draft_adds_nothing_until_approved_then_adds_its_questions(
    fake_llm, school, django_capture_on_commit_callbacks
):
    quiz_lesson = school["lessons"]["turn-quiz"]
    fake_llm.reply(json.dumps(QUIZ_JSON))

    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=quiz_lesson,
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
    )

    assert draft.status == Draft.Status.READY
    assert [question["kind"] for question in draft.questions] == ["single", "short"]
    assert not Quiz.objects.filter(lesson=quiz_lesson).exists()

    draft_approve(draft=draft, user=school["ana"])

    quiz = Quiz.objects.get(lesson=quiz_lesson)
    questions = list(quiz.questions.order_by("order"))
    assert [(q.kind, q.prompt, q.explanation, q.accepted_answers) for q in questions] == [
        ("single", "On which counts do you **pause**?", "You step on 1-2-3 and 5-6-7.", ""),
        ("short", "How many counts in a phrase?", "Salsa phrases are eight counts.", "eight\n8"),
    ]
    assert list(questions[0].choices.order_by("order").values_list("text", "is_correct")) == [
        ("1 and 5", False),
        ("4 and 8", True),
    ]
    entry = AuditLog.objects.get(action=AuditLog.Action.DRAFT_APPROVED)
    assert entry.details["questions_added"] == 2
    assert entry.details["edited"] is False


def test_approving_a_quiz_draft_adds_after_the_quizs_own_questions(
    fake_llm, school, django_capture_on_commit_callbacks
):
    quiz = quiz_with_questions(lesson=school["lessons"]["turn-quiz"])
    fake_llm.reply(json.dumps(QUIZ_JSON))
    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=quiz.lesson,
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
    )

    draft_approve(draft=draft, user=school["ana"])

    assert list(quiz.questions.order_by("order").values_list("prompt", flat=True)) == [
        "Beats in a bar?",
        "Which are directions?",
        "Counts in a dance phrase?",
        "On which counts do you **pause**?",
        "How many counts in a phrase?",
    ]


def test_a_discarded_draft_leaves_the_lesson_as_it_was_and_cannot_be_approved(
    fake_llm, school, django_capture_on_commit_callbacks
):
    lesson = school["lessons"]["timing"]
    fake_llm.reply("New notes.")
    draft = _ask(
        django_capture_on_commit_callbacks, lesson=lesson, kind=Draft.Kind.NOTES, user=school["ana"]
    )

    draft_discard(draft=draft, user=school["ana"])

    draft.refresh_from_db()
    assert (draft.status, draft.discarded_by) == (Draft.Status.DISCARDED, school["ana"])
    assert Lesson.objects.get(pk=lesson.pk).body == "Step on 1-2-3, pause on 4."
    assert AuditLog.objects.filter(
        action=AuditLog.Action.DRAFT_DISCARDED, target_id=str(draft.pk)
    ).exists()
    with pytest.raises(ApplicationError) as refused:
        draft_approve(draft=draft, user=school["ana"])
    assert refused.value.code == ErrorCode.DRAFT_NOT_REVIEWABLE
    assert Lesson.objects.get(pk=lesson.pk).body == "Step on 1-2-3, pause on 4."


def test_running_the_task_twice_calls_the_provider_once(
    fake_llm, school, django_capture_on_commit_callbacks
):
    fake_llm.reply("Notes.")
    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=school["lessons"]["timing"],
        kind=Draft.Kind.NOTES,
        user=school["ana"],
    )

    assert draft_generate(draft_id=draft.pk) is None
    assert len(fake_llm.requests) == 1


# --- Who may ----------------------------------------------------------------------------------
def test_an_instructor_cannot_draft_for_another_instructors_course(fake_llm, school):
    bo = user_role_set(user=UserFactory(email="bo@example.com"), role=Role.INSTRUCTOR, actor=None)

    with pytest.raises(AccessDeniedError):
        draft_request(lesson=school["lessons"]["timing"], kind=Draft.Kind.NOTES, user=bo)

    assert not Draft.objects.exists()
    assert fake_llm.requests == []


def test_an_instructor_cannot_approve_a_draft_of_another_instructors_course(
    fake_llm, school, django_capture_on_commit_callbacks
):
    fake_llm.reply("Notes.")
    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=school["lessons"]["timing"],
        kind=Draft.Kind.NOTES,
        user=school["ana"],
    )
    bo = user_role_set(user=UserFactory(email="bo@example.com"), role=Role.INSTRUCTOR, actor=None)

    with pytest.raises(AccessDeniedError):
        draft_approve(draft=draft, user=bo)
    with pytest.raises(AccessDeniedError):
        draft_discard(draft=draft, user=bo)

    draft.refresh_from_db()
    assert draft.status == Draft.Status.READY


def test_without_a_provider_no_draft_is_asked_for(school):
    with pytest.raises(AINotConfigured) as refused:
        draft_request(lesson=school["lessons"]["timing"], kind=Draft.Kind.NOTES, user=school["ana"])

    assert refused.value.code == ErrorCode.AI_NOT_CONFIGURED
    assert not Draft.objects.exists()


def test_a_quiz_draft_needs_a_quiz_lesson(fake_llm, school):
    with pytest.raises(ApplicationError) as refused:
        draft_request(lesson=school["lessons"]["timing"], kind=Draft.Kind.QUIZ, user=school["ana"])

    assert refused.value.code == ErrorCode.VALIDATION_ERROR
    assert "kind" in refused.value.fields
    assert fake_llm.requests == []


# --- Failures ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "AI_PROVIDER_ERROR"), (401, "AI_PROVIDER_ERROR"), (500, "AI_PROVIDER_ERROR")],
)
def test_a_provider_error_fails_the_draft_with_its_code(
    fake_llm, school, django_capture_on_commit_callbacks, status, code
):
    fake_llm.fail_next(status)
    lesson = school["lessons"]["timing"]

    draft = _ask(
        django_capture_on_commit_callbacks, lesson=lesson, kind=Draft.Kind.NOTES, user=school["ana"]
    )

    assert (draft.status, draft.error_code) == (Draft.Status.FAILED, code)
    assert str(status) in draft.error_message
    assert draft.edited_text == ""
    assert Lesson.objects.get(pk=lesson.pk).body == "Step on 1-2-3, pause on 4."
    assert LLMCall.objects.get().status == LLMCall.Status.ERROR


def test_a_provider_timeout_fails_the_draft_with_ai_timeout(
    fake_llm, settings, school, django_capture_on_commit_callbacks
):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.reply("Too late.", delay=1.5)

    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=school["lessons"]["timing"],
        kind=Draft.Kind.NOTES,
        user=school["ana"],
    )

    assert (draft.status, draft.error_code) == (Draft.Status.FAILED, "AI_TIMEOUT")


def test_a_retryable_error_before_the_last_attempt_leaves_the_draft_to_the_retry(fake_llm, school):
    draft = draft_request(
        lesson=school["lessons"]["timing"], kind=Draft.Kind.NOTES, user=school["ana"]
    )  # its task is not run: no on-commit here
    fake_llm.fail_next(503)
    fake_llm.reply("Notes at last.")

    with pytest.raises(AIError) as raised:
        draft_generate(draft_id=draft.pk, final_attempt=False)
    assert raised.value.retryable
    draft.refresh_from_db()
    assert draft.status == Draft.Status.RUNNING

    draft_generate(draft_id=draft.pk, final_attempt=False)  # the retry

    draft.refresh_from_db()
    assert (draft.status, draft.edited_text, draft.error_code) == (
        Draft.Status.READY,
        "Notes at last.",
        "",
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Here are some questions!", "The answer is not valid JSON (line 1, column 1"),
        (json.dumps({"questions": []}), "The answer has no list of questions."),
        (
            json.dumps(
                {
                    "questions": [
                        {
                            "kind": "single",
                            "prompt": "Which?",
                            "choices": [
                                {"text": "A", "correct": True},
                                {"text": "B", "correct": True},
                            ],
                        }
                    ]
                }
            ),
            "Question 1: A single-choice question needs exactly one correct choice (it has 2).",
        ),
        (
            json.dumps({"questions": [{"kind": "short", "prompt": "Which?"}]}),
            "Question 1: A short-answer question needs at least one accepted answer.",
        ),
        (
            json.dumps({"questions": [{"kind": "essay", "prompt": "Tell me."}]}),
            "Question 1: its kind must be single, multiple or short.",
        ),
    ],
)
def test_a_malformed_quiz_answer_fails_the_draft_with_a_clear_message(
    fake_llm, school, django_capture_on_commit_callbacks, answer, message
):
    fake_llm.reply(answer)
    quiz_lesson = school["lessons"]["turn-quiz"]

    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=quiz_lesson,
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
    )

    assert (draft.status, draft.error_code) == (Draft.Status.FAILED, "DRAFT_OUTPUT_INVALID")
    assert draft.error_message.startswith(message)
    assert draft.output == answer  # kept, to see what the model said
    assert not Quiz.objects.filter(lesson=quiz_lesson).exists()
    assert not Question.objects.exists() and not Choice.objects.exists()


def test_an_edit_that_breaks_the_quiz_is_refused_and_nothing_is_added(
    fake_llm, school, django_capture_on_commit_callbacks
):
    fake_llm.reply(json.dumps(QUIZ_JSON))
    draft = _ask(
        django_capture_on_commit_callbacks,
        lesson=school["lessons"]["turn-quiz"],
        kind=Draft.Kind.QUIZ,
        user=school["ana"],
    )
    broken = json.dumps({"questions": [{"kind": "multiple", "prompt": "Pick", "choices": []}]})

    with pytest.raises(ApplicationError) as refused:
        draft_approve(draft=draft, user=school["ana"], text=broken)

    assert refused.value.code == ErrorCode.DRAFT_OUTPUT_INVALID
    assert "Question 1" in refused.value.message
    draft.refresh_from_db()
    assert draft.status == Draft.Status.READY
    assert not Quiz.objects.exists()
