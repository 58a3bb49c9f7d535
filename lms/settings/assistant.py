"""The AI assistant's provider: an OpenAI-compatible endpoint, its prices and the budget.

Unset (LLM_BASE_URL or LLM_MODEL empty), every AI feature says "not configured" and no request
leaves the server (README "AI assistant").
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import env


def _usd(name: str) -> Decimal:
    """A USD amount from the environment ("0.15"), refused at start when it is not a number."""
    raw = env.str(name, default="0")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number of USD, not {raw!r}.") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name} must be a positive number of USD (or 0).")
    return value


# --- Provider (any OpenAI-compatible chat completions endpoint) ----------------------------
# The API root the `openai` SDK talks to, usually ending in /v1 (OpenAI
# https://api.openai.com/v1, Gemini https://generativelanguage.googleapis.com/v1beta/openai/,
# vLLM http://vllm:8000/v1, Ollama http://localhost:11434/v1), the key (empty for servers
# without one) and the model name as that endpoint spells it.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
# Seconds to connect, and to wait for the answer (for a streamed one: between two chunks).
LLM_CONNECT_TIMEOUT_SECONDS = env.float("LLM_CONNECT_TIMEOUT_SECONDS", default=5.0)
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=60.0)
# Retries the SDK makes itself on connection errors, 408/409/429 and 5xx (with backoff).
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=1)

# --- Cost and budget ----------------------------------------------------------------------
# The model's list prices in USD per million tokens (input = prompt, output = completion);
# each call's cost is recorded from its tokens. 0 records calls at no cost (self-hosted).
LLM_PRICE_INPUT_PER_MILLION = _usd("LLM_PRICE_INPUT_PER_MILLION")
LLM_PRICE_OUTPUT_PER_MILLION = _usd("LLM_PRICE_OUTPUT_PER_MILLION")
# The school's spend per calendar month (USD, TIME_ZONE): once the month's calls cost this
# much, new calls are refused (AI_BUDGET_EXHAUSTED) until the 1st. 0 means no budget.
LLM_MONTHLY_BUDGET_USD = _usd("LLM_MONTHLY_BUDGET_USD")
if LLM_TIMEOUT_SECONDS <= 0 or LLM_CONNECT_TIMEOUT_SECONDS <= 0 or LLM_MAX_RETRIES < 0:
    raise ImproperlyConfigured("LLM timeouts must be positive and LLM_MAX_RETRIES at least 0.")

# --- The lesson tutor (README "AI assistant › Tutor") --------------------------------------
# Questions a day for learners of a tier with no quota row in the admin ("Tutor quotas"),
# and for learners without a tier when that row is missing too. 0 switches the tutor off.
LMS_TUTOR_QUESTIONS_PER_DAY = env.int("LMS_TUTOR_QUESTIONS_PER_DAY", default=5)
# Lesson text sent with a question: at most this many characters in all (half at most for
# the lesson asked about), from at most LMS_TUTOR_SOURCES lessons (that one included).
LMS_TUTOR_CONTEXT_CHARS = env.int("LMS_TUTOR_CONTEXT_CHARS", default=12_000)
LMS_TUTOR_SOURCES = env.int("LMS_TUTOR_SOURCES", default=4)
# The longest answer asked of the provider, in tokens.
LMS_TUTOR_MAX_ANSWER_TOKENS = env.int("LMS_TUTOR_MAX_ANSWER_TOKENS", default=700)
if LMS_TUTOR_QUESTIONS_PER_DAY < 0 or LMS_TUTOR_CONTEXT_CHARS < 1000 or LMS_TUTOR_SOURCES < 1:
    raise ImproperlyConfigured(
        "LMS_TUTOR_QUESTIONS_PER_DAY must be at least 0, LMS_TUTOR_CONTEXT_CHARS at least "
        "1000 and LMS_TUTOR_SOURCES at least 1."
    )
if LMS_TUTOR_MAX_ANSWER_TOKENS < 50:
    raise ImproperlyConfigured("LMS_TUTOR_MAX_ANSWER_TOKENS must be at least 50.")
