"""A loopback fake of the parts of Mux's Video API we call, for the real SDK to talk to.

`FakeMux` is a `http.server` in a thread on 127.0.0.1 with a free port. It checks HTTP basic
auth, records every request, keeps uploads and assets in memory, and can be told what happened
at Mux meanwhile (`asset_ready`, `asset_errored`, `renditions_ready`) or to fail the next
requests (`fail_next`). The `fake_mux` fixture starts one and points the settings at it.

Static renditions (MP4 downloads): an upload whose asset settings ask for them gets them on
its asset, preparing until `renditions_ready`; `POST /video/v1/assets/<id>/static-renditions`
adds one. The same server is also the stream host (settings MUX_STREAM_URL): `GET
/<playback id>/<file name>` answers a ready rendition's bytes, for a signed playback id only
with a `token` that verifies, as Mux checks it, with `signing_public_key` (RS256, audience
"v", subject the playback id, not expired); else 403, or 404 for no such file.

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
from urllib.parse import parse_qs

import jwt
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
    # The public half of the URL signing key, to check tokens of signed playback ids with.
    signing_public_key: bytes | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/video/"):
                    fake._handle(self)
                else:
                    fake._stream(self)

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

    def renditions_ready(
        self,
        asset_id: str,
        *,
        width: int = 1920,
        height: int = 1080,
        filesize: int = 7_340_032,
        bitrate: int = 4_000_000,
    ) -> list[dict]:
        """Mux finished the asset's static renditions (an audio file has no picture)."""
        with self._lock:
            files = self.assets[asset_id]["static_renditions"]["files"]
            for rendition in files:
                audio = rendition["ext"] == "m4a"
                rendition.update(
                    status="ready",
                    filesize=str(filesize // 8 if audio else filesize),
                    bitrate=128_000 if audio else bitrate,
                    **({} if audio else {"width": width, "height": height}),
                )
            return [dict(rendition) for rendition in files]

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
            wanted = settings.get("static_renditions") or []
            if wanted:
                asset["static_renditions"] = {
                    "files": [_rendition(item["resolution"]) for item in wanted]
                }
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

    # --- the stream host: static rendition downloads -----------------------------------------
    def _stream(self, handler: BaseHTTPRequestHandler) -> None:
        path, _, query = handler.path.partition("?")
        playback_id, _, name = path.strip("/").partition("/")
        token = parse_qs(query).get("token", [""])[0]
        self.requests.append(Recorded("GET", handler.path, None, True))
        with self._lock:
            found = next(
                (
                    (asset, playback)
                    for asset in self.assets.values()
                    for playback in asset.get("playback_ids", [])
                    if playback["id"] == playback_id
                ),
                None,
            )
        if found is None:
            return self._send(handler, 404, {"error": "no such playback id"})
        asset, playback = found
        files = (asset.get("static_renditions") or {}).get("files", [])
        rendition = next((r for r in files if r["name"] == name and r["status"] == "ready"), None)
        if rendition is None:
            return self._send(handler, 404, {"error": "no such file"})
        if playback["policy"] == "signed" and not self._token_valid(token, playback_id):
            return self._send(handler, 403, {"error": "invalid or expired token"})
        data = f"fake {name} of {asset['id']}".encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "audio/mp4" if name.endswith(".m4a") else "video/mp4")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _token_valid(self, token: str, playback_id: str) -> bool:
        if not token or self.signing_public_key is None:
            return False
        try:
            claims = jwt.decode(token, self.signing_public_key, algorithms=["RS256"], audience="v")
        except jwt.PyJWTError:
            return False
        return claims.get("sub") == playback_id

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
        parts = path.strip("/").split("/")  # video, v1, uploads|assets[, id[, static-renditions]]
        if (
            parts[:2] == ["video", "v1"]
            and parts[2:3] == ["assets"]
            and parts[4:] == ["static-renditions"]
        ):
            return self._static_rendition_create(method, parts[3], body)
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

    def _static_rendition_create(
        self, method: str, asset_id: str, body: Any
    ) -> tuple[int, dict | None]:
        with self._lock:
            asset = self.assets.get(asset_id)
            if method != "POST" or asset is None:
                return 404, {"error": {"type": "not_found", "messages": ["Not found"]}}
            files = asset.setdefault("static_renditions", {"files": []})["files"]
            rendition = _rendition((body or {}).get("resolution", ""))
            if any(existing["name"] == rendition["name"] for existing in files):
                return 400, {
                    "error": {"type": "invalid_parameters", "messages": ["Already exists"]}
                }
            files.append(rendition)
            return 201, {"data": dict(rendition)}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict | None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        handler.send_response(status)
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _rendition(resolution: str) -> dict:
    """A static rendition as Mux lists it when asked for (`resolution` "highest", "audio-only"
    or "720p"...), still preparing."""
    if resolution == "audio-only":
        name, ext = "audio.m4a", "m4a"
    else:
        name, ext = f"{resolution}.mp4", "mp4"
    return {
        "id": f"rendition-{uuid.uuid4().hex[:12]}",
        "name": name,
        "ext": ext,
        "resolution": resolution,
        "type": "standard" if resolution in ("highest", "audio-only") else "advanced",
        "status": "preparing",
    }


@pytest.fixture(name="fake_mux")
def fake_mux_fixture(settings) -> Iterator[FakeMux]:
    """A running fake Mux API, with the settings pointing the SDK at it."""
    fake = FakeMux().start()
    settings.MUX_API_URL = fake.url
    settings.MUX_TOKEN_ID = fake.token_id
    settings.MUX_TOKEN_SECRET = fake.token_secret
    settings.MUX_STREAM_URL = fake.url
    try:
        yield fake
    finally:
        fake.stop()
