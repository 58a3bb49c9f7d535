"""Logging: JSON lines in production, plain in development, request ids on both."""

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import DEBUG, env

# --- Logging ----------------------------------------------------------------------------
# One JSON object per line in production (LOG_FORMAT=json, the default when DEBUG is false),
# readable lines in development; both carry the request (or task) id.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lms.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "lms.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # The stripe SDK logs every request at INFO; our own billing code logs what matters.
    "loggers": {"django.db.backends": {"level": "INFO"}, "stripe": {"level": "WARNING"}},
}
# Workers keep this configuration (JSON lines, task request ids) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
