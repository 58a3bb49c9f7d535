"""Analytics: event ingestion limits and the raw events' retention (README "Analytics")."""

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import env

# --- Event ingestion (POST /api/v1/analytics/events/) -------------------------------------
# Most events in one batch; a larger batch is refused whole (ANALYTICS_BATCH_TOO_LARGE).
LMS_ANALYTICS_BATCH_MAX = env.int("LMS_ANALYTICS_BATCH_MAX", default=500)
# Events one learner may send per minute from one app (web, ios, ...); a batch that would
# go over is refused whole with 429 ANALYTICS_RATE_LIMITED and Retry-After.
LMS_ANALYTICS_RATE_PER_MINUTE = env.int("LMS_ANALYTICS_RATE_PER_MINUTE", default=6000)
# Events that happened longer ago than this (days) are refused (EVENT_TOO_OLD): an app
# offline for longer drops them rather than rewriting old rollups.
LMS_ANALYTICS_MAX_AGE_DAYS = env.int("LMS_ANALYTICS_MAX_AGE_DAYS", default=30)
# Clock skew allowed for a device's clock: later than now plus this is EVENT_IN_FUTURE.
LMS_ANALYTICS_FUTURE_SECONDS = env.int("LMS_ANALYTICS_FUTURE_SECONDS", default=300)
# --- Retention ----------------------------------------------------------------------------
# Raw events older than this many days are deleted by the beat task `events_purge`
# (rollups are kept); 0 keeps them forever.
LMS_ANALYTICS_RETENTION_DAYS = env.int("LMS_ANALYTICS_RETENTION_DAYS", default=395)
# Rows the purge deletes per statement before it queues itself again.
LMS_ANALYTICS_PURGE_BATCH = env.int("LMS_ANALYTICS_PURGE_BATCH", default=10000)
if LMS_ANALYTICS_BATCH_MAX < 1 or LMS_ANALYTICS_PURGE_BATCH < 1:
    raise ImproperlyConfigured("LMS_ANALYTICS_BATCH_MAX and _PURGE_BATCH must be positive.")
if 0 < LMS_ANALYTICS_RETENTION_DAYS <= LMS_ANALYTICS_MAX_AGE_DAYS:
    raise ImproperlyConfigured(
        "LMS_ANALYTICS_RETENTION_DAYS must be longer than LMS_ANALYTICS_MAX_AGE_DAYS (or 0)."
    )
