"""A loopback fake of an OpenAI-compatible chat completions endpoint, for the real `openai` SDK.

`FakeLLM` is a `http.server` in a thread on 127.0.0.1 with a free port serving
`POST /v1/chat/completions`, whole (JSON) or streamed (SSE `data: {chunk}` lines, a last usage
chunk when the request asks `stream_options.include_usage`, then `data: [DONE]`). It records
every request (`requests`, `prompts`) so tests can assert exactly what was sent, and is
programmed per test:

    fake_llm.reply("An answer.")                          # every request from now on
    fake_llm.reply("Slow", delay=2)                       # headers after 2 s (timeouts)
    fake_llm.reply(chunks=["An ", "answer."], chunk_delay=0.2)
    fake_llm.fail_next(500)                               # the next request only, then normal
    fake_llm.queue(Reply(malformed=True))                 # the next request gets this
    fake_llm.respond_with(lambda body: Reply(text=...))   # decide from the request

The `fake_llm` fixture (assistant/tests/conftest.py) starts one per test and points the LLM_*
settings at it, which the live server's threads see too; `env()` gives the same as environment
variables for a subprocess.
"""

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-fake-loopback"
MODEL = "fake-model-1"
CREATED = 1_700_000_000

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


@dataclass
class Reply:
    """What the fake answers to one request."""

    text: str = "This is the fake model's answer."
    # Streamed pieces; None: the text split after each word.
    chunks: list[str] | None = None
    # Tokens reported in `usage`; None: about 4 characters a token of what was sent/answered.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    # An HTTP error status (400, 401, 429, 500, ...) with OpenAI's error body.
    status: int = 200
    error_message: str = "The fake provider refused."
    # Seconds before the response starts, and between two streamed chunks (only before the
    # text chunk numbered `stall_at`, counting from 0, when set: a stall mid-answer).
    delay: float = 0.0
    chunk_delay: float = 0.0
    stall_at: int | None = None
    # A body (or for a stream, a chunk after the first) that is not JSON.
    malformed: bool = False
    # A JSON body without `choices` (valid JSON, not a chat completion).
    no_choices: bool = False
    # Streamed: close the connection after this many text chunks (no usage, no [DONE]).
    break_after: int | None = None
    # Streamed: leave out the usage chunk even when asked for.
    omit_usage: bool = False


@dataclass
class Recorded:
    path: str
    body: Any
    headers: dict[str, str]  # names in lower case

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    @property
    def prompt(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


@dataclass
class FakeLLM:
    api_key: str = API_KEY
    model: str = MODEL
    requests: list[Recorded] = field(default_factory=list)
    _default: Reply = field(default_factory=Reply)
    _queued: list[Reply] = field(default_factory=list)
    _responder: Callable[[dict], Reply] | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._send_json(self, 404, {"error": {"message": "Not found", "code": None}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.base_url = f"{self.url}/v1"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> "FakeLLM":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict[str, str]:
        """LLM_* environment variables pointing a subprocess at this fake."""
        return {"LLM_BASE_URL": self.base_url, "LLM_API_KEY": self.api_key, "LLM_MODEL": self.model}

    # --- programming it -------------------------------------------------------------------
    def reply(self, text: str | None = None, **options: Any) -> Reply:
        """Answer every request from now on like this (a Reply's fields as options)."""
        with self._lock:
            base = Reply() if text is None else Reply(text=text)
            self._default = replace(base, **options)
            return self._default

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order, then as `reply` says again."""
        with self._lock:
            self._queued.extend(replies)

    def fail_next(self, *statuses: int, message: str = "The fake provider refused.") -> None:
        self.queue(*(Reply(status=s, error_message=message) for s in statuses))

    def respond_with(self, responder: Callable[[dict], Reply] | None) -> None:
        """Decide each answer from the request body (after queued replies are used up)."""
        with self._lock:
            self._responder = responder

    # --- what was asked -------------------------------------------------------------------
    @property
    def prompts(self) -> list[str]:
        return [r.prompt for r in self.requests]

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # --- serving --------------------------------------------------------------------------
    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            if self._queued:
                return self._queued.pop(0)
            responder, default = self._responder, self._default
        return responder(body) if responder is not None else default

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            headers = {name.lower(): value for name, value in handler.headers.items()}
            self.requests.append(Recorded(handler.path, body, headers))
        if handler.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(handler, 404, {"error": {"message": "Unknown path", "code": None}})
            return
        if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            self._send_error(handler, Reply(status=401, error_message="Incorrect API key."))
            return
        reply = self._next_reply(body if isinstance(body, dict) else {})
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            self._send_error(handler, reply)
        elif isinstance(body, dict) and body.get("stream"):
            self._send_stream(handler, reply, body)
        else:
            self._send_completion(handler, reply, body)

    def _usage(self, reply: Reply, body: Any) -> dict[str, int]:
        prompt = "".join(str(m.get("content", "")) for m in (body or {}).get("messages", []))
        prompt_tokens = reply.prompt_tokens
        completion_tokens = reply.completion_tokens
        if prompt_tokens is None:
            prompt_tokens = _tokens(prompt)
        if completion_tokens is None:
            completion_tokens = _tokens(reply.text)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def _send_json(self, handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        # The SDK waits this long before a retry (tests keep LLM_MAX_RETRIES at 0 anyway).
        handler.send_header("retry-after-ms", "10")
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(data)  # unless the client gave up (a timeout test)

    def _send_error(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        error = {
            "message": reply.error_message,
            "type": ERROR_TYPES.get(reply.status, "api_error"),
            "param": None,
            "code": None,
        }
        self._send_json(handler, reply.status, {"error": error})

    def _send_completion(self, handler: BaseHTTPRequestHandler, reply: Reply, body: Any) -> None:
        if reply.malformed:
            self._send_json(handler, 200, b"<html>Bad gateway, not JSON</html>")
            return
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": CREATED,
            "model": self.model,
            "usage": self._usage(reply, body),
        }
        if not reply.no_choices:
            completion["choices"] = [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": reply.finish_reason,
                }
            ]
        self._send_json(handler, 200, completion)

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def _send_stream(self, handler: BaseHTTPRequestHandler, reply: Reply, body: dict) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        pieces = reply.chunks if reply.chunks is not None else re.findall(r"\S+\s*", reply.text)
        events: list[dict | str] = [self._chunk({"role": "assistant", "content": ""})]
        events += [self._chunk({"content": piece}) for piece in pieces]
        try:
            for number, event in enumerate(events):
                if reply.break_after is not None and number > reply.break_after:
                    return  # the connection drops: no finish, no usage, no [DONE]
                if reply.malformed and number == 2:
                    self._write(handler, "data: {this is not json\n\n")
                    return
                # events[0] is the role chunk; text chunk i is events[i + 1].
                stalls = number > 0 if reply.stall_at is None else number == reply.stall_at + 1
                if reply.chunk_delay and stalls:
                    time.sleep(reply.chunk_delay)
                self._write(handler, f"data: {json.dumps(event)}\n\n")
            self._write(handler, f"data: {json.dumps(self._chunk({}, reply.finish_reason))}\n\n")
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            if wants_usage and not reply.omit_usage:
                usage_chunk = {**self._chunk({}), "choices": [], "usage": self._usage(reply, body)}
                self._write(handler, f"data: {json.dumps(usage_chunk)}\n\n")
            self._write(handler, "data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            return  # the client closed the stream early

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, text: str) -> None:
        handler.wfile.write(text.encode())
        handler.wfile.flush()
