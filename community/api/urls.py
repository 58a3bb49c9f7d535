"""Community API (`/api/v1/`): lesson discussions (and chat, beside them)."""

urlpatterns: list = []
