"""Daily rollups (README "Analytics › Rollups").

Beat schedule (settings): `rollups_refresh` every `LMS_ANALYTICS_ROLLUP_SECONDS`; it queues
itself again at once while a backlog waits (a bounded batch per run). `rollups_recompute`
needs no beat: run it (or `manage.py analytics_rollups --from ... --to ...`) after a fix to
the rollup code or a backfill of events.
"""

import datetime as dt

from celery import shared_task

__all__ = ["rollups_recompute", "rollups_refresh"]


@shared_task
def rollups_refresh() -> int:
    """Fold newly received events into their days' rollups; returns the days recomputed."""
    from analytics.services.rollups import rollups_refresh as refresh

    result = refresh()
    if result.more:
        rollups_refresh.delay()
    return len(result.days)


@shared_task
def rollups_recompute(*, start: str, end: str) -> int:
    """Recompute the rollups of every day from `start` to `end` (ISO dates, included)."""
    from analytics.selectors import Period
    from analytics.services.rollups import rollup_period_recompute

    period = Period(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end))
    return len(rollup_period_recompute(period=period))
