"""Whole pages cached for anonymous visitors (lms.pagecache): home, catalog, course, lesson."""

from django.core.exceptions import ImproperlyConfigured

from lms.settings.base import DEBUG, REDIS_URL, env

# Seconds an anonymous page is kept (0 turns the page cache off). Every change to what the
# page shows makes it unreachable at once; this only bounds what is not tracked that way (a
# learner count revived by a sync batch). On by default with Redis, and in development (one
# process): without Redis each process has its own cache, and another process would not see
# a change, so several processes without Redis serve every page live unless this is set.
LMS_PAGE_CACHE_SECONDS = env.int(
    "LMS_PAGE_CACHE_SECONDS", default=300 if (REDIS_URL or DEBUG) else 0
)
# `max-age` of cached anonymous pages for browsers and shared caches: 0 makes them revalidate
# every time (answered 304 from the cache when unchanged), so a proxy never keeps a stale page.
LMS_PAGE_CACHE_MAX_AGE = env.int("LMS_PAGE_CACHE_MAX_AGE", default=0)
if LMS_PAGE_CACHE_SECONDS < 0 or LMS_PAGE_CACHE_MAX_AGE < 0:
    raise ImproperlyConfigured("LMS_PAGE_CACHE_SECONDS and _MAX_AGE must not be negative.")
