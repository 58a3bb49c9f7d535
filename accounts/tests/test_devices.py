"""Signed-in devices read as "Chrome on macOS", on the profile page and in the API."""

import pytest
from django.test import Client

from accounts.devices import _names, device_name
from accounts.tests.factories import UserFactory

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.135 Mobile Safari/537.36"
)
SAMSUNG_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
)
CHROME_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (CHROME_MAC, "Chrome on macOS"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (CHROME_ANDROID, "Chrome on Android"),
        (SAMSUNG_ANDROID, "Samsung Internet on Android"),
        (CHROME_IOS, "Chrome on iOS"),
        ("LMS iOS/1.0", "A browser or app on iOS"),
        ("Firefox/140.0", "Firefox"),
        ("", "Unknown browser"),
        (None, "Unknown browser"),
        ("\x00garbage{}", "Unknown browser"),
        ("x" * 20_000, "Unknown browser"),
    ],
)
def test_device_names_read_like_people_say_them(user_agent, name):
    assert device_name(user_agent) == name


def test_each_user_agent_is_parsed_once():
    _names.cache_clear()

    for _ in range(3):
        device_name(CHROME_MAC)
    device_name(SAFARI_IPHONE)

    info = _names.cache_info()
    assert (info.misses, info.hits) == (2, 2)


@pytest.mark.django_db
def test_profile_lists_devices_by_name_and_keeps_the_raw_string_as_a_tooltip(settings):
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 0
    ana = UserFactory()
    laptop = Client(HTTP_USER_AGENT=CHROME_MAC)
    laptop.force_login(ana)
    phone = Client(HTTP_USER_AGENT=SAFARI_IPHONE)
    phone.force_login(ana)
    phone.get("/")

    page = laptop.get("/profile/").content.decode()

    assert f'<p class="session-list__device" title="{CHROME_MAC}">Chrome on macOS</p>' in page
    assert '<p class="session-list__device" title="Mozilla/5.0 (iPhone;' in page
    assert ">Safari on iOS</p>" in page
    assert 'Sign out<span class="visually-hidden"> Safari on iOS</span>' in page


@pytest.mark.django_db
def test_sessions_api_names_the_device_beside_the_raw_user_agent(settings):
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 0
    ana = UserFactory()
    browser = Client(HTTP_USER_AGENT=FIREFOX_WINDOWS)
    browser.force_login(ana)

    response = browser.get("/api/v1/me/sessions/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["device"], row["user_agent"]) == ("Firefox on Windows", FIREFOX_WINDOWS)
