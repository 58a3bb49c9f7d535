"""Run callables in parallel threads, released together, for race tests on PostgreSQL.

Each thread has its own database connection (Django's are per thread) and really commits,
so tests using this need `django_db(transaction=True)`.
"""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(attempts: list[Callable[[], T]], *, timeout: float = 30) -> list[T]:
    """Run the callables in parallel threads released at the same instant; return what each
    returned, in order. An exception in any thread fails the caller."""
    barrier = threading.Barrier(len(attempts))
    results: list[T | None] = [None] * len(attempts)
    failures: list[BaseException] = []

    def run(index: int, attempt: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = attempt()
        except BaseException as error:  # surfaced below, with the test's traceback
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=run, args=(index, attempt))
        for index, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not [thread for thread in threads if thread.is_alive()], "a thread hung"
    assert failures == [], failures
    return [result for result in results if result is not None]
