"""The redeem page `/invites/redeem/`: what a signed-in person sees and where they land."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.roles import Role, user_role_get
from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.tests.factories import TierFactory
from catalog.tests.factories import CourseFactory
from progress.models import Enrollment, Invite, InviteRedemption
from progress.services import invite_create, invite_redeem, invite_revoke

pytestmark = pytest.mark.django_db

URL = "/invites/redeem/"


@pytest.fixture
def creator():
    return UserFactory(is_staff=True, is_superuser=True)


def _invite(creator, **kwargs) -> Invite:
    return invite_create(created_by=creator, **kwargs)


def test_the_page_is_at_its_documented_address():
    assert reverse("progress:invite_redeem") == URL


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client):
    response = client.get(URL, {"code": "ABC"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/invites/redeem/%3Fcode%3DABC"


def test_the_code_from_the_link_is_filled_in(user_client):
    response = user_client.get(URL, {"code": "ab7k2mnp3q"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Redeem an invite · LMS School</title>" in html
    assert 'name="code"' in html
    assert 'value="ab7k2mnp3q"' in html
    assert "field__error" not in html


def test_redeeming_enrolls_and_lands_on_the_course_with_a_message(user_client, user, creator):
    course = CourseFactory(slug="salsa", title="Salsa basics")
    tier = TierFactory(slug="advanced", name="Advanced", rank=2)
    invite = _invite(creator, course=course, tier=tier, tier_days=14)

    response = user_client.post(URL, {"code": invite.code.lower()}, REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 302
    assert response["Location"] == "/courses/salsa/"
    page = user_client.get(response["Location"])
    assert "Invite accepted: you are enrolled in Salsa basics." in page.content.decode()
    assert Enrollment.objects.filter(user=user, course=course, source="invite").exists()
    assert TierGrant.objects.filter(user=user, tier=tier).exists()
    redemption = InviteRedemption.objects.get()
    assert (redemption.user, redemption.ip_address) == (user, "192.0.2.44")
    entry = AuditLog.objects.get(action="invite.redeemed")
    assert (entry.actor, entry.ip_address) == (user, "192.0.2.44")


def test_an_invite_without_a_course_lands_on_the_home_page(user_client, user, creator):
    invite = _invite(creator, role=Role.INSTRUCTOR)

    response = user_client.post(URL, {"code": invite.code})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Invite accepted. Welcome!" in user_client.get("/").content.decode()
    user.refresh_from_db()
    assert user_role_get(user) == Role.INSTRUCTOR


def test_an_invite_to_a_draft_course_lands_on_the_home_page(user_client, user, creator):
    course = CourseFactory(draft=True)
    invite = _invite(creator, course=course)

    response = user_client.post(URL, {"code": invite.code})

    assert response["Location"] == "/"
    assert Enrollment.objects.filter(user=user, course=course).exists()


@pytest.fixture
def code_in_state(creator, user):
    def build(state: str) -> str:
        if state == "unknown":
            return "NOPE234567"
        if state == "not_for_you":
            return _invite(creator, email="someone-else@example.com").code
        invite = _invite(creator, max_uses=2 if state == "already_redeemed" else 1)
        if state == "expired":
            Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(1))
        elif state == "revoked":
            invite_revoke(invite=invite, actor=creator)
        elif state == "used_up":
            invite_redeem(code=invite.code, user=UserFactory())
        elif state == "already_redeemed":
            invite_redeem(code=invite.code, user=user)
        return invite.code

    return build


@pytest.mark.parametrize(
    ("state", "code", "message"),
    [
        ("unknown", "INVITE_NOT_FOUND", "There is no invite with this code."),
        ("expired", "INVITE_EXPIRED", "This invite has expired."),
        ("revoked", "INVITE_REVOKED", "This invite has been revoked."),
        ("used_up", "INVITE_USED_UP", "This invite has already been used up."),
        (
            "not_for_you",
            "INVITE_NOT_FOR_YOU",
            "This invite was sent to another email address. Sign in with the account of that "
            "address (verified) to redeem it.",
        ),
        ("already_redeemed", "INVITE_ALREADY_REDEEMED", "You have already redeemed this invite."),
    ],
)
def test_a_code_that_does_not_work_is_a_form_error_with_the_reason(
    user_client, code_in_state, state, code, message
):
    invite_code = code_in_state(state)
    redemptions_before = InviteRedemption.objects.count()

    response = user_client.post(URL, {"code": invite_code})

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        f'<p class="field__error" id="id_code-error" data-error-code="{code}">{message}</p>' in html
    )
    assert f'value="{invite_code}"' in html  # the code stays in the box to fix a typo
    assert 'aria-invalid="true"' in html
    assert InviteRedemption.objects.count() == redemptions_before


def test_an_empty_code_asks_for_one(user_client):
    response = user_client.post(URL, {"code": "  "})

    assert response.status_code == 400
    assert "Enter the code from your invite." in response.content.decode()


def test_the_page_refuses_other_methods(user_client):
    assert user_client.put(URL).status_code == 405
