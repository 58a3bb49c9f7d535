"""Mux webhooks: `/webhooks/mux/`. (Being written.)"""

urlpatterns: list = []
