"""Mux webhooks, mounted at `/webhooks/`."""

from django.urls import path

from media.webhooks import mux_webhook

urlpatterns = [
    path("mux/", mux_webhook, name="mux-webhook"),
]
