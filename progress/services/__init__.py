"""Every write to progress, one module per part; import them from here."""

from progress.services.enrollments import (
    course_join,
    enrollment_create,
    enrollment_enroll,
    enrollment_lesson_opened,
    enrollment_unenroll,
)
from progress.services.invites import invite_create, invite_redeem, invite_revoke
from progress.services.learning import (
    EventOutcome,
    ProgressEventIn,
    ProgressOutcome,
    learner_stats_rebuild,
    lesson_complete,
    lesson_position_save,
    progress_apply,
)
from progress.services.quizzes import quiz_attempt_submit

__all__ = [
    "EventOutcome",
    "ProgressEventIn",
    "ProgressOutcome",
    "course_join",
    "enrollment_create",
    "enrollment_enroll",
    "enrollment_lesson_opened",
    "enrollment_unenroll",
    "invite_create",
    "invite_redeem",
    "invite_revoke",
    "learner_stats_rebuild",
    "lesson_complete",
    "lesson_position_save",
    "progress_apply",
    "quiz_attempt_submit",
]
