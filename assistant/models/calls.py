"""calls models (filled in by its slice)."""
