"""Stripe and Mux: keys, webhook secrets and their tolerances."""

from lms.settings.base import env

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
# MP4/M4A downloads (Mux static renditions, for offline apps): the resolutions new direct
# uploads ask for, comma-separated ("highest", "audio-only", "1080p", "720p", ...; see
# media.mux.STATIC_RENDITION_RESOLUTIONS). Empty (the default): none, nothing extra is
# stored at Mux. MUX_STREAM_URL (where the files are fetched) is only changed for tests.
MUX_STATIC_RENDITIONS = env.list("MUX_STATIC_RENDITIONS", default=[])
MUX_STREAM_URL = env.str("MUX_STREAM_URL", default="https://stream.mux.com")

# --- Video files (the second source beside Mux) --------------------------------------------
# MP4/WebM files in the default storage, uploaded in the admin. Largest file accepted (bytes;
# they pass through the web server). Their signed URLs live LMS_PLAYBACK_TOKEN_TTL seconds.
LMS_VIDEO_FILE_MAX_BYTES = env.int("LMS_VIDEO_FILE_MAX_BYTES", default=500 * 1024 * 1024)
