"""Writes of the structure rules that concern one learner: staff opening a section early.

An early unlock (`SectionUnlock`) lifts every structure rule of one section for one learner
(prerequisites, sequential order, the release date; the tier still applies), read by
`catalog.structure.course_structure_get`. Granting and revoking are idempotent and audited
(`SECTION_UNLOCKED`, details `{"course", "section", "learner", "unlocked": true|false}`) in
the same transaction. Staff may unlock any section, a course's instructors those of their
courses.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.services import audit_record
from catalog.access import is_course_editor
from catalog.models import Section, SectionUnlock
from lms.errors import AccessDeniedError, ErrorCode


def _require_editor(*, actor: User, section: Section) -> None:
    if not is_course_editor(user=actor, course=section.course):
        raise AccessDeniedError(
            ErrorCode.PERMISSION_DENIED,
            _("Only staff and the course's instructors unlock its sections."),
        )


def _audit(*, actor: User, section: Section, user: User, unlocked: bool) -> None:
    audit_record(
        action=AuditLog.Action.SECTION_UNLOCKED,
        actor=actor,
        target=section,
        details={
            "course": str(section.course_id),
            "section": str(section.pk),
            "learner": str(user.pk),
            "learner_email": user.email,
            "unlocked": unlocked,
        },
    )


def section_unlock_early(*, actor: User, section: Section, user: User) -> SectionUnlock:
    """Open `section` for `user` now, whatever its rules say; the unlock (the existing one
    when it was unlocked before: nothing is written or audited again). PERMISSION_DENIED
    unless `actor` is staff or an instructor of the section's course."""
    _require_editor(actor=actor, section=section)
    existing = SectionUnlock.objects.filter(section=section, user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            unlock = SectionUnlock.objects.create(section=section, user=user, granted_by=actor)
            _audit(actor=actor, section=section, user=user, unlocked=True)
    except IntegrityError:  # a concurrent grant committed first: that one stands
        return SectionUnlock.objects.get(section=section, user=user)
    return unlock


@transaction.atomic
def section_unlock_revoke(*, actor: User, section: Section, user: User) -> bool:
    """Withdraw an early unlock: the section follows its rules again for `user` (what they
    started meanwhile stays open, as for any rule added later). Whether there was one to
    withdraw; revoking twice changes nothing. PERMISSION_DENIED as for granting."""
    _require_editor(actor=actor, section=section)
    deleted, _rows = SectionUnlock.objects.filter(section=section, user=user).delete()
    if deleted:
        _audit(actor=actor, section=section, user=user, unlocked=False)
    return bool(deleted)
