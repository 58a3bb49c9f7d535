"""Tutor pages (filled in by its slice)."""

urlpatterns: list = []
