"""Offline bundles and the apps' update check (README "Offline bundles and app updates")."""

import re

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import env
from lms.settings.workers import (
    CELERY_BEAT_SCHEDULE,
    CELERY_TASK_ALWAYS_EAGER,
    LMS_TASK_COUNTDOWN_MAX,
)

# --- Builds ---------------------------------------------------------------------------------
# Seconds between a course's change and the build of its bundles: changes made meanwhile share
# one build. 0 in eager mode (`make run`, tests): the build runs as the change commits. The
# default, 10, is shortened to the longest countdown a short visibility timeout allows.
LMS_BUNDLE_BUILD_DELAY_SECONDS = env.int(
    "LMS_BUNDLE_BUILD_DELAY_SECONDS",
    default=0 if CELERY_TASK_ALWAYS_EAGER else min(10, LMS_TASK_COUNTDOWN_MAX),
)
# Hours a replaced bundle version stays downloadable (a download that started from an earlier
# check still finishes); the beat purge deletes it after that.
LMS_BUNDLE_KEEP_HOURS = env.int("LMS_BUNDLE_KEEP_HOURS", default=24)
# Seconds between the beat runs that rebuild every course's bundles (a lost build, a file
# hashed late) and purge replaced versions; a run stores new versions only where content moved.
LMS_BUNDLE_REFRESH_SECONDS = env.float("LMS_BUNDLE_REFRESH_SECONDS", default=86400.0)
# --- The update check (POST /api/v1/updates/check/) and downloads ----------------------------
# Seconds the signed URLs of a check (bundles, attachments, videos) stay valid.
LMS_BUNDLE_URL_TTL_SECONDS = env.int("LMS_BUNDLE_URL_TTL_SECONDS", default=600)
# Most bundles and courses one check may name.
LMS_BUNDLE_CHECK_MAX_SECTIONS = env.int("LMS_BUNDLE_CHECK_MAX_SECTIONS", default=500)
LMS_BUNDLE_CHECK_MAX_COURSES = env.int("LMS_BUNDLE_CHECK_MAX_COURSES", default=50)
# Oldest app version served per app name, e.g. "ios=2.0,android=2.0,desktop=1.0": an older
# one is answered 426 APP_UPDATE_REQUIRED. Names not listed have no minimum.
LMS_APP_MIN_VERSIONS = {
    name.strip().lower(): version.strip()
    for name, version in env.dict("LMS_APP_MIN_VERSIONS", default={}).items()
}

_VERSION = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}")
if not all(_VERSION.fullmatch(version) for version in LMS_APP_MIN_VERSIONS.values()):
    raise ImproperlyConfigured(
        "LMS_APP_MIN_VERSIONS takes name=version pairs with dotted numbers: ios=2.0,android=2.1"
    )
if not 0 <= LMS_BUNDLE_BUILD_DELAY_SECONDS <= LMS_TASK_COUNTDOWN_MAX:
    # A longer countdown would outlive the broker's visibility timeout (lms.settings.workers).
    raise ImproperlyConfigured(
        "LMS_BUNDLE_BUILD_DELAY_SECONDS must be from 0 to half of CELERY_VISIBILITY_TIMEOUT."
    )
if LMS_BUNDLE_KEEP_HOURS < 1:
    raise ImproperlyConfigured("LMS_BUNDLE_KEEP_HOURS must be at least 1.")
if not 30 <= LMS_BUNDLE_URL_TTL_SECONDS <= 7 * 24 * 3600:
    raise ImproperlyConfigured("LMS_BUNDLE_URL_TTL_SECONDS must be from 30 s to a week.")
if LMS_BUNDLE_CHECK_MAX_SECTIONS < 1 or LMS_BUNDLE_CHECK_MAX_COURSES < 1:
    raise ImproperlyConfigured("LMS_BUNDLE_CHECK_MAX_SECTIONS and _MAX_COURSES must be positive.")

# Beat (the schedule lives in lms.settings.workers; this adds to the same dictionary).
CELERY_BEAT_SCHEDULE["catalog-bundles-refresh"] = {
    "task": "catalog.bundles.tasks.bundles_refresh",
    "schedule": LMS_BUNDLE_REFRESH_SECONDS,
}
