"""Admin for this package: registered on import from `progress.admin`."""
