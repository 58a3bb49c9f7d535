"""Cohorts: create and edit them, fill them from a pasted list of addresses, remove members.

Adding learners is one transaction per paste, safe to repeat: people already in the cohort
and addresses already invited to it are left as they are (no new row, no second email), so
pasting the same list twice changes nothing. A learner is in at most one cohort per course
(the database says so): someone in another cohort of the course is reported, never moved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.services import audit_record
from catalog.models import Course
from lms.errors import ApplicationError, ErrorCode
from progress.cohorts.parsing import addresses_parse
from progress.models import Cohort, CohortMembership, Enrollment, Invite
from progress.selectors import invites_with_status
from progress.services.enrollments import enrollment_create
from progress.services.invites import invite_create


# --- Cohorts --------------------------------------------------------------------------------
def _cohort_save(cohort: Cohort) -> Cohort:
    # full_clean checks the model's constraints (unique name per course, ends on or after
    # it starts) and raises their messages as field errors, as the admin form shows them.
    cohort.full_clean()
    try:
        with transaction.atomic():
            cohort.save()
    except IntegrityError as error:  # a twin created between the check and the insert
        raise ValidationError(
            {"name": "This course already has a cohort with this name."}, code="unique"
        ) from error
    return cohort


@transaction.atomic
def cohort_create(
    *,
    actor: User | None,
    course: Course,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
) -> Cohort:
    """A new cohort of `course`. ValidationError when the name is taken in the course or it
    ends before it starts."""
    return _cohort_save(
        Cohort(
            course=course,
            name=name.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
    )


@transaction.atomic
def cohort_update(
    *,
    cohort: Cohort,
    name: str | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    clear_ends_on: bool = False,
) -> Cohort:
    """Rename or move a cohort's dates (its course never changes: its members' enrollments
    and invites belong to that course). Drip release counting from the cohort's start
    follows the new date at once."""
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    if name is not None:
        cohort.name = name.strip()
    if starts_on is not None:
        cohort.starts_on = starts_on
    if ends_on is not None or clear_ends_on:
        cohort.ends_on = ends_on
    return _cohort_save(cohort)


# --- Members --------------------------------------------------------------------------------
def cohort_membership_join(
    *, cohort: Cohort, user: User, added_by: User | None = None
) -> CohortMembership:
    """Put `user` in `cohort`; the one write path for memberships. Returns the learner's
    membership in the cohort's course: the new one, the one they had in this cohort, or the
    one in another cohort of the course, which they keep (check its `cohort_id`)."""
    existing = CohortMembership.objects.filter(course_id=cohort.course_id, user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin leaves the caller's tx usable
            return CohortMembership.objects.create(
                cohort=cohort, course_id=cohort.course_id, user=user, added_by=added_by
            )
    except IntegrityError:
        return CohortMembership.objects.get(course_id=cohort.course_id, user=user)


@transaction.atomic
def cohort_member_remove(*, actor: User | None, cohort: Cohort, user: User) -> bool:
    """Take `user` out of `cohort`. Their enrollment and progress stay (removing someone
    from a group is not unenrolling them), and so do invites already redeemed. Returns
    whether they were a member."""
    deleted, _rows = CohortMembership.objects.filter(cohort=cohort, user=user).delete()
    return bool(deleted)


@dataclass
class CohortAddResult:
    """What one paste did, address by address (each address is in exactly one list)."""

    added: list[str] = field(default_factory=list)  # accounts put in the cohort now
    enrolled: list[str] = field(default_factory=list)  # ...of which enrolled in the course now
    invited: list[str] = field(default_factory=list)  # no account: an invite was emailed now
    already_members: list[str] = field(default_factory=list)
    already_invited: list[str] = field(default_factory=list)  # a pending invite was kept
    in_other_cohort: dict[str, Cohort] = field(default_factory=dict)  # address -> their cohort
    rejected: list[str] = field(default_factory=list)  # not addresses (as typed)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.invited)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "enrolled": len(self.enrolled),
            "invited": len(self.invited),
            "already_members": len(self.already_members),
            "already_invited": len(self.already_invited),
            "in_other_cohort": len(self.in_other_cohort),
            "rejected": len(self.rejected),
        }


def _accounts_by_address(emails: list[str]) -> dict[str, User]:
    """The active accounts of these addresses, matched without regard to case on a
    verified address (as invites are: an unverified address could be anyone's claim). One
    query."""
    if not emails:
        return {}
    query = Q()
    for email in emails:
        query |= Q(email__iexact=email)
    rows = (
        EmailAddress.objects.filter(query, verified=True, user__is_active=True)
        .select_related("user")
        .order_by("-primary")
    )
    accounts: dict[str, User] = {}
    for row in rows:
        accounts.setdefault(row.email.lower(), row.user)
    return accounts


def _pending_invites(*, course: Course, emails: Iterable[str]) -> dict[str, Invite]:
    """Redeemable cohort invites of the course addressed to these emails, by address. One
    query."""
    wanted = {email.lower() for email in emails}
    if not wanted:
        return {}
    query = Q()
    for email in wanted:
        query |= Q(email__iexact=email)
    invites = invites_with_status(
        queryset=Invite.objects.filter(query, course=course, cohort__isnull=False).select_related(
            "cohort"
        ),
        status=Invite.Status.ACTIVE,
    ).order_by("created_at")
    pending: dict[str, Invite] = {}
    for invite in invites:
        pending.setdefault(invite.email.lower(), invite)
    return pending


def _cohort_invite_expiry() -> dt.datetime | None:
    days = settings.LMS_COHORT_INVITE_DAYS
    return timezone.now() + dt.timedelta(days=days) if days else None


def cohort_members_add(
    *,
    actor: User,
    cohort: Cohort,
    text_or_emails: str | Iterable[str],
    ip_address: str | None = None,
    request: HttpRequest | None = None,
) -> CohortAddResult:
    """Add the people of a pasted text (or a list of addresses) to `cohort`, in one
    transaction, audited once (COHORT_MEMBERS_ADDED with the counts).

    - An account with a verified address is enrolled in the course (source "staff") if it
      was not, and joins the cohort.
    - An address without one gets an invite (learner role, this course and cohort, single
      use, only for that address) by email; redeeming it after signing up enrolls them and
      puts them in the cohort. An invite still pending for the address is kept, not resent.
    - Someone already in the cohort, or in another cohort of the course (or invited to
      one), is reported and left as they are.
    Raises COHORT_ADD_TOO_MANY (more than LMS_COHORT_BULK_MAX addresses) and
    COHORT_COURSE_CLOSED (an archived course) before writing anything.
    """
    if isinstance(text_or_emails, str):
        emails, rejected = addresses_parse(text_or_emails)
    else:
        emails, rejected = addresses_parse("\n".join(text_or_emails))
    result = CohortAddResult(rejected=rejected)
    with transaction.atomic():
        # Lock the cohort: two pastes into it queue up, so the second sees the first's
        # members and invites and adds nothing twice.
        cohort = Cohort.objects.select_for_update().select_related("course").get(pk=cohort.pk)
        if cohort.course.status == Course.Status.ARCHIVED:
            raise ApplicationError(ErrorCode.COHORT_COURSE_CLOSED)
        accounts = _accounts_by_address(emails)
        _members_add(result, actor=actor, cohort=cohort, accounts=accounts)
        _invites_send(
            result,
            actor=actor,
            cohort=cohort,
            emails=[email for email in emails if email not in accounts],
            ip_address=ip_address,
            request=request,
        )
        audit_record(
            action=AuditLog.Action.COHORT_MEMBERS_ADDED,
            actor=actor,
            target=cohort,
            ip_address=ip_address,
            details={"cohort": cohort.pk, "course": cohort.course.slug, **result.counts()},
        )
    return result


def _members_add(
    result: CohortAddResult, *, actor: User, cohort: Cohort, accounts: dict[str, User]
) -> None:
    memberships = {
        m.user_id: m
        for m in CohortMembership.objects.filter(
            course_id=cohort.course_id, user__in=list(accounts.values())
        ).select_related("cohort")
    }
    enrolled = set(
        Enrollment.objects.filter(
            course_id=cohort.course_id,
            user__in=list(accounts.values()),
            unenrolled_at__isnull=True,
        ).values_list("user_id", flat=True)
    )
    for email, user in accounts.items():
        membership = memberships.get(user.pk)
        if membership is None:
            membership = cohort_membership_join(cohort=cohort, user=user, added_by=actor)
            if membership.cohort_id == cohort.pk:
                if user.pk not in enrolled:
                    enrollment_create(
                        user=user, course=cohort.course, source=Enrollment.Source.STAFF
                    )
                    result.enrolled.append(email)
                result.added.append(email)
                continue
        if membership.cohort_id == cohort.pk:
            result.already_members.append(email)
        else:
            result.in_other_cohort[email] = membership.cohort


def _invites_send(
    result: CohortAddResult,
    *,
    actor: User,
    cohort: Cohort,
    emails: list[str],
    ip_address: str | None,
    request: HttpRequest | None,
) -> None:
    pending = _pending_invites(course=cohort.course, emails=emails)
    expires_at = _cohort_invite_expiry()
    for email in emails:
        invite = pending.get(email)
        if invite is not None and invite.cohort_id == cohort.pk:
            result.already_invited.append(email)
        elif invite is not None:
            result.in_other_cohort[email] = invite.cohort
        else:
            invite_create(
                created_by=actor,
                role=Invite.Role.LEARNER,
                course=cohort.course,
                cohort=cohort,
                expires_at=expires_at,
                max_uses=1,
                email=email,
                note=f"Cohort {cohort.name}"[:200],
                ip_address=ip_address,
                request=request,
            )
            result.invited.append(email)
