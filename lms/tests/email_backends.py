"""A test double at the mail-server boundary: an email backend that fails on purpose."""

from smtplib import SMTPServerDisconnected
from typing import ClassVar

from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend


class FlakyEmailBackend(LocmemEmailBackend):
    """Raises `error` on the first `failures` sends, then delivers to `mail.outbox`.

    Every delivery attempt opens a new connection, that is a new backend instance, so the
    counts live on the class; the `flaky_backend` fixture resets them for each test.
    """

    failures: ClassVar[int] = 0
    error: ClassVar[Exception] = SMTPServerDisconnected("Connection unexpectedly closed")
    attempts: ClassVar[int] = 0

    def send_messages(self, messages):
        cls = type(self)
        cls.attempts += 1
        if cls.attempts <= cls.failures:
            raise cls.error
        return super().send_messages(messages)
