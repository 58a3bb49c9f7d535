"""The lesson player in real headless Chromium: the entitled learner gets Mux Player with a
signed token and their heartbeats reach the progress API; a locked lesson shows no player.

Mux Player itself would stream from Mux's CDN, which tests never reach, so its script is
stood in for by a tiny custom element with the same tag, `currentTime` and events: what is
under test is our page, our tokens and our player.js.
"""

import base64
import re

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, screenshot
from media.models import Video
from progress.models import LessonProgress

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "ana@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password
KEY_ID = "browser-signing-key"
PLAYBACK_ID = "bRoWsErPlAyBaCk"
FAKE_MUX_PLAYER = """
customElements.define("mux-player", class extends HTMLElement {
  constructor() { super(); this.currentTime = 0; }
});
"""


@pytest.fixture
def public_key(settings, tmp_path) -> bytes:
    """A signing key configured as Mux gives it, and the stand-in player in our statics."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    settings.MUX_SIGNING_KEY_ID = KEY_ID
    settings.MUX_SIGNING_KEY_PRIVATE = base64.b64encode(private_pem).decode()
    vendor = tmp_path / "static" / "vendor" / "mux-player"
    vendor.mkdir(parents=True)
    (vendor / "mux-player.js").write_text(FAKE_MUX_PLAYER)
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, tmp_path / "static"]
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def lessons(transactional_db) -> dict[str, Lesson]:
    video = Video.objects.create(
        title="Finding the beat", playback_id=PLAYBACK_ID, status=Video.Status.READY
    )
    members = CourseFactory(
        title="Salsa Footwork", slug="salsa", visibility=Course.Visibility.MEMBERS
    )
    paid = CourseFactory(
        title="Salsa Pro",
        slug="salsa-pro",
        visibility=Course.Visibility.PAID,
        required_tier=TierFactory(slug="pro", name="Pro", rank=2),
    )
    return {
        "open": LessonFactory(
            section=SectionFactory(course=members),
            title="Finding the beat",
            slug="finding-the-beat",
            kind=Lesson.Kind.VIDEO,
            duration_seconds=20,
            video=video,
        ),
        "locked": LessonFactory(
            section=SectionFactory(course=paid),
            title="Advanced shines",
            slug="advanced-shines",
            kind=Lesson.Kind.VIDEO,
            video=video,
        ),
    }


def _sign_in(page, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("banner").get_by_role("button", name="Sign out")).to_be_visible()


def _pause_at(page, seconds: float):
    """The learner pauses the player at `seconds`; returns the heartbeat's response."""
    with page.expect_response(re.compile(r"/position/$")) as heartbeat:
        page.evaluate(
            """(seconds) => {
                const player = document.querySelector("mux-player");
                player.currentTime = seconds;
                player.dispatchEvent(new Event("pause"));
            }""",
            seconds,
        )
    return heartbeat.value


def test_entitled_learner_gets_the_player_with_a_token_and_heartbeats_save_the_position(
    browser, live_server, public_key, lessons
):
    from playwright.sync_api import expect

    learner = UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    _sign_in(page, live_server.url)

    page.goto(f"{live_server.url}{lessons['open'].get_absolute_url()}")

    player = page.locator("mux-player")
    expect(player).to_have_count(1)
    expect(player).to_have_attribute("playback-id", PLAYBACK_ID)
    expect(player).to_have_attribute("metadata-viewer-user-id", str(learner.pk))
    token = player.get_attribute("playback-token")
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience="v")
    assert (claims["sub"], claims["kid"]) == (PLAYBACK_ID, KEY_ID)
    expect(page.get_by_text("The video player is not installed")).to_have_count(0)
    expect(page.locator("#watched-text")).to_contain_text("0% watched")
    screenshot(page, "lesson-player")

    # Heartbeats go to the progress API with the session's CSRF token.
    assert _pause_at(page, 0).status == 200
    page.wait_for_timeout(3000)
    response = _pause_at(page, 3)

    assert response.status == 200
    row = LessonProgress.objects.get(user=learner, lesson=lessons["open"])
    assert row.position_seconds == 3
    # 3 s of a 20 s video: the text under the player follows without a reload.
    expect(page.locator("#watched-text")).to_have_text("In progress · 15% watched")


def test_a_learner_without_the_plan_sees_the_locked_page_and_no_player(
    browser, live_server, public_key, lessons
):
    from playwright.sync_api import expect

    UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    _sign_in(page, live_server.url)

    response = page.goto(f"{live_server.url}{lessons['locked'].get_absolute_url()}")

    assert response.status == 403
    expect(page.locator(".locked-panel")).to_be_visible()
    expect(page.locator("mux-player")).to_have_count(0)
    assert "eyJ" not in page.content()
