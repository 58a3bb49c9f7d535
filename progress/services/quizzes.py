"""Quiz attempts: grading and storing them under the quiz's rules; a pass completes the lesson.

The rules (`catalog.models.Quiz`, applied by `progress.selectors.quiz_record_build`): until
the learner passes, each attempt counts against the quiz's maximum (plus the attempts staff
granted, `quiz_attempt_grant`) and a failed attempt starts the quiz's wait. Once passed, a
learner may retake the quiz for practice: no limit, no wait, and nothing that matters moves
(the best score is the highest, the lesson stays completed, XP is given once). A preview of
unpublished content is the editor's try-out: no limit and no wait there.

The first pass completes the lesson and awards its XP and the quiz XP through the progress
engine (`lesson_quiz_passed`), whose ledger gives each award once, however often the quiz
is passed again.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.access import lesson_access, lesson_is_visible
from catalog.models import Lesson, Quiz
from catalog.quizzes import quiz_get, quiz_grade
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from lms.events import server_event_record
from progress.models import LessonProgress, QuizAttempt, QuizAttemptGrant
from progress.selectors import QuizRecord, quiz_record_get
from progress.services.learning import ProgressOutcome, learner_stats_lock, lesson_quiz_passed


@dataclass
class QuizSubmission:
    """What a submission did. `created` is False when its client id had been seen before:
    `attempt` is then the attempt stored the first time and nothing changed. `record` is the
    learner's standing after it (whether the answers may be shown, attempts left...)."""

    attempt: QuizAttempt
    created: bool
    outcome: ProgressOutcome | None
    lesson_status: str  # a LessonProgress.Status value, after the submission
    record: QuizRecord
    quiz: Quiz

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


def _replayed(*, user: User, lesson: Lesson, client_id: uuid.UUID | None) -> QuizAttempt | None:
    """The attempt already stored under this client id, if any."""
    if client_id is None:
        return None
    stored = QuizAttempt.objects.filter(user=user, client_id=client_id).first()
    if stored is not None and stored.lesson_id != lesson.pk:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={"client_id": ["This client id was used for another quiz."]},
        )
    return stored


def quiz_attempt_refusal(*, record: QuizRecord) -> ApplicationError | None:
    """The error a submission meets under `record`, or None when it may be made."""
    if record.blocked == ErrorCode.QUIZ_RETRY_NOT_YET:
        return ApplicationError(record.blocked, retry_at=record.next_attempt_at)
    if record.blocked is not None:
        return ApplicationError(record.blocked)
    return None


@transaction.atomic
def quiz_attempt_submit(
    *,
    user: User,
    lesson: Lesson,
    answers: Any,
    client_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> QuizSubmission:
    """Grade and store one attempt at a lesson's quiz; a pass completes the lesson.

    A fixed number of queries, however many questions. Raises LESSON_NOT_FOUND,
    LOGIN_REQUIRED / UPGRADE_REQUIRED, QUIZ_NOT_FOUND, QUIZ_ATTEMPTS_EXHAUSTED (no attempts
    left), QUIZ_RETRY_NOT_YET (with `retry_at`: the wait after a failed attempt is not over),
    or VALIDATION_ERROR (with a message per `answers.<question id>`) for answers that do
    not fit the quiz. A `client_id` seen before for this learner returns the attempt stored
    then, unchanged, even when no attempt is left now. `now` is the submission's time.
    """
    if not user.is_authenticated:
        raise AccessDeniedError(ErrorCode.LOGIN_REQUIRED)
    now = now or timezone.now()
    # Lock the learner's stats row: their submissions (and other progress writes) queue
    # here, so two at once cannot both be the last allowed attempt, and a retried client id
    # is found below.
    learner_stats_lock(user=user)
    _check_access(user=user, lesson=lesson)
    quiz = quiz_get(lesson=lesson)
    stored = _replayed(user=user, lesson=lesson, client_id=client_id)
    if stored is not None:
        return QuizSubmission(
            attempt=stored,
            created=False,
            outcome=None,
            lesson_status=_lesson_status(user=user, lesson=lesson),
            record=quiz_record_get(user=user, quiz=quiz, now=now),
            quiz=quiz,
        )

    record = quiz_record_get(user=user, quiz=quiz, now=now)
    refusal = quiz_attempt_refusal(record=record)
    if refusal is not None:
        raise refusal
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
        created_at=now,
    )
    server_event_record(
        type="quiz.attempted",
        key=str(attempt.pk),
        user_id=user.pk,
        occurred_at=attempt.created_at,
        course_id=lesson.course_id,
        lesson_id=lesson.pk,
        properties={"score": grade.score, "passed": grade.passed, "attempt_id": str(attempt.pk)},
    )
    record = record.after_attempt(quiz=quiz, score=grade.score, passed=grade.passed, at=now)
    if not grade.passed or lesson.is_preview_only:
        # An editor trying a preview gets the feedback; their lesson is not completed.
        return QuizSubmission(
            attempt=attempt,
            created=True,
            outcome=None,
            lesson_status=_lesson_status(user=user, lesson=lesson),
            record=record,
            quiz=quiz,
        )
    outcome = lesson_quiz_passed(user=user, lesson=lesson, at=attempt.created_at)
    progress = outcome.events[0].progress
    return QuizSubmission(
        attempt=attempt,
        created=True,
        outcome=outcome,
        lesson_status=progress.status if progress else LessonProgress.Status.COMPLETED,
        record=record,
        quiz=quiz,
    )


@transaction.atomic
def quiz_attempt_grant(
    *, user: User, quiz: Quiz, granted_by: User | None, reason: str = ""
) -> QuizAttemptGrant:
    """Give a learner one more attempt at a quiz (staff, from the admin). The grant row is
    the audit record: who granted it, to whom, when and why. The quiz's wait after their last
    failed attempt still applies. Under "after the last attempt", a learner who had run out
    had seen the answers: the grant does not unsee them (the admin says so)."""
    learner_stats_lock(user=user)  # queue behind a submission in flight
    grant = QuizAttemptGrant(
        user=user,
        lesson_id=quiz.lesson_id,
        granted_by=granted_by if granted_by is not None and granted_by.is_authenticated else None,
        reason=reason[:200],
    )
    grant.full_clean()
    grant.save()
    return grant
