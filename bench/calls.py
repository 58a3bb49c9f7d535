"""What the benchmark's client threads send: one `Call` per request, made by a `CallFor`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Call:
    """One request to send."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "method": self.method,
            "path": self.path,
            "body": self.body.decode() if self.body else None,
            "headers": self.headers,
        }


# (client thread, that thread's n-th request) -> the request to send.
CallFor = Callable[[int, int], Call]


def get_call(path: str, headers: dict[str, str] | None = None) -> CallFor:
    call = Call("GET", path, headers={"Accept": "text/html,application/json", **(headers or {})})
    return lambda thread, number: call
