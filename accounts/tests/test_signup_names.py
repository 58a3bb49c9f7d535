"""Sign-up asks for the learner's full name, in the browser and in the app (allauth headless
uses the same form, `accounts.forms.SignupNameForm`), because certificates carry it."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"
APP_SIGNUP = "/_allauth/app/v1/auth/signup"


def _sign_up(client, **fields):
    data = {"email": "zoe@example.com", "password1": PASSWORD, "password2": PASSWORD, **fields}
    return client.post(reverse("account_signup"), data)


def _field_errors(response, name: str) -> list[str]:
    """The errors shown under the field: from its label to the next field."""
    html = response.content.decode()
    block = re.search(rf'for="id_{name}">.*?(?=<div class="field[ "]|</form>)', html, re.S)
    assert block, html
    return re.findall(r'<p class="field__error">([^<]+)</p>', block.group())


def test_the_sign_up_page_asks_for_the_full_name_first(client):
    html = client.get(reverse("account_signup")).content.decode()

    assert '<label class="field__label" for="id_name">Full name</label>' in html
    assert re.search(r'<input type="text" name="name"[^>]*autocomplete="name"', html)
    assert "As it should appear on your certificates." in html
    # Before allauth's own fields, which stay.
    positions = [html.index(f'name="{field}"') for field in ("name", "email", "password1")]
    assert positions == sorted(positions)


def test_signing_up_with_a_name_keeps_it_trimmed_as_the_display_name(client):
    response = _sign_up(client, name="  Zoë   Núñez  ")

    assert response.status_code == 302
    user = User.objects.get()
    assert (user.email, user.display_name) == ("zoe@example.com", "Zoë Núñez")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Enter your full name: your certificates carry it."),
        ("   ", "Enter your full name: your certificates carry it."),
        ("zoe@example.com", "Enter your name, not an email address."),
        ("Z" * 81, "Ensure this value has at most 80 characters (it has 81)."),
    ],
)
def test_a_missing_or_unusable_name_is_a_form_error_and_creates_nobody(client, name, error):
    response = _sign_up(client, name=name)

    assert response.status_code == 200  # allauth re-renders its invalid forms with 200
    assert _field_errors(response, "name") == [error]
    assert not User.objects.exists()
    assert mail.outbox == []


def test_the_app_signs_up_with_a_name(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            APP_SIGNUP,
            {"email": "zoe@example.com", "password": PASSWORD, "name": " Zoë Núñez "},
            content_type="application/json",
        )

    # Pending email verification, as any app sign-up.
    assert response.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in response.json()["data"]["flows"]
    user = User.objects.get()
    assert user.display_name == "Zoë Núñez"
    assert [message.to for message in mail.outbox] == [["zoe@example.com"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            [
                {
                    "message": "Enter your full name: your certificates carry it.",
                    "code": "required",
                    "param": "name",
                }
            ],
        ),
        (
            {"name": "zoe@example.com"},
            [
                {
                    "message": "Enter your name, not an email address.",
                    "code": "name_is_email",
                    "param": "name",
                }
            ],
        ),
    ],
)
def test_the_app_sign_up_without_a_usable_name_is_400_on_the_name(client, body, errors):
    response = client.post(
        APP_SIGNUP,
        {"email": "zoe@example.com", "password": PASSWORD, **body},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {"status": 400, "errors": errors}
    assert not User.objects.exists()
    assert mail.outbox == []
