"""`POST /api/v1/invites/redeem/`: the whole answer, and the error envelope for each failure."""

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

URL = "/api/v1/invites/redeem/"


@pytest.fixture
def creator():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def learner_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def _invite(creator, **kwargs) -> Invite:
    return invite_create(created_by=creator, **kwargs)


def _error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def test_the_endpoint_is_at_its_documented_address():
    assert reverse("progress-api:invite-redeem") == URL


def test_anonymous_callers_get_401(api_client, creator):
    invite = _invite(creator)

    response = api_client.post(URL, {"code": invite.code}, format="json")

    assert response.status_code == 401
    assert response.json() == _error("NOT_AUTHENTICATED", "Sign in to continue.")
    assert not InviteRedemption.objects.exists()


def test_redeeming_answers_with_what_was_granted(learner_api, user, creator):
    course = CourseFactory(slug="salsa", title="Salsa basics")
    tier = TierFactory(slug="advanced", name="Advanced", rank=2)
    invite = _invite(creator, role=Role.INSTRUCTOR, course=course, tier=tier, tier_days=30)

    response = learner_api.post(
        URL, {"code": f" {invite.code.lower()} "}, format="json", REMOTE_ADDR="192.0.2.9"
    )

    assert response.status_code == 200
    grant = TierGrant.objects.get(user=user)
    assert response.json() == {
        "invite": {"code": invite.code, "role": "instructor"},
        "course": {"slug": "salsa", "title": "Salsa basics"},
        "tier": {"slug": "advanced", "name": "Advanced", "rank": 2},
        "tier_expires_at": grant.expires_at.isoformat().replace("+00:00", "Z"),
    }
    user.refresh_from_db()
    assert user_role_get(user) == Role.INSTRUCTOR
    assert Enrollment.objects.filter(user=user, course=course, source="invite").exists()
    entry = AuditLog.objects.get(action="invite.redeemed")
    assert (entry.actor, entry.ip_address, entry.target_id) == (user, "192.0.2.9", str(invite.pk))


def test_an_invite_with_only_a_role_answers_nulls_for_the_rest(learner_api, creator):
    invite = _invite(creator)

    response = learner_api.post(URL, {"code": invite.code}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "invite": {"code": invite.code, "role": "learner"},
        "course": None,
        "tier": None,
        "tier_expires_at": None,
    }


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
    ("state", "status", "code", "message"),
    [
        ("unknown", 404, "INVITE_NOT_FOUND", "There is no invite with this code."),
        ("expired", 410, "INVITE_EXPIRED", "This invite has expired."),
        ("revoked", 410, "INVITE_REVOKED", "This invite has been revoked."),
        ("used_up", 409, "INVITE_USED_UP", "This invite has already been used up."),
        (
            "not_for_you",
            403,
            "INVITE_NOT_FOR_YOU",
            "This invite was sent to another email address. Sign in with the account of that "
            "address (verified) to redeem it.",
        ),
        (
            "already_redeemed",
            409,
            "INVITE_ALREADY_REDEEMED",
            "You have already redeemed this invite.",
        ),
    ],
)
def test_a_code_that_does_not_work_answers_the_envelope(
    learner_api, code_in_state, state, status, code, message
):
    invite_code = code_in_state(state)
    redemptions_before = InviteRedemption.objects.count()

    response = learner_api.post(URL, {"code": invite_code}, format="json")

    assert response.status_code == status
    assert response.json() == _error(code, message)
    assert InviteRedemption.objects.count() == redemptions_before


def test_a_missing_code_is_a_validation_error(learner_api):
    response = learner_api.post(URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"code": ["This field is required."]}
    )


def test_the_schema_documents_the_operation_and_its_errors(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/invites/redeem/"]["post"]
    assert operation["operationId"] == "invites_redeem"
    # At least these (the schema may document more general ones, such as 429).
    assert {"200", "400", "401", "403", "404", "409", "410"} <= set(operation["responses"])
    assert "INVITE_NOT_FOR_YOU" in operation["description"]
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for status in ("401", "403", "404", "409", "410"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == envelope
    output = schema["components"]["schemas"]["InviteRedemption"]
    assert sorted(output["properties"]) == ["course", "invite", "tier", "tier_expires_at"]
    codes = schema["components"]["schemas"]["CodeEnum"]["enum"]
    assert {"INVITE_NOT_FOUND", "INVITE_USED_UP", "INVITE_ALREADY_REDEEMED"} <= set(codes)
