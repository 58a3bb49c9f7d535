"""Real time (Django Channels): the channel layer that carries WebSocket messages.

With nothing configured the layer is in memory, which is enough for `make run` (one process).
With CHANNEL_LAYER_URL (default: REDIS_URL) it is channels-redis, so a message sent from any
web or worker process reaches every socket on every ASGI server (README "Real time").
"""

from lms.settings.base import REDIS_URL, env

# --- Channels ---------------------------------------------------------------------------
CHANNEL_LAYER_URL = env.str("CHANNEL_LAYER_URL", default=REDIS_URL)
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A dict host: the URL plus redis-py pool options. Bounded connects, so a
                # send to a Redis that vanished fails in about a second (lms.realtime logs it).
                "hosts": [
                    {
                        "address": CHANNEL_LAYER_URL,
                        "socket_connect_timeout": env.float(
                            "CHANNEL_LAYER_CONNECT_TIMEOUT", default=1.0
                        ),
                    }
                ],
                # Every process of one deployment must share the prefix; two deployments on
                # one Redis must not.
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="lms-ws"),
                # Messages waiting for one socket beyond this are dropped (a stuck client
                # must not grow Redis without bound); they expire after `expiry` seconds.
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=200),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
