"""Rollup models (filled in by its slice)."""
