"""The school's own settings: the first superuser, avatars, uploads, learning and XP."""

import zoneinfo

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import env
from lms.settings.workers import CELERY_TASK_ALWAYS_EAGER

# --- First superuser ------------------------------------------------------------------------
# Set both and `migrate` creates this superuser (verified address, Staff role) unless the
# email has an account already, which is then left as it is: rerunning migrate changes nothing.
FIRST_SUPERUSER_EMAIL = env.str("FIRST_SUPERUSER_EMAIL", default="")
FIRST_SUPERUSER_PASSWORD = env.str("FIRST_SUPERUSER_PASSWORD", default="")

# --- LMS --------------------------------------------------------------------------------
LMS_CATALOG_PAGE_SIZE = env.int("LMS_CATALOG_PAGE_SIZE", default=12)
# Largest avatar upload accepted on the profile page (bytes); pictures are stored re-encoded.
LMS_AVATAR_MAX_BYTES = env.int("LMS_AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
# Most pixels an avatar may have (read from the header, refused before decoding): it bounds
# the memory one upload can take, under 9 bytes per pixel at the peak (issue 11).
LMS_AVATAR_MAX_PIXELS = env.int("LMS_AVATAR_MAX_PIXELS", default=4096 * 4096)
# Largest presigned uploads of course thumbnails and lesson attachments (bytes).
LMS_THUMBNAIL_MAX_BYTES = env.int("LMS_THUMBNAIL_MAX_BYTES", default=5 * 1024 * 1024)
LMS_ATTACHMENT_MAX_BYTES = env.int("LMS_ATTACHMENT_MAX_BYTES", default=50 * 1024 * 1024)
# Presigned uploads still unconfirmed after this many hours are deleted, with their objects.
LMS_UPLOAD_PENDING_HOURS = env.int("LMS_UPLOAD_PENDING_HOURS", default=24)
if LMS_UPLOAD_PENDING_HOURS < 1:
    # Less would delete uploads still in progress (their presigned URLs live 10 minutes).
    raise ImproperlyConfigured("LMS_UPLOAD_PENDING_HOURS must be at least 1.")
# Learning: a video lesson completes once this share of it has been watched (0-1).
LMS_VIDEO_COMPLETE_THRESHOLD = env.float("LMS_VIDEO_COMPLETE_THRESHOLD", default=0.9)
# Heartbeats may advance at most this many times real time (players offer up to 2x speed).
LMS_VIDEO_MAX_PLAYBACK_RATE = env.float("LMS_VIDEO_MAX_PLAYBACK_RATE", default=2.0)
# XP on top of each lesson's own XP value.
LMS_XP_QUIZ_PASS = env.int("LMS_XP_QUIZ_PASS", default=20)
LMS_XP_BOSS_BONUS = env.int("LMS_XP_BOSS_BONUS", default=50)
LMS_XP_COURSE_COMPLETE = env.int("LMS_XP_COURSE_COMPLETE", default=100)
# The XP at which each level starts: level 1 at 0 XP, level 2 at the second value, and so on.
LMS_XP_LEVELS = env.list(
    "LMS_XP_LEVELS", cast=int, default=[0, 100, 250, 500, 1000, 2000, 3500, 5500, 8000, 11000]
)
# Streak lengths (days) celebrated as milestones; the next one is shown to the learner.
LMS_STREAK_MILESTONES = env.list(
    "LMS_STREAK_MILESTONES", cast=int, default=[3, 7, 14, 30, 60, 100, 180, 365]
)
# Times a learner may correct the name printed on one of their certificates (each audited);
# giving a certificate its missing name is not a correction.
LMS_CERTIFICATE_NAME_CORRECTIONS = env.int("LMS_CERTIFICATE_NAME_CORRECTIONS", default=2)
# Largest batch `POST /api/v1/progress/sync/` accepts.
LMS_PROGRESS_SYNC_MAX_EVENTS = env.int("LMS_PROGRESS_SYNC_MAX_EVENTS", default=500)
# Course documents (README "Course documents"): the most sections, and the most lessons, one
# import or bulk create takes (more answers 413 COURSE_DOCUMENT_TOO_LARGE).
LMS_COURSE_DOCUMENT_MAX_LESSONS = env.int("LMS_COURSE_DOCUMENT_MAX_LESSONS", default=500)
if LMS_COURSE_DOCUMENT_MAX_LESSONS < 1:
    raise ImproperlyConfigured("LMS_COURSE_DOCUMENT_MAX_LESSONS must be at least 1.")
# Analytics: calendar days (rollups, dashboards' date ranges) are days in this time zone.
LMS_ANALYTICS_TIME_ZONE = env.str("LMS_ANALYTICS_TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(LMS_ANALYTICS_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
    raise ImproperlyConfigured(
        f"LMS_ANALYTICS_TIME_ZONE {LMS_ANALYTICS_TIME_ZONE!r} is not a known time zone."
    ) from error
# Incremental rollups (beat, LMS_ANALYTICS_ROLLUP_SECONDS apart) read at most this many new
# events per run, queueing the next run at once when more wait.
LMS_ANALYTICS_ROLLUP_BATCH = env.int("LMS_ANALYTICS_ROLLUP_BATCH", default=100_000)
# Events received this recently may still have earlier-numbered ones in open transactions:
# they are folded in, and read again on the next run. Longer than any transaction that
# writes events.
LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS = env.int("LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS", default=300)
if LMS_ANALYTICS_ROLLUP_BATCH < 1 or LMS_ANALYTICS_ROLLUP_SETTLE_SECONDS < 0:
    raise ImproperlyConfigured(
        "LMS_ANALYTICS_ROLLUP_BATCH must be positive, _SETTLE_SECONDS not negative."
    )
# Where `/readyz` looks: the broker is only checked when Celery is not eager.
LMS_READYZ_CHECK_BROKER = not CELERY_TASK_ALWAYS_EAGER
# --- Learners' own data (README "Your data: export and account deletion") -----------------
# A data export's download link, and its file, live this many hours after it is ready; then
# the hourly purge deletes the file.
LMS_DATA_EXPORT_TTL_HOURS = env.int("LMS_DATA_EXPORT_TTL_HOURS", default=72)
if LMS_DATA_EXPORT_TTL_HOURS < 1:
    raise ImproperlyConfigured("LMS_DATA_EXPORT_TTL_HOURS must be at least 1.")
# When a learner deletes their account: true keeps their certificates verifiable by code
# (without the name: "issued to a learner who has since deleted their account"); false
# deletes them.
LMS_CERTIFICATES_KEEP_ON_DELETION = env.bool("LMS_CERTIFICATES_KEEP_ON_DELETION", default=False)
# --- Projects showcase (README "Projects showcase") ---------------------------------------
# A learner may restore a project they deleted for this many days; staff restore at any time.
LMS_SHOWCASE_RESTORE_DAYS = env.int("LMS_SHOWCASE_RESTORE_DAYS", default=30)
if LMS_SHOWCASE_RESTORE_DAYS < 0:
    raise ImproperlyConfigured("LMS_SHOWCASE_RESTORE_DAYS must not be negative.")
