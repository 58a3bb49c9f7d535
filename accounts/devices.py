"""A readable name for a signed-in device ("Chrome on macOS"), from its User-Agent header.

The parsing is ua-parser's (uap-core's maintained rules); this module only shortens the
families it reports into what a learner recognises, and remembers the answer per string.
"""

from functools import lru_cache

from django.utils.translation import gettext as _
from ua_parser import parse

# ua-parser's family names -> the names people use. Anything not listed is shown as reported.
_BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet",
    "HeadlessChrome": "Headless Chrome",
}
_OS_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS", "Ubuntu": "Ubuntu Linux"}
_UNKNOWN = {"Other", ""}
# Long enough for every real browser; longer headers are cut before parsing (and caching).
MAX_USER_AGENT_LENGTH = 512


@lru_cache(maxsize=1024)
def _names(user_agent: str) -> tuple[str | None, str | None]:
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    browser = (
        None if browser in _UNKNOWN or browser is None else _BROWSER_NAMES.get(browser, browser)
    )
    system = None if system in _UNKNOWN or system is None else _OS_NAMES.get(system, system)
    return browser, system


def device_name(user_agent: str | None) -> str:
    """ "Chrome on macOS", "Safari on iOS", "Firefox", or "Unknown browser"."""
    browser, system = _names((user_agent or "").strip()[:MAX_USER_AGENT_LENGTH])
    if browser and system and browser != system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if system and not browser:
        return _("A browser or app on %(system)s") % {"system": system}
    if browser or system:
        return browser or system
    return _("Unknown browser")
