"""Every write of the showcase: projects (create, edit, thumbnail), their review, soft delete
and restore; tags. Pages, the API, the admin and the demo seed all come here.

Rules, checked here whatever the caller:
- Staff author projects (origin staff, created as drafts) and review everyone's: approve
  (public from then on) or reject, with a note for the author. Reviews, deletes and restores
  write their audit row in the same transaction; the learner who submitted a project is
  notified of the decision (`notifications`, kind `project_review`).
- A learner submits a project for a course they are enrolled in (`project_course_choices`),
  and edits it while it is not approved (an approved project is public: staff change it).
  Submitting again after a rejection puts it back in the review queue.
- The author deletes their project (soft) and restores it within LMS_SHOWCASE_RESTORE_DAYS;
  staff delete and restore any project at any time.
"""

from showcase.services.projects import (
    UNCHANGED,
    LinkSpec,
    project_create,
    project_thumbnail_set,
    project_update,
)
from showcase.services.review import (
    NOTIFICATION_KIND,
    project_approve,
    project_delete,
    project_reject,
    project_restore,
)
from showcase.services.tags import tag_ensure, tag_save

__all__ = [
    "NOTIFICATION_KIND",
    "UNCHANGED",
    "LinkSpec",
    "project_approve",
    "project_create",
    "project_delete",
    "project_reject",
    "project_restore",
    "project_thumbnail_set",
    "project_update",
    "tag_ensure",
    "tag_save",
]
