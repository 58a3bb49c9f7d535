"""Tutor pages: the learner's conversations and the lesson panel's no-JS form posts."""

from assistant.tutor_views import urlpatterns

__all__ = ["urlpatterns"]
