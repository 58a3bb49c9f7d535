"""Celery: the broker, delivery guarantees, routes and the beat schedule."""

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import REDIS_URL, TIME_ZONE, env

# --- Celery -----------------------------------------------------------------------------
# No broker configured: tasks run eagerly in-process, so `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ROUTES = {
    "lms.tasks.email_deliver": {"queue": "email"},
    "lms.tasks.email_outbox_sweep": {"queue": "email"},
    "lms.tasks.webhook_event_process": {"queue": "webhooks"},
    "lms.tasks.webhook_events_reconcile": {"queue": "webhooks"},
    "lms.tasks.webhook_events_recover": {"queue": "webhooks"},
    "media.tasks.*": {"queue": "webhooks"},
}
# -- Delivery guarantees (README "Workers and beat") --
# A task's message is acknowledged only after the task ran (acks late), and given back when
# the worker process running it dies (reject on worker lost); each worker process holds one
# message at a time (prefetch 1), so a dead worker strands at most that one. Redis has no
# acknowledgements: a message delivered and never acked is put back in its queue
# CELERY_VISIBILITY_TIMEOUT seconds after delivery (kombu's default, an hour, made a
# 15-minute sign-in code arrive useless); every live worker looks for such messages every
# CELERY_UNACKED_RESTORE_INTERVAL seconds. The timeout must exceed the longest task run (a
# task still running then is run a second time: ours are idempotent, but it is waste), and
# no countdown or ETA may reach it (a worker holds an ETA task unacked while it waits):
# countdowns stop at LMS_TASK_COUNTDOWN_MAX, longer backoff waits in the database for the
# outbox sweep.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,  # scan on every interval (kombu's default: every 10th)
}
LMS_TASK_COUNTDOWN_MAX = CELERY_VISIBILITY_TIMEOUT // 2
# An email claimed for sending this many seconds ago belongs to a worker that died mid-send
# (a send takes at most about EMAIL_TIMEOUT); below the visibility timeout, so the redelivered
# task takes the message over.
LMS_EMAIL_CLAIM_TIMEOUT = env.int("LMS_EMAIL_CLAIM_TIMEOUT", default=120)
if not 0 < LMS_EMAIL_CLAIM_TIMEOUT < CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured("LMS_EMAIL_CLAIM_TIMEOUT must be below CELERY_VISIBILITY_TIMEOUT.")
# Sent emails are kept this many days in the outbox (admin: Outbound emails), then deleted.
LMS_EMAIL_OUTBOX_KEEP_DAYS = env.int("LMS_EMAIL_OUTBOX_KEEP_DAYS", default=30)
# A webhook event still received (or with a retry overdue) this long is taken for lost and
# queued again by `webhook_events_recover`, which beat runs every LMS_WEBHOOK_RECOVER_SECONDS:
# an event whose worker died mid-handler is processed again within about 90 s.
LMS_WEBHOOK_LOST_AFTER_SECONDS = env.int("LMS_WEBHOOK_LOST_AFTER_SECONDS", default=60)
# Webhook event types nobody handles are logged once per type per this many seconds.
LMS_WEBHOOK_UNHANDLED_LOG_SECONDS = env.int("LMS_WEBHOOK_UNHANDLED_LOG_SECONDS", default=3600)
# -- A dead broker costs a request about a second, never minutes (lms.broker) --
# Publishing from a request retries once after 0.1 s instead of Celery's 3 retries, and the
# Redis transport's sockets time out (kombu waits forever by default: a broker that vanished
# without closing the connection would hold the request until the OS gave up). Work queued
# from a request is stored first (webhook inbox, email outbox) or refused with 503
# SERVICE_UNAVAILABLE, so a failed publish loses nothing. Merged into any transport options
# set above (keep other Celery transport options above this block).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.1,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **vars().get("CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
}
# The hour (UTC, 0-23) at which notification digest periods end (and digests go out).
LMS_DIGEST_HOUR = env.int("LMS_DIGEST_HOUR", default=7)
if not 0 <= LMS_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("LMS_DIGEST_HOUR must be an hour from 0 to 23 (UTC).")
# Periodic work, run by one `celery beat`: re-queue webhook events left unprocessed, and
# re-read from Mux the videos whose webhooks never came.
CELERY_BEAT_SCHEDULE = {
    # Lost tasks (a worker killed mid-task, a publish that failed) are found fast here.
    "webhook-events-recover": {
        "task": "lms.tasks.webhook_events_recover",
        "schedule": env.float("LMS_WEBHOOK_RECOVER_SECONDS", default=30.0),
    },
    "email-outbox-sweep": {
        "task": "lms.tasks.email_outbox_sweep",
        "schedule": env.float("LMS_EMAIL_SWEEP_SECONDS", default=60.0),
    },
    "webhook-events-reconcile": {
        "task": "lms.tasks.webhook_events_reconcile",
        "schedule": env.float("LMS_WEBHOOK_RECONCILE_SECONDS", default=300.0),
    },
    "media-videos-reconcile": {
        "task": "media.tasks.videos_reconcile",
        "schedule": env.float("LMS_VIDEO_RECONCILE_SECONDS", default=300.0),
    },
    "billing-subscriptions-reconcile": {
        "task": "billing.tasks.subscriptions_reconcile",
        "schedule": env.float("LMS_SUBSCRIPTION_RECONCILE_SECONDS", default=3600.0),
    },
    # Hourly is plenty: uploads count as abandoned only after LMS_UPLOAD_PENDING_HOURS.
    "media-uploads-pending-cleanup": {
        "task": "media.tasks.uploads_pending_cleanup",
        "schedule": 3600.0,
    },
    # Notification digests (README "Notifications"): the daily one covers the 24 hours up
    # to LMS_DIGEST_HOUR (UTC), the weekly one the week up to Monday at that hour. Hourly
    # runs send each learner's digest of a period once (a unique row), within the hour after
    # it ends, and catch up after beat was down. The sweep sends immediate emails whose
    # task was lost.
    "notifications-digests-daily": {
        "task": "notifications.tasks.digests_send",
        "schedule": 3600.0,
        "kwargs": {"period": "daily"},
    },
    "notifications-digests-weekly": {
        "task": "notifications.tasks.digests_send",
        "schedule": 3600.0,
        "kwargs": {"period": "weekly"},
    },
    "notifications-emails-sweep": {
        "task": "notifications.tasks.notification_emails_sweep",
        "schedule": 300.0,
    },
    # Analytics rollups (README "Analytics › Rollups"): each run folds the events received
    # since the last one into their days; dashboards lag by at most this.
    "analytics-rollups-refresh": {
        "task": "analytics.tasks.rollups.rollups_refresh",
        "schedule": env.float("LMS_ANALYTICS_ROLLUP_SECONDS", default=600.0),
    },
}
# Learners' data exports (README "Your data"): files past LMS_DATA_EXPORT_TTL_HOURS are
# deleted, and exports whose build task was lost are queued again.
CELERY_BEAT_SCHEDULE["analytics-data-exports-purge"] = {
    "task": "analytics.tasks.exports.data_exports_purge",
    "schedule": 3600.0,
}
# Raw analytics events past LMS_ANALYTICS_RETENTION_DAYS are deleted in bounded batches
# (README "Analytics › Events"); a full batch queues the next one at once.
CELERY_BEAT_SCHEDULE["analytics-events-purge"] = {
    "task": "analytics.tasks.events.events_purge",
    "schedule": 3600.0,
}
