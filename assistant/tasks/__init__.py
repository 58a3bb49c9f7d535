"""Celery tasks of the assistant (Celery's autodiscovery imports this package)."""

from assistant.tasks.drafts import *  # noqa: F403
