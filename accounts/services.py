"""Every write to accounts: users, roles, the audit log."""

from typing import Any

from django.db import models

from accounts.models import AuditLog, User


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    target: models.Model | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit entry. Call it inside the transaction of the change it records."""
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        action=action,
        actor=actor,
        actor_email=actor.email if actor else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        ip_address=ip_address,
        details=details or {},
    )
