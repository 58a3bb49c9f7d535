"""Whether tasks can be published now, for `/readyz` and for writes that need the broker.

Work queued from a request is of two kinds. Most is stored in the database first and only
announced to the broker after commit, so a broker outage delays it and loses nothing: the
webhook inbox (`lms.webhooks`, re-queued by its reconcile task) and the email outbox
(`lms.email`). A write whose task carries the only copy of the work (deleting a Mux asset
after a video is deleted or replaced) asks `broker_require()` inside its transaction first:
with the broker down it answers 503 `SERVICE_UNAVAILABLE` and writes nothing.

Publishing itself is bounded by the Celery settings (socket timeouts and a short publish
retry), so a dead broker costs a request about a second at most, never minutes.
"""

from kombu.exceptions import OperationalError

from lms.cache import outage_log
from lms.errors import ApplicationError, ErrorCode

# Seconds a check may wait for the broker (connect, then one round trip).
BROKER_CHECK_SECONDS = 1.0

BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


def broker_check(*, url: str | None = None, timeout: float = BROKER_CHECK_SECONDS) -> None:
    """Connect to the broker (`url`, or the one tasks are published to) and round-trip once;
    raise if it does not answer within about `timeout` seconds."""
    from lms.celery import app

    # The Redis transport ignores connect_timeout: its own socket options bound the wait.
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    with app.connection_for_write(
        url=url, connect_timeout=timeout, transport_options=options
    ) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2, timeout=timeout
        )


def broker_require() -> None:
    """Raise `ApplicationError(SERVICE_UNAVAILABLE)` unless a task could be published now.

    Tasks running eagerly (no broker configured) need none. Call it before writing, inside
    the transaction, so a refused write leaves nothing behind.
    """
    from lms.celery import app

    if app.conf.task_always_eager:
        return
    try:
        broker_check()
    except BROKER_ERRORS as exc:
        outage_log("Task broker").failed(
            exc, consequence="writes whose task cannot wait answer 503 SERVICE_UNAVAILABLE"
        )
        raise ApplicationError(ErrorCode.SERVICE_UNAVAILABLE) from exc
    outage_log("Task broker").recovered()
