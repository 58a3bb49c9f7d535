"""Core settings: the secret key and hosts, apps and middleware, the database, cache and
sessions, sign-in (django-allauth), languages, static and media files.

`env` here is the one django-environ reader the other modules of this package share.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    # First: its `runserver` serves HTTP and WebSockets (lms.asgi) in development.
    "daphne",
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
    "accounts.allauth_app.AllauthAccountConfig",  # allauth.account: "Email addresses"
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
    "notifications",  # any app above accounts may send one
    "billing",
    "media",
    "catalog",
    "progress",
    "community",  # top of the chain: discussions, chat, announcements
    "analytics",  # top of the chain too: events, rollups, dashboards, data export
    "assistant",  # top of the chain too: LLM calls, drafts for approval, the lesson tutor
    "showcase",  # top of the chain too: projects, staff-authored or learner-submitted
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
                "notifications.context_processors.bell",  # the header bell, read lazily
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# SQLite file by default; DATABASE_URL=postgres://... uses PostgreSQL through psycopg 3.
# Connections are kept by default: each process reuses its connection for DB_CONN_MAX_AGE
# seconds, checked before reuse after an error (CONN_HEALTH_CHECKS), instead of paying a
# new PostgreSQL connection (several ms) on every request. DB_POOL=true uses psycopg's pool
# instead (PostgreSQL only, one pool per process, DB_POOL_MIN_SIZE..DB_POOL_MAX_SIZE
# connections; a request waits up to DB_POOL_TIMEOUT seconds for one): better under an ASGI
# server, whose threads come and go. Behind pgbouncer in transaction mode keep neither:
# DB_CONN_MAX_AGE=0 and DISABLE_SERVER_SIDE_CURSORS=true (pgbouncer pools for us).
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DB_POOL = env.bool("DB_POOL", default=False)
if DB_POOL and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DB_POOL=true needs PostgreSQL (DATABASE_URL=postgres://...).")
if DB_POOL:
    # Django's pool refuses persistent connections: the pool keeps them.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
else:
    # SQLite (`make run`) opens a file, not a connection: nothing to keep.
    _sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0 if _sqlite else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DISABLE_SERVER_SIDE_CURSORS", default=False
)
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
# Sessions: with Redis, "cached_db" by default: a request reads its session from the cache,
# no query, and the database copy keeps people signed in through a Redis outage (sessions are
# read from the database meanwhile). Without Redis, "db". "cache" keeps them in Redis only:
# while Redis is down, nobody stays signed in (pages still answer). A session is written only
# when it changes; "last seen" (accounts.middleware) changes it once per
# LMS_SESSION_ACTIVITY_INTERVAL, not on every request.
SESSION_STORE = env.str("SESSION_STORE", default="cached_db" if REDIS_URL else "db")
_SESSION_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "lms.sessions",  # Django's cache sessions, answering while Redis is down
    "cached_db": "django.contrib.sessions.backends.cached_db",
}
if SESSION_STORE not in _SESSION_ENGINES:
    raise ImproperlyConfigured(
        f"SESSION_STORE must be one of {', '.join(_SESSION_ENGINES)}, not {SESSION_STORE!r}."
    )
SESSION_ENGINE = _SESSION_ENGINES[SESSION_STORE]

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
# ... and the full name, which certificates carry (browser and app sign-up alike).
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupNameForm"
# After verifying the address, a new learner lands where they came from (`next`, e.g. the
# course page they signed up on) or else on My learning, not the marketing home.
ACCOUNT_SIGNUP_REDIRECT_URL = "progress:dashboard"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS = env.int("ACCOUNT_CODE_MAX_ATTEMPTS", default=3)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = env.int("ACCOUNT_CODE_TIMEOUT", default=15 * 60)
# "Send a new code" on the code page: this many new codes per sign-up (0 turns it off), each
# also under allauth's "confirm_email" rate limit (one email per address per 10 seconds).
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = env.int("ACCOUNT_CODE_MAX_RESENDS", default=3)
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
