"""tutor models (filled in by its slice)."""
