"""Data export models (filled in by its slice)."""
