"""Community pages: lesson discussions (and chat, beside them)."""

app_name = "community"
urlpatterns: list = []
