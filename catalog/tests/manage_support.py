"""What the authoring API's tests (`test_manage_*.py`) share: the people, and how to call."""

from typing import Any

from rest_framework.test import APIClient

from accounts.models import AuditLog, User
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory

BASE = "/api/v1/manage"


def instructor_make(email: str = "ana@example.com") -> User:
    return user_role_set(user=UserFactory(email=email), role=Role.INSTRUCTOR, actor=None)


def staff_make(email: str = "sam@example.com") -> User:
    return user_role_set(user=UserFactory(email=email), role=Role.STAFF, actor=None)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error(code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def audit_rows(**filters: Any) -> list[dict[str, Any]]:
    """The catalog's audit rows, oldest first, as the fields a reader of the log sees."""
    return list(
        AuditLog.objects.filter(action__startswith="catalog.", **filters)
        .order_by("created_at", "id")
        .values("action", "actor_email", "target_type", "target_id", "target_repr", "details")
    )


def audit_row(action: str, actor: User, target: Any, **details: Any) -> dict[str, Any]:
    return {
        "action": action,
        "actor_email": actor.email,
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk),
        "target_repr": str(target)[:200],
        "details": details,
    }
