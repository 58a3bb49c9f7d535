"""The one boundary to the LLM provider: the official `openai` SDK against any
OpenAI-compatible chat completions endpoint (OpenAI, Gemini's OpenAI-compatible endpoint,
vLLM, Ollama), configured by `LLM_*` settings (lms/settings/assistant.py).

This is the only module that imports `openai`. Callers (drafts, the tutor) get:

- `llm_configured()`: whether any AI feature can work; pages say "not configured" otherwise.
- `chat_complete(...) -> ChatResult`: one answer, whole.
- `chat_stream(...) -> ChatStream`: an iterator of text deltas; its `result` once it ended.
- `budget_remaining()`: USD left this month, None without a budget.

Both calls refuse before sending anything when the provider is not configured
(AINotConfigured) or this month's budget is spent (AIBudgetExhausted), and map every provider
failure to an AIError subclass with a stable code (`retryable` for the transient ones). Every
call that reached the provider is recorded as an LLMCall, answered or not, with its tokens and
cost.

Transactions: call these OUTSIDE `transaction.atomic`. A provider call takes seconds (no
locks should wait on it) and its LLMCall row must outlive a caller's rollback, as the money is
spent either way: the row is written in autocommit as the call ends. Calling from inside a
caller's atomic block raises RuntimeError (tests' own transactions excepted).
"""

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import openai
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from assistant.models import LLMCall
from lms.errors import ApplicationError, ErrorCode, transient_error_classifier

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

MICRO = Decimal("0.000001")
# Without a usage report (a stream broken before its last chunk): about 4 characters a token.
CHARS_PER_TOKEN = 4


# --- Errors ---------------------------------------------------------------------------------
class AIError(ApplicationError):
    """A call to the provider that did not give an answer. `retryable`: it may work later."""

    code_default: ErrorCode = ErrorCode.AI_PROVIDER_ERROR
    retryable: bool = False

    def __init__(self, message: str | None = None, *, retryable: bool | None = None) -> None:
        super().__init__(self.code_default, message)
        if retryable is not None:
            self.retryable = retryable


class AINotConfigured(AIError):
    code_default = ErrorCode.AI_NOT_CONFIGURED


class AIBudgetExhausted(AIError):
    code_default = ErrorCode.AI_BUDGET_EXHAUSTED


class AIProviderError(AIError):
    """The provider refused (4xx: permanent) or failed (429, 5xx, unreachable: retryable), or
    answered something that is not a chat completion."""

    code_default = ErrorCode.AI_PROVIDER_ERROR


class AITimeout(AIError):
    code_default = ErrorCode.AI_TIMEOUT
    retryable = True


@transient_error_classifier
def ai_error_is_transient(error: BaseException) -> bool:
    """Registered with lms.errors: tasks retry a provider failure only when it is retryable."""
    return isinstance(error, AIError) and error.retryable


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    call_id: Any  # the LLMCall's UUID
    # "stop", or "length" when max_tokens cut the answer short.
    finish_reason: str = ""


# --- Configuration, cost and budget -----------------------------------------------------------
def llm_configured() -> bool:
    return bool(settings.LLM_BASE_URL and settings.LLM_MODEL)


def call_cost(*, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """USD for these tokens at the configured prices (per million), to the micro-dollar."""
    cost = (
        prompt_tokens * settings.LLM_PRICE_INPUT_PER_MILLION
        + completion_tokens * settings.LLM_PRICE_OUTPUT_PER_MILLION
    ) / Decimal(1_000_000)
    return cost.quantize(MICRO, rounding=ROUND_HALF_UP)


def month_start(*, now: datetime | None = None) -> datetime:
    """The first instant of this calendar month in the school's time zone (TIME_ZONE)."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spent() -> Decimal:
    """USD the provider calls of this month cost."""
    total = LLMCall.objects.filter(created_at__gte=month_start()).aggregate(s=Sum("cost_usd"))
    return total["s"] or Decimal("0")


def budget_remaining() -> Decimal | None:
    """USD left of this month's budget (never below 0), or None when there is no budget."""
    budget = settings.LLM_MONTHLY_BUDGET_USD
    if not budget:
        return None
    return max(budget - month_spent(), Decimal("0"))


def _refuse_early() -> None:
    if not llm_configured():
        raise AINotConfigured()
    remaining = budget_remaining()
    if remaining is not None and remaining <= 0:
        raise AIBudgetExhausted()
    atomic_blocks = getattr(connection, "atomic_blocks", [])
    if any(not block._from_testcase for block in atomic_blocks):
        raise RuntimeError(
            "assistant.llm calls must run outside transaction.atomic: the LLMCall row has to "
            "survive the caller's rollback, and no lock should wait on the provider."
        )


def _client() -> openai.OpenAI:
    return openai.OpenAI(
        base_url=settings.LLM_BASE_URL,
        # Self-hosted servers take any key; the SDK insists on one.
        api_key=settings.LLM_API_KEY or "not-needed",
        timeout=openai.Timeout(
            settings.LLM_TIMEOUT_SECONDS, connect=settings.LLM_CONNECT_TIMEOUT_SECONDS
        ),
        max_retries=settings.LLM_MAX_RETRIES,
    )


# --- Provider errors -> our codes -------------------------------------------------------------
def _status_message(error: openai.APIStatusError) -> str:
    detail = ""
    body = error.body
    if isinstance(body, dict):
        detail = str(body.get("message") or body.get("error") or "")
    return f"The AI provider answered HTTP {error.status_code}. {detail}".strip()[:500]


def _map_error(error: Exception) -> AIError:
    """The AIError for whatever the SDK (or a malformed answer) raised."""
    if isinstance(error, AIError):
        return error
    if isinstance(error, openai.APITimeoutError):
        return AITimeout()
    if isinstance(error, openai.APIConnectionError):
        return AIProviderError("The AI provider could not be reached.", retryable=True)
    if isinstance(error, openai.APIStatusError):
        retryable = error.status_code in (408, 409, 429) or error.status_code >= 500
        return AIProviderError(_status_message(error), retryable=retryable)
    logger.warning("LLM answer not understood: %r", error)
    return AIProviderError("The AI provider's answer could not be read.")


def _record(
    *,
    purpose: str,
    user: "User | None",
    course_id: uuid.UUID | None,
    lesson_id: uuid.UUID | None,
    model: str,
    streamed: bool,
    started: float,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    usage_estimated: bool = False,
    error: AIError | None = None,
    cancelled: bool = False,
) -> LLMCall:
    if error is None:
        status = LLMCall.Status.CANCELLED if cancelled else LLMCall.Status.OK
    else:
        status = LLMCall.Status.TIMEOUT if isinstance(error, AITimeout) else LLMCall.Status.ERROR
    return LLMCall.objects.create(
        purpose=purpose,
        user=user if user is not None and user.is_authenticated else None,
        course_id=course_id,
        lesson_id=lesson_id,
        model=model[:200],
        streamed=streamed,
        status=status,
        error_code=error.code if error else "",
        error_message=error.message[:500] if error else "",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        usage_estimated=usage_estimated,
        cost_usd=call_cost(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
        latency_ms=int((time.monotonic() - started) * 1000),
    )


def _estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def _prompt_chars(messages: list[dict[str, str]]) -> str:
    return "".join(str(m.get("content", "")) for m in messages)


# --- Whole answers ----------------------------------------------------------------------------
def chat_complete(
    *,
    messages: list[dict[str, str]],
    purpose: str,
    user: "User | None",
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    max_tokens: int,
    temperature: float = 0.2,
) -> ChatResult:
    """Ask for one chat completion and wait for all of it.

    Raises AINotConfigured / AIBudgetExhausted before sending anything, AITimeout or
    AIProviderError when the provider does not answer well (the call is recorded).
    """
    _refuse_early()
    record = {
        "purpose": purpose,
        "user": user,
        "course_id": course_id,
        "lesson_id": lesson_id,
        "model": settings.LLM_MODEL,
        "streamed": False,
        "started": time.monotonic(),
    }
    try:
        completion = _client().chat.completions.create(
            model=settings.LLM_MODEL,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        text, finish_reason = _completion_text(completion)
    except Exception as exc:  # the SDK's errors and malformed answers alike
        error = _map_error(exc)
        _record(**record, error=error)
        raise error from exc
    usage = getattr(completion, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    estimated = prompt_tokens is None or completion_tokens is None
    if estimated:
        prompt_tokens = _estimate_tokens(_prompt_chars(messages))
        completion_tokens = _estimate_tokens(text)
    model = getattr(completion, "model", None) or settings.LLM_MODEL
    call = _record(
        **{**record, "model": model},
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        usage_estimated=estimated,
    )
    return ChatResult(
        text=text,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        call_id=call.id,
        finish_reason=finish_reason,
    )


def _completion_text(completion: Any) -> tuple[str, str]:
    """The answer's text and finish reason; AIProviderError for anything else."""
    choices = getattr(completion, "choices", None)
    if not choices:
        raise AIProviderError("The AI provider's answer had no choices.")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if not isinstance(text, str) or not text.strip():
        raise AIProviderError("The AI provider's answer had no text.")
    return text, str(getattr(choices[0], "finish_reason", "") or "")


# --- Streamed answers -------------------------------------------------------------------------
class ChatStream:
    """Text deltas of one streamed chat completion, in order.

    Iterate it to the end, or `close()` it (or use it as a context manager): the LLMCall is
    recorded then (status ok, error, timeout, or cancelled when closed early), with the usage
    from the provider's last chunk, else estimated. After the end, `result` is the ChatResult
    (with the whole text). A failure mid-stream raises an AIError from the iteration.
    """

    def __init__(self, *, raw: Any, record: dict[str, Any], prompt: str) -> None:
        self._raw = raw
        self._record = record
        self._prompt = prompt
        self._parts: list[str] = []
        self._usage: Any = None
        self._model = record["model"]
        self._finish_reason = ""
        self._done = False
        self.result: ChatResult | None = None
        self._deltas = self._read()
        self._pending: str | None = None
        self.call_id: Any = None

    def _prime(self) -> None:
        """Read up to the first delta, so that failures before any text raise at the call."""
        try:
            self._pending = next(self._deltas)
        except StopIteration:
            raise AIProviderError("The AI provider's answer had no text.") from None

    def _read(self) -> Iterator[str]:
        for chunk in self._raw:
            self._model = getattr(chunk, "model", None) or self._model
            if getattr(chunk, "usage", None) is not None:
                self._usage = chunk.usage
            for choice in getattr(chunk, "choices", None) or []:
                if choice.finish_reason:
                    self._finish_reason = str(choice.finish_reason)
                text = getattr(choice.delta, "content", None) if choice.delta else None
                if text:
                    self._parts.append(text)
                    yield text

    def __iter__(self) -> "ChatStream":
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        if self._pending is not None:
            text, self._pending = self._pending, None
            return text
        try:
            return next(self._deltas)
        except StopIteration:
            if not self._finish_reason:
                # The connection closed without the last chunk: the answer is cut short.
                error = AIProviderError("The AI provider's answer broke off.", retryable=True)
                self._finish(error=error)
                raise error from None
            self._finish(error=None)
            raise
        except Exception as exc:
            error = _map_error(exc)
            self._finish(error=error)
            raise error from exc

    def close(self) -> None:
        """Stop reading (the connection is closed) and record the call if not yet recorded."""
        if not self._done:
            self._finish(error=None, cancelled=True)

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _finish(self, *, error: AIError | None, cancelled: bool = False) -> None:
        self._done = True
        close = getattr(self._raw, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                logger.debug("closing the LLM stream failed", exc_info=True)
        text = "".join(self._parts)
        prompt_tokens = getattr(self._usage, "prompt_tokens", None)
        completion_tokens = getattr(self._usage, "completion_tokens", None)
        estimated = prompt_tokens is None or completion_tokens is None
        if estimated and error is not None and not text:
            # Failed before any text: count nothing rather than guess a bill.
            prompt_tokens, completion_tokens, estimated = 0, 0, False
        elif estimated:
            prompt_tokens = _estimate_tokens(self._prompt)
            completion_tokens = _estimate_tokens(text)
        call = _record(
            **{**self._record, "model": self._model},
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            usage_estimated=estimated,
            error=error,
            cancelled=cancelled,
        )
        if error is None and not cancelled:
            self.result = ChatResult(
                text=text,
                model=self._model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                call_id=call.id,
                finish_reason=self._finish_reason,
            )
        self.call_id = call.id


def chat_stream(
    *,
    messages: list[dict[str, str]],
    purpose: str,
    user: "User | None",
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    max_tokens: int,
    temperature: float = 0.2,
) -> ChatStream:
    """Ask for a streamed chat completion; iterate the result for its text deltas.

    Raises before sending anything as `chat_complete` does; a refusal, timeout or broken
    answer before the first delta raises here (recorded); later ones raise from iteration.
    """
    _refuse_early()
    record = {
        "purpose": purpose,
        "user": user,
        "course_id": course_id,
        "lesson_id": lesson_id,
        "model": settings.LLM_MODEL,
        "streamed": True,
        "started": time.monotonic(),
    }
    prompt = _prompt_chars(messages)
    try:
        raw = _client().chat.completions.create(
            model=settings.LLM_MODEL,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=True,
            stream_options={"include_usage": True},
        )
    except Exception as exc:
        error = _map_error(exc)
        _record(**record, error=error)
        raise error from exc
    stream = ChatStream(raw=raw, record=record, prompt=prompt)
    try:
        stream._prime()
    except Exception as exc:
        error = _map_error(exc)
        stream._finish(error=error)
        raise error from exc
    return stream
