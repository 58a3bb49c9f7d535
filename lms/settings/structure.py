"""Course structure rules (`catalog.structure`) and the notices of scheduled sections."""

from lms.settings.base import env
from lms.settings.workers import CELERY_BEAT_SCHEDULE

# How long a course's structure rules stay cached. Every change drops them at once; this only
# bounds a copy whose drop was lost (Redis unreachable at that moment).
LMS_STRUCTURE_RULES_CACHE_SECONDS = env.int("LMS_STRUCTURE_RULES_CACHE_SECONDS", default=300)
# issue 17 (release notices: helper B) — its settings go below.
# Scheduled sections tell each learner once when they open (README "Course structure rules"):
# a beat run every LMS_RELEASE_NOTICE_SECONDS looks at the instants of the last
# LMS_RELEASE_NOTICE_WINDOW_DAYS (so a beat down for less than that misses nobody; an older
# release is not announced late) and sends at most LMS_RELEASE_NOTICE_BATCH notices, queuing
# the next run at once when it reached that.
LMS_RELEASE_NOTICE_SECONDS = env.float("LMS_RELEASE_NOTICE_SECONDS", default=900.0)
LMS_RELEASE_NOTICE_WINDOW_DAYS = env.int("LMS_RELEASE_NOTICE_WINDOW_DAYS", default=3)
LMS_RELEASE_NOTICE_BATCH = env.int("LMS_RELEASE_NOTICE_BATCH", default=500)
CELERY_BEAT_SCHEDULE["progress-section-release-notices"] = {
    "task": "progress.tasks.section_release_notices_send",
    "schedule": LMS_RELEASE_NOTICE_SECONDS,
}
# issue 17 (cohorts: helper C)
# The most addresses one "Add learners" paste may hold: a bigger paste is refused whole.
LMS_COHORT_BULK_MAX = env.int("LMS_COHORT_BULK_MAX", default=500)
# How long a cohort invite (sent to an address without an account) stays redeemable, in
# days; 0: until it is used or revoked.
LMS_COHORT_INVITE_DAYS = env.int("LMS_COHORT_INVITE_DAYS", default=60)
