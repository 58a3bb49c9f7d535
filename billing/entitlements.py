"""What a user is entitled to. The access policy (`catalog.access`) asks only this module.

Subscriptions and invite-granted tiers arrive with the billing issue; until then nobody
holds a tier, so paid content is locked for everyone but staff and the course's instructors.
"""

from django.contrib.auth.models import AnonymousUser

from accounts.models import User


def user_active_tier_rank(*, user: User | AnonymousUser) -> int | None:
    """The rank of the highest tier the user holds now, or None when they hold none."""
    return None
