"""A loopback SMTP server for tests: the mail server at the network boundary, for real.

`SmtpSink` speaks enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for Django's
SMTP backend, in a thread per connection on 127.0.0.1 with a free port. A message counts as
delivered, as with any mail server, only once the sink answered 250 to its DATA: a message
whose client vanished before that answer is dropped. `hold(subject)` makes the sink keep the
first message with that subject waiting for its answer until the client goes away (so a test
can kill the worker mid-send); `held` is set once it is waiting.
"""

import email
import email.policy
import socketserver
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivered:
    message_id: str
    subject: str
    to: list[str]
    at: float  # time.monotonic() when the sink accepted it


class _Handler(socketserver.StreamRequestHandler):
    server: "_Server"

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 sink.test ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink.test\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb in ("HELO", "MAIL", "RSET", "NOOP"):
                recipients = [] if verb in ("MAIL", "RSET") else recipients
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                if not self.data(recipients):
                    return
                recipients = []
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def data(self, recipients: list[str]) -> bool:
        """Read one message; answer 250 and record it, or (held) wait for the client to go."""
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        if self.server.sink.take_hold(str(message["Subject"])):
            while self.rfile.read(1):  # no answer: the client waits until it dies
                pass
            return False
        self.server.sink.record(
            Delivered(
                message_id=str(message["Message-ID"]),
                subject=str(message["Subject"]),
                to=recipients,
                at=time.monotonic(),
            )
        )
        self.reply("250 OK: queued")
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: "SmtpSink"


class SmtpSink:
    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self.held = threading.Event()
        self._hold_subject: str | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "SmtpSink":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hold(self, subject: str) -> None:
        with self._lock:
            self._hold_subject = subject

    def take_hold(self, subject: str) -> bool:
        with self._lock:
            if subject != self._hold_subject:
                return False
            self._hold_subject = None  # only the first copy is held
        self.held.set()
        return True

    def record(self, delivered: Delivered) -> None:
        with self._lock:
            self.delivered.append(delivered)

    def snapshot(self) -> list[Delivered]:
        with self._lock:
            return list(self.delivered)
