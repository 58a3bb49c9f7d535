"""Under ASGI (`runserver`'s daphne in `make run`, uvicorn) the tutor's events stream as they
come, instead of Django buffering the whole answer: through a real uvicorn server, the first
words arrive while the fake provider is still writing the rest."""

import json
import time
from http.client import HTTPConnection

import pytest

from accounts.tests.factories import UserFactory
from assistant.models import Message
from assistant.tests.tutor_fixtures import school_build
from lms.tests.asgi_server import app_access_token

pytestmark = [pytest.mark.redis]

CHUNK_DELAY = 0.6


def test_events_reach_an_app_while_the_answer_is_still_being_written(asgi_server, fake_llm):
    school = school_build()
    learner = UserFactory(verified_email=True)
    token = app_access_token(learner.email)
    fake_llm.reply(chunks=["Break ", "on ", "one [1]."], chunk_delay=CHUNK_DELAY)
    connection = HTTPConnection("127.0.0.1", asgi_server.port, timeout=10)

    started = time.monotonic()
    connection.request(
        "POST",
        f"/api/v1/lessons/{school.preview.pk}/tutor/",
        body=json.dumps({"question": "How does the salsa timing work?"}),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        },
    )
    response = connection.getresponse()
    arrivals = []
    buffer = b""
    while chunk := response.read1(65536):
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            name = block.split(b"\n")[0].removeprefix(b"event: ").decode()
            arrivals.append((name, time.monotonic() - started))
    connection.close()

    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert [name for name, _ in arrivals] == [
        "conversation", "delta", "delta", "delta", "citations", "done",
    ]  # fmt: skip
    first_delta = next(at for name, at in arrivals if name == "delta")
    done = arrivals[-1][1]
    # The provider takes 2 x CHUNK_DELAY after its first chunk: buffered, all would arrive
    # together at the end.
    assert done - first_delta > CHUNK_DELAY
    assert Message.objects.get(role=Message.Role.ASSISTANT).text == "Break on one [1]."
