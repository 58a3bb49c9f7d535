"""Fixtures for the assistant's tests: the loopback LLM provider (`fake_llm`)."""

from collections.abc import Iterator
from decimal import Decimal

import pytest

from assistant.tests.fake_llm import FakeLLM


@pytest.fixture(autouse=True)
def _llm_not_configured(settings) -> None:
    """No test reaches a real provider, whatever a developer's .env says: unconfigured unless
    a test asks for `fake_llm`."""
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""
    settings.LLM_MODEL = ""
    settings.LLM_MONTHLY_BUDGET_USD = Decimal("0")
    settings.LLM_PRICE_INPUT_PER_MILLION = Decimal("0")
    settings.LLM_PRICE_OUTPUT_PER_MILLION = Decimal("0")


@pytest.fixture
def fake_llm(settings, _llm_not_configured) -> Iterator[FakeLLM]:
    """A loopback OpenAI-compatible server, with the LLM_* settings pointing at it.

    Settings are process-wide, so the live server's threads (browser tests) use it too. The
    SDK does not retry (LLM_MAX_RETRIES 0: one request per call) and gives up after 5 s.
    """
    fake = FakeLLM().start()
    settings.LLM_BASE_URL = fake.base_url
    settings.LLM_API_KEY = fake.api_key
    settings.LLM_MODEL = fake.model
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 5.0
    settings.LLM_CONNECT_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()
