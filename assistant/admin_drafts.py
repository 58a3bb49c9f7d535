"""Drafts in the admin (filled in by its slice)."""
