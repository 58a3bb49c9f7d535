"""Email: console in development, SMTP or an anymail provider in production."""

from lms.settings.base import env

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
