"""WebSocket routes of the community app, mounted at `/ws/` by `lms/asgi.py`."""

from django.urls import path

from community.consumers import ChatConsumer

websocket_urlpatterns: list = [
    path("ws/chat/<uuid:channel_id>/", ChatConsumer.as_asgi(), name="chat-socket"),
]
