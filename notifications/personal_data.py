"""notifications' part of a person's data (`accounts.personal_data`): their notifications,
email preferences and digests. Deleting the account deletes them all; notifications of other
people that name the person as their actor read "Deleted learner" instead of the name."""

from typing import Any

from django.db.models import Value
from django.db.models.functions import Replace

from accounts.models import DELETED_USER_NAME, User
from accounts.personal_data import Section, personal_data_register
from notifications.models import Digest, Notification, NotificationPreference


def _export(user: User) -> dict[str, Any]:
    return {
        "notifications": list(
            Notification.objects.filter(user=user)
            .order_by("created_at")
            .values("kind", "title", "body", "url", "created_at", "read_at", "emailed_at")
        ),
        "preferences": list(
            NotificationPreference.objects.filter(user=user).values("kind", "delivery")
        ),
        "digests": list(
            Digest.objects.filter(user=user).values(
                "period", "period_start", "period_end", "item_count", "created_at"
            )
        ),
    }


def _erase(user: User) -> None:
    Notification.objects.filter(user=user).delete()
    NotificationPreference.objects.filter(user=user).delete()
    Digest.objects.filter(user=user).delete()
    if user.display_name:
        # "Ana replied to ..." in other people's lists: the name was written into the title.
        Notification.objects.filter(actor=user).update(
            title=Replace("title", Value(user.display_name), Value(str(DELETED_USER_NAME)))
        )


personal_data_register(
    Section(
        name="notifications",
        title="Your notifications, your email preferences and the digests sent to you.",
        export=_export,
        erase=_erase,
        on_deletion="Your notifications, preferences and digests are deleted.",
        covers=(
            "notifications.Notification.user",
            "notifications.NotificationPreference.user",
            "notifications.Digest.user",
        ),
        keeps=("notifications.Notification.actor",),
    )
)
