"""Authoring API: quizzes (`/api/v1/manage/lessons/<id>/quiz/...`, `questions/<id>/`): a quiz
lesson's rules and its questions with their choices, answers included (authors see them).

Every question is checked by the authoring rules (`catalog.quizzes.question_problems`): a
single-choice question has exactly one correct choice, a multiple-choice question at least
one, a short-answer question accepted answers and no choices. Learners' past attempts keep
their snapshot, whatever changes here.
"""

import uuid
from typing import Any

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from catalog.manage.common import (
    changes_of,
    create_retryable,
    created_response,
    question_in_full,
    quiz_in_full,
)
from catalog.manage.permissions import (
    IsAuthor,
    author_permission_require,
    authored_courses,
    lesson_for_author,
)
from catalog.manage.serializers import (
    INT_MAX,
    SMALLINT_MAX,
    QuestionSerializer,
    QuizSerializer,
    client_id_field,
)
from catalog.models import Lesson, Question, Quiz
from catalog.quizzes import (
    ChoiceSpec,
    question_create,
    question_delete,
    question_update,
    quiz_create,
    quiz_update,
)
from lms.api.schema import error_responses
from lms.errors import ApplicationError, ErrorCode, NotFoundError

TAG = "manage"
MAX_CHOICES = 50
MAX_ACCEPTED_ANSWERS = 100


def _quiz_lesson(user: User, lesson_id: uuid.UUID) -> Lesson:
    lesson = lesson_for_author(user=user, lesson_id=lesson_id)
    if lesson.kind != Lesson.Kind.QUIZ:
        raise ApplicationError(ErrorCode.LESSON_NOT_A_QUIZ)
    return lesson


def _quiz_of(lesson: Lesson) -> Quiz | None:
    return Quiz.objects.filter(lesson=lesson).select_related("lesson").first()


def question_for_author(*, user: User, question_id: uuid.UUID) -> Question:
    """The question, if this author may edit its course; else 404 QUESTION_NOT_FOUND."""
    question = (
        Question.objects.select_related("quiz__lesson")
        .filter(pk=question_id, quiz__lesson__course__in=authored_courses(user=user).values("pk"))
        .first()
    )
    if question is None:
        raise NotFoundError(ErrorCode.QUESTION_NOT_FOUND)
    return question


# --- Inputs -----------------------------------------------------------------------------------


class _RulesInput(serializers.Serializer):
    pass_mark = serializers.IntegerField(
        min_value=0, max_value=100, required=False, help_text="Percent of the points (70)."
    )
    max_attempts = serializers.IntegerField(
        min_value=1,
        max_value=Quiz.MAX_ATTEMPTS_LIMIT,
        allow_null=True,
        required=False,
        help_text=f"1 to {Quiz.MAX_ATTEMPTS_LIMIT}; null for unlimited "
        f"({Quiz.DEFAULT_MAX_ATTEMPTS}).",
    )
    retry_wait_minutes = serializers.IntegerField(
        min_value=0,
        max_value=Quiz.RETRY_WAIT_MINUTES_LIMIT,
        required=False,
        help_text="The wait after a failed attempt (0).",
    )
    reveal_answers = serializers.ChoiceField(
        choices=Quiz.Reveal.choices, required=False, help_text="When learners see the answers."
    )


class _ChoiceInput(serializers.Serializer):
    text = serializers.CharField(max_length=300, help_text="Markdown on one line.")
    is_correct = serializers.BooleanField(default=False)


class _NewChoiceInput(_ChoiceInput):
    client_id = client_id_field()


class _ChoiceEditInput(_ChoiceInput):
    id = serializers.UUIDField(
        required=False, help_text="Keep (and change) this choice; leave out for a new one."
    )


def _accepted_answer(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise serializers.ValidationError("One answer per item, on one line.")
    return value


class _QuestionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    prompt = serializers.CharField(trim_whitespace=False, help_text="Markdown.")
    explanation = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="Markdown."
    )
    accepted_answers = serializers.ListField(
        child=serializers.CharField(max_length=500, validators=[_accepted_answer]),
        max_length=MAX_ACCEPTED_ANSWERS,
        required=False,
        help_text="Short answer: the accepted answers, matched ignoring case and spaces.",
    )
    points = serializers.IntegerField(min_value=0, max_value=SMALLINT_MAX, required=False)


def _question_values(values: dict[str, Any]) -> dict[str, Any]:
    if "accepted_answers" in values:
        values["accepted_answers"] = "\n".join(values["accepted_answers"])
    return values


def _quiz(request: Request, quiz: Quiz) -> dict:
    return QuizSerializer(quiz_in_full(quiz), context={"request": request}).data


# --- Operations -------------------------------------------------------------------------------


class LessonQuizApi(APIView):
    """A quiz lesson's quiz: its rules and questions (answers included)."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageQuizRules")
    class InputSerializer(_RulesInput):
        pass

    @extend_schema(
        operation_id="manage_lessons_quiz_retrieve",
        tags=[TAG],
        summary="Get a lesson's quiz with its answers",
        description=(
            "404 `QUIZ_NOT_FOUND` when the lesson has no quiz yet, 409 `LESSON_NOT_A_QUIZ` "
            "when it is not a quiz lesson; 404 `LESSON_NOT_FOUND`."
        ),
        responses={200: QuizSerializer, **error_responses(401, 403, 404, 409)},
    )
    def get(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _quiz_lesson(request.user, lesson_id)
        author_permission_require(user=request.user, action="view", model=Quiz)
        quiz = _quiz_of(lesson)
        if quiz is None:
            raise NotFoundError(ErrorCode.QUIZ_NOT_FOUND)
        return Response(_quiz(request, quiz))

    @extend_schema(
        operation_id="manage_lessons_quiz_update",
        tags=[TAG],
        summary="Set a lesson's quiz rules (creating the quiz)",
        description=(
            "Creates the quiz (201) with these rules, the others at their defaults, or sets "
            "the given rules of the existing one (200). 409 `LESSON_NOT_A_QUIZ` when the "
            "lesson is not a quiz lesson; 400 `VALIDATION_ERROR` with `fields`."
        ),
        request=InputSerializer,
        responses={
            201: QuizSerializer,
            200: QuizSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
    )
    def put(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _quiz_lesson(request.user, lesson_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            quiz = _quiz_of(lesson)
            if quiz is None:
                author_permission_require(user=request.user, action="add", model=Quiz)
                quiz = quiz_create(lesson=lesson, **data.validated_data, actor=request.user)
                return created_response(_quiz(request, quiz), True)
            author_permission_require(user=request.user, action="change", model=Quiz)
            quiz_update(quiz=quiz, data=changes_of(quiz, data.validated_data), actor=request.user)
        return Response(_quiz(request, quiz))

    @extend_schema(
        operation_id="manage_lessons_quiz_partial_update",
        tags=[TAG],
        summary="Change a lesson's quiz rules",
        description=(
            "Send only what changes. 404 `QUIZ_NOT_FOUND` when the lesson has no quiz yet "
            "(PUT creates it); 409 `LESSON_NOT_A_QUIZ`; 400 `VALIDATION_ERROR`."
        ),
        request=InputSerializer,
        responses={200: QuizSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _quiz_lesson(request.user, lesson_id)
        author_permission_require(user=request.user, action="change", model=Quiz)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quiz = _quiz_of(lesson)
        if quiz is None:
            raise NotFoundError(ErrorCode.QUIZ_NOT_FOUND)
        quiz_update(quiz=quiz, data=changes_of(quiz, data.validated_data), actor=request.user)
        return Response(_quiz(request, quiz))


class QuizQuestionsApi(APIView):
    """Add a question (with its choices) at the end of a lesson's quiz."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageQuestionCreate")
    class InputSerializer(_QuestionInput):
        client_id = client_id_field()
        choices = _NewChoiceInput(many=True, required=False, max_length=MAX_CHOICES)

    @extend_schema(
        operation_id="manage_lessons_quiz_questions_create",
        tags=[TAG],
        summary="Add a question to a lesson's quiz",
        description=(
            "Creates the quiz with the default rules when the lesson has none yet. 201 with "
            "the question; 200 with the question a create with the same `client_id` made "
            "before in this quiz. 400 `VALIDATION_ERROR` with `fields` (`choices`, "
            "`accepted_answers`) when the authoring rules refuse it; 409 "
            "`LESSON_NOT_A_QUIZ`; 404 `LESSON_NOT_FOUND`."
        ),
        request=InputSerializer,
        responses={
            201: QuestionSerializer,
            200: QuestionSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        examples=[
            OpenApiExample(
                "A single-choice question",
                request_only=True,
                value={
                    "client_id": "q1",
                    "kind": "single",
                    "prompt": "Beats in a bar?",
                    "choices": [
                        {"text": "Three", "is_correct": False},
                        {"text": "Four", "is_correct": True},
                    ],
                },
            )
        ],
    )
    def post(self, request: Request, lesson_id: uuid.UUID) -> Response:
        lesson = _quiz_lesson(request.user, lesson_id)
        author_permission_require(user=request.user, action="add", model=Question)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _question_values(dict(data.validated_data))
        client_id = values.pop("client_id", "")
        choices = [
            ChoiceSpec(text=c["text"], is_correct=c["is_correct"], client_id=c.get("client_id", ""))
            for c in values.pop("choices", [])
        ]
        with transaction.atomic():
            quiz = _quiz_of(lesson)
            if quiz is None:
                author_permission_require(user=request.user, action="add", model=Quiz)
                quiz = quiz_create(lesson=lesson, actor=request.user)
            question, created = create_retryable(
                client_id=client_id,
                existing=lambda: Question.objects.filter(quiz=quiz, client_id=client_id).first(),
                elsewhere=lambda: False,  # client ids of questions are unique per quiz
                create=lambda: question_create(
                    quiz=quiz, **values, choices=choices, client_id=client_id, actor=request.user
                ),
            )
        body = QuestionSerializer(question_in_full(question), context={"request": request}).data
        return created_response(body, created)


class QuestionDetailApi(APIView):
    """One quiz question with its choices: read, edit, delete."""

    permission_classes = [IsAuthor]

    @extend_schema_serializer(component_name="ManageQuestionUpdate")
    class InputSerializer(_QuestionInput):
        kind = serializers.ChoiceField(choices=Question.Kind.choices, required=False)
        prompt = serializers.CharField(required=False, trim_whitespace=False)
        order = serializers.IntegerField(
            min_value=0, max_value=INT_MAX, required=False, help_text="Free in the quiz."
        )
        choices = _ChoiceEditInput(
            many=True,
            required=False,
            max_length=MAX_CHOICES,
            help_text=(
                "The question's choices, in order: they replace its choices (with `id`: "
                "that choice kept; without: a new one; choices left out are deleted)."
            ),
        )

    @extend_schema(
        operation_id="manage_questions_retrieve",
        tags=[TAG],
        summary="Get a quiz question with its answers",
        description="404 `QUESTION_NOT_FOUND`.",
        responses={200: QuestionSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, question_id: uuid.UUID) -> Response:
        question = question_for_author(user=request.user, question_id=question_id)
        author_permission_require(user=request.user, action="view", model=Question)
        return Response(QuestionSerializer(question_in_full(question)).data)

    @extend_schema(
        operation_id="manage_questions_partial_update",
        tags=[TAG],
        summary="Edit a quiz question",
        description=(
            "Send only what changes; `choices` replaces the choices. The result is checked "
            "by the authoring rules as a whole: 400 `VALIDATION_ERROR` with `fields` "
            "(`choices`, `accepted_answers`, a taken `order`), and nothing changes. 404 "
            "`QUESTION_NOT_FOUND`."
        ),
        request=InputSerializer,
        responses={200: QuestionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, question_id: uuid.UUID) -> Response:
        question = question_for_author(user=request.user, question_id=question_id)
        author_permission_require(user=request.user, action="change", model=Question)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = _question_values(dict(data.validated_data))
        choices = values.pop("choices", None)
        specs = (
            None
            if choices is None
            else [
                ChoiceSpec(text=c["text"], is_correct=c["is_correct"], id=c.get("id"))
                for c in choices
            ]
        )
        question_update(
            question=question, data=changes_of(question, values), choices=specs, actor=request.user
        )
        return Response(QuestionSerializer(question_in_full(question)).data)

    @extend_schema(
        operation_id="manage_questions_destroy",
        tags=[TAG],
        summary="Delete a quiz question",
        description=(
            "With its choices; learners' past attempts keep their snapshot. 404 "
            "`QUESTION_NOT_FOUND`."
        ),
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, question_id: uuid.UUID) -> Response:
        question = question_for_author(user=request.user, question_id=question_id)
        author_permission_require(user=request.user, action="delete", model=Question)
        question_delete(question=question, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("lessons/<uuid:lesson_id>/quiz/", LessonQuizApi.as_view(), name="lesson-quiz"),
    path(
        "lessons/<uuid:lesson_id>/quiz/questions/",
        QuizQuestionsApi.as_view(),
        name="lesson-quiz-questions",
    ),
    path("questions/<uuid:question_id>/", QuestionDetailApi.as_view(), name="question-detail"),
]
