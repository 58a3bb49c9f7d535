"""The bell and the notification pages in Chromium: the count in the header on a wide screen
and on a phone (beside the Menu button, one row), opening one, the preferences; axe-core."""

import pytest

from accounts.tests.factories import UserFactory
from lms.tests.browser import (
    DESKTOP,
    PHONE_OPTIONS,
    assert_fits,
    axe_serious_violations,
    screenshot,
    sign_in,
)
from notifications.tests.factories import NotificationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture(name="learner")
def learner_fixture():
    learner = UserFactory(email="lea@example.com", display_name="Lea", verified_email=True)
    NotificationFactory(user=learner, title="Ana replied to your thread", url="/pricing/")
    NotificationFactory(user=learner, title="New announcement in Salsa basics")
    NotificationFactory(user=learner, title="You earned a certificate: Salsa basics")
    return learner


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_bell_counts_unread_and_leads_to_the_list(browser, live_server, learner, screen):
    from playwright.sync_api import expect

    options = {"viewport": DESKTOP} if screen == "desktop" else PHONE_OPTIONS
    page = browser.new_page(**options)
    sign_in(page, live_server.url, email=learner.email, password=PASSWORD)
    header = page.get_by_role("banner")
    bell = header.get_by_role("link", name="Notifications, 3 unread")

    expect(bell).to_be_visible()  # on a phone too: outside the folded menu
    if screen == "phone":
        toggle = header.get_by_role("button", name="Menu")
        bell_box, toggle_box = bell.bounding_box(), toggle.bounding_box()
        assert bell_box["x"] > toggle_box["x"]  # after the Menu button, in one row
        assert (
            abs(bell_box["y"] + bell_box["height"] / 2 - toggle_box["y"] - toggle_box["height"] / 2)
            < 4
        )
    assert_fits(page)

    bell.click()
    page.wait_for_url("**/notifications/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(main.get_by_text("3 unread")).to_be_visible()
    assert axe_serious_violations(page) == []
    assert_fits(page)
    screenshot(page, f"notifications-list-{screen}")

    main.get_by_role("button", name="Unread: Ana replied to your thread").click()
    page.wait_for_url("**/pricing/")
    expect(header.get_by_role("link", name="Notifications, 2 unread")).to_be_visible()

    page.goto(f"{live_server.url}/notifications/settings/")
    expect(page.get_by_role("group", name="Mentions")).to_be_visible()
    page.get_by_role("group", name="Mentions").get_by_label("Daily digest").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your email preferences are saved.")).to_be_visible()
    expect(page.get_by_role("group", name="Mentions").get_by_label("Daily digest")).to_be_checked()
    assert axe_serious_violations(page) == []
    assert_fits(page)
    screenshot(page, f"notifications-preferences-{screen}")
