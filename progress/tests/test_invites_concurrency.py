"""Parallel redemptions on PostgreSQL: the row lock lets exactly as many through as allowed.

Each thread has its own database connection (Django's are per thread) and really commits,
hence `transactional_db`; a barrier starts them together so they race for the invite row.
"""

from collections import Counter
from collections.abc import Callable

import pytest

from accounts.models import AuditLog, User
from accounts.tests.factories import UserFactory
from lms.errors import ApplicationError
from lms.tests.concurrency import run_together
from progress.models import Invite, InviteRedemption
from progress.services import invite_create, invite_redeem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def _redeem(code: str, user: User) -> Callable[[], str]:
    def attempt() -> str:
        try:
            invite_redeem(code=code, user=user, ip_address="192.0.2.50")
        except ApplicationError as error:
            return str(error.code)
        return "ok"

    return attempt


def test_a_single_use_invite_redeemed_by_many_at_once_is_used_exactly_once():
    creator = UserFactory(is_staff=True, is_superuser=True)
    invite = invite_create(created_by=creator)
    users = [UserFactory() for _ in range(THREADS)]

    results = run_together([_redeem(invite.code, user) for user in users])

    assert Counter(results) == {"ok": 1, "INVITE_USED_UP": THREADS - 1}
    invite.refresh_from_db()
    assert invite.uses_count == 1
    assert InviteRedemption.objects.filter(invite=invite).count() == 1
    assert AuditLog.objects.filter(action="invite.redeemed").count() == 1


def test_a_three_use_invite_raced_by_many_serves_exactly_three():
    creator = UserFactory(is_staff=True, is_superuser=True)
    invite = invite_create(created_by=creator, max_uses=3)
    users = [UserFactory() for _ in range(THREADS)]

    results = run_together([_redeem(invite.code, user) for user in users])

    assert Counter(results) == {"ok": 3, "INVITE_USED_UP": THREADS - 3}
    assert Invite.objects.get(pk=invite.pk).uses_count == 3
    assert InviteRedemption.objects.filter(invite=invite).count() == 3


def test_one_person_redeeming_twice_at_once_gets_it_once():
    creator = UserFactory(is_staff=True, is_superuser=True)
    invite = invite_create(created_by=creator, max_uses=5)
    learner = UserFactory()

    results = run_together([_redeem(invite.code, learner) for _ in range(4)])

    assert Counter(results) == {"ok": 1, "INVITE_ALREADY_REDEEMED": 3}
    assert Invite.objects.get(pk=invite.pk).uses_count == 1
    assert InviteRedemption.objects.filter(invite=invite, user=learner).count() == 1
