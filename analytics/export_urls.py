"""Learners' data export pages (filled in by its slice)."""

urlpatterns: list = []
