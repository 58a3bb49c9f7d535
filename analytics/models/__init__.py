"""Analytics models, one module per concern: `events` (the append-only event store)."""

from analytics.models.events import Event

__all__ = ["Event"]
