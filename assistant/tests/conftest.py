"""Fixtures for the assistant's tests: the loopback LLM provider (`fake_llm`; every test
starts unconfigured, see `_llm_not_configured` in the root conftest)."""

from collections.abc import Iterator

import pytest

from assistant.tests.fake_llm import FakeLLM


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
