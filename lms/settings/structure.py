"""Course structure rules (`catalog.structure`) and the notices of scheduled sections."""

from lms.settings.base import env

# How long a course's structure rules stay cached. Every change drops them at once; this only
# bounds a copy whose drop was lost (Redis unreachable at that moment).
LMS_STRUCTURE_RULES_CACHE_SECONDS = env.int("LMS_STRUCTURE_RULES_CACHE_SECONDS", default=300)
# issue 17 (release notices: helper B) — its settings go below.
# issue 17 (cohorts: helper C)
# The most addresses one "Add learners" paste may hold: a bigger paste is refused whole.
LMS_COHORT_BULK_MAX = env.int("LMS_COHORT_BULK_MAX", default=500)
# How long a cohort invite (sent to an address without an account) stays redeemable, in
# days; 0: until it is used or revoked.
LMS_COHORT_INVITE_DAYS = env.int("LMS_COHORT_INVITE_DAYS", default=60)
