"""Tutor API (filled in by its slice)."""

urlpatterns: list = []
