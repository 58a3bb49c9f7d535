"""Every write to billing: tiers and tier grants. Plans, subscriptions and checkout arrive
with the billing issue."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.entitlements import user_entitlements_forget
from billing.models import Tier, TierGrant


@transaction.atomic
def tier_ensure(*, slug: str, name: str, rank: int, description: str = "") -> Tier:
    """Create the tier with this slug, or bring an existing one to these values.

    Idempotent, for the demo school and fixtures: running it twice leaves one unchanged row.
    """
    wanted = {"name": name, "rank": rank, "description": description}
    tier, created = Tier.objects.select_for_update().get_or_create(slug=slug, defaults=wanted)
    changed = [field for field, value in wanted.items() if getattr(tier, field) != value]
    if not created and changed:
        for field in changed:
            setattr(tier, field, wanted[field])
        tier.full_clean()
        tier.save(update_fields=changed)
    return tier


@transaction.atomic
def tier_grant_create(
    *,
    user: User,
    tier: Tier,
    source: str,
    source_id: str = "",
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> TierGrant:
    """Give the user `tier` from `starts_at` (default now) until `expires_at` (None: for good).

    With a `source_id`, granting again for the same source returns the existing grant
    unchanged: a retried redemption must not stack a second period on the first.
    """
    if source_id:
        existing = TierGrant.objects.filter(user=user, source=source, source_id=source_id).first()
        if existing is not None:
            return existing
    grant = TierGrant(
        user=user,
        tier=tier,
        starts_at=starts_at or timezone.now(),
        expires_at=expires_at,
        source=source,
        source_id=source_id,
    )
    grant.full_clean()
    grant.save()
    user_entitlements_forget(user=user)
    return grant
