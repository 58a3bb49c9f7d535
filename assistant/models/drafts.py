"""drafts models (filled in by its slice)."""
