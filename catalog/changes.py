"""Reactions to a change of a course's content, whatever made it (the admin, the authoring
API, an import, a quiz edit).

Every write to a course's content (the course, its sections, lessons, quizzes, questions,
choices, attachment links) calls `course_content_changed` inside its transaction. After
commit, the course's offline bundles are rebuilt (`catalog.bundles`): the build is
content-addressed, so a call that changed nothing a bundle holds builds nothing new.
"""

from uuid import UUID

from django.db import transaction


def course_content_changed(*, course_id: UUID | str) -> None:
    """Queue the rebuild of this course's offline bundles once the change is committed."""
    from catalog.bundles.tasks import course_bundles_build

    transaction.on_commit(lambda: course_bundles_build.delay(course_id=str(course_id)))
