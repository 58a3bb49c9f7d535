"""The certificate's name step in real Chromium: a learner who finished a course without a
name in their account gives it on the certificate page, then corrects it; both states pass
axe-core with no serious or critical violation."""

import pytest
from django.conf import settings

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, assert_fits, screenshot, sign_in
from progress.models import Certificate
from progress.services import lesson_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
AXE = settings.NODE_MODULES_DIR / "axe-core" / "axe.min.js"


def _serious_violations(page) -> list[str]:
    page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => (await axe.run(document)).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)"""
    )


def test_a_nameless_learner_names_and_corrects_their_certificate(browser, live_server):
    from playwright.sync_api import expect

    learner = UserFactory(email="zoe.quiet@example.com", display_name="", password=PASSWORD)
    learner.emailaddress_set.create(email=learner.email, verified=True, primary=True)
    course = CourseFactory(title="Salsa basics", slug="salsa")
    lesson_complete(user=learner, lesson=LessonFactory(section=SectionFactory(course=course)))
    certificate = Certificate.objects.get(user=learner)
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, live_server.url, email=learner.email, password=PASSWORD)

    page.goto(f"{live_server.url}{certificate.get_absolute_url()}")
    expect(page.get_by_role("heading", name="Your name on the certificate")).to_be_visible()
    expect(page.get_by_role("link", name="Download PDF")).to_have_count(0)
    assert _serious_violations(page) == []
    assert_fits(page)
    screenshot(page, "certificate-name-pending-desktop")
    page.get_by_label("Your full name").fill("Zoë Quiet")
    page.get_by_role("button", name="Put my name on the certificate").click()

    expect(page.get_by_role("status")).to_contain_text("Your certificate now carries your name")
    expect(page.locator(".certificate__name")).to_have_text("Zoë Quiet")
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    assert _serious_violations(page) == []
    page.get_by_label("Your full name").fill("Zoë Quiet-Núñez")
    page.get_by_role("button", name="Save the corrected name").click()

    expect(page.locator(".certificate__name")).to_have_text("Zoë Quiet-Núñez")
    expect(page.locator(".certificate__code")).to_have_text(certificate.code)
    expect(page.get_by_text("You can correct the name 1 more time;")).to_be_visible()
    screenshot(page, "certificate-named-owner-desktop")
    page.close()
