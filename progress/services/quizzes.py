"""Quiz attempts: grading and storing them; a passing attempt completes the lesson.

Every attempt is stored, passing or not, and a learner may try again as often as they like.
The first pass completes the lesson and awards its XP and the quiz XP through the progress
engine (`lesson_quiz_passed`), whose ledger gives each award once, however often the quiz
is passed again.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import User
from catalog.access import lesson_access, lesson_is_visible
from catalog.models import Lesson
from catalog.quizzes import quiz_get, quiz_grade
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from progress.models import LessonProgress, QuizAttempt
from progress.services.learning import ProgressOutcome, learner_stats_lock, lesson_quiz_passed


@dataclass
class QuizSubmission:
    """What a submission did. `created` is False when its client id had been seen before:
    `attempt` is then the attempt stored the first time and nothing changed."""

    attempt: QuizAttempt
    created: bool
    outcome: ProgressOutcome | None
    lesson_status: str  # a LessonProgress.Status value, after the submission

    @property
    def xp_awarded(self) -> int:
        return self.outcome.xp_awarded if self.outcome is not None else 0


def _check_access(*, user: User, lesson: Lesson) -> None:
    course = lesson.course
    if not lesson_is_visible(user=user, course=course, lesson=lesson):
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)
    lesson_access(user=user, course=course, lesson=lesson).require()


def _lesson_status(*, user: User, lesson: Lesson) -> str:
    status = (
        LessonProgress.objects.filter(user=user, lesson=lesson)
        .values_list("status", flat=True)
        .first()
    )
    return status or LessonProgress.Status.NOT_STARTED


@transaction.atomic
def quiz_attempt_submit(
    *, user: User, lesson: Lesson, answers: Any, client_id: uuid.UUID | None = None
) -> QuizSubmission:
    """Grade and store one attempt at a lesson's quiz; a pass completes the lesson.

    A fixed number of queries, however many questions. Raises LESSON_NOT_FOUND,
    LOGIN_REQUIRED / UPGRADE_REQUIRED, QUIZ_NOT_FOUND, or VALIDATION_ERROR (with a message
    per `answers.<question id>`) for answers that do not fit the quiz. A `client_id` seen
    before for this learner returns the attempt stored then, unchanged.
    """
    if not user.is_authenticated:
        raise AccessDeniedError(ErrorCode.LOGIN_REQUIRED)
    # Queue behind the learner's other progress writes (and their other submissions, so
    # a retried client id is found below).
    learner_stats_lock(user=user)
    _check_access(user=user, lesson=lesson)
    if client_id is not None:
        stored = QuizAttempt.objects.filter(user=user, client_id=client_id).first()
        if stored is not None:
            if stored.lesson_id != lesson.pk:
                raise ApplicationError(
                    ErrorCode.VALIDATION_ERROR,
                    fields={"client_id": ["This client id was used for another quiz."]},
                )
            return QuizSubmission(
                attempt=stored,
                created=False,
                outcome=None,
                lesson_status=_lesson_status(user=user, lesson=lesson),
            )

    quiz = quiz_get(lesson=lesson)
    grade = quiz_grade(quiz=quiz, answers=answers)
    attempt = QuizAttempt.objects.create(
        user=user,
        lesson=lesson,
        client_id=client_id,
        answers=grade.answers,
        results=grade.results_json(),
        points=grade.points,
        max_points=grade.max_points,
        score=grade.score,
        pass_mark=grade.pass_mark,
        passed=grade.passed,
    )
    if not grade.passed or lesson.is_preview_only:
        # An editor trying a preview gets the feedback; their lesson is not completed.
        return QuizSubmission(
            attempt=attempt,
            created=True,
            outcome=None,
            lesson_status=_lesson_status(user=user, lesson=lesson),
        )
    outcome = lesson_quiz_passed(user=user, lesson=lesson, at=attempt.created_at)
    progress = outcome.events[0].progress
    return QuizSubmission(
        attempt=attempt,
        created=True,
        outcome=outcome,
        lesson_status=progress.status if progress else LessonProgress.Status.COMPLETED,
    )
