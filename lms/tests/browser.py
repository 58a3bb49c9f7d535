"""What the browser tests share: how Chromium starts, the screens they try, and checks.

The `browser` fixture itself is in the root conftest.py.
"""

import os
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots land here for a human look at the design.
SCREENS = Path(os.environ.get("LMS_SCREENSHOT_DIR", "/tmp/screens"))
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_OPTIONS = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SCREEN_VARIANTS = [
    ("desktop", {"viewport": DESKTOP}),
    ("phone", PHONE_OPTIONS),
    ("desktop-dark", {"viewport": DESKTOP, "color_scheme": "dark"}),
]


def screenshot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def assert_fits(page) -> None:
    """The page does not scroll sideways (nothing sticks out on a phone)."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
