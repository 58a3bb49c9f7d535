"""ASGI entry point: HTTP through Django, WebSockets (`/ws/...`) through Channels.

This is the one module that assembles every app: it imports the community app's WebSocket
routes, which nothing else in `lms` may do (the apps depend on `lms`, never the reverse).
`manage.py runserver` (daphne) serves it in development; uvicorn in production (README
"Real time (WebSockets)").
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

# Django is set up here, before anything below imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from community.routing import websocket_urlpatterns  # noqa: E402
from lms.realtime import SocketAuthMiddleware, origin_validated, socket_refused  # noqa: E402

# Any other path is refused (403 at the handshake) rather than failing inside the router.
websocket_routes = URLRouter([*websocket_urlpatterns, re_path(r"", socket_refused)])

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": origin_validated(SocketAuthMiddleware(websocket_routes)),
    }
)
