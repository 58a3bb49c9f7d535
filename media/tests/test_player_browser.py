"""The lesson player in real headless Chromium: the entitled learner gets Mux Player with a
signed token and their heartbeats reach the progress API; a locked lesson shows no player; a
page left open gets fresh tokens before the old ones expire, or says why it cannot.

Mux Player itself would stream from Mux's CDN, which tests never reach, so its script is
stood in for by a tiny custom element with the same tag, `currentTime` and events: what is
under test is our page, our tokens and our player.js.
"""

import base64
import datetime as dt
import re

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, screenshot, sign_in
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
    # First, so it shadows the real player that npm puts in node_modules.
    settings.STATICFILES_DIRS = [tmp_path / "static", *settings.STATICFILES_DIRS]
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
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)

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
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)

    response = page.goto(f"{live_server.url}{lessons['locked'].get_absolute_url()}")

    assert response.status == 403
    expect(page.locator(".locked-panel")).to_be_visible()
    expect(page.locator("mux-player")).to_have_count(0)
    assert "eyJ" not in page.content()


# Records every token the player is given, as it happens, with the page's clock then.
RECORD_TOKEN_CHANGES = """
window.tokenChanges = [];
document.addEventListener("DOMContentLoaded", () => {
  const player = document.querySelector("mux-player");
  if (!player) return;
  new MutationObserver((records) => {
    for (const record of records) {
      window.tokenChanges.push({
        at: Date.now() / 1000,
        name: record.attributeName,
        old: record.oldValue,
        value: player.getAttribute(record.attributeName),
        startTime: player.getAttribute("start-time"),
      });
    }
  }).observe(player, {
    attributeFilter: ["playback-token", "thumbnail-token", "storyboard-token"],
    attributeOldValue: true,
  });
});
"""
AUDIENCES = {"playback-token": "v", "thumbnail-token": "t", "storyboard-token": "s"}


def _claims(token: str, public_key: bytes, audience: str) -> dict:
    # Signature and claims checked; `exp` is compared by the test (old tokens have expired).
    return jwt.decode(
        token, public_key, algorithms=["RS256"], audience=audience, options={"verify_exp": False}
    )


def test_a_lesson_left_open_gets_fresh_tokens_before_the_old_ones_expire(
    browser, live_server, public_key, lessons, settings
):
    settings.LMS_PLAYBACK_TOKEN_TTL = 5
    UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    page.add_init_script(RECORD_TOKEN_CHANGES)
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    page.goto(f"{live_server.url}{lessons['open'].get_absolute_url()}")

    page.wait_for_function("() => window.tokenChanges.length >= 3", timeout=15000)
    # The learner is 3 s in when the next tokens come.
    page.evaluate("() => { document.querySelector('mux-player').currentTime = 3; }")
    page.wait_for_function("() => window.tokenChanges.length >= 6", timeout=15000)
    changes = page.evaluate("() => window.tokenChanges")

    assert sorted(change["name"] for change in changes[:6]) == sorted([*AUDIENCES] * 2)
    for change in changes[:6]:
        old = _claims(change["old"], public_key, AUDIENCES[change["name"]])
        fresh = _claims(change["value"], public_key, AUDIENCES[change["name"]])
        assert change["at"] < old["exp"], "the old token had expired already"
        assert fresh["exp"] > old["exp"]
        assert (fresh["sub"], fresh["kid"]) == (PLAYBACK_ID, KEY_ID)
    # Mux Player reloads the stream for a new token from `start-time`: where the learner was.
    assert [change["startTime"] for change in changes[3:6]] == ["3", "3", "3"]


def test_a_page_shown_again_after_expiry_gets_fresh_tokens_at_once(
    browser, live_server, public_key, lessons
):
    """A background tab's timers may not run for hours; the page catches up when shown."""
    from playwright.sync_api import expect

    UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    page.clock.install()
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    page.goto(f"{live_server.url}{lessons['open'].get_absolute_url()}")
    player = page.locator("mux-player")
    token = player.get_attribute("playback-token")
    # Tokens signed within the same second are identical: let the server's second turn.
    page.wait_for_timeout(1100)

    # Two hours pass on the device without a timer firing, then the tab is shown again.
    page.clock.set_system_time(dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=2))
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")

    expect(player).not_to_have_attribute("playback-token", token, timeout=5000)
    fresh = _claims(player.get_attribute("playback-token"), public_key, "v")
    assert fresh["sub"] == PLAYBACK_ID
    assert fresh["exp"] > _claims(token, public_key, "v")["exp"]


def test_a_learner_who_loses_the_plan_mid_lesson_is_told_and_sent_to_pricing(
    browser, live_server, public_key, lessons, settings
):
    from playwright.sync_api import expect

    settings.LMS_PLAYBACK_TOKEN_TTL = 5
    learner = UserFactory(email=EMAIL, verified_email=True)
    tier = lessons["locked"].course.required_tier
    tier_grant_create(user=learner, tier=tier, source=TierGrant.Source.STAFF)
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    page.goto(f"{live_server.url}{lessons['locked'].get_absolute_url()}")
    expect(page.locator("mux-player")).to_have_count(1)

    # The plan ends while the page is open (no service revokes a grant: the row goes).
    TierGrant.objects.filter(user=learner).delete()

    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Your plan no longer includes this video", timeout=10000)
    expect(notice.get_by_role("link", name="See plans")).to_have_attribute(
        "href", "/pricing/#plans"
    )
    expect(page.locator("mux-player")).to_have_count(0)
    screenshot(page, "lesson-player-access-lost")


def test_a_learner_signed_out_elsewhere_is_asked_to_sign_in_again(
    browser, live_server, public_key, lessons, settings
):
    from playwright.sync_api import expect

    settings.LMS_PLAYBACK_TOKEN_TTL = 5
    UserFactory(email=EMAIL, verified_email=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    lesson_url = lessons["open"].get_absolute_url()
    page.goto(f"{live_server.url}{lesson_url}")
    expect(page.locator("mux-player")).to_have_count(1)

    context.clear_cookies()  # the session is gone, as after signing out in another tab

    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("You have been signed out", timeout=10000)
    expect(notice.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", f"/accounts/login/?next={lesson_url}"
    )
