"""Community pages: lesson discussions (and chat, beside them)."""

from community import chat_views, discussion_views

app_name = "community"
urlpatterns: list = [
    *discussion_views.urlpatterns,
    *chat_views.urlpatterns,
]
