"""The provider boundary, driven through the real `openai` SDK against the loopback fake:
whole and streamed answers, every failure mapped to a stable code, usage and cost recorded,
the monthly budget and "not configured" refusing before any request leaves."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from assistant import llm
from assistant.models import LLMCall
from assistant.tests.fake_llm import Reply
from catalog.tests.factories import LessonFactory
from lms.errors import ErrorCode, error_is_transient

pytestmark = pytest.mark.django_db

MESSAGES = [
    {"role": "system", "content": "Answer from the lesson only."},
    {"role": "user", "content": "What is a closure?"},
]


def ask(**overrides):
    return llm.chat_complete(
        **{"messages": MESSAGES, "purpose": "tutor", "user": None, "max_tokens": 200, **overrides}
    )


def stream(**overrides):
    return llm.chat_stream(
        **{"messages": MESSAGES, "purpose": "tutor", "user": None, "max_tokens": 200, **overrides}
    )


@pytest.fixture
def priced(settings):
    """List prices of USD 2.50 / 10.00 per million tokens."""
    settings.LLM_PRICE_INPUT_PER_MILLION = Decimal("2.50")
    settings.LLM_PRICE_OUTPUT_PER_MILLION = Decimal("10.00")


# --- Whole answers ----------------------------------------------------------------------------
def test_a_whole_answer_records_its_tokens_cost_and_who_asked(fake_llm, priced):
    user = UserFactory()
    lesson = LessonFactory()
    fake_llm.reply("A closure keeps its scope.", prompt_tokens=1200, completion_tokens=300)

    result = ask(user=user, course_id=lesson.course_id, lesson_id=lesson.id, temperature=0.0)

    assert (result.text, result.model, result.finish_reason) == (
        "A closure keeps its scope.",
        "fake-model-1",
        "stop",
    )
    assert (result.prompt_tokens, result.completion_tokens) == (1200, 300)
    (sent,) = fake_llm.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-fake-loopback"
    assert sent.body == {
        "model": "fake-model-1",
        "messages": MESSAGES,
        "max_tokens": 200,
        "temperature": 0.0,
    }
    call = LLMCall.objects.get()
    assert call.id == result.call_id
    assert (call.purpose, call.user, call.course_id, call.lesson_id) == (
        "tutor",
        user,
        lesson.course_id,
        lesson.id,
    )
    assert (call.status, call.error_code, call.streamed, call.usage_estimated) == (
        "ok",
        "",
        False,
        False,
    )
    assert (call.prompt_tokens, call.completion_tokens) == (1200, 300)
    # 1200 * 2.50 / 1M + 300 * 10.00 / 1M
    assert call.cost_usd == Decimal("0.006000")
    assert call.latency_ms >= 0


def test_an_answer_cut_by_max_tokens_says_so(fake_llm):
    fake_llm.reply("A closure is", finish_reason="length")

    assert ask().finish_reason == "length"


def test_the_sdk_retries_a_5xx_when_retries_are_allowed(fake_llm, settings):
    settings.LLM_MAX_RETRIES = 1
    fake_llm.fail_next(503)

    assert ask().text == "This is the fake model's answer."
    assert len(fake_llm.requests) == 2
    assert list(LLMCall.objects.values_list("status", flat=True)) == ["ok"]


# --- Streamed answers -------------------------------------------------------------------------
def test_a_streamed_answer_yields_its_deltas_and_records_the_usage_of_its_last_chunk(
    fake_llm, priced
):
    fake_llm.reply(
        chunks=["A closure ", "keeps ", "its scope."], prompt_tokens=400, completion_tokens=100
    )

    answer = stream(purpose="tutor")
    deltas = list(answer)

    assert deltas == ["A closure ", "keeps ", "its scope."]
    assert fake_llm.last.body["stream"] is True
    assert fake_llm.last.body["stream_options"] == {"include_usage": True}
    assert answer.result.text == "A closure keeps its scope."
    assert (answer.result.prompt_tokens, answer.result.completion_tokens) == (400, 100)
    call = LLMCall.objects.get()
    assert answer.result.call_id == answer.call_id == call.id
    assert (call.status, call.streamed, call.usage_estimated) == ("ok", True, False)
    assert call.cost_usd == Decimal("0.002000")  # 400 * 2.50 / 1M + 100 * 10.00 / 1M


def test_a_stream_without_usage_is_recorded_with_estimated_tokens(fake_llm):
    fake_llm.reply(chunks=["x" * 40], omit_usage=True)

    assert list(stream()) == ["x" * 40]

    call = LLMCall.objects.get()
    assert (call.status, call.usage_estimated, call.completion_tokens) == ("ok", True, 10)
    assert call.prompt_tokens == (len("Answer from the lesson only.What is a closure?") + 3) // 4


def test_a_stream_its_reader_closes_early_is_recorded_as_cancelled(fake_llm):
    fake_llm.reply(chunks=["one ", "two ", "three"], chunk_delay=0.05)

    with stream() as answer:
        assert next(answer) == "one "

    call = LLMCall.objects.get()
    assert (call.status, call.usage_estimated, call.completion_tokens) == ("cancelled", True, 1)
    assert answer.result is None
    assert list(answer) == []


def test_a_stream_that_breaks_off_raises_a_retryable_provider_error(fake_llm):
    fake_llm.reply(chunks=["one ", "two ", "three"], break_after=2)
    answer = stream()

    assert next(answer) == "one "
    assert next(answer) == "two "
    with pytest.raises(llm.AIProviderError) as raised:
        next(answer)

    assert raised.value.code == ErrorCode.AI_PROVIDER_ERROR
    assert raised.value.retryable is True
    call = LLMCall.objects.get()
    assert (call.status, call.error_code, call.usage_estimated) == (
        "error",
        "AI_PROVIDER_ERROR",
        True,
    )


def test_a_malformed_chunk_mid_stream_raises_a_provider_error(fake_llm):
    fake_llm.reply(chunks=["one ", "two "], malformed=True)
    answer = stream()

    assert next(answer) == "one "
    with pytest.raises(llm.AIProviderError):
        next(answer)

    assert LLMCall.objects.get().status == "error"


def test_a_stream_that_stalls_between_chunks_times_out(fake_llm, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.reply(chunks=["one ", "two "], chunk_delay=1.0, stall_at=1)
    answer = stream()

    assert next(answer) == "one "
    with pytest.raises(llm.AITimeout) as raised:
        next(answer)

    assert (raised.value.code, raised.value.retryable) == (ErrorCode.AI_TIMEOUT, True)
    assert LLMCall.objects.get().status == "timeout"


# --- Failures mapped to stable codes (whole and streamed alike) --------------------------------
@pytest.mark.parametrize("call", [ask, stream], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (401, False), (404, False), (429, True), (500, True)]
)
def test_provider_http_errors_raise_provider_error_before_any_text(
    fake_llm, call, status, retryable
):
    fake_llm.reply(status=status, error_message="Nope.")

    with pytest.raises(llm.AIProviderError) as raised:
        call()

    error = raised.value
    assert (error.code, error.status, error.retryable) == (
        ErrorCode.AI_PROVIDER_ERROR,
        502,
        retryable,
    )
    assert error_is_transient(error) is retryable
    assert f"HTTP {status}" in error.message
    recorded = LLMCall.objects.get()
    assert (recorded.status, recorded.error_code, recorded.cost_usd) == (
        "error",
        "AI_PROVIDER_ERROR",
        Decimal("0"),
    )
    assert f"HTTP {status}" in recorded.error_message


def test_a_wrong_key_is_a_permanent_provider_error(fake_llm, settings):
    settings.LLM_API_KEY = "sk-wrong"

    with pytest.raises(llm.AIProviderError) as raised:
        ask()

    assert "HTTP 401" in raised.value.message
    assert raised.value.retryable is False


@pytest.mark.parametrize("call", [ask, stream], ids=["whole", "streamed"])
def test_a_slow_provider_times_out(fake_llm, settings, call):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.reply(delay=1.0)

    with pytest.raises(llm.AITimeout) as raised:
        call()

    assert (raised.value.code, raised.value.status) == (ErrorCode.AI_TIMEOUT, 504)
    recorded = LLMCall.objects.get()
    assert (recorded.status, recorded.error_code) == ("timeout", "AI_TIMEOUT")
    assert recorded.latency_ms >= 300


@pytest.mark.parametrize(
    "reply", [Reply(malformed=True), Reply(no_choices=True), Reply(text="")], ids=str
)
def test_a_whole_answer_that_is_no_chat_completion_is_a_provider_error(fake_llm, reply):
    fake_llm.queue(reply)

    with pytest.raises(llm.AIProviderError) as raised:
        ask()

    assert raised.value.retryable is False
    assert LLMCall.objects.get().error_code == "AI_PROVIDER_ERROR"


def test_a_stream_with_no_text_is_a_provider_error(fake_llm):
    fake_llm.reply(chunks=[])

    with pytest.raises(llm.AIProviderError):
        stream()

    assert LLMCall.objects.get().status == "error"


def test_an_unreachable_provider_is_a_retryable_provider_error(fake_llm, settings):
    fake_llm.stop()  # nothing listens on its port any more

    with pytest.raises(llm.AIProviderError) as raised:
        ask()

    assert raised.value.retryable is True
    assert "could not be reached" in raised.value.message


# --- Refusals before any request ---------------------------------------------------------------
@pytest.mark.parametrize("unset", ["LLM_BASE_URL", "LLM_MODEL"])
@pytest.mark.parametrize("call", [ask, stream], ids=["whole", "streamed"])
def test_not_configured_answers_without_any_request(fake_llm, settings, unset, call):
    setattr(settings, unset, "")

    assert llm.llm_configured() is False
    with pytest.raises(llm.AINotConfigured) as raised:
        call()

    assert (raised.value.code, raised.value.status) == (ErrorCode.AI_NOT_CONFIGURED, 503)
    assert fake_llm.requests == []
    assert LLMCall.objects.count() == 0


def test_a_reached_budget_stops_new_calls_with_no_request_sent(fake_llm, settings):
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("0.05")
    settings.LLM_PRICE_INPUT_PER_MILLION = Decimal("1.00")
    settings.LLM_PRICE_OUTPUT_PER_MILLION = Decimal("0")
    # Spend of an earlier month does not count against this one's budget.
    LLMCall.objects.create(
        purpose="tutor",
        model="m",
        status="ok",
        cost_usd=Decimal("9"),
        created_at=llm.month_start() - timedelta(seconds=1),
    )
    assert llm.budget_remaining() == Decimal("0.05")

    fake_llm.reply(prompt_tokens=30_000, completion_tokens=1)  # USD 0.03 each
    ask()
    assert llm.budget_remaining() == Decimal("0.02")
    ask()  # still under the budget when asked: it may go over, and then nothing more goes out
    assert llm.budget_remaining() == Decimal("0")

    for call in (ask, stream):
        with pytest.raises(llm.AIBudgetExhausted) as raised:
            call()
        assert (raised.value.code, raised.value.status) == (ErrorCode.AI_BUDGET_EXHAUSTED, 503)
    assert len(fake_llm.requests) == 2
    assert LLMCall.objects.filter(created_at__gte=llm.month_start()).count() == 2


def test_without_a_budget_there_is_nothing_remaining_to_count(fake_llm, settings):
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("0")

    assert llm.budget_remaining() is None
    assert ask().text


def test_the_month_starts_at_midnight_on_the_first_in_the_school_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    # 03:00 UTC on 1 March is still February in New York.
    now = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    with timezone.override("America/New_York"):
        start = llm.month_start(now=now)

    assert start.isoformat() == "2026-02-01T00:00:00-05:00"


# --- Transactions -----------------------------------------------------------------------------
def test_calling_from_inside_a_transaction_is_refused_before_any_request(fake_llm):
    with pytest.raises(RuntimeError, match=r"outside transaction\.atomic"), transaction.atomic():
        ask()

    assert fake_llm.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_call_stays_recorded_when_the_callers_work_fails_afterwards(fake_llm):
    result = ask()

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        LessonFactory()
        1 / 0  # noqa: B018 - the caller's own work failing after the call

    assert LLMCall.objects.filter(id=result.call_id).exists()
