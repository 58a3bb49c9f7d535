"""Draft tasks (filled in by its slice)."""

__all__: list[str] = []
