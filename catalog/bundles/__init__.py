"""Offline bundles: one versioned, content-addressed manifest per section, built by a task
when a course changes, and the apps' update check (`POST /api/v1/updates/check/`)."""
