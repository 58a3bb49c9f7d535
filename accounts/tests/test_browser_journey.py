"""A newcomer's first visit in real headless Chromium: sign up, verify by emailed code, sign out,
sign in again.

The live server runs in this process with eager Celery, so the verification email lands in
`django.core.mail.outbox`, where the test reads the code as a person would read their inbox.
Screenshots of the account pages go to /tmp/screens (LMS_SCREENSHOT_DIR) for a human look.
"""

import pytest
from django.core import mail

from lms.tests.browser import (
    DESKTOP,
    SCREEN_VARIANTS,
    assert_fits,
    code_sent_to,
    header_links,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-passphrase"


def test_newcomer_signs_up_verifies_by_code_signs_out_and_in_again(browser, live_server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/courses/")
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    screenshot(page, "account-signup-desktop")
    page.get_by_label("Full name").fill("Zoë Núñez")
    page.get_by_label("Email", exact=True).fill("zoe@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter Email Verification Code")
    expect(page.get_by_role("main")).to_contain_text("zoe@example.com")
    screenshot(page, "account-code-desktop")
    page.get_by_label("Code").fill(code_sent_to("zoe@example.com"))
    page.get_by_role("button", name="Confirm").click()

    # Verified and signed in, back on the catalog page where the journey began.
    page.wait_for_url(f"{live_server.url}/courses/")
    expect(page.get_by_role("status")).to_contain_text("You have confirmed zoe@example.com.")
    header = page.get_by_role("banner")
    expect(header.get_by_text("Zoë Núñez", exact=True)).to_be_visible()
    expect(header.get_by_role("link", name="Profile")).to_be_visible()
    screenshot(page, "account-signed-in-desktop")

    header.get_by_role("button", name="Sign out").click()
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_have_count(0)

    header.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    page.get_by_label("Email", exact=True).fill("zoe@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()

    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Successfully signed in as Zoë Núñez.")
    assert len(mail.outbox) == 1  # a verified address needs no second code
    page.close()


@pytest.mark.parametrize(("device", "options"), SCREEN_VARIANTS)
def test_account_pages_fit_the_screen(browser, live_server, device, options):
    from playwright.sync_api import expect

    from accounts.tests.factories import UserFactory

    UserFactory(
        email="maria@example.com",
        display_name="Maria Fernanda",
        password=PASSWORD,
        is_staff=True,
        verified_email=True,
    )
    page = browser.new_page(**options)
    for name, path, heading in (
        ("login", "/accounts/login/", "Sign In"),
        ("signup", "/accounts/signup/", "Sign Up"),
        ("reset", "/accounts/password/reset/", "Password Reset"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_fits(page)
        screenshot(page, f"account-{name}-{device}")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email", exact=True).fill("maria@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(header_links(page).get_by_role("button", name="Sign out")).to_be_visible()
    assert_fits(page)  # the signed-in header (name, Admin, Profile, Sign out) too
    for name, path, heading in (
        ("email", "/accounts/email/", "Email Addresses"),
        ("password", "/accounts/password/change/", "Change Password"),
        ("mfa", "/accounts/2fa/", "Two-Factor Authentication"),
        ("sessions", "/accounts/sessions/", "Sessions"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("navigation", name="Account settings")).to_be_visible()
        assert_fits(page)
        screenshot(page, f"account-{name}-{device}")

    # Setting up two-factor asks for the password again first (allauth's reauthentication).
    page.goto(f"{live_server.url}/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    assert_fits(page)
    screenshot(page, f"account-reauthenticate-{device}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    assert_fits(page)
    screenshot(page, f"account-totp-{device}")
    page.close()
