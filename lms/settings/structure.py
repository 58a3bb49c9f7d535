"""Course structure rules (`catalog.structure`) and the notices of scheduled sections."""

from lms.settings.base import env

# How long a course's structure rules stay cached. Every change drops them at once; this only
# bounds a copy whose drop was lost (Redis unreachable at that moment).
LMS_STRUCTURE_RULES_CACHE_SECONDS = env.int("LMS_STRUCTURE_RULES_CACHE_SECONDS", default=300)
# issue 17 (release notices: helper B) — its settings go below.
