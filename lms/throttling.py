"""DRF's rate throttles, failing open when their cache cannot be reached.

A throttle exists to protect the site; refusing or failing every API call because the
counters are out of reach would do the opposite. With the configured cache
(`lms.cache.FailOpenRedisCache`) errors never get this far; these classes keep the same
promise for any other cache backend a deployment may configure.
"""

from typing import Any

from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from lms.cache import CACHE_ERRORS, outage_log

CONSEQUENCE = "API rate limits are not enforced"


class FailOpenThrottleMixin:
    # `view` is an APIView; importing it here would be circular (APIView reads this setting).
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            allowed = super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            outage_log("API throttle cache").failed(exc, consequence=CONSEQUENCE)
            return True
        outage_log("API throttle cache").recovered()
        return allowed

    def get_rate(self) -> str | None:
        # DRF reads the rates once, at import; read them per request so a changed setting
        # (API_THROTTLE_*, or a test's override) applies without a restart.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()  # type: ignore[misc]


class AnonRateThrottle(FailOpenThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenThrottleMixin, throttling.UserRateThrottle):
    pass
