"""The quiz API: the questions without their answers, graded attempts, and the caller's own
attempts; the error envelope for each refusal."""

import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson, Quiz
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    QuizFactory,
    SectionFactory,
    quiz_with_questions,
)
from progress.models import LessonProgress, QuizAttempt
from progress.services import quiz_attempt_submit

pytestmark = pytest.mark.django_db


def quiz_url(lesson: Lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/quiz/"


def attempts_url(lesson: Lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/quiz/attempts/"


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def quiz_lesson(course: Course | None = None) -> Lesson:
    section = SectionFactory(course=course or CourseFactory())
    LessonFactory(section=section, slug="warm-up", order=0)
    return LessonFactory(section=section, kind=Lesson.Kind.QUIZ, slug="check", order=1)


@pytest.fixture
def lesson() -> Lesson:
    return quiz_lesson()


@pytest.fixture
def quiz(lesson) -> Quiz:
    quiz = quiz_with_questions(lesson=lesson)
    for question in quiz.questions.all():
        question.explanation = f"Why: {question.prompt}"
        question.save()
    return quiz


@pytest.fixture
def learner_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def ids(quiz) -> dict:
    """Question ids by kind and choice ids by text."""
    questions = {question.kind: str(question.pk) for question in quiz.questions.all()}
    choices = {
        choice.text: str(choice.pk)
        for question in quiz.questions.all()
        for choice in question.choices.all()
    }
    return {**questions, **choices}


def all_right(ids: dict) -> dict:
    return {
        ids["single"]: [ids["Four"]],
        ids["multiple"]: [ids["Left"], ids["Right"]],
        ids["short"]: "Eight",
    }


def test_the_endpoints_are_at_their_documented_addresses(lesson):
    assert reverse("progress-api:lesson-quiz", args=[lesson.pk]) == quiz_url(lesson)
    assert reverse("progress-api:lesson-quiz-attempts", args=[lesson.pk]) == attempts_url(lesson)


# --- GET the quiz -------------------------------------------------------------------------------


def test_the_quiz_comes_without_its_answers(learner_api, lesson, quiz, ids):
    response = learner_api.get(quiz_url(lesson))

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "lesson_id": str(lesson.pk),
        "pass_mark": 70,
        "max_points": 3,
        "questions": [
            {
                "id": ids["single"],
                "kind": "single",
                "prompt_html": "<p>Beats in a bar?</p>",
                "points": 1,
                "choices": [
                    {"id": ids["Three"], "text": "Three", "text_html": "Three"},
                    {"id": ids["Four"], "text": "Four", "text_html": "Four"},
                    {"id": ids["Five"], "text": "Five", "text_html": "Five"},
                ],
            },
            {
                "id": ids["multiple"],
                "kind": "multiple",
                "prompt_html": "<p>Which are directions?</p>",
                "points": 1,
                "choices": [
                    {"id": ids["Left"], "text": "Left", "text_html": "Left"},
                    {"id": ids["Right"], "text": "Right", "text_html": "Right"},
                    {"id": ids["Blue"], "text": "Blue", "text_html": "Blue"},
                ],
            },
            {
                "id": ids["short"],
                "kind": "short",
                "prompt_html": "<p>Counts in a dance phrase?</p>",
                "points": 1,
                "choices": [],
            },
        ],
        "best_score": None,
        "passed": False,
        "attempt_count": 0,
        "rules": {
            "max_attempts": 3,
            "attempts_used": 0,
            "attempts_left": 3,
            "retry_wait_minutes": 0,
            "next_attempt_at": None,
            "can_attempt": True,
            "blocked_code": None,
            "reveal_answers": "after_last_attempt",
            "answers_revealed": False,
        },
    }
    raw = json.dumps(body)
    for secret in ("correct", "accepted", "explanation", "Why:", "eight"):
        assert secret not in raw


def test_the_quiz_shows_the_callers_best_score_so_far(learner_api, user, lesson, quiz, ids):
    quiz_attempt_submit(user=user, lesson=lesson, answers={ids["short"]: "8"})
    quiz_attempt_submit(user=user, lesson=lesson, answers=all_right(ids))
    quiz_attempt_submit(user=user, lesson=lesson, answers={})
    quiz_attempt_submit(user=UserFactory(), lesson=lesson, answers={})

    body = learner_api.get(quiz_url(lesson)).json()

    assert (body["best_score"], body["passed"], body["attempt_count"]) == (100, True, 3)


def test_visitors_may_read_the_quiz_of_an_open_lesson(api_client, lesson, quiz):
    body = api_client.get(quiz_url(lesson)).json()

    assert (body["best_score"], body["passed"], body["attempt_count"]) == (None, False, 0)
    assert len(body["questions"]) == 3


def test_a_lesson_without_a_quiz_answers_404(learner_api):
    text_lesson = LessonFactory()
    empty = QuizFactory().lesson

    for lesson in (text_lesson, empty):
        response = learner_api.get(quiz_url(lesson))
        assert response.status_code == 404
        assert response.json() == _error("QUIZ_NOT_FOUND", "This lesson has no quiz.")


# --- POST an attempt ----------------------------------------------------------------------------


def test_a_passing_attempt_answers_with_its_feedback_and_what_it_awarded(
    learner_api, user, lesson, quiz, ids
):
    client_id = uuid.uuid4()
    answers = {**all_right(ids), ids["short"]: "  EIGHT "}

    response = learner_api.post(
        attempts_url(lesson), {"answers": answers, "client_id": str(client_id)}, format="json"
    )

    assert response.status_code == 201
    attempt = QuizAttempt.objects.get()
    body = response.json()
    assert body == {
        "id": str(attempt.pk),
        "client_id": str(client_id),
        "created_at": attempt.created_at.isoformat().replace("+00:00", "Z"),
        "score": 100,
        "points": 3,
        "max_points": 3,
        "pass_mark": 70,
        "passed": True,
        "answers_revealed": True,
        "results": [
            {
                "question_id": ids["single"],
                "kind": "single",
                "prompt_html": "<p>Beats in a bar?</p>",
                "correct": True,
                "points": 1,
                "max_points": 1,
                "answer": [ids["Four"]],
                "correct_answer": [ids["Four"]],
                "explanation_html": "<p>Why: Beats in a bar?</p>",
                "choices": [
                    {"id": ids["Three"], "text": "Three", "text_html": "Three"},
                    {"id": ids["Four"], "text": "Four", "text_html": "Four"},
                    {"id": ids["Five"], "text": "Five", "text_html": "Five"},
                ],
            },
            {
                "question_id": ids["multiple"],
                "kind": "multiple",
                "prompt_html": "<p>Which are directions?</p>",
                "correct": True,
                "points": 1,
                "max_points": 1,
                "answer": [ids["Left"], ids["Right"]],
                "correct_answer": [ids["Left"], ids["Right"]],
                "explanation_html": "<p>Why: Which are directions?</p>",
                "choices": [
                    {"id": ids["Left"], "text": "Left", "text_html": "Left"},
                    {"id": ids["Right"], "text": "Right", "text_html": "Right"},
                    {"id": ids["Blue"], "text": "Blue", "text_html": "Blue"},
                ],
            },
            {
                "question_id": ids["short"],
                "kind": "short",
                "prompt_html": "<p>Counts in a dance phrase?</p>",
                "correct": True,
                "points": 1,
                "max_points": 1,
                "answer": "  EIGHT ",
                "correct_answer": ["eight", "8"],
                "explanation_html": "<p>Why: Counts in a dance phrase?</p>",
                "choices": [],
            },
        ],
        "xp_awarded": 30,
        "lesson_status": "completed",
        "rules": {
            "max_attempts": 3,
            "attempts_used": 1,
            "attempts_left": 2,
            "retry_wait_minutes": 0,
            "next_attempt_at": None,
            "can_attempt": True,
            "blocked_code": None,
            "reveal_answers": "after_last_attempt",
            "answers_revealed": True,
        },
    }
    assert LessonProgress.objects.get(user=user, lesson=lesson).is_completed


@pytest.mark.parametrize("preview", ["draft-course", "unpublished-lesson"])
def test_an_editor_passing_a_preview_quiz_gets_feedback_without_completing_it(api_client, preview):
    editor = UserFactory(is_staff=True, is_superuser=True)
    lesson = quiz_lesson(CourseFactory(status=Course.Status.DRAFT))
    if preview == "unpublished-lesson":
        Course.objects.filter(pk=lesson.course_id).update(status=Course.Status.PUBLISHED)
        Lesson.objects.filter(pk=lesson.pk).update(is_published=False)
    quiz = quiz_with_questions(lesson=lesson)
    answers = {
        str(question.pk): (
            "Eight"
            if question.kind == "short"
            else [str(c.pk) for c in question.choices.all() if c.is_correct]
        )
        for question in quiz.questions.all()
    }
    api_client.force_authenticate(editor)

    response = api_client.post(attempts_url(lesson), {"answers": answers}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["passed"], body["xp_awarded"], body["lesson_status"]) == (
        True,
        0,
        "not_started",
    )
    assert not LessonProgress.objects.filter(user=editor).exists()


def test_a_failing_attempt_says_so_and_leaves_the_lesson_not_started(learner_api, lesson, ids):
    response = learner_api.post(
        attempts_url(lesson),
        {"answers": {ids["single"]: [ids["Five"]], ids["short"]: "8"}},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["score"], body["points"], body["passed"]) == (33, 1, False)
    # Two attempts left: nothing says which answer was right.
    assert (body["answers_revealed"], body["results"]) == (False, None)
    assert (body["rules"]["attempts_left"], body["rules"]["can_attempt"]) == (2, True)
    assert (body["client_id"], body["xp_awarded"], body["lesson_status"]) == (
        None,
        0,
        "not_started",
    )
    raw = json.dumps(body)
    for secret in ("Why:", "eight", "correct_answer", ids["Four"]):
        assert secret not in raw


def test_resending_a_client_id_answers_200_with_the_same_attempt(learner_api, lesson, ids):
    payload = {"answers": all_right(ids), "client_id": str(uuid.uuid4())}
    first = learner_api.post(attempts_url(lesson), payload, format="json")

    again = learner_api.post(attempts_url(lesson), payload, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "xp_awarded": 0}
    assert QuizAttempt.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"answers": ["This field is required."]}),
        ({"answers": ["x"]}, {"answers": ['Expected a dictionary of items but got type "list".']}),
        (
            {"answers": {}, "client_id": "nope"},
            {"client_id": ["Must be a valid UUID."]},
        ),
    ],
)
def test_a_malformed_body_answers_400_with_the_fields(learner_api, lesson, quiz, payload, fields):
    response = learner_api.post(attempts_url(lesson), payload, format="json")

    assert response.status_code == 400
    assert response.json() == _error("VALIDATION_ERROR", "Some fields are invalid.", fields)
    assert not QuizAttempt.objects.exists()


def test_unknown_questions_and_choices_answer_400_with_the_fields(learner_api, lesson, ids):
    unknown = str(uuid.uuid4())

    response = learner_api.post(
        attempts_url(lesson),
        {"answers": {unknown: "8", ids["single"]: [ids["Left"]]}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == _error(
        "VALIDATION_ERROR",
        "Some fields are invalid.",
        {
            f"answers.{unknown}": ["This quiz has no question with this id."],
            f"answers.{ids['single']}": [f"This question has no choice with id “{ids['Left']}”."],
        },
    )
    assert not QuizAttempt.objects.exists()


def test_anonymous_callers_may_not_submit_or_list(api_client, lesson, quiz):
    for response in (
        api_client.post(attempts_url(lesson), {"answers": {}}, format="json"),
        api_client.get(attempts_url(lesson)),
    ):
        assert response.status_code == 401
        assert response.json() == _error("NOT_AUTHENTICATED", "Sign in to continue.")


# --- Access -------------------------------------------------------------------------------------


@pytest.fixture
def locked_lesson() -> Lesson:
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    lesson = quiz_lesson(course=paid)
    quiz_with_questions(lesson=lesson)
    return lesson


def test_a_locked_lesson_answers_403_with_what_would_open_it(learner_api, locked_lesson):
    requests = [
        learner_api.get(quiz_url(locked_lesson)),
        learner_api.get(attempts_url(locked_lesson)),
        learner_api.post(attempts_url(locked_lesson), {"answers": {}}, format="json"),
    ]

    for response in requests:
        assert response.status_code == 403
        assert response.json() == _error("UPGRADE_REQUIRED", "This lesson needs a higher plan.")
    assert not QuizAttempt.objects.exists()


def test_a_members_lesson_asks_visitors_to_sign_in(api_client):
    members = quiz_lesson(course=CourseFactory(visibility=Course.Visibility.MEMBERS))
    quiz_with_questions(lesson=members)

    response = api_client.get(quiz_url(members))

    assert response.status_code == 403
    assert response.json() == _error("LOGIN_REQUIRED", "Sign in to open this lesson.")


def test_an_unknown_or_hidden_lesson_answers_404(learner_api, quiz):
    hidden = quiz_lesson()
    hidden.is_published = False
    hidden.save()
    quiz_with_questions(lesson=hidden)
    missing = Lesson(pk=uuid.uuid4())

    for lesson in (missing, hidden):
        for response in (
            learner_api.get(quiz_url(lesson)),
            learner_api.get(attempts_url(lesson)),
            learner_api.post(attempts_url(lesson), {"answers": {}}, format="json"),
        ):
            assert response.status_code == 404
            assert response.json() == _error(
                "LESSON_NOT_FOUND", "There is no lesson at this address."
            )


# --- GET my attempts ----------------------------------------------------------------------------


def test_the_list_has_only_the_callers_attempts_newest_first(learner_api, user, lesson, ids):
    other = UserFactory()
    quiz_attempt_submit(user=other, lesson=lesson, answers=all_right(ids))
    first = quiz_attempt_submit(user=user, lesson=lesson, answers={})
    second = quiz_attempt_submit(user=user, lesson=lesson, answers=all_right(ids))
    other_lesson = quiz_lesson()
    quiz_with_questions(lesson=other_lesson)
    quiz_attempt_submit(user=user, lesson=other_lesson, answers={})

    response = learner_api.get(attempts_url(lesson))

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [item["id"] for item in body["results"]] == [
        str(second.attempt.pk),
        str(first.attempt.pk),
    ]
    assert [(item["score"], item["passed"]) for item in body["results"]] == [
        (100, True),
        (0, False),
    ]
    assert body["results"][0]["results"][2]["correct_answer"] == ["eight", "8"]
    assert set(body["results"][0]) == {
        "id",
        "client_id",
        "created_at",
        "score",
        "points",
        "max_points",
        "pass_mark",
        "passed",
        "answers_revealed",
        "results",
    }


def test_another_learners_attempts_are_never_listed(api_client, user, lesson, ids):
    quiz_attempt_submit(user=user, lesson=lesson, answers=all_right(ids))
    api_client.force_authenticate(UserFactory())

    response = api_client.get(attempts_url(lesson))

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_list_is_paginated(learner_api, user, lesson, ids):
    for _ in range(3):
        quiz_attempt_submit(user=user, lesson=lesson, answers={})

    body = learner_api.get(attempts_url(lesson), {"page_size": 2, "page": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 1
    assert body["next"] is None
    assert body["previous"].endswith("quiz/attempts/?page_size=2")


def test_the_schema_documents_the_quiz_operations(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    quiz_path = paths["/api/v1/lessons/{lesson_id}/quiz/"]
    attempts = paths["/api/v1/lessons/{lesson_id}/quiz/attempts/"]
    assert quiz_path["get"]["tags"] == ["quizzes"]
    assert {"get", "post"} <= set(attempts)
    # Its own statuses, plus the generic ones of a write with a body (lms.api.schema).
    assert set(attempts["post"]["responses"]) == {
        *("200", "201", "400", "401", "403", "404", "409"),
        *("406", "413", "415", "429", "503"),
    }


# --- The attempt rules ------------------------------------------------------------------------


def test_no_attempt_is_left_answers_409_in_the_envelope(learner_api, user, lesson, quiz, ids):
    quiz.max_attempts = 1
    quiz.save()
    quiz_attempt_submit(user=user, lesson=lesson, answers={})

    response = learner_api.post(attempts_url(lesson), {"answers": all_right(ids)}, format="json")

    assert response.status_code == 409
    assert response.json() == _error(
        "QUIZ_ATTEMPTS_EXHAUSTED", "You have used all your attempts at this quiz."
    )
    assert QuizAttempt.objects.filter(user=user).count() == 1
    rules = learner_api.get(quiz_url(lesson)).json()["rules"]
    assert (rules["attempts_left"], rules["can_attempt"], rules["blocked_code"]) == (
        0,
        False,
        "QUIZ_ATTEMPTS_EXHAUSTED",
    )
    # Out of attempts under "after the last attempt": now the answers come.
    assert rules["answers_revealed"] is True
    listed = learner_api.get(attempts_url(lesson)).json()["results"][0]
    assert listed["results"][0]["correct_answer"] == [ids["Four"]]


def test_the_wait_answers_429_with_retry_at_and_retry_after(learner_api, user, lesson, quiz, ids):
    quiz.retry_wait_minutes = 30
    quiz.save()
    failed_at = timezone.now() - timedelta(minutes=10)
    quiz_attempt_submit(user=user, lesson=lesson, answers={}, now=failed_at)
    opens = failed_at + timedelta(minutes=30)

    response = learner_api.post(attempts_url(lesson), {"answers": all_right(ids)}, format="json")

    assert response.status_code == 429
    iso = opens.isoformat().replace("+00:00", "Z")
    assert response.json() == {
        "error": {
            "code": "QUIZ_RETRY_NOT_YET",
            "message": "Your next attempt at this quiz is not open yet: see when it opens.",
            "fields": {},
            "retry_at": iso,
        }
    }
    assert 1150 <= int(response["Retry-After"]) <= 1200
    rules = learner_api.get(quiz_url(lesson)).json()["rules"]
    assert (rules["next_attempt_at"], rules["blocked_code"], rules["retry_wait_minutes"]) == (
        iso,
        "QUIZ_RETRY_NOT_YET",
        30,
    )
    assert QuizAttempt.objects.filter(user=user).count() == 1


def test_attempts_listed_before_the_reveal_carry_no_results(learner_api, user, lesson, ids):
    quiz_attempt_submit(user=user, lesson=lesson, answers={ids["short"]: "8"})

    body = learner_api.get(attempts_url(lesson)).json()

    [item] = body["results"]
    assert (item["score"], item["answers_revealed"], item["results"]) == (33, False, None)
    raw = json.dumps(body)
    for secret in ("Why:", "eight", "correct", ids["Four"]):
        assert secret not in raw


def test_a_never_revealing_quiz_gives_no_results_even_after_a_pass(
    learner_api, user, lesson, quiz, ids
):
    quiz.reveal_answers = "never"
    quiz.save()

    response = learner_api.post(attempts_url(lesson), {"answers": all_right(ids)}, format="json")

    body = response.json()
    assert (response.status_code, body["passed"], body["results"]) == (201, True, None)
    assert "Why:" not in json.dumps(learner_api.get(attempts_url(lesson)).json())


def test_choices_come_as_written_and_as_inline_html(learner_api, lesson, quiz):
    question = quiz.questions.get(kind="single")
    question.choices.filter(text="Four").update(text="`print()` *now*")

    body = learner_api.get(quiz_url(lesson)).json()

    [choice] = [c for c in body["questions"][0]["choices"] if c["text"].startswith("`")]
    assert choice["text"] == "`print()` *now*"
    assert choice["text_html"] == "<code>print()</code> <em>now</em>"
