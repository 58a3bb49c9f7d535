"""Reusable reads of enrollments and invites."""

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from progress.models import Enrollment, Invite


def invite_code_normalize(code: str) -> str:
    """Codes are matched without regard to case or surrounding spaces (stored upper-case)."""
    return code.strip().upper()


def invites_with_status(*, queryset: QuerySet[Invite], status: str) -> QuerySet[Invite]:
    """Invites in one `Invite.Status`, with the same precedence as `Invite.status`:
    revoked beats expired, which beats used up."""
    now = timezone.now()
    revoked = Q(revoked_at__isnull=False)
    expired = Q(expires_at__isnull=False, expires_at__lte=now)
    used_up = Q(uses_count__gte=F("max_uses"))
    if status == Invite.Status.REVOKED:
        return queryset.filter(revoked)
    if status == Invite.Status.EXPIRED:
        return queryset.filter(expired).exclude(revoked)
    if status == Invite.Status.USED_UP:
        return queryset.filter(used_up).exclude(revoked).exclude(expired)
    if status == Invite.Status.ACTIVE:
        return queryset.exclude(revoked).exclude(expired).exclude(used_up)
    raise ValueError(f"Unknown invite status: {status!r}")


def enrollment_list(*, user: User) -> QuerySet[Enrollment]:
    """The user's enrollments, newest first, with their courses."""
    return Enrollment.objects.filter(user=user).select_related("course")
