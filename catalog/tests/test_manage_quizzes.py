"""The authoring API's quizzes: rules, questions with their choices (answers included, for
authors), the authoring rules on every write, and the audit rows."""

import pytest

from accounts.models import AuditLog
from catalog.models import Choice, Lesson, Question, Quiz
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from catalog.tests.manage_support import (
    BASE,
    audit_row,
    audit_rows,
    client_for,
    error,
    instructor_make,
)

pytestmark = pytest.mark.django_db
A = AuditLog.Action


@pytest.fixture
def ana():
    return instructor_make()


@pytest.fixture
def lesson(ana):
    course = CourseFactory(instructors=[ana])
    return LessonFactory(section=SectionFactory(course=course), kind=Lesson.Kind.QUIZ)


def question_body(question: Question) -> dict:
    question.refresh_from_db()
    return {
        "id": str(question.pk),
        "client_id": question.client_id,
        "kind": question.kind,
        "prompt": question.prompt,
        "explanation": question.explanation,
        "accepted_answers": question.accepted_answer_list,
        "points": question.points,
        "order": question.order,
        "choices": [
            {
                "id": str(choice.pk),
                "client_id": choice.client_id,
                "text": choice.text,
                "is_correct": choice.is_correct,
                "order": choice.order,
            }
            for choice in question.choices.order_by("order", "text")
        ],
    }


def test_put_creates_the_quiz_with_its_rules_then_changes_them(ana, lesson):
    client = client_for(ana)
    url = f"{BASE}/lessons/{lesson.pk}/quiz/"

    missing = client.get(url)
    created = client.put(url, {"pass_mark": 80, "max_attempts": None}, format="json")
    changed = client.put(url, {"reveal_answers": "never"}, format="json")

    quiz = Quiz.objects.get()
    assert missing.status_code == 404
    assert missing.json() == error("QUIZ_NOT_FOUND", "This lesson has no quiz.")
    assert created.status_code == 201
    assert changed.status_code == 200
    assert changed.json() == {
        "id": str(quiz.pk),
        "lesson": str(lesson.pk),
        "pass_mark": 80,
        "max_attempts": None,
        "retry_wait_minutes": 0,
        "reveal_answers": "never",
        "questions": [],
    }
    course = str(lesson.course_id)
    assert audit_rows() == [
        audit_row(A.CONTENT_CREATED, ana, quiz, course=course),
        audit_row(A.CONTENT_CHANGED, ana, quiz, course=course, fields=["reveal_answers"]),
    ]


def test_a_lesson_that_is_not_a_quiz_has_no_quiz_to_set(ana, lesson):
    Lesson.objects.filter(pk=lesson.pk).update(kind=Lesson.Kind.TEXT)

    response = client_for(ana).put(f"{BASE}/lessons/{lesson.pk}/quiz/", {}, format="json")

    assert response.status_code == 409
    assert response.json() == error(
        "LESSON_NOT_A_QUIZ",
        "Only a quiz lesson has a quiz: change the lesson's kind to quiz first.",
    )
    assert not Quiz.objects.exists()


def test_authors_read_the_quiz_with_its_answers(ana, lesson):
    quiz = quiz_with_questions(lesson=lesson)

    response = client_for(ana).get(f"{BASE}/lessons/{lesson.pk}/quiz/")

    assert response.status_code == 200
    assert response.json()["questions"] == [
        question_body(question) for question in quiz.questions.order_by("order")
    ]
    assert response.json()["questions"][2]["accepted_answers"] == ["eight", "8"]


def test_adding_a_question_creates_the_quiz_and_is_retried_by_client_id(ana, lesson):
    client = client_for(ana)
    url = f"{BASE}/lessons/{lesson.pk}/quiz/questions/"
    payload = {
        "client_id": "q1",
        "kind": "single",
        "prompt": "Beats in a bar?",
        "explanation": "Four, in most dances.",
        "points": 2,
        "choices": [
            {"text": "Three", "is_correct": False},
            {"text": "Four", "is_correct": True, "client_id": "four"},
        ],
    }

    first = client.post(url, payload, format="json")
    again = client.post(url, payload, format="json")

    assert (first.status_code, again.status_code) == (201, 200), first.json()
    question = Question.objects.get()
    assert first.json() == again.json() == question_body(question)
    assert [(c.text, c.is_correct, c.client_id) for c in question.choices.order_by("order")] == [
        ("Three", False, ""),
        ("Four", True, "four"),
    ]
    quiz = Quiz.objects.get()
    course = str(lesson.course_id)
    assert audit_rows() == [
        audit_row(A.CONTENT_CREATED, ana, quiz, course=course),
        audit_row(A.CONTENT_CREATED, ana, question, course=course),
    ]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (
            {"kind": "single", "prompt": "?", "choices": [{"text": "A", "is_correct": False}]},
            {"choices": ["A single-choice question needs exactly one correct choice (it has 0)."]},
        ),
        (
            {"kind": "multiple", "prompt": "?", "choices": [{"text": "A"}]},
            {"choices": ["A multiple-choice question needs at least one correct choice."]},
        ),
        (
            {"kind": "short", "prompt": "?", "accepted_answers": []},
            {"accepted_answers": ["A short-answer question needs at least one accepted answer."]},
        ),
        (
            {"kind": "short", "prompt": "?", "accepted_answers": ["one\ntwo"]},
            {"accepted_answers.0": ["One answer per item, on one line."]},
        ),
    ],
)
def test_questions_the_authoring_rules_refuse_are_not_added(ana, lesson, payload, fields):
    response = client_for(ana).post(
        f"{BASE}/lessons/{lesson.pk}/quiz/questions/", payload, format="json"
    )

    assert response.status_code == 400
    assert response.json() == error("VALIDATION_ERROR", "Some fields are invalid.", fields)
    assert not Question.objects.exists()


def test_editing_a_question_replaces_its_choices_keeping_the_listed_ones(ana, lesson):
    quiz = quiz_with_questions(lesson=lesson)
    single = quiz.questions.get(kind="single")
    three, four, five = single.choices.order_by("order")

    response = client_for(ana).patch(
        f"{BASE}/questions/{single.pk}/",
        {
            "kind": "multiple",
            "prompt": "Which are even?",
            "choices": [
                {"id": str(four.pk), "text": "Four", "is_correct": True},
                {"text": "Six", "is_correct": True},
                {"id": str(three.pk), "text": "Three", "is_correct": False},
            ],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == question_body(single)
    assert [(c.pk == four.pk, c.text, c.order) for c in single.choices.order_by("order")] == [
        (True, "Four", 0),
        (False, "Six", 1),
        (False, "Three", 2),
    ]
    assert not Choice.objects.filter(pk=five.pk).exists()
    assert audit_rows() == [
        audit_row(
            A.CONTENT_CHANGED,
            ana,
            single,
            course=str(lesson.course_id),
            fields=["choices", "kind", "prompt"],
        )
    ]


def test_an_edit_the_authoring_rules_refuse_changes_nothing(ana, lesson):
    quiz = quiz_with_questions(lesson=lesson)
    single = quiz.questions.get(kind="single")
    before = question_body(single)

    response = client_for(ana).patch(
        f"{BASE}/questions/{single.pk}/",
        {
            "prompt": "Changed",
            "choices": [{"text": "A", "is_correct": True}, {"text": "B", "is_correct": True}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {"choices": ["A single-choice question needs exactly one correct choice (it has 2)."]},
    )
    assert question_body(single) == before
    assert audit_rows() == []


def test_instructors_delete_questions_and_the_delete_is_audited(ana, lesson):
    quiz = quiz_with_questions(lesson=lesson)
    short = quiz.questions.get(kind="short")
    expected = audit_row(A.CONTENT_DELETED, ana, short, course=str(lesson.course_id))

    response = client_for(ana).delete(f"{BASE}/questions/{short.pk}/")

    assert response.status_code == 204
    assert list(quiz.questions.values_list("kind", flat=True).order_by("order")) == [
        "single",
        "multiple",
    ]
    assert audit_rows() == [expected]
