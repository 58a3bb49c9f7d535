"""Staff's review of projects (approve, reject with a note: audited, the learner told), and
soft delete and restore (the author within the window, staff at any time: audited)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.services import audit_record
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode
from notifications.services import notification_send
from showcase.models import Project
from showcase.selectors import project_is_mine, project_is_staff_viewer, project_restorable_until
from showcase.services.projects import _field_clean, _locked, _staff_require

NOTIFICATION_KIND = "project_review"


# --- Review ----------------------------------------------------------------------------------


def _review_notify(*, project: Project, actor: User) -> None:
    if project.origin != Project.Origin.LEARNER:
        return
    approved = project.status == Project.Status.APPROVED
    title = (
        _("Your project “%(title)s” is approved and public")
        if approved
        else _("Your project “%(title)s” was not approved")
    ) % {"title": project.title}
    notification_send(
        user=project.author,
        kind=NOTIFICATION_KIND,
        title=title,
        body=project.review_note,
        url=project.get_absolute_url(),
        actor=actor,
        source=f"project:{project.pk}:{project.status}:{project.reviewed_at.isoformat()}",
    )


def _review(*, actor: User, project: Project, status: str, note: str) -> Project:
    _staff_require(actor)
    project = _locked(project)
    if project.deleted_at is not None:
        raise ApplicationError(ErrorCode.PROJECT_NOT_REVIEWABLE)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    note = _field_clean("review_note", note, errors)
    if errors:
        raise ValidationError({"note": errors["review_note"]})
    if project.status == status and project.review_note == note:
        return project  # the same decision again: nothing changes, nobody is told twice
    previous = project.status
    now = timezone.now()
    project.status, project.review_note = status, note
    project.reviewed_by, project.reviewed_at = actor, now
    if status == Project.Status.APPROVED and project.published_at is None:
        project.published_at = now
    project.save()
    audit_record(
        action=AuditLog.Action.PROJECT_APPROVED
        if status == Project.Status.APPROVED
        else AuditLog.Action.PROJECT_REJECTED,
        actor=actor,
        target=project,
        details={"previous_status": previous, "note": note, "author": str(project.author_id)},
    )
    _review_notify(project=project, actor=actor)
    return project


@transaction.atomic
def project_approve(*, actor: User, project: Project, note: str = "") -> Project:
    """Staff approve a project: it is public from now on (audited; its learner is told)."""
    return _review(actor=actor, project=project, status=Project.Status.APPROVED, note=note)


@transaction.atomic
def project_reject(*, actor: User, project: Project, note: str) -> Project:
    """Staff turn a project down (an approved one leaves the public pages), saying why in
    `note` (required: the learner reads it); audited, its learner is told."""
    if not (note or "").strip():
        raise ValidationError({"note": [_("Say why, for the author: they read this note.")]})
    return _review(actor=actor, project=project, status=Project.Status.REJECTED, note=note)


# --- Soft delete and restore -----------------------------------------------------------------


def _owner_or_staff_require(*, actor: User, project: Project) -> bool:
    """Whether `actor` is staff; AccessDeniedError unless they are staff or the author."""
    staff = project_is_staff_viewer(user=actor)
    if not staff and not project_is_mine(user=actor, project=project):
        raise AccessDeniedError(ErrorCode.PROJECT_NOT_YOURS)
    return staff


@transaction.atomic
def project_delete(*, actor: User, project: Project) -> Project:
    """Soft delete (shown nowhere, restorable): its author or staff; audited. Deleting a
    deleted project changes nothing."""
    project = _locked(project)
    staff = _owner_or_staff_require(actor=actor, project=project)
    if project.deleted_at is None:
        project.deleted_at = timezone.now()
        project.save(update_fields=["deleted_at", "updated_at"])
        audit_record(
            action=AuditLog.Action.PROJECT_DELETED,
            actor=actor,
            target=project,
            details={"by": "staff" if staff else "author", "status": project.status},
        )
    return project


@transaction.atomic
def project_restore(*, actor: User, project: Project) -> Project:
    """Undo a delete: staff at any time, its author until `project_restorable_until`
    (PROJECT_RESTORE_EXPIRED after); audited. Restoring a project that is not deleted
    changes nothing. It comes back with the status it had."""
    project = _locked(project)
    staff = _owner_or_staff_require(actor=actor, project=project)
    if project.deleted_at is None:
        return project
    if not staff and timezone.now() > project_restorable_until(project=project):
        raise ApplicationError(ErrorCode.PROJECT_RESTORE_EXPIRED)
    deleted_at = project.deleted_at
    project.deleted_at = None
    project.save(update_fields=["deleted_at", "updated_at"])
    audit_record(
        action=AuditLog.Action.PROJECT_RESTORED,
        actor=actor,
        target=project,
        details={"by": "staff" if staff else "author", "deleted_at": deleted_at.isoformat()},
    )
    return project
