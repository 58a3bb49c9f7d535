"""A new learner's first minutes: after verifying the email they land where they came from
(`next`, e.g. the course page) or on My learning; the code page offers "Send a new code",
within allauth's limits, and says so when a new code is asked for too soon."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.views import RESEND_TOO_SOON
from catalog.tests.factories import CourseFactory
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"
CODE = re.compile(r"\b[BCDFGHJKLMNPQRSTVWXZ]{6}\b")
CODE_PAGE = "/accounts/confirm-email/"


def _codes(to: str) -> list[str]:
    return [CODE.search(m.body).group() for m in mail.outbox if to in m.to]


def _text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _sign_up(client, capture, next_url: str | None = None):
    url = reverse("account_signup") + (f"?next={next_url}" if next_url else "")
    data = {"email": "bo@example.com", "name": "Bo Berg", "password1": PASSWORD}
    with capture(execute=True):
        return client.post(url, {**data, "password2": PASSWORD})


def test_verifying_lands_on_the_course_page_the_learner_signed_up_from(
    client, django_capture_on_commit_callbacks
):
    course = CourseFactory(slug="salsa-foundations")
    page = client.get(reverse("account_signup") + f"?next={course.get_absolute_url()}")
    assert 'name="next" value="/courses/salsa-foundations/"' in page.content.decode()
    _sign_up(client, django_capture_on_commit_callbacks, course.get_absolute_url())

    response = client.post(CODE_PAGE, {"code": _codes("bo@example.com")[-1]})

    assert response.status_code == 302
    assert response["Location"] == "/courses/salsa-foundations/"
    assert client.get("/courses/salsa-foundations/").wsgi_request.user.email == "bo@example.com"


@pytest.mark.parametrize("next_url", [None, "https://elsewhere.example/phish"])
def test_without_a_next_page_on_this_site_verifying_lands_on_my_learning(
    client, django_capture_on_commit_callbacks, next_url
):
    _sign_up(client, django_capture_on_commit_callbacks, next_url)

    response = client.post(CODE_PAGE, {"code": _codes("bo@example.com")[-1]})

    assert response.status_code == 302
    assert response["Location"] == "/learn/"
    assert client.get("/learn/").status_code == 200


def test_the_code_page_offers_a_new_code_that_replaces_the_first(
    client, django_capture_on_commit_callbacks
):
    _sign_up(client, django_capture_on_commit_callbacks, "/courses/")
    page = client.get(CODE_PAGE)
    html = page.content.decode()
    assert re.search(r'<button[^>]*form="resend"[^>]*>\s*Send a new code\s*</button>', html)
    assert '<input type="hidden" name="action" value="resend">' in html
    assert "No email? Check your spam folder, or send a new code" in _text(page)
    cache_clear()  # allauth sends one code per address every 10 seconds: let them pass

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CODE_PAGE, {"action": "resend", "next": "/courses/"})

    assert response.status_code == 302
    first, second = _codes("bo@example.com")
    assert first != second
    assert client.post(CODE_PAGE, {"code": first}).status_code == 200  # replaced: refused
    verified = client.post(CODE_PAGE, {"code": second})
    assert verified.status_code == 302
    assert verified["Location"] == "/courses/"
    assert User.objects.get().emailaddress_set.get().verified


def test_a_new_code_asked_for_too_soon_is_refused_and_the_page_says_so(
    client, django_capture_on_commit_callbacks
):
    _sign_up(client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CODE_PAGE, {"action": "resend"}, follow=True)

    assert response.redirect_chain == [(CODE_PAGE, 302)]
    assert response.status_code == 200
    assert str(RESEND_TOO_SOON) in _text(response)
    assert "Enter Email Verification Code" in _text(response)
    assert len(_codes("bo@example.com")) == 1  # nothing more was sent
    # ... and the first code still verifies.
    assert client.post(CODE_PAGE, {"code": _codes("bo@example.com")[0]}).status_code == 302


def test_after_the_last_new_code_the_button_is_gone_and_the_page_says_why(
    client, django_capture_on_commit_callbacks, settings
):
    assert settings.ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND == 3
    _sign_up(client, django_capture_on_commit_callbacks)
    for _resend in range(3):
        cache_clear()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(CODE_PAGE, {"action": "resend"})

    page = client.get(CODE_PAGE)

    assert len(_codes("bo@example.com")) == 4
    assert "Send a new code" not in _text(page)
    assert "You have asked for as many new codes as we send for one sign-up" in _text(page)


def test_other_rate_limits_get_the_sites_429_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "1/m/ip"}
    data = {"email": "a@example.com", "name": "A B", "password1": PASSWORD, "password2": PASSWORD}
    client.post(reverse("account_signup"), data)

    response = client.post(reverse("account_signup"), {**data, "email": "c@example.com"})

    assert response.status_code == 429
    assert "Too many requests. Try again later." in _text(response)
    assert 'class="site-header"' in response.content.decode()
