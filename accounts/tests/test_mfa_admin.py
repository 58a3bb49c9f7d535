"""Two-factor authentication before the admin, and the admin signing in through allauth."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.http import urlencode

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_INDEX = reverse("admin:index")
COURSES_URL = reverse("admin:catalog_course_changelist")
PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture
def mfa_required(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = True


def with_role(role: Role, **kwargs) -> User:
    return user_role_set(user=UserFactory(**kwargs), role=role, actor=None)


def totp_code(secret: str) -> str:
    """What the user's authenticator app shows right now."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def setup_url(next_url: str) -> str:
    return f"{reverse('mfa_activate_totp')}?{urlencode({'next': next_url})}"


# --- The requirement ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.INSTRUCTOR])
@pytest.mark.parametrize("url", [ADMIN_INDEX, COURSES_URL])
def test_staff_and_instructors_without_mfa_are_sent_to_set_it_up(client, mfa_required, role, url):
    client.force_login(with_role(role))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == setup_url(url)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Set up an authenticator app before you use the admin."
    ]


def test_superusers_need_mfa_too(client, mfa_required):
    client.force_login(User.objects.create_superuser("root@example.com", "pw"))

    assert client.get(ADMIN_INDEX)["Location"] == setup_url(ADMIN_INDEX)


def test_a_post_to_the_admin_without_mfa_changes_nothing(client, mfa_required):
    staff = with_role(Role.STAFF)
    learner = UserFactory(display_name="Lea")
    client.force_login(staff)

    response = client.post(
        reverse("admin:accounts_user_change", args=[learner.pk]), {"display_name": "Changed"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    learner.refresh_from_db()
    assert learner.display_name == "Lea"


@pytest.mark.parametrize("role", [Role.STAFF, Role.INSTRUCTOR])
def test_with_an_authenticator_app_they_get_in(client, mfa_required, role):
    user = with_role(role)
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)

    response = client.get(ADMIN_INDEX)

    assert response.status_code == 200
    assert "Courses, learners and settings" in response.content.decode()


def test_recovery_codes_alone_do_not_count(client, mfa_required):
    user = with_role(Role.STAFF)
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00", "used_mask": 0}
    )
    client.force_login(user)

    assert client.get(ADMIN_INDEX)["Location"] == setup_url(ADMIN_INDEX)


def test_without_the_setting_no_mfa_is_asked(client, settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False
    client.force_login(with_role(Role.STAFF))

    assert client.get(ADMIN_INDEX).status_code == 200


def test_pages_outside_the_admin_are_open_without_mfa(client, mfa_required):
    client.force_login(with_role(Role.STAFF))

    assert client.get(reverse("catalog:course_list")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200


def test_signing_out_of_the_admin_needs_no_mfa(client, mfa_required):
    client.force_login(with_role(Role.STAFF))

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_learners_are_sent_to_the_admin_login_not_to_mfa_setup(client, user, mfa_required):
    client.force_login(user)

    response = client.get(ADMIN_INDEX)

    assert response["Location"] == f"{reverse('admin:login')}?next={ADMIN_INDEX}"


# --- The admin's sign-in is allauth's ---------------------------------------------------------


def test_the_admin_login_page_sends_visitors_to_the_site_sign_in(client):
    response = client.get(reverse("admin:login"), {"next": COURSES_URL})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?{urlencode({'next': COURSES_URL})}"


def test_the_admin_login_never_sends_people_off_site(client):
    response = client.get(reverse("admin:login"), {"next": "https://evil.example.com/"})

    # The unsafe address is dropped: after signing in, people come back to the admin login,
    # which sends staff to the admin index.
    [next_url] = parse_qs(urlsplit(response["Location"]).query)["next"]
    assert next_url.startswith(reverse("admin:login"))
    assert urlsplit(next_url).netloc == ""


def test_signed_in_staff_at_the_admin_login_go_on_to_the_admin(client):
    client.force_login(with_role(Role.STAFF))

    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX


def test_staff_sign_in_asks_for_the_authenticator_code_then_opens_the_admin(client, mfa_required):
    staff = with_role(Role.STAFF, email="sam@example.com", verified_email=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)

    to_admin_login = client.get(COURSES_URL)
    to_site_login = client.get(to_admin_login["Location"])
    password_step = client.post(
        to_site_login["Location"], {"login": "sam@example.com", "password": PASSWORD}
    )
    assert "_auth_user_id" not in client.session  # not signed in until the code is given
    code_step = client.post(password_step["Location"], {"code": totp_code(secret)})
    admin_page = client.get(code_step["Location"])

    assert password_step["Location"] == reverse("mfa_authenticate")
    assert code_step["Location"] == COURSES_URL
    assert admin_page.status_code == 200


def test_staff_who_set_up_mfa_when_asked_then_reach_the_admin(client, mfa_required):
    with_role(Role.STAFF, email="sam@example.com", verified_email=True)
    login_url = f"{reverse('account_login')}?{urlencode({'next': ADMIN_INDEX})}"

    signed_in = client.post(login_url, {"login": "sam@example.com", "password": PASSWORD})
    to_setup = client.get(signed_in["Location"])
    # Allauth asks for the password again before adding an authenticator.
    to_reauthenticate = client.get(to_setup["Location"])
    reauthenticated = client.post(to_reauthenticate["Location"], {"password": PASSWORD})
    setup_page = client.get(reauthenticated["Location"])
    secret = client.session["mfa.totp.secret"]
    activated = client.post(reauthenticated["Location"], {"code": totp_code(secret)})

    assert signed_in["Location"] == ADMIN_INDEX
    assert to_setup["Location"] == setup_url(ADMIN_INDEX)
    assert to_reauthenticate["Location"].startswith(reverse("account_reauthenticate"))
    assert reauthenticated["Location"] == setup_url(ADMIN_INDEX)
    assert setup_page.status_code == 200
    assert activated.status_code == 302
    assert Authenticator.objects.filter(type=Authenticator.Type.TOTP).count() == 1
    assert client.get(ADMIN_INDEX).status_code == 200
