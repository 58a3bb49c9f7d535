"""`manage.py analytics_rollups`: bring the daily rollups up to date, or recompute a range.

Without options: what the beat task does, repeated until no new events wait. With `--from`
(and `--to`, default today): every day of that range recomputed from the events, e.g. after
a fix to the rollup code or a backfill; days older than the raw events' retention are kept.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.selectors import Period, today
from analytics.services.rollups import frozen_before, rollup_period_recompute, rollups_refresh


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from error


class Command(BaseCommand):
    help = "Fold new events into the daily rollups, or recompute the days --from .. --to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", help="First day to recompute (YYYY-MM-DD).")
        parser.add_argument("--to", dest="end", help="Last day to recompute (default today).")

    def handle(self, *args: object, start: str | None, end: str | None, **options: object) -> None:
        if start is None:
            if end is not None:
                raise CommandError("--to needs --from.")
            self._refresh()
            return
        first, last = _date(start), _date(end) if end else today()
        if last < first:
            raise CommandError("--to must be on or after --from.")
        done = rollup_period_recompute(period=Period(start=first, end=last))
        horizon = frozen_before()
        skipped = (last - first).days + 1 - len(done)
        self.stdout.write(f"Recomputed {len(done)} days from {first} to {last}.")
        if skipped:
            self.stdout.write(
                f"Kept {skipped} days before {horizon} as they are: their raw events are past "
                "the retention period."
            )

    def _refresh(self) -> None:
        days: set[dt.date] = set()
        events = 0
        while True:
            result = rollups_refresh()
            days.update(result.days)
            events += result.events_read
            if not result.more:
                break
        self.stdout.write(f"Read {events} events; recomputed {len(days)} days.")
