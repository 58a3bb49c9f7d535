"""Every write to billing. Plans, subscriptions and checkout arrive with the billing issue."""

from django.db import transaction

from billing.models import Tier


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
