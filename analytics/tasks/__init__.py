"""Celery tasks of analytics, one module per concern (Celery's autodiscovery imports this
package): event retention, daily rollups, data exports."""

from analytics.tasks.events import *  # noqa: F403
from analytics.tasks.exports import *  # noqa: F403
from analytics.tasks.rollups import *  # noqa: F403
