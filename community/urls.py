"""Community pages: lesson discussions (and chat, beside them)."""

from community import discussion_views

app_name = "community"
urlpatterns: list = [
    *discussion_views.urlpatterns,
]
