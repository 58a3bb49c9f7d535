"""The LMS project package: settings, URLs, Celery, and shared infrastructure as an app."""

from lms.celery import app as celery_app

__all__ = ("celery_app",)
