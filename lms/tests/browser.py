"""What the browser tests share: how Chromium starts, the screens they try, and checks.

The `browser` fixture itself is in the root conftest.py.
"""

import os
import re
import time
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


def header_links(page):
    """The header, with its links showing: on a phone they are behind the Menu button
    (static/js/nav.js), which this opens; on a wide screen it does nothing."""
    page.wait_for_load_state()
    banner = page.get_by_role("banner")
    toggle = banner.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    return banner


def axe_serious_violations(page) -> list[str]:
    """The serious and critical axe-core violations on the page, as "rule: targets" lines."""
    from django.conf import settings

    axe_script = Path(settings.NODE_MODULES_DIR) / "axe-core" / "axe.min.js"
    # page.evaluate runs outside the page's CSP, as a browser extension would.
    page.evaluate(axe_script.read_text())
    checked, serious = page.evaluate(
        """async () => {
            const results = await axe.run(document);
            return [
              results.passes.length,
              results.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
            ];
        }"""
    )
    assert checked > 10, f"axe checked almost nothing on {page.url}"
    return serious


def sign_in(page, base_url: str, *, email: str, password: str) -> None:
    """Sign in through the real form, as a person would, and wait for the signed-in header."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(header_links(page).get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Escape")  # and the phone menu closes again


# The sign-up and sign-in codes allauth emails (its default alphabet, no vowels).
EMAILED_CODE = re.compile(r"\b[BCDFGHJKLMNPQRSTVWXZ]{6}\b")


def code_sent_to(email: str, timeout: float = 10.0) -> str:
    """The code in the newest email to `email`, as the learner reads it in their inbox (the
    live server sends it from another thread, so it may take a moment)."""
    from django.core import mail

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(mail.outbox):
            if email in message.to and (match := EMAILED_CODE.search(message.body)):
                return match.group()
        time.sleep(0.1)
    raise AssertionError(f"no code was emailed to {email}: {[m.to for m in mail.outbox]}")
