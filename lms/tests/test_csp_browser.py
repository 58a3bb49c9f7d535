"""The Content-Security-Policy in real headless Chromium: no page refuses any of its own
scripts, styles, images or connections, and the learner pages stay accessible (axe-core).

The lesson page runs the real Mux Player from node_modules (its shadow-DOM styles are what a
strict policy would break); requests leaving the test server (Mux's CDN, Mux Data, Google's
Cast sender) are aborted at the network, which is not a CSP refusal and does not count.
"""

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, axe_serious_violations, sign_in
from media.models import Video
from progress.services.invites import invite_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # UserFactory's password
# Every violation the page sees, from the event the browser fires for each one.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} refused ${event.blockedURI || "inline"} in ${event.sourceFile}`
  );
}, true);
"""


@pytest.fixture
def school(transactional_db) -> dict:
    course = CourseFactory(
        title="Salsa Footwork", slug="salsa", visibility=Course.Visibility.PUBLIC
    )
    video = Video.objects.create(
        title="Finding the beat",
        playback_id="cspPlaybackId",
        status=Video.Status.READY,
        playback_policy=Video.PlaybackPolicy.PUBLIC,
    )
    lesson = LessonFactory(
        section=SectionFactory(course=course, title="Basics"),
        title="Finding the beat",
        slug="finding-the-beat",
        kind=Lesson.Kind.VIDEO,
        video=video,
        body="Count **1, 2, 3** and pause on 4.",
    )
    return {"course": course, "lesson": lesson}


# The one refusal we mean: ReDoc shows its vendor's logo from the vendor's CDN, which the
# policy keeps out (no CDN, no third-party request from our pages); ReDoc hides it then.
INTENDED_REFUSALS = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def _intended(text: str) -> bool:
    return any(url in text for url in INTENDED_REFUSALS)


def directives(policy: str) -> dict[str, list[str]]:
    """A CSP header as {directive: [sources]}."""
    parsed = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parsed}


class Watcher:
    """Collects CSP refusals from the console and from `securitypolicyviolation` events."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.on("console", self._console)
        # Only the test server is reachable: anything else fails as a network error.
        page.route(
            lambda url: not url.startswith(base_url),
            lambda route: route.abort("internetdisconnected"),
        )

    def _console(self, message) -> None:
        text = message.text
        refusal = "Content Security Policy" in text or text.startswith("Refused to")
        if refusal and not _intended(text):
            self.console.append(text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        # The page really runs under the policy (a page without one would refuse nothing).
        policy = directives(response.headers.get("content-security-policy", ""))
        assert policy["script-src"][0] == "'self'", url
        assert "'unsafe-inline'" not in policy["script-src"], url
        self.page.wait_for_load_state("networkidle")

    def assert_clean(self) -> None:
        events = [e for e in self.page.evaluate("window.__cspViolations") if not _intended(e)]
        assert (self.console, events) == ([], []), (
            f"CSP refusals on {self.page.url}: {events} {self.console}"
        )


def test_pages_admin_and_api_docs_run_under_the_policy_without_a_refusal(
    browser, live_server, school, settings
):
    from playwright.sync_api import expect

    # The staff member below has no second factor; the admin's MFA rule is tested elsewhere.
    settings.LMS_ADMIN_REQUIRE_MFA = False
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    staff.emailaddress_set.create(email=staff.email, verified=True, primary=True)
    invite = invite_create(created_by=staff, course=school["course"])
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    watcher = Watcher(page, base)

    for path in ("/", "/courses/", "/courses/salsa/", "/api/docs/", "/api/redoc/"):
        watcher.visit(f"{base}{path}")
        watcher.assert_clean()
    expect(page.locator("redoc, #redoc-container, .api-content").first).to_be_attached()

    watcher.visit(f"{base}{school['lesson'].get_absolute_url()}")
    expect(page.locator("mux-player")).to_have_count(1)
    # The real player defined its element and drew its controls in its shadow root.
    page.wait_for_function(
        "() => customElements.get('mux-player') && document.querySelector('mux-player').shadowRoot"
    )
    watcher.assert_clean()

    sign_in(page, base, email=staff.email, password=PASSWORD)
    watcher.assert_clean()
    for path in (
        "/admin/",
        "/admin/catalog/course/",
        f"/admin/catalog/course/{school['course'].pk}/change/",
    ):
        watcher.visit(f"{base}{path}")
        watcher.assert_clean()

    watcher.visit(f"{base}/admin/progress/invite/{invite.pk}/change/")
    copy = page.locator("#invite-redeem-url-copy")
    expect(copy).to_have_text("Copy")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    # The copy button works from its static script (the inline one it replaced would be refused).
    expect(copy).to_have_text("Copied")
    watcher.assert_clean()
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_learner_pages_have_no_serious_accessibility_violations(
    browser, live_server, school, scheme
):
    learner = UserFactory(email="ana@example.com")
    learner.emailaddress_set.create(email=learner.email, verified=True, primary=True)
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP, color_scheme=scheme)
    Watcher(page, base)
    found = {}
    # "?q=beat" finds the lesson: results with a lesson and its highlighted snippet.
    anonymous = ["/", "/courses/", "/courses/?q=beat", "/courses/salsa/", "/pricing/"]
    anonymous.append("/accounts/login/")
    for path in anonymous:
        page.goto(f"{base}{path}")
        found[path] = axe_serious_violations(page)
    sign_in(page, base, email=learner.email, password=PASSWORD)
    for path in ("/learn/", school["lesson"].get_absolute_url(), "/profile/"):
        page.goto(f"{base}{path}")
        found[path] = axe_serious_violations(page)
    assert {path: found for path, found in found.items() if found} == {}
    page.close()
