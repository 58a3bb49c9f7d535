"""What the rules know of a learner: loaded by `progress`, which sits above the catalog,
through the loader it registers at start-up."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from catalog.models import Course


# --- What the learner has done (loaded by `progress`) ------------------------------------
@dataclass(frozen=True)
class LearnerFacts:
    """One learner's history in one course, as the rules need it."""

    completed_lesson_ids: frozenset[UUID] = frozenset()
    started_lesson_ids: frozenset[UUID] = frozenset()  # any progress row, completed included
    enrolled_at: datetime | None = None  # the active enrollment's start
    cohort_starts_on: date | None = None  # their cohort of this course, if any
    completed_course_ids: frozenset[UUID] = frozenset()  # of the ids asked for


NO_FACTS = LearnerFacts()

# (user, course, prerequisite course ids) -> LearnerFacts
FactsLoader = Callable[[User, Course, tuple[UUID, ...]], LearnerFacts]
_facts_loader: FactsLoader | None = None


def learner_facts_loader_register(loader: FactsLoader) -> None:
    """Called once by `progress` at start-up: the catalog never imports it."""
    global _facts_loader
    _facts_loader = loader


def _facts_load(
    *, user: User | AnonymousUser, course: Course, course_ids: tuple[UUID, ...]
) -> LearnerFacts:
    if not user.is_authenticated or _facts_loader is None:
        return NO_FACTS
    return _facts_loader(user, course, course_ids)
