"""The tutor in the admin: quotas and flagged answers (filled in by its slice)."""
