"""The bell in every page's header: the signed-in user's unread count, read lazily.

Nothing is queried for visitors, nor for a page that never shows the bell; a page that
does costs one COUNT on the partial index of unread notifications.
"""

from django.http import HttpRequest
from django.utils.functional import cached_property


class Bell:
    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def unread(self) -> int:
        from notifications.selectors import notifications_unread_count

        return notifications_unread_count(user=self._user)


def bell(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notification_bell": Bell(user)}
