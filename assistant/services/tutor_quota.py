"""The tutor's daily question quota: how many a learner may ask today, taken atomically.

The limit comes from the learner's tier (`billing.entitlements`): the `TutorQuota` row of
that tier, the row without a tier for learners who hold none, or `LMS_TUTOR_QUESTIONS_PER_DAY`
when staff set no row. A day is the learner's own calendar day (their profile's time zone),
so the count starts again at their local midnight.

A question is taken before the provider is called, by one conditional UPDATE
(`count = count + 1 WHERE count < limit`) on the learner's row for the day, committed at once
(autocommit, outside any caller transaction): PostgreSQL re-checks the condition on the row
a parallel request just changed, so requests racing at the limit never go over it. A call
that fails gives its question back.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from assistant.models import TutorQuota, TutorUsage
from billing.entitlements import user_active_tier_rank
from lms.errors import ApplicationError, ErrorCode
from progress.services.learning import user_local_date


@dataclass(frozen=True)
class QuotaState:
    """A learner's questions today: `limit` a day, `used` so far, and when the day ends for
    them (`resets_at`, their next local midnight)."""

    limit: int
    used: int
    resets_at: datetime
    day: date

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    @property
    def in_plan(self) -> bool:
        """False when the learner's tier has no tutor at all (a quota of zero)."""
        return self.limit > 0

    def as_dict(self) -> dict:
        return {
            "limit": self.limit,
            "used": min(self.used, self.limit),
            "remaining": self.remaining,
            "resets_at": self.resets_at,
        }


def tutor_quota_limit(*, user: User) -> int:
    """Questions a day the learner's tier allows."""
    rank = user_active_tier_rank(user=user)
    if rank is None:
        row = TutorQuota.objects.filter(tier__isnull=True).first()
    else:
        row = TutorQuota.objects.filter(tier__rank=rank).first()
    return row.questions_per_day if row is not None else settings.LMS_TUTOR_QUESTIONS_PER_DAY


def tutor_day_bounds(*, user: User, now: datetime | None = None) -> tuple[date, datetime]:
    """The learner's calendar day at `now`, and the moment it ends (their next midnight)."""
    now = now or timezone.now()
    day = user_local_date(user=user, moment=now)
    midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=user.zoneinfo)
    return day, midnight


def tutor_quota_get(*, user: User, now: datetime | None = None) -> QuotaState:
    """The learner's quota today, as the page and the API show it."""
    day, resets_at = tutor_day_bounds(user=user, now=now)
    used = (
        TutorUsage.objects.filter(user=user, day=day).values_list("count", flat=True).first() or 0
    )
    return QuotaState(limit=tutor_quota_limit(user=user), used=used, resets_at=resets_at, day=day)


def tutor_quota_take(*, user: User, now: datetime | None = None) -> QuotaState:
    """Take one question of today's quota, or raise TUTOR_QUOTA_EXHAUSTED (429, `retry_at`:
    the learner's next midnight) or TUTOR_NOT_IN_PLAN (403) when their tier has none.

    Call it outside any transaction (API views are not atomic): it then commits before
    returning, so the provider call that follows never holds the row locked. Give the
    question back with `tutor_quota_give_back` when the call fails."""
    limit = tutor_quota_limit(user=user)
    day, resets_at = tutor_day_bounds(user=user, now=now)
    if limit <= 0:
        raise ApplicationError(ErrorCode.TUTOR_NOT_IN_PLAN)
    with transaction.atomic():
        TutorUsage.objects.bulk_create(
            [TutorUsage(user=user, day=day, count=0)], ignore_conflicts=True
        )
        taken = TutorUsage.objects.filter(user=user, day=day, count__lt=limit).update(
            count=F("count") + 1
        )
        used = TutorUsage.objects.filter(user=user, day=day).values_list("count", flat=True)[0]
    if not taken:
        raise ApplicationError(ErrorCode.TUTOR_QUOTA_EXHAUSTED, retry_at=resets_at)
    return QuotaState(limit=limit, used=used, resets_at=resets_at, day=day)


def tutor_quota_give_back(*, user: User, day: date) -> None:
    """Return a question taken on `day` (the learner's day when it was taken) after the
    provider failed to answer it."""
    TutorUsage.objects.filter(user=user, day=day, count__gt=0).update(count=F("count") - 1)
