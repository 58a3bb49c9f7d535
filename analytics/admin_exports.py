"""Learners' data exports in the admin (filled in by its slice)."""
