"""Security: TLS and cookies, Content-Security-Policy, Permissions-Policy, CORS, request ids."""

from lms.settings.base import AWS_STORAGE_BUCKET_NAME, DEBUG, MEDIA_URL, default_storage, env

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
