"""Quiz API (`/api/v1/lessons/<id>/quiz/...`): the questions (never the answers), the quiz's
rules with the caller's standing, and attempts.

The questions leave the server without what would give the answers away (which choices are
correct, the accepted short answers, the explanations); those come back only in a graded
attempt's `results`, and only once the quiz's reveal policy allows (`answers_revealed`):
before that `results` is null and an attempt says only its score.
"""

import uuid
from typing import Any

from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import lesson_access
from catalog.api import MarkdownHtmlField
from catalog.models import Lesson, Question, Quiz
from catalog.quizzes import choice_html, quiz_get
from catalog.selectors import lesson_get_by_id
from lms.api.pagination import PageNumberPagination
from lms.api.schema import error_responses
from lms.markdown import render_markdown
from progress.models import LessonProgress
from progress.selectors import QuizRecord, quiz_attempt_list, quiz_record_get
from progress.services import quiz_attempt_submit

TAG = "quizzes"


def _open_lesson(request: Request, lesson_id: uuid.UUID) -> Lesson:
    """The lesson, when the caller may open it: 404 LESSON_NOT_FOUND, or 403 with the code
    that names what would open it."""
    lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
    lesson_access(user=request.user, course=lesson.course, lesson=lesson).require()
    return lesson


# --- Serializers shared by the operations ----------------------------------------------------


@extend_schema_serializer(component_name="QuizChoice")
class ChoiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    text = serializers.CharField(help_text="As written: Markdown on one line.")
    text_html = serializers.SerializerMethodField(help_text="`text` as inline HTML (sanitized).")

    def get_text_html(self, choice: Any) -> str:
        text = choice["text"] if isinstance(choice, dict) else choice.text
        return str(choice_html(text))


@extend_schema_serializer(component_name="QuizQuestion")
class QuestionSerializer(serializers.Serializer):
    """A question to answer. Nothing here says which answer is right."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(
        choices=Question.Kind.choices,
        help_text=(
            "single: answer with a list of one choice id; multiple: a list of choice ids; "
            "short: a text."
        ),
    )
    prompt_html = MarkdownHtmlField(source="prompt")
    points = serializers.IntegerField()
    choices = ChoiceSerializer(many=True, source="choices.all", help_text="Empty for short.")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "format": "uuid"}},
            {"type": "string"},
        ],
        "nullable": True,
    }
)
class AnswerField(serializers.JSONField):
    """Choice ids (single, multiple) or a text (short); null when unanswered."""


@extend_schema_serializer(component_name="QuizQuestionResult")
class QuestionResultSerializer(serializers.Serializer):
    """One graded question, with the right answer and its explanation."""

    question_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    prompt_html = serializers.SerializerMethodField()
    correct = serializers.BooleanField()
    points = serializers.IntegerField(help_text="Points earned.")
    max_points = serializers.IntegerField()
    answer = AnswerField(help_text="What the learner answered; null when unanswered.")
    correct_answer = serializers.ListField(
        child=serializers.CharField(),
        help_text="The correct choice ids (single, multiple) or the accepted answers (short).",
    )
    explanation_html = serializers.SerializerMethodField()
    choices = ChoiceSerializer(many=True, help_text="The choices as they were when answered.")

    def get_prompt_html(self, result: dict[str, Any]) -> str:
        return str(render_markdown(result["prompt"]))

    def get_explanation_html(self, result: dict[str, Any]) -> str:
        return str(render_markdown(result["explanation"]))


@extend_schema_serializer(component_name="QuizAttempt")
class AttemptSerializer(serializers.Serializer):
    """An attempt. Its `results` (per question: right or not, the correct answer, the
    explanation) are null until the quiz's reveal policy allows: context `record`."""

    id = serializers.UUIDField()
    client_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    score = serializers.IntegerField(help_text="Percent of the points, rounded down.")
    points = serializers.IntegerField()
    max_points = serializers.IntegerField()
    pass_mark = serializers.IntegerField(help_text="The pass mark when this attempt was made.")
    passed = serializers.BooleanField()
    answers_revealed = serializers.SerializerMethodField(
        help_text="Whether `results` are given: per the quiz's `reveal_answers`."
    )
    results = serializers.SerializerMethodField(
        help_text=(
            "Per question: right or not, the correct answer and the explanation. Null until "
            "the quiz's reveal policy allows (`answers_revealed`)."
        )
    )

    def get_answers_revealed(self, attempt: Any) -> bool:
        record: QuizRecord = self.context["record"]
        return record.answers_revealed

    @extend_schema_field(QuestionResultSerializer(many=True, allow_null=True))
    def get_results(self, attempt: Any) -> list[dict[str, Any]] | None:
        if not self.get_answers_revealed(attempt):
            return None
        return QuestionResultSerializer(attempt.results, many=True).data


@extend_schema_serializer(component_name="QuizRules")
class RecordSerializer(serializers.Serializer):
    """The quiz's rules and the caller's standing under them."""

    max_attempts = serializers.IntegerField(
        allow_null=True,
        help_text="Attempts to pass (the quiz's, plus any granted by staff); null: unlimited.",
    )
    attempts_used = serializers.IntegerField(source="attempt_count")
    attempts_left = serializers.IntegerField(
        allow_null=True, help_text="Null when unlimited. Practice after a pass is not limited."
    )
    retry_wait_minutes = serializers.IntegerField(
        source="quiz.retry_wait_minutes", help_text="The wait after a failed attempt."
    )
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="While waiting after a failed attempt: when the next opens."
    )
    can_attempt = serializers.BooleanField(help_text="Whether a submission now is accepted.")
    blocked_code = serializers.ChoiceField(
        source="blocked",
        choices=["QUIZ_ATTEMPTS_EXHAUSTED", "QUIZ_RETRY_NOT_YET"],
        allow_null=True,
        help_text="The error a submission now would get; null when it would be accepted.",
    )
    reveal_answers = serializers.ChoiceField(
        source="quiz.reveal_answers",
        choices=Quiz.Reveal.choices,
        help_text=(
            "When attempts' results are given: never, after_passing, or after_last_attempt "
            "(once passed or out of attempts)."
        ),
    )
    answers_revealed = serializers.BooleanField(
        help_text="Whether the caller's attempts come with their results now."
    )


def _rules(quiz: Quiz, record: QuizRecord) -> dict[str, Any]:
    return {
        "quiz": quiz,
        "max_attempts": record.max_attempts,
        "attempt_count": record.attempt_count,
        "attempts_left": record.attempts_left,
        "next_attempt_at": record.next_attempt_at,
        "can_attempt": record.can_attempt,
        "blocked": str(record.blocked) if record.blocked else None,
        "answers_revealed": record.answers_revealed,
    }


# --- Operations --------------------------------------------------------------------------------


class QuizDetailApi(APIView):
    """A lesson's quiz, ready to answer, with the caller's record so far."""

    @extend_schema_serializer(component_name="Quiz")
    class OutputSerializer(serializers.Serializer):
        lesson_id = serializers.UUIDField(source="quiz.lesson_id")
        pass_mark = serializers.IntegerField(source="quiz.pass_mark", help_text="Percent.")
        max_points = serializers.SerializerMethodField()
        questions = QuestionSerializer(many=True, source="quiz.questions.all")
        best_score = serializers.IntegerField(
            source="record.best_score",
            allow_null=True,
            help_text="The caller's best score so far; null before a first attempt.",
        )
        passed = serializers.BooleanField(
            source="record.passed", help_text="Whether the caller has passed it."
        )
        attempt_count = serializers.IntegerField(source="record.attempt_count")
        rules = RecordSerializer(help_text="The attempt rules and the caller's standing.")

        def get_max_points(self, data: dict[str, Any]) -> int:
            return sum(question.points for question in data["quiz"].questions.all())

    @extend_schema(
        operation_id="lessons_quiz_retrieve",
        tags=[TAG],
        summary="Get a lesson's quiz",
        description=(
            "The questions and their choices, without the answers: which choices are "
            "correct, the accepted short answers and the explanations come back only in a "
            "graded attempt, once the quiz's reveal policy allows. `rules` gives the attempt "
            "limit, the wait after a failed attempt, when the next attempt opens and the "
            "reveal policy, with the caller's standing. 403 `LOGIN_REQUIRED` or "
            "`UPGRADE_REQUIRED` when the lesson is locked; 404 `QUIZ_NOT_FOUND` when the "
            "lesson has no quiz."
        ),
        responses={200: OutputSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _open_lesson(request, lesson_id)
        quiz = quiz_get(lesson=lesson)
        record = quiz_record_get(user=request.user, quiz=quiz)
        data = {"quiz": quiz, "record": record, "rules": _rules(quiz, record)}
        return Response(self.OutputSerializer(data).data)


class QuizAttemptsApi(APIView):
    """The caller's attempts at a lesson's quiz: submit one, or list them."""

    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="QuizAttemptCreate")
    class InputSerializer(serializers.Serializer):
        answers = serializers.DictField(
            child=AnswerField(),
            help_text=(
                "Keyed by question id: a list of one choice id (single), a list of choice "
                "ids (multiple) or a text (short). Unanswered questions count as wrong."
            ),
        )
        client_id = serializers.UUIDField(
            required=False,
            allow_null=True,
            help_text="Makes a retried submission safe: the same id is stored once.",
        )

    @extend_schema_serializer(component_name="QuizAttemptResult")
    class OutputSerializer(AttemptSerializer):
        """A graded attempt, and what it did for the learner."""

        # What the submission did comes from the view's context, next to the attempt.

        xp_awarded = serializers.SerializerMethodField(
            help_text="XP this submission awarded (0 when replayed or already passed)."
        )
        lesson_status = serializers.SerializerMethodField(
            help_text="The lesson's status for the learner after this attempt."
        )
        rules = serializers.SerializerMethodField(
            help_text="The attempt rules and the learner's standing after this attempt."
        )

        def get_xp_awarded(self, attempt: Any) -> int:
            return self.context["submission"].xp_awarded

        @extend_schema_field(serializers.ChoiceField(choices=LessonProgress.Status.choices))
        def get_lesson_status(self, attempt: Any) -> str:
            return self.context["submission"].lesson_status

        @extend_schema_field(RecordSerializer)
        def get_rules(self, attempt: Any) -> dict[str, Any]:
            submission = self.context["submission"]
            return RecordSerializer(_rules(submission.quiz, submission.record)).data

    @extend_schema(
        operation_id="lessons_quiz_attempts_list",
        tags=[TAG],
        summary="List my attempts at a lesson's quiz",
        description=(
            "The caller's own attempts, newest first. Their `results` (right or not, the "
            "correct answers, the explanations) are null until the quiz's reveal policy "
            "allows. 404 `QUIZ_NOT_FOUND` when the lesson has no quiz."
        ),
        responses={200: AttemptSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _open_lesson(request, lesson_id)
        quiz = quiz_get(lesson=lesson)
        record = quiz_record_get(user=request.user, quiz=quiz)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            quiz_attempt_list(user=request.user, lesson=lesson), request, view=self
        )
        data = AttemptSerializer(page, many=True, context={"record": record}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="lessons_quiz_attempts_create",
        tags=[TAG],
        summary="Submit an attempt at a lesson's quiz",
        description=(
            "Grades the answers at once and stores the attempt, under the quiz's rules "
            "(`rules` in the quiz). A passing attempt completes the lesson and awards its XP "
            "and the quiz XP, once; after a pass, further attempts are practice: unlimited, "
            "no wait, and the best score never goes down. 201 with the graded attempt "
            "(`results` only once the reveal policy allows); 200 with the same body when "
            "`client_id` was already used (even with no attempt left now). 400 "
            "`VALIDATION_ERROR` with `fields` (`answers.<question id>`) for an unknown "
            "question or choice; 409 `QUIZ_ATTEMPTS_EXHAUSTED` when no attempt is left; "
            "429 `QUIZ_RETRY_NOT_YET` with `retry_at` in the error (and `Retry-After`) while "
            "the wait after a failed attempt runs."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 429),
        },
        examples=[
            OpenApiExample(
                "Answers",
                request_only=True,
                value={
                    "answers": {
                        "6f1c0d4e-2b8a-4f0e-9d7a-3c5b1e2f4a6b": [
                            "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
                        ],
                        "7e2d1c0b-3a9f-4e8d-8c7b-6a5f4e3d2c1b": "eight",
                    },
                    "client_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                },
            )
        ],
    )
    def post(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = lesson_get_by_id(user=request.user, lesson_id=lesson_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = quiz_attempt_submit(
            user=request.user,
            lesson=lesson,
            answers=data.validated_data["answers"],
            client_id=data.validated_data.get("client_id"),
        )
        context = {"submission": submission, "record": submission.record}
        return Response(
            self.OutputSerializer(submission.attempt, context=context).data,
            status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
        )


urlpatterns = [
    path("lessons/<uuid:lesson_id>/quiz/", QuizDetailApi.as_view(), name="lesson-quiz"),
    path(
        "lessons/<uuid:lesson_id>/quiz/attempts/",
        QuizAttemptsApi.as_view(),
        name="lesson-quiz-attempts",
    ),
]
