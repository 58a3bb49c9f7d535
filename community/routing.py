"""WebSocket routes of the community app, mounted at `/ws/` by `lms/asgi.py`."""

websocket_urlpatterns: list = []
