"""Projects of the showcase."""
