"""Community API (`/api/v1/`): lesson discussions (and chat, beside them)."""

from community.api import announcements

urlpatterns: list = [
    *announcements.urlpatterns,
]
