"""Analytics models, one module per concern: `events` (the append-only event store),
`rollups` (daily aggregates the dashboards read)."""

from analytics.models.dashboards import CourseDashboard
from analytics.models.events import Event
from analytics.models.exports import DataExport
from analytics.models.rollups import CourseDay, RollupCursor, SchoolDay

__all__ = ["CourseDashboard", "CourseDay", "DataExport", "Event", "RollupCursor", "SchoolDay"]
