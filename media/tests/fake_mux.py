"""A loopback fake of the parts of Mux's Video API we call, for the real SDK to talk to.

`FakeMux` is a `http.server` in a thread on 127.0.0.1 with a free port. It checks HTTP basic
auth, records every request, keeps uploads and assets in memory, and can be told what happened
at Mux meanwhile (`asset_ready`, `asset_errored`) or to fail the next requests (`fail_next`).
The `fake_mux` fixture starts one and points the settings at it.

A test module gets the fixture by importing it (`from media.tests.fake_mux import
fake_mux_fixture`), or a conftest can register it for all.
"""

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN_ID = "fake-token-id"
TOKEN_SECRET = "fake-token-secret"
CREATED_AT = "1700000000"


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorized: bool


@dataclass
class FakeMux:
    token_id: str = TOKEN_ID
    token_secret: str = TOKEN_SECRET
    uploads: dict[str, dict] = field(default_factory=dict)
    # The bytes browsers PUT to each upload URL (what Mux's storage would receive).
    files: dict[str, bytes] = field(default_factory=dict)
    assets: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def do_OPTIONS(self) -> None:
                fake._upload_preflight(self)

            def do_PUT(self) -> None:
                fake._upload_chunk(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "FakeMux":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what happened at Mux meanwhile ------------------------------------------------------
    def asset_ready(
        self, upload_id: str, *, duration: float = 42.5, aspect_ratio: str = "16:9"
    ) -> dict:
        """The browser finished the upload and Mux made the asset ready."""
        return self._asset_for(upload_id, status="ready", duration=duration, ratio=aspect_ratio)

    def asset_errored(self, upload_id: str, *, message: str = "Invalid media file") -> dict:
        asset = self._asset_for(upload_id, status="errored")
        asset["errors"] = {"type": "invalid_input", "messages": [message]}
        asset["playback_ids"] = []
        return asset

    def add_asset(self, asset_id: str, *, passthrough: str = "") -> dict:
        with self._lock:
            asset = {
                "id": asset_id,
                "status": "ready",
                "created_at": CREATED_AT,
                "passthrough": passthrough,
                "playback_ids": [{"id": f"play-{asset_id}", "policy": "signed"}],
            }
            self.assets[asset_id] = asset
            return asset

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses (e.g. 503) before working again."""
        with self._lock:
            self.failures.extend(statuses)

    def seen(self, method: str, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def _asset_for(self, upload_id: str, *, status: str, duration=None, ratio=None) -> dict:
        with self._lock:
            upload = self.uploads[upload_id]
            settings = upload["new_asset_settings"]
            asset_id = upload.get("asset_id") or f"asset-{uuid.uuid4().hex[:12]}"
            asset = {
                "id": asset_id,
                "status": status,
                "created_at": CREATED_AT,
                "upload_id": upload_id,
                "passthrough": settings.get("passthrough", ""),
                "playback_ids": [
                    {"id": f"play-{uuid.uuid4().hex[:12]}", "policy": policy}
                    for policy in settings.get("playback_policy", [])
                ],
            }
            if duration is not None:
                asset["duration"] = duration
                asset["aspect_ratio"] = ratio
            self.assets[asset_id] = asset
            upload["status"] = "asset_created"
            upload["asset_id"] = asset_id
            return asset

    # --- the upload URL (Mux's storage, which browsers PUT chunks to) ------------------------
    def _cors_headers(self, handler: BaseHTTPRequestHandler, upload: dict | None) -> None:
        """Like Mux, allow only the origin the upload was created for."""
        origin = handler.headers.get("Origin")
        if upload is not None and origin and origin == upload.get("cors_origin"):
            handler.send_header("Access-Control-Allow-Origin", origin)
            handler.send_header("Access-Control-Allow-Methods", "PUT, OPTIONS")
            handler.send_header("Access-Control-Allow-Headers", "Content-Type, Content-Range")
            handler.send_header("Access-Control-Expose-Headers", "Range")

    def _upload_for(self, handler: BaseHTTPRequestHandler) -> dict | None:
        prefix = "/upload-target/"
        if not handler.path.startswith(prefix):
            return None
        return self.uploads.get(handler.path[len(prefix) :].split("?")[0])

    def _upload_preflight(self, handler: BaseHTTPRequestHandler) -> None:
        upload = self._upload_for(handler)
        handler.send_response(204 if upload else 404)
        self._cors_headers(handler, upload)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _upload_chunk(self, handler: BaseHTTPRequestHandler) -> None:
        """One chunk: `Content-Range: bytes start-end/total`; 308 until the last one, then 200."""
        length = int(handler.headers.get("Content-Length") or 0)
        data = handler.rfile.read(length) if length else b""
        upload = self._upload_for(handler)
        self.requests.append(Recorded("PUT", handler.path, len(data), True))
        if upload is None:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        content_range = handler.headers.get("Content-Range", "")
        total = content_range.rsplit("/", 1)[-1]
        with self._lock:
            received = self.files.get(upload["id"], b"") + data
            self.files[upload["id"]] = received
        done = not total.isdigit() or len(received) >= int(total)
        handler.send_response(200 if done else 308)
        self._cors_headers(handler, upload)
        if not done:
            handler.send_header("Range", f"bytes=0-{len(received) - 1}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    # --- HTTP -------------------------------------------------------------------------------
    def _authorized(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.token_id}:{self.token_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        authorized = self._authorized(handler.headers.get("Authorization"))
        with self._lock:
            self.requests.append(Recorded(handler.command, handler.path, body, authorized))
            failure = self.failures.pop(0) if self.failures else None
        if not authorized:
            return self._send(handler, 401, {"error": {"type": "unauthorized", "messages": []}})
        if failure:
            return self._send(handler, failure, {"error": {"type": "failure", "messages": []}})
        status, payload = self._route(handler.command, handler.path.split("?")[0], body)
        self._send(handler, status, payload)

    def _route(self, method: str, path: str, body: Any) -> tuple[int, dict | None]:
        parts = path.strip("/").split("/")  # video, v1, uploads|assets[, id]
        if parts[:2] != ["video", "v1"] or len(parts) not in (3, 4):
            return 404, {"error": {"type": "not_found", "messages": ["No route"]}}
        kind, item_id = parts[2], parts[3] if len(parts) == 4 else None
        with self._lock:
            if kind == "uploads" and method == "POST" and item_id is None:
                upload_id = f"upload-{uuid.uuid4().hex[:12]}"
                upload = {
                    "id": upload_id,
                    "url": f"{self.url}/upload-target/{upload_id}",
                    "status": "waiting",
                    "timeout": body.get("timeout", 3600),
                    "cors_origin": body.get("cors_origin", ""),
                    "new_asset_settings": body.get("new_asset_settings") or {},
                }
                self.uploads[upload_id] = upload
                return 201, {"data": upload}
            if kind == "uploads" and method == "GET" and item_id in self.uploads:
                return 200, {"data": self.uploads[item_id]}
            if kind == "assets" and method == "GET" and item_id in self.assets:
                return 200, {"data": self.assets[item_id]}
            if kind == "assets" and method == "DELETE" and item_id in self.assets:
                del self.assets[item_id]
                return 204, None
        return 404, {"error": {"type": "not_found", "messages": ["Not found"]}}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict | None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        handler.send_response(status)
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture(name="fake_mux")
def fake_mux_fixture(settings) -> Iterator[FakeMux]:
    """A running fake Mux API, with the settings pointing the SDK at it."""
    fake = FakeMux().start()
    settings.MUX_API_URL = fake.url
    settings.MUX_TOKEN_ID = fake.token_id
    settings.MUX_TOKEN_SECRET = fake.token_secret
    try:
        yield fake
    finally:
        fake.stop()
