"""Settings for the LMS, read from the environment (django-environ).

With nothing set, the defaults give a development school: SQLite file, eager Celery,
local media files and console email. Each real part is switched on by its variable;
`.env.example` lists every one. Tests and production run this same module.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)

DEV_SECRET_KEY = "django-insecure-development-only-key-change-me"  # noqa: S105 - dev default
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is false."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="LMS School")
# The site's public address, for links in emails sent outside a request (billing emails
# from webhooks). Pages and emails sent from a request use the request's own address.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The admin's section page posts about 12 fields per lesson row; Django's default of 1000
# would refuse to save a section with more than ~80 lessons.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's sessions page ("3 minutes ago")
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",  # CORS allowlist for browser-based API clients (see Security)
    "csp",  # django-csp's system checks (they flag pre-4.0 settings)
    "lms",
    "accounts",
    "billing",
    "media",
    "catalog",
    "progress",
]

MIDDLEWARE = [
    # First: every later middleware's log lines carry the request id (lms.request_id).
    "lms.request_id.RequestIdMiddleware",
    # Before anything that can answer (redirects, CommonMiddleware): preflights get CORS.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files need no policy); on every page, admin and API answer.
    "lms.csp.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Request guards (lms.middleware): before CommonMiddleware, whose slash redirect they
    # replace for writes, and before CSRF and the views, which read the body they measure.
    "lms.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "accounts.middleware.AdminRequiresMFAMiddleware",
]

ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"
ASGI_APPLICATION = "lms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lms.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# SQLite file by default; DATABASE_URL=postgres://... uses PostgreSQL through psycopg 3.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # The cache only holds what the site can lose (rate-limit counters, short locks), so a
    # Redis outage must not be a site outage: lms.cache.FailOpenRedisCache answers misses and
    # accepts writes while Redis is unreachable (rate limits fail open), with socket timeouts
    # short enough that a Redis that stopped answering costs a request well under a second.
    CACHES = {
        "default": {
            "BACKEND": "lms.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="lms"),
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# After a cache error, Redis is left alone this many seconds (calls answer at once as misses)
# before the next call tries it again; /readyz always tries.
LMS_CACHE_RETRY_SECONDS = env.float("LMS_CACHE_RETRY_SECONDS", default=5.0)
# An unreachable cache or broker is logged at most once per this many seconds per process.
LMS_OUTAGE_LOG_SECONDS = env.float("LMS_OUTAGE_LOG_SECONDS", default=60.0)
# Database sessions are the simple default; "cache" keeps them in Redis when it is there.
# "cached_db" survives a Redis outage (sessions are read from the database meanwhile);
# "cache" does not: while Redis is down, nobody stays signed in (pages still answer).
SESSION_ENGINE = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "lms.sessions",  # Django's cache sessions, answering while Redis is down
    "cached_db": "django.contrib.sessions.backends.cached_db",
}[env.str("SESSION_STORE", default="db")]

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in: django-allauth (accounts, codes, Google, MFA, app tokens, sessions) ---------
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS = env.int("ACCOUNT_CODE_MAX_ATTEMPTS", default=3)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = env.int("ACCOUNT_CODE_TIMEOUT", default=15 * 60)
# Every emailed code (verification, sign-in) is 6 letters, no dash: easy to type on a phone.
ALLAUTH_USER_CODE_FORMAT = {"length": 6, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = env.int("ACCOUNT_CODE_MAX_ATTEMPTS", default=3)
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = env.int("ACCOUNT_CODE_TIMEOUT", default=15 * 60)
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False  # reset by emailed link
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Security notices (password changed, email added or removed, 2FA changes) to the account.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# Allauth's own rate limits (login failures, signups, codes, resets) stay at their defaults;
# they count in the cache, so production needs REDIS_URL (a per-process cache counts alone).
# While Redis is down they fail open with the cache (lms.cache): sign-in keeps working.
# Behind NUM_PROXIES proxies they count per client address from X-Forwarded-For, as DRF does
# (otherwise every visitor would share the proxy's address, and its limits).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("NUM_PROXIES", default=0)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified Google email signs in that account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # ... and connects Google to it
SOCIALACCOUNT_LOGIN_ON_GET = False
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "OAUTH_PKCE_ENABLED": True,
        "VERIFIED_EMAIL": False,
        **(
            {"APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET}]}
            if GOOGLE_CLIENT_ID
            else {}
        ),
    }
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
# Staff and instructors must set up MFA before using the admin (default on outside DEBUG).
LMS_ADMIN_REQUIRE_MFA = env.bool("LMS_ADMIN_REQUIRE_MFA", default=not DEBUG)
# Sessions are recorded at every sign-in and "last seen" is shown. It is refreshed by
# accounts.middleware.SessionActivityMiddleware at most once per interval (seconds), in place
# of allauth's middleware, which writes on every request.
USERSESSIONS_TRACK_ACTIVITY = True
LMS_SESSION_ACTIVITY_INTERVAL = env.int("LMS_SESSION_ACTIVITY_INTERVAL", default=300)
# App clients (mobile, the video player) sign in at /_allauth/app/v1/ and get JWTs.
HEADLESS_CLIENTS = ("app",)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.strategy.JWTTokenStrategy"  # noqa: S105
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("JWT_ACCESS_TOKEN_EXPIRES_IN", default=300)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("JWT_REFRESH_TOKEN_EXPIRES_IN", default=86400 * 30)
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
# Revoking a session (usersessions) must also stop its access tokens at once.
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
# With JWT_PRIVATE_KEY (RSA, PEM) tokens are RS256, verifiable by other services with the
# public key; without it allauth signs HS256 with SECRET_KEY, which only this site can check.
HEADLESS_JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="").replace("\\n", "\n")
HEADLESS_JWT_ALGORITHM = "RS256" if HEADLESS_JWT_PRIVATE_KEY else "HS256"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from npm (package.json, installed by make) and are served from our
# static files under vendor/: no CDN at runtime. Without npm the pages say what is missing.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/mux-player", BASE_DIR / "node_modules" / "@mux" / "mux-player" / "dist"),
    ("vendor/upchunk", BASE_DIR / "node_modules" / "@mux" / "upchunk" / "dist"),
]
# Front-end packages installed by npm (package.json) are served from here, never from a CDN.
NODE_MODULES_DIR = BASE_DIR / "node_modules"
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media-files")

# Local files unless an S3-compatible bucket is configured (AWS S3, Cloudflare R2, MinIO).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
            "default_acl": None,
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "file_overwrite": False,
            # SigV4 everywhere: R2, MinIO and newer AWS regions refuse the older scheme.
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
        },
    }
else:
    default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------
# Printed to the console by default; EMAIL_URL=smtp+tls://... sends through SMTP, and
# ANYMAIL_PROVIDER (with ANYMAIL_API_KEY) through a provider's HTTP API instead.
# Either way the Celery task `lms.tasks.email_deliver` does the sending, with retries.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_CONFIG.pop("OPTIONS", None)  # `?timeout=` lands here; EMAIL_TIMEOUT is the setting
vars().update(EMAIL_CONFIG)
# A mail server that stops answering must not hold a worker forever (Django waits forever).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
ANYMAIL_PROVIDER = env.str("ANYMAIL_PROVIDER", default="").strip().lower()
if ANYMAIL_PROVIDER:
    # anymail names its backends and settings after the provider: "mailgun" ->
    # anymail.backends.mailgun.EmailBackend reading ANYMAIL["MAILGUN_API_KEY"].
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_PROVIDER}.EmailBackend"
    _esp = ANYMAIL_PROVIDER.upper()
    ANYMAIL = {"REQUESTS_TIMEOUT": EMAIL_TIMEOUT}
    if ANYMAIL_PROVIDER == "amazon_ses":
        # SES signs requests with AWS credentials (boto3's usual AWS_* variables or role).
        ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] = {
            "region_name": env.str("ANYMAIL_AWS_REGION", default="us-east-1")
        }
    else:
        _secret_name = {"postmark": "SERVER_TOKEN", "mailersend": "API_TOKEN"}
        ANYMAIL[f"{_esp}_{_secret_name.get(ANYMAIL_PROVIDER, 'API_KEY')}"] = env.str(
            "ANYMAIL_API_KEY"
        )
    if _api_url := env.str("ANYMAIL_API_URL", default=""):  # e.g. Mailgun's EU region
        ANYMAIL[f"{_esp}_API_URL"] = _api_url
    if _sender_domain := env.str("ANYMAIL_SENDER_DOMAIN", default=""):  # Mailgun
        ANYMAIL[f"{_esp}_SENDER_DOMAIN"] = _sender_domain
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LMS School <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Failed deliveries are retried after up to 30 s, 1, 2, 4 ... 60 min (randomised, so a
# recovering server is not hit by every worker at once): about 2 hours at most in all.
EMAIL_DELIVERY_MAX_RETRIES = env.int("EMAIL_DELIVERY_MAX_RETRIES", default=8)
EMAIL_DELIVERY_RETRY_BACKOFF = 30
EMAIL_DELIVERY_RETRY_BACKOFF_MAX = 60 * 60

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
}

# --- Stripe billing -----------------------------------------------------------------------
# Secret API key (Developers → API keys; a restricted key needs Customers, Checkout Sessions,
# Customer portal and Subscriptions/Invoices read). Unset: billing is off and /pricing/ says
# so. STRIPE_API_BASE is only changed for tests (a loopback fake of Stripe's API).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# The endpoint's signing secret (whsec_...) of the webhook pointing at /webhooks/stripe/.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Days a subscription whose payment failed (past_due) keeps its access while Stripe retries.
LMS_BILLING_GRACE_DAYS = env.int("LMS_BILLING_GRACE_DAYS", default=7)

# --- Mux video ----------------------------------------------------------------------------
# API access token (Settings → Access tokens, Video read/write). Unset: video features say
# "not configured" instead of failing. MUX_API_URL is only changed for tests.
MUX_TOKEN_ID = env.str("MUX_TOKEN_ID", default="")
MUX_TOKEN_SECRET = env.str("MUX_TOKEN_SECRET", default="")
MUX_API_URL = env.str("MUX_API_URL", default="https://api.mux.com")
# Webhook signing secrets, comma-separated: list the new one next to the old while rotating.
MUX_WEBHOOK_SECRETS = env.list("MUX_WEBHOOK_SECRETS", default=[])
# Signing key for signed playback (Settings → Signing keys): its id and base64 private key.
MUX_SIGNING_KEY_ID = env.str("MUX_SIGNING_KEY_ID", default="")
MUX_SIGNING_KEY_PRIVATE = env.str("MUX_SIGNING_KEY_PRIVATE", default="")
# How long a playback token lives (seconds), and when a video waiting or preparing this many
# minutes is re-read from Mux by the reconciliation task.
LMS_PLAYBACK_TOKEN_TTL = env.int("LMS_PLAYBACK_TOKEN_TTL", default=3600)
LMS_VIDEO_STUCK_MINUTES = env.int("LMS_VIDEO_STUCK_MINUTES", default=30)

# --- API --------------------------------------------------------------------------------
# Request guards (lms.middleware) for bodies that are not forms (JSON: the API, app sign-in,
# webhooks): larger ones answer 413 PAYLOAD_TOO_LARGE, deeper nesting 400 PARSE_ERROR. 1 MiB
# holds a full progress sync batch (LMS_PROGRESS_SYNC_MAX_EVENTS) several times over; forms
# and uploads keep Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, then the 413 page).
LMS_API_MAX_BODY_BYTES = env.int("LMS_API_MAX_BODY_BYTES", default=1024 * 1024)
LMS_API_MAX_JSON_DEPTH = env.int("LMS_API_MAX_JSON_DEPTH", default=32)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lms.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # drf-spectacular's, plus the error statuses every view's machinery can answer.
    "DEFAULT_SCHEMA_CLASS": "lms.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lms.api.exceptions.exception_handler",
    # DRF's throttles, failing open when the cache is unreachable (lms.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "lms.throttling.AnonRateThrottle",
        "lms.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LMS API",
    "DESCRIPTION": "Versioned JSON API for mobile apps and the video player.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice fields named alike ("kind", "status", "type") in several apps get distinct names.
    "ENUM_NAME_OVERRIDES": {
        "TypeEnum": "catalog.models.Course.CourseType",
        "KindEnum": "catalog.models.Lesson.Kind",
        "QuestionKindEnum": "catalog.models.Question.Kind",
        "LessonProgressStatusEnum": "progress.models.LessonProgress.Status",
        "ProgressEventKindEnum": "progress.models.ProgressEvent.Kind",
    },
}

# --- Security ---------------------------------------------------------------------------
# Safe by default outside DEBUG; a TLS-terminating proxy sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp 4) ------------------------------------------------
# No inline script or style anywhere: scripts and styles are static files. Every source
# beyond 'self' is derived from a setting: Mux (player, uploads, Mux Data), the S3 bucket
# when configured, an absolute MEDIA_URL, and the CSP_*_EXTRA lists. Page parts that embed
# a component needing more (Mux Player's shadow-DOM styles) add it for their page only
# (lms.csp.COMPONENT_SOURCES). CSP_REPORT_ONLY=true sends the policy as Report-Only, to try
# a change in production before enforcing it.
from csp.constants import NONE as CSP_NONE  # noqa: E402 - beside the setting it serves
from csp.constants import SELF as CSP_SELF  # noqa: E402

from lms import csp as lms_csp  # noqa: E402

_storage_sources = (
    lms_csp.storage_sources(
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=default_storage["OPTIONS"]["endpoint_url"],
        region=default_storage["OPTIONS"]["region_name"],
        custom_domain=default_storage["OPTIONS"]["custom_domain"],
    )
    if AWS_STORAGE_BUCKET_NAME
    else []
)
_media_sources = [lms_csp.origin(MEDIA_URL)] if "://" in MEDIA_URL else []
_csp_extra = {
    directive: env.list(f"CSP_{directive.upper().replace('-', '_')}_EXTRA", default=[])
    for directive in ("script-src", "img-src", "media-src", "connect-src")
}
_csp_policy = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, *lms_csp.CAST_SCRIPT_SOURCES, *_csp_extra["script-src"]],
        "style-src": [CSP_SELF],
        # data: for the favicon and Swagger UI's icons.
        "img-src": [
            *(CSP_SELF, "data:", *lms_csp.MUX_SOURCES),
            *(*_storage_sources, *_media_sources, *_csp_extra["img-src"]),
        ],
        # blob: is where Mux Player's hls.js feeds the video (Media Source Extensions).
        "media-src": [
            *(CSP_SELF, "blob:", *lms_csp.MUX_SOURCES),
            *(*_storage_sources, *_media_sources, *_csp_extra["media-src"]),
        ],
        # fetch/XHR: HLS playlists and segments, Mux Data beacons, UpChunk's PUTs to Mux,
        # presigned uploads to the bucket.
        "connect-src": [
            *(CSP_SELF, *lms_csp.MUX_SOURCES, *lms_csp.MUX_UPLOAD_SOURCES),
            *(*_storage_sources, *_csp_extra["connect-src"]),
        ],
        "worker-src": [CSP_SELF, "blob:"],  # hls.js runs its demuxer in a blob: worker
        "font-src": [CSP_SELF, "data:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],  # as X_FRAME_OPTIONS, for browsers that read CSP only
        # form-action is left out on purpose: Chrome applies it to the redirects after a post,
        # and our forms redirect on to Stripe Checkout, the billing portal and Google sign-in.
        "upgrade-insecure-requests": not DEBUG,
        "report-uri": env.str("CSP_REPORT_URI", default="") or None,
    },
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp_policy
else:
    CONTENT_SECURITY_POLICY = _csp_policy

# --- Permissions-Policy (django-permissions-policy) ---------------------------------------
# Every powerful feature off, except what the site uses: the player goes fullscreen and
# picture-in-picture and may autoplay, the invite admin copies links to the clipboard.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "ambient-light-sensor": [],
    "autoplay": ["self"],
    "bluetooth": [],
    "browsing-topics": [],
    "camera": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": ["self"],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

# --- CORS (django-cors-headers) -------------------------------------------------------------
# Browser-based clients on other origins (a web app, a partner site) may call the API and
# app sign-in. Empty by default: same-origin pages and native apps need no CORS. Scheme
# included, e.g. https://app.example.com. They authenticate with app tokens (Authorization
# header), not cookies, unless CORS_ALLOW_CREDENTIALS is set.
from corsheaders.defaults import default_headers as cors_default_headers  # noqa: E402

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|_allauth)/.*$"
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", default=False)
CORS_ALLOW_HEADERS = (
    *cors_default_headers,
    "idempotency-key",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- Request ids ---------------------------------------------------------------------------
# Every response has an X-Request-ID, and every log line of the request carries it. An
# incoming X-Request-ID is kept only from a trusted proxy: by default when NUM_PROXIES is set.
LMS_TRUST_REQUEST_ID = env.bool(
    "LMS_TRUST_REQUEST_ID", default=bool(env.int("NUM_PROXIES", default=0))
)

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

# --- First superuser ------------------------------------------------------------------------
# Set both and `migrate` creates this superuser (verified address, Staff role) unless the
# email has an account already, which is then left as it is: rerunning migrate changes nothing.
FIRST_SUPERUSER_EMAIL = env.str("FIRST_SUPERUSER_EMAIL", default="")
FIRST_SUPERUSER_PASSWORD = env.str("FIRST_SUPERUSER_PASSWORD", default="")

# --- LMS --------------------------------------------------------------------------------
LMS_CATALOG_PAGE_SIZE = env.int("LMS_CATALOG_PAGE_SIZE", default=12)
# Largest avatar upload accepted on the profile page (bytes); pictures are stored re-encoded.
LMS_AVATAR_MAX_BYTES = env.int("LMS_AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
# Most pixels an avatar may have (read from the header, refused before decoding): it bounds
# the memory one upload can take, under 9 bytes per pixel at the peak (issue 11).
LMS_AVATAR_MAX_PIXELS = env.int("LMS_AVATAR_MAX_PIXELS", default=4096 * 4096)
# Largest presigned uploads of course thumbnails and lesson attachments (bytes).
LMS_THUMBNAIL_MAX_BYTES = env.int("LMS_THUMBNAIL_MAX_BYTES", default=5 * 1024 * 1024)
LMS_ATTACHMENT_MAX_BYTES = env.int("LMS_ATTACHMENT_MAX_BYTES", default=50 * 1024 * 1024)
# Presigned uploads still unconfirmed after this many hours are deleted, with their objects.
LMS_UPLOAD_PENDING_HOURS = env.int("LMS_UPLOAD_PENDING_HOURS", default=24)
if LMS_UPLOAD_PENDING_HOURS < 1:
    # Less would delete uploads still in progress (their presigned URLs live 10 minutes).
    raise ImproperlyConfigured("LMS_UPLOAD_PENDING_HOURS must be at least 1.")
# Learning: a video lesson completes once this share of it has been watched (0-1).
LMS_VIDEO_COMPLETE_THRESHOLD = env.float("LMS_VIDEO_COMPLETE_THRESHOLD", default=0.9)
# Heartbeats may advance at most this many times real time (players offer up to 2x speed).
LMS_VIDEO_MAX_PLAYBACK_RATE = env.float("LMS_VIDEO_MAX_PLAYBACK_RATE", default=2.0)
# XP on top of each lesson's own XP value.
LMS_XP_QUIZ_PASS = env.int("LMS_XP_QUIZ_PASS", default=20)
LMS_XP_BOSS_BONUS = env.int("LMS_XP_BOSS_BONUS", default=50)
LMS_XP_COURSE_COMPLETE = env.int("LMS_XP_COURSE_COMPLETE", default=100)
# The XP at which each level starts: level 1 at 0 XP, level 2 at the second value, and so on.
LMS_XP_LEVELS = env.list(
    "LMS_XP_LEVELS", cast=int, default=[0, 100, 250, 500, 1000, 2000, 3500, 5500, 8000, 11000]
)
# Streak lengths (days) celebrated as milestones; the next one is shown to the learner.
LMS_STREAK_MILESTONES = env.list(
    "LMS_STREAK_MILESTONES", cast=int, default=[3, 7, 14, 30, 60, 100, 180, 365]
)
# Largest batch `POST /api/v1/progress/sync/` accepts.
LMS_PROGRESS_SYNC_MAX_EVENTS = env.int("LMS_PROGRESS_SYNC_MAX_EVENTS", default=500)
# Where `/readyz` looks: the broker is only checked when Celery is not eager.
LMS_READYZ_CHECK_BROKER = not CELERY_TASK_ALWAYS_EAGER
