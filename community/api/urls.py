"""Community API (`/api/v1/`): lesson discussions (and chat, beside them)."""

from community.api import announcements, chat, discussions

urlpatterns: list = [
    *announcements.urlpatterns,
    *chat.urlpatterns,
    *discussions.urlpatterns,
]
