"""Settings for the LMS, read from the environment (django-environ).

With nothing set, the defaults give a development school: SQLite file, eager Celery, local
media files and console email. Each real part is switched on by its variable;
`.env.example` lists every one. Tests and production run this same package: it is split by
integration, never by environment. Later modules import what they need from earlier ones.
"""

# First: a parallel test run's processes each take their own Redis database (no-op otherwise).
import lms.test_workers  # noqa: F401  # isort: split
from lms.settings.analytics import *  # noqa: F403
from lms.settings.api import *  # noqa: F403
from lms.settings.assistant import *  # noqa: F403
from lms.settings.base import *  # noqa: F403
from lms.settings.bundles import *  # noqa: F403
from lms.settings.logs import *  # noqa: F403
from lms.settings.mail import *  # noqa: F403
from lms.settings.pagecache import *  # noqa: F403
from lms.settings.providers import *  # noqa: F403
from lms.settings.realtime import *  # noqa: F403
from lms.settings.school import *  # noqa: F403
from lms.settings.security import *  # noqa: F403
from lms.settings.structure import *  # noqa: F403
from lms.settings.workers import *  # noqa: F403
