"""The header on a phone (390 px): one row, a Menu button that works by keyboard, and anchors
or focused headings never hidden under the sticky header. Measured in Chromium."""

import pytest

from catalog.tests.factories import CourseFactory
from lms.tests.browser import (
    DESKTOP,
    PHONE_OPTIONS,
    assert_fits,
    axe_serious_violations,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOG = "/courses/"


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, locator
    return box


@pytest.fixture(name="catalog")
def catalog_fixture():
    """Enough courses for the catalog to scroll on a phone."""
    for number in range(12):
        CourseFactory(title=f"Course number {number}")


def test_phone_header_is_one_row_with_a_menu_that_works_by_keyboard(browser, live_server, catalog):
    from playwright.sync_api import expect

    page = browser.new_page(**PHONE_OPTIONS)
    page.goto(f"{live_server.url}{CATALOG}")
    header = page.get_by_role("banner")
    toggle = header.get_by_role("button", name="Menu")
    catalog_link = header.get_by_role("link", name="Catalog")

    # One row: the logo and the button side by side, the links folded away.
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(catalog_link).to_be_hidden()
    header_box, brand_box = _box(header), _box(header.get_by_role("link").first)
    toggle_box = _box(toggle)
    assert header_box["height"] <= 3.5 * 16 + 1
    assert (
        abs(
            (brand_box["y"] + brand_box["height"] / 2)
            - (toggle_box["y"] + toggle_box["height"] / 2)
        )
        < 4
    )
    assert_fits(page)

    # Keyboard: Tab to the button (after the skip link and the logo), Enter opens it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(catalog_link).to_be_visible()
    expect(header.get_by_role("link", name="Pricing")).to_be_visible()
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()
    assert_fits(page)
    assert axe_serious_violations(page) == []
    screenshot(page, "header-menu-open-phone")

    # The links come next in the tab order; Escape closes and returns to the button.
    page.keyboard.press("Tab")
    expect(catalog_link).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(catalog_link).to_be_hidden()

    # Space toggles it too, and a second press closes it.
    page.keyboard.press("Space")
    expect(catalog_link).to_be_visible()
    page.keyboard.press("Space")
    expect(catalog_link).to_be_hidden()
    page.close()


def test_anchors_and_focused_headings_stay_below_the_sticky_header(browser, live_server, catalog):
    page = browser.new_page(**PHONE_OPTIONS)
    page.goto(f"{live_server.url}{CATALOG}#results-title")
    header_bottom = (
        _box(page.get_by_role("banner"))["y"] + _box(page.get_by_role("banner"))["height"]
    )
    assert page.evaluate("window.scrollY") > 0  # the anchor did scroll the page
    assert _box(page.locator("#results-title"))["y"] >= header_bottom

    # A heading that takes the focus (as error summaries and the skip link's target do),
    # from the bottom of the page: it scrolls into view below the header, not under it.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.evaluate(
        "() => { const h = document.querySelector('#results-title');"
        " h.setAttribute('tabindex', '-1'); h.focus(); }"
    )
    header = _box(page.get_by_role("banner"))
    assert _box(page.locator("#results-title"))["y"] >= header["y"] + header["height"]
    page.close()


def test_desktop_header_shows_the_links_and_no_menu_button(browser, live_server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}{CATALOG}")
    header = page.get_by_role("banner")

    expect(header.get_by_role("button", name="Menu")).to_be_hidden()
    expect(header.get_by_role("link", name="Catalog")).to_be_visible()
    expect(header.get_by_role("link", name="Sign up")).to_be_visible()
    page.close()


def test_without_javascript_the_phone_header_still_shows_its_links(browser, live_server):
    from playwright.sync_api import expect

    context = browser.new_context(**PHONE_OPTIONS, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}{CATALOG}")
    header = page.get_by_role("banner")

    expect(header.get_by_role("button", name="Menu")).to_be_hidden()
    for name in ("Catalog", "Pricing", "Sign in", "Sign up"):
        expect(header.get_by_role("link", name=name)).to_be_visible()
    assert_fits(page)
    context.close()
