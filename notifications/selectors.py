"""Reads: a learner's notifications, their unread count and their email preferences."""

from django.db.models import QuerySet

from accounts.models import User
from notifications.kinds import Kind, kinds_all, kinds_emailed
from notifications.models import Notification, NotificationPreference


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first, with who caused each (one query a page)."""
    return Notification.objects.filter(user=user).select_related("actor").order_by("-created_at")


def notifications_unread_count(*, user: User) -> int:
    """One COUNT on the partial index of unread notifications."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences_get(*, user: User, kinds: list[Kind] | None = None) -> dict[str, str]:
    """`{kind: delivery}` for every kind (registered, or `kinds`): the stored choice, else
    the kind's default; kinds that are never emailed are always "off". One query."""
    kinds = kinds_all() if kinds is None else kinds
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {
        kind.key: (stored.get(kind.key, kind.default) if kind.email else kind.default)
        for kind in kinds
    }


def notification_preferences_rows(*, user: User) -> list[tuple[Kind, str]]:
    """The preferences page and API: each kind a learner can choose for, and their choice."""
    kinds = kinds_emailed()
    deliveries = notification_preferences_get(user=user, kinds=kinds)
    return [(kind, deliveries[kind.key]) for kind in kinds]
