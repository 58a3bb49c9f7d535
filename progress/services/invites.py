"""Invites: create, revoke and redeem.

An invite's redemption is one transaction over three apps, each changed through its own
services: the role (`accounts`), the enrollment (here), the tier grant (`billing`), and the
audit row that records it all.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.roles import Role, user_role_get
from accounts.services import audit_record, user_role_set
from billing.models import Tier, TierGrant
from billing.services import tier_grant_create
from catalog.models import Course
from lms.codes import CODE_ALPHABET, readable_code_generate
from lms.email import email_send_template
from lms.errors import ApplicationError, ErrorCode
from progress.models import Cohort, CohortMembership, Enrollment, Invite, InviteRedemption
from progress.selectors import invite_code_normalize, invite_is_for_user
from progress.services.enrollments import enrollment_create

INVITE_CODE_ALPHABET = CODE_ALPHABET
INVITE_CODE_LENGTH = 10
_ROLE_ORDER = list(Role)  # least to most rights


def _invite_code_generate() -> str:
    return readable_code_generate(
        length=INVITE_CODE_LENGTH,
        taken=lambda codes: set(
            Invite.objects.filter(code__in=codes).values_list("code", flat=True)
        ),
    )


@transaction.atomic
def invite_create(
    *,
    created_by: User,
    role: str = Invite.Role.LEARNER,
    course: Course | None = None,
    cohort: Cohort | None = None,
    tier: Tier | None = None,
    tier_days: int | None = None,
    expires_at: datetime | None = None,
    max_uses: int = 1,
    email: str = "",
    open_to_anyone: bool = False,
    note: str = "",
    ip_address: str | None = None,
    request: HttpRequest | None = None,
) -> Invite:
    """Create an invite with a fresh code; email it when `email` is given (after commit).

    An invite with an `email` can be redeemed only by the account with that verified address
    unless `open_to_anyone`; one without an email is open to anyone with the code.
    `request` only renders the email: its links are absolute with it, relative without.
    With a `cohort`, redeeming also adds the learner to it; its course is the invite's.
    """
    if cohort is not None:
        if course is not None and course.pk != cohort.course_id:
            raise ValidationError({"cohort": "Choose a cohort of the invite's course."})
        course = cohort.course
    invite = Invite(
        code=_invite_code_generate(),
        role=role,
        course=course,
        cohort=cohort,
        tier=tier,
        tier_days=tier_days,
        expires_at=expires_at,
        max_uses=max_uses,
        email=email,
        open_to_anyone=open_to_anyone or not email,
        note=note,
        created_by=created_by,
    )
    invite.full_clean()
    invite.save()
    audit_record(
        action=AuditLog.Action.INVITE_CREATED,
        actor=created_by,
        target=invite,
        ip_address=ip_address,
        details={
            "code": invite.code,
            "role": invite.role,
            "course": course.slug if course else None,
            "tier": tier.slug if tier else None,
            "tier_days": tier_days,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "max_uses": max_uses,
            "email": email,
            "open_to_anyone": invite.open_to_anyone,
            # Only on cohort invites, so other invites' entries read as they always did.
            **({"cohort": cohort.pk} if cohort else {}),
        },
    )
    if email:
        email_send_template(
            to=email,
            template_prefix="progress/email/invite",
            context={
                "invite": invite,
                "redeem_url": (
                    request.build_absolute_uri(invite.get_absolute_url())
                    if request is not None
                    else invite.get_absolute_url()
                ),
                "inviter": created_by,
            },
            request=request,
        )
    return invite


@transaction.atomic
def invite_revoke(*, invite: Invite, actor: User, ip_address: str | None = None) -> Invite:
    """Stop the invite from being redeemed. Revoking a revoked invite changes nothing."""
    invite = Invite.objects.select_for_update().get(pk=invite.pk)
    if invite.revoked_at is not None:
        return invite
    invite.revoked_at = timezone.now()
    invite.revoked_by = actor
    invite.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        action=AuditLog.Action.INVITE_REVOKED,
        actor=actor,
        target=invite,
        ip_address=ip_address,
        details={"code": invite.code, "uses_count": invite.uses_count},
    )
    return invite


def invite_redeem(*, code: str, user: User, ip_address: str | None = None) -> InviteRedemption:
    """Redeem an invite for `user`: one use, the role (never lowered), the course enrollment
    and the tier grant, all or nothing.

    The invite row is locked for the whole transaction, so parallel redemptions of its last
    use queue up and all but one see it used up. The counter is also raised by a conditional
    `F()` update under a database check, so even without the lock (SQLite has no row locks)
    the last use cannot be taken twice.

    Raises `ApplicationError` with INVITE_NOT_FOUND, INVITE_REVOKED, INVITE_EXPIRED,
    INVITE_NOT_FOR_YOU (addressed to another account's email), INVITE_ALREADY_REDEEMED or
    INVITE_USED_UP (checked in that order).
    """
    normalized = invite_code_normalize(code)
    if not normalized:
        raise ApplicationError(ErrorCode.INVITE_NOT_FOUND)
    with transaction.atomic():
        now = timezone.now()
        invite = _invite_lock_redeemable(code=normalized, user=user, now=now)
        _invite_use_take(invite)
        role_before = user_role_get(user)
        role_changed = _ROLE_ORDER.index(Role(invite.role)) > _ROLE_ORDER.index(role_before)
        if role_changed:
            user_role_set(user=user, role=invite.role, actor=user, ip_address=ip_address)
        redemption = _redemption_record(
            invite=invite,
            user=user,
            now=now,
            ip_address=ip_address,
            enrollment=_invite_enrollment(invite=invite, user=user),
            tier_grant=_invite_tier_grant(invite=invite, user=user, now=now),
        )
        membership = _invite_cohort_join(invite=invite, user=user)
        audit_record(
            action=AuditLog.Action.INVITE_REDEEMED,
            actor=user,
            target=invite,
            ip_address=ip_address,
            details=_redemption_details(
                redemption=redemption,
                role_before=role_before,
                role_changed=role_changed,
                membership=membership,
            ),
        )
    return redemption


def _invite_lock_redeemable(*, code: str, user: User, now: datetime) -> Invite:
    """The invite of `code`, locked, or the ApplicationError that says why it cannot be
    redeemed by `user` now."""
    invite = (
        Invite.objects.select_for_update(of=("self",))
        .select_related("course", "cohort", "tier")
        .filter(code=code)
        .first()
    )
    if invite is None:
        raise ApplicationError(ErrorCode.INVITE_NOT_FOUND)
    if invite.is_revoked:
        raise ApplicationError(ErrorCode.INVITE_REVOKED)
    if invite.is_expired(now):
        raise ApplicationError(ErrorCode.INVITE_EXPIRED)
    if not invite_is_for_user(invite=invite, user=user):
        # Before the used-up check: someone else's code tells them nothing about its uses.
        raise ApplicationError(ErrorCode.INVITE_NOT_FOR_YOU)
    if InviteRedemption.objects.filter(invite=invite, user=user).exists():
        raise ApplicationError(ErrorCode.INVITE_ALREADY_REDEEMED)
    if invite.is_used_up:
        raise ApplicationError(ErrorCode.INVITE_USED_UP)
    return invite


def _invite_use_take(invite: Invite) -> None:
    taken = Invite.objects.filter(pk=invite.pk, uses_count__lt=F("max_uses")).update(
        uses_count=F("uses_count") + 1
    )
    if not taken:
        raise ApplicationError(ErrorCode.INVITE_USED_UP)
    invite.uses_count += 1


def _invite_enrollment(*, invite: Invite, user: User) -> Enrollment | None:
    if invite.course is None:
        return None
    return enrollment_create(user=user, course=invite.course, source=Enrollment.Source.INVITE)


def _invite_cohort_join(*, invite: Invite, user: User) -> CohortMembership | None:
    """The learner joins the invite's cohort (issue 17): None without a cohort, or when
    they are already in another cohort of the course, which they keep (one cohort per
    learner and course; staff move people by hand, never an invite behind their back)."""
    if invite.cohort is None:
        return None
    from progress.cohorts.services import cohort_membership_join

    return cohort_membership_join(cohort=invite.cohort, user=user, added_by=invite.created_by)


def _invite_tier_grant(*, invite: Invite, user: User, now: datetime) -> TierGrant | None:
    if invite.tier is None:
        return None
    return tier_grant_create(
        user=user,
        tier=invite.tier,
        source=TierGrant.Source.INVITE,
        source_id=str(invite.pk),
        starts_at=now,
        expires_at=now + timedelta(days=invite.tier_days or 0),
    )


def _redemption_record(
    *,
    invite: Invite,
    user: User,
    now: datetime,
    ip_address: str | None,
    enrollment: Enrollment | None,
    tier_grant: TierGrant | None,
) -> InviteRedemption:
    try:
        with transaction.atomic():
            return InviteRedemption.objects.create(
                invite=invite,
                user=user,
                redeemed_at=now,
                ip_address=ip_address,
                enrollment=enrollment,
                tier_grant=tier_grant,
            )
    except IntegrityError as error:
        # The same user redeeming twice at once where no row lock queued them (SQLite):
        # raising rolls back everything before it too.
        raise ApplicationError(ErrorCode.INVITE_ALREADY_REDEEMED) from error


def _redemption_details(
    *,
    redemption: InviteRedemption,
    role_before: str,
    role_changed: bool,
    membership: CohortMembership | None = None,
) -> dict[str, object]:
    invite, tier_grant = redemption.invite, redemption.tier_grant
    return {
        "code": invite.code,
        "redemption": str(redemption.pk),
        "role": invite.role,
        "role_before": role_before,
        "role_changed": role_changed,
        "course": invite.course.slug if invite.course else None,
        "tier": invite.tier.slug if invite.tier else None,
        "tier_expires_at": (
            tier_grant.expires_at.isoformat() if tier_grant and tier_grant.expires_at else None
        ),
        "uses_count": invite.uses_count,
        **(
            {
                "cohort": invite.cohort_id,
                "cohort_joined": membership is not None
                and membership.cohort_id == invite.cohort_id,
            }
            if invite.cohort_id
            else {}
        ),
    }
