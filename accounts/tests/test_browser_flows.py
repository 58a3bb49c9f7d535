"""Signing up, in and out in the browser: allauth's account pages, driven by the test client.

Email verification is mandatory and by code; emails go out after commit through the Celery
task (eager in tests), so each request that sends one runs inside
`django_capture_on_commit_callbacks(execute=True)` and the code is read from `mail.outbox`.
"""

import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"
# allauth's code alphabet has no vowels, so six of them in a row are never an English word.
CODE = re.compile(r"\b[BCDFGHJKLMNPQRSTVWXZ]{6}\b")


def _last_code(to: str) -> str:
    message = next(m for m in reversed(mail.outbox) if to in m.to)
    return CODE.search(message.body).group()


def _text(response) -> str:
    """The page's visible text, roughly: tags dropped, whitespace squeezed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _signed_in_user(client) -> User | None:
    response = client.get(reverse("catalog:home"))
    user = response.wsgi_request.user
    return user if user.is_authenticated else None


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def known(db) -> User:
    """A learner who signed up and verified their address earlier."""
    return UserFactory(
        email="ana@example.com", display_name="Ana Lima", password=PASSWORD, verified_email=True
    )


# --- Sign up -> code -> verified and signed in ------------------------------------------------


def test_sign_up_emails_a_six_letter_code_that_verifies_and_signs_in(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "New.Learner@Example.com",
                "name": "  Nia  Learner ",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get()
    assert user.email == "new.learner@example.com"
    assert [m.to for m in mail.outbox] == [["new.learner@example.com"]]
    code = _last_code("new.learner@example.com")
    assert len(code) == 6
    assert _signed_in_user(client) is None  # not before the address is verified

    page = client.get(reverse("account_email_verification_sent"))
    assert page.status_code == 200
    assert "Enter Email Verification Code" in _text(page)
    assert "new.learner@example.com" in _text(page)

    response = client.post(reverse("account_email_verification_sent"), {"code": code.lower()})

    # No `next`: a new learner lands on My learning, not the marketing home.
    assert response.status_code == 302
    assert response["Location"] == reverse("progress:dashboard")
    assert _signed_in_user(client) == user
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (
        "new.learner@example.com",
        True,
        True,
    )
    user.refresh_from_db()
    assert user.display_name == "Nia Learner"  # spaces trimmed and squeezed
    home = client.get("/")
    assert '<span class="site-nav__name">Nia Learner</span>' in home.content.decode()


def test_sign_up_keeps_the_next_page_through_the_code(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup") + "?next=/courses/",
            {
                "email": "bo@example.com",
                "name": "Bo Berg",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )

    response = client.post(
        reverse("account_email_verification_sent"), {"code": _last_code("bo@example.com")}
    )

    assert response["Location"] == "/courses/"


def test_sign_up_rejects_a_weak_password_and_mismatched_repeat(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "bo@example.com", "password1": "12345678", "password2": "12345679"},
    )

    assert response.status_code == 200
    text = _text(response)
    assert (
        "This password is too common." in text
        or "You must type the same password each time." in text
    )
    assert not User.objects.exists()
    assert mail.outbox == []


def test_wrong_codes_are_refused_and_the_last_attempt_ends_the_flow(
    client, django_capture_on_commit_callbacks, settings
):
    assert settings.ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS == 3
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {
                "email": "bo@example.com",
                "name": "Bo Berg",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
    code = _last_code("bo@example.com")
    url = reverse("account_email_verification_sent")

    for _attempt in range(2):
        response = client.post(url, {"code": "ZZZZZZ"})
        assert response.status_code == 200
        assert "Incorrect code." in _text(response)

    response = client.post(url, {"code": "ZZZZZZ"}, follow=True)

    assert response.redirect_chain == [(reverse("account_login"), 302)]
    assert _messages(response) == [
        "Too many wrong codes: that code no longer works. Start again and we will send you a "
        "new one."
    ]
    assert "Too many wrong codes" in _text(response)  # shown on the page
    # The right code is now useless: the flow is over, nothing is verified, nobody signed in.
    response = client.post(url, {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert not EmailAddress.objects.filter(verified=True).exists()
    assert _signed_in_user(client) is None


def test_after_the_flow_ended_signing_in_sends_a_fresh_code(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {
                "email": "bo@example.com",
                "name": "Bo Berg",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
    for _attempt in range(3):
        client.post(reverse("account_email_verification_sent"), {"code": "ZZZZZZ"})
    # allauth sends one verification email per address every 10 s at most ("confirm_email"
    # rate limit, counted in the cache): let those seconds pass.
    cache_clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_login"), {"login": "bo@example.com", "password": PASSWORD}
        )
    assert response["Location"] == reverse("account_email_verification_sent")
    response = client.post(
        reverse("account_email_verification_sent"), {"code": _last_code("bo@example.com")}
    )

    assert response.status_code == 302
    assert _signed_in_user(client).email == "bo@example.com"
    assert len(mail.outbox) == 2


def test_signing_up_with_a_taken_email_looks_the_same_and_tells_the_owner(
    client, known, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "ANA@example.com",
                "name": "Bo Berg",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )

    # The same answer as for a new address: nobody learns that ana@ has an account here...
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Enter Email Verification Code" in _text(page)
    # ... no second account, and the owner hears about the attempt instead of getting a code.
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert not CODE.search(mail.outbox[0].body)


# --- Sign in, by password or by emailed code; sign out -------------------------------------------


def test_sign_in_with_password_returns_to_the_next_page(client, known):
    page = client.get(reverse("account_login") + "?next=/courses/")
    assert page.status_code == 200
    assert 'name="next" value="/courses/"' in page.content.decode()

    response = client.post(
        reverse("account_login"),
        {"login": "Ana@Example.com", "password": PASSWORD, "next": "/courses/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/courses/"
    assert _signed_in_user(client) == known


def test_sign_in_ignores_a_next_page_on_another_site(client, known):
    response = client.post(
        reverse("account_login"),
        {"login": "ana@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_wrong_password_and_unknown_email_get_the_same_error(client, known):
    wrong_password = client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": "not-it"}
    )
    unknown_email = client.post(
        reverse("account_login"), {"login": "nobody@example.com", "password": "not-it"}
    )

    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct." in _text(response)
        assert 'role="alert"' in response.content.decode()
    assert _signed_in_user(client) is None


def test_unverified_account_gets_a_code_when_signing_in(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="cy@example.com", password=PASSWORD)  # no verified address

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_login"), {"login": "cy@example.com", "password": PASSWORD}
        )

    assert response["Location"] == reverse("account_email_verification_sent")
    assert _signed_in_user(client) is None
    client.post(reverse("account_email_verification_sent"), {"code": _last_code("cy@example.com")})
    assert _signed_in_user(client) == user
    assert EmailAddress.objects.get(user=user).verified


def test_sign_in_by_emailed_code(client, known, django_capture_on_commit_callbacks):
    login_page = client.get(reverse("account_login"))
    assert reverse("account_request_login_code") in login_page.content.decode()
    assert "Send me a sign-in code" in _text(login_page)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_request_login_code"), {"email": "ana@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    code = _last_code("ana@example.com")
    page = client.get(reverse("account_confirm_login_code"))
    assert page.status_code == 200
    assert "ana@example.com" in _text(page)

    response = client.post(reverse("account_confirm_login_code"), {"code": code})

    assert response.status_code == 302
    assert _signed_in_user(client) == known


def test_sign_in_code_for_an_unknown_email_looks_sent_but_signs_in_nobody(
    client, known, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_request_login_code"), {"email": "nobody@example.com"}
        )

    assert response["Location"] == reverse("account_confirm_login_code")
    assert [m.to for m in mail.outbox] == [["nobody@example.com"]]  # "no account here"
    assert not CODE.search(mail.outbox[0].body)
    response = client.post(reverse("account_confirm_login_code"), {"code": "BCDFGH"})
    assert _signed_in_user(client) is None


def test_wrong_sign_in_codes_end_the_flow(client, known, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": "ana@example.com"})
    code = _last_code("ana@example.com")

    for _attempt in range(2):
        assert "Incorrect code." in _text(
            client.post(reverse("account_confirm_login_code"), {"code": "ZZZZZZ"})
        )
    response = client.post(reverse("account_confirm_login_code"), {"code": "ZZZZZZ"}, follow=True)

    assert "Too many wrong codes" in _text(response)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert _signed_in_user(client) is None


def test_sign_out_takes_a_post_and_asks_first_on_get(client, known):
    client.force_login(known)

    confirm = client.get(reverse("account_logout"))
    assert confirm.status_code == 200
    assert "Are you sure you want to sign out?" in _text(confirm)
    assert _signed_in_user(client) == known

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _signed_in_user(client) is None


# --- Passwords ---------------------------------------------------------------------------------


def test_password_change_keeps_the_user_signed_in(client, known):
    client.force_login(known)
    page = client.get(reverse("account_change_password"))
    assert page.status_code == 200

    wrong = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": "another-fine-passphrase", "password2": "x"},
    )
    assert wrong.status_code == 200
    assert "Please type your current password." in _text(wrong)

    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "another-fine-passphrase",
            "password2": "another-fine-passphrase",
        },
    )

    assert response.status_code == 302
    known.refresh_from_db()
    assert known.check_password("another-fine-passphrase")
    assert _signed_in_user(client) == known


def test_password_reset_by_emailed_link(client, known, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": "ana@example.com"})

    assert response["Location"] == reverse("account_reset_password_done")
    done = client.get(response["Location"])
    assert "We have sent you an email" in _text(done)
    [message] = mail.outbox
    assert message.to == ["ana@example.com"]
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", message.body)
    # The link hides its key from the page's address bar (and Referer) with a redirect.
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    form_url = form_page.redirect_chain[-1][0]
    assert "Change Password" in _text(form_page)

    response = client.post(
        form_url, {"password1": "brand-new-passphrase", "password2": "brand-new-passphrase"}
    )

    assert response["Location"] == reverse("account_reset_password_from_key_done")
    known.refresh_from_db()
    assert known.check_password("brand-new-passphrase")
    # The link is single-use.
    again = client.get(link.group(1), follow=True)
    assert "Bad Token" in _text(again)
    # And the new password signs in.
    client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": "brand-new-passphrase"}
    )
    assert _signed_in_user(client) == known


def test_password_reset_for_an_unknown_email_looks_the_same(
    client, known, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert [m.to for m in mail.outbox] == [["nobody@example.com"]]
    assert "/accounts/password/reset/key/" not in mail.outbox[0].body


# --- Email addresses ---------------------------------------------------------------------------


def test_add_verify_make_primary_and_remove_an_email_address(
    client, known, django_capture_on_commit_callbacks
):
    client.force_login(known)
    page = client.get(reverse("account_email"))
    assert page.status_code == 200
    assert "ana@example.com" in _text(page)
    assert "Verified" in _text(page)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_email"), {"action_add": "", "email": "ana.work@example.com"}
        )
    assert response.status_code == 302
    code = _last_code("ana.work@example.com")
    verify_page = client.get(reverse("account_email_verification_sent"))
    assert "ana.work@example.com" in _text(verify_page)
    client.post(reverse("account_email_verification_sent"), {"code": code})
    assert EmailAddress.objects.get(email="ana.work@example.com").verified

    client.post(reverse("account_email"), {"action_primary": "", "email": "ana.work@example.com"})
    known.refresh_from_db()
    assert known.email == "ana.work@example.com"

    client.post(reverse("account_email"), {"action_remove": "", "email": "ana@example.com"})
    assert list(EmailAddress.objects.filter(user=known).values_list("email", "primary")) == [
        ("ana.work@example.com", True)
    ]


# --- Pages look like the site ------------------------------------------------------------------

ANONYMOUS_PAGES = [
    ("account_login", "Sign In"),
    ("account_signup", "Sign Up"),
    ("account_request_login_code", "Send me a sign-in code"),
    ("account_reset_password", "Password Reset"),
    ("account_reset_password_done", "Password Reset"),
]
SIGNED_IN_PAGES = [
    ("account_logout", "Sign Out"),
    ("account_change_password", "Change Password"),
    ("account_email", "Email Addresses"),
    ("socialaccount_connections", "Account Connections"),
    ("mfa_index", "Two-Factor Authentication"),
    ("mfa_activate_totp", "Activate Authenticator App"),
    ("usersessions_list", "Sessions"),
]


def _looks_like_the_site(response, heading: str) -> None:
    html = response.content.decode()
    assert response.status_code == 200
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert re.search(r'<h1 class="auth__title">\s*' + re.escape(heading), html)
    assert html.count("<h1") == 1
    assert '<meta name="robots" content="noindex">' in html
    # allauth's bare fallback markup is gone: its "Menu:" list and unstyled paragraphs.
    assert "Menu:" not in html
    assert "<p>\n" not in html


@pytest.mark.parametrize(("url_name", "heading"), ANONYMOUS_PAGES)
def test_entrance_pages_are_framed_by_the_site(client, url_name, heading):
    response = client.get(reverse(url_name))

    _looks_like_the_site(response, heading)
    assert 'class="auth__card"' in response.content.decode()


@pytest.mark.parametrize(("url_name", "heading"), SIGNED_IN_PAGES)
def test_account_settings_pages_are_framed_by_the_site(client, known, url_name, heading):
    client.force_login(known)

    response = client.get(reverse(url_name), follow=True)

    if url_name == "mfa_activate_totp":  # allauth asks for the password again first
        assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
        _looks_like_the_site(response, "Confirm Access")
        return
    _looks_like_the_site(response, heading)
    html = response.content.decode()
    assert 'aria-label="Account settings"' in html
    if url_name != "account_logout":  # not a settings page, so not in the menu
        assert re.search(r'aria-current="page">[^<]+</a>', html)


def test_code_pages_are_framed_by_the_site(client, known, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": "ana@example.com"})

    page = client.get(reverse("account_confirm_login_code"))

    html = page.content.decode()
    assert 'class="site-header"' in html
    assert '<label class="field__label" for="id_code">Code</label>' in html
    assert 'autocomplete="one-time-code"' in html
    assert 'class="btn btn--primary"' in html


def test_form_errors_use_the_site_field_markup(client):
    response = client.post(reverse("account_login"), {"login": "not-an-email", "password": ""})

    html = response.content.decode()
    assert '<div class="field field--invalid">' in html
    assert 'aria-invalid="true"' in html
    assert '<p class="field__error">This field is required.</p>' in html


def test_session_list_shows_the_current_session(client, known):
    client.post(reverse("account_login"), {"login": "ana@example.com", "password": PASSWORD})

    response = client.get(reverse("usersessions_list"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="data-table"' in html
    assert "Current" in _text(response)


# --- Header ------------------------------------------------------------------------------------


def test_header_offers_sign_in_and_sign_up_to_visitors(client):
    html = client.get("/courses/").content.decode()

    assert f'href="{reverse("account_login")}?next=/courses/"' in html
    assert f'href="{reverse("account_signup")}?next=/courses/"' in html
    assert "Sign out" not in html


def test_header_shows_name_profile_and_a_sign_out_form_when_signed_in(client, known):
    client.force_login(known)

    html = client.get("/courses/").content.decode()

    assert '<span class="site-nav__name">Ana Lima</span>' in html
    assert re.search(
        r'<a class="site-nav__link site-nav__profile" href="/profile/">\s*'
        r'<span class="avatar" aria-hidden="true">A</span>\s*'
        r'<span class="site-nav__profile-label">Profile</span>\s*</a>',
        html,
    )
    assert re.search(r'<form class="inline-form" method="post" action="/accounts/logout/">', html)
    assert ">Sign in<" not in html
    assert ">Admin<" not in html


def test_header_links_staff_to_the_admin(client):
    client.force_login(UserFactory(is_staff=True))

    html = client.get("/").content.decode()

    assert f'href="{reverse("admin:index")}">Admin</a>' in html


def test_messages_are_shown_on_the_next_page(client, known):
    response = client.post(
        reverse("account_login"), {"login": "ana@example.com", "password": PASSWORD}, follow=True
    )

    assert "Successfully signed in as Ana Lima." in _text(response)
    assert 'class="flash flash--success"' in response.content.decode()


# --- Demo school -------------------------------------------------------------------------------


def test_demo_school_people_sign_in_through_the_form(client, settings):
    settings.DEBUG = True  # seed_demo refuses to run in production
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    for email, password in (
        ("staff@example.com", "demo-staff-2024"),
        ("learner@example.com", "demo-learner-2024"),
    ):
        response = client.post(reverse("account_login"), {"login": email, "password": password})
        assert response.status_code == 302, _text(response)
        assert urlparse(response["Location"]).path == "/"
        assert _signed_in_user(client).email == email
        client.post(reverse("account_logout"))
