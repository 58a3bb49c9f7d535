"""Quiz API: the questions (never the answers) and attempts."""

urlpatterns: list = []
