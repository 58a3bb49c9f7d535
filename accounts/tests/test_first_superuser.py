"""FIRST_SUPERUSER_EMAIL / FIRST_SUPERUSER_PASSWORD: `migrate` creates the first superuser."""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role, user_role_get
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "Owner@School.example"
PASSWORD = "a-long-and-unusual-passphrase"


def _migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)


def test_migrate_creates_a_verified_superuser_who_can_sign_in(settings, client):
    settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD = EMAIL, PASSWORD

    _migrate()

    user = User.objects.get(email="owner@school.example")
    assert (user.is_staff, user.is_superuser, user.is_active) == (True, True, True)
    assert user_role_get(user) == Role.STAFF
    assert list(
        EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")
    ) == [("owner@school.example", True, True)]
    response = client.post(
        "/accounts/login/", {"login": "owner@school.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_running_migrate_again_changes_nothing(settings):
    settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD = EMAIL, PASSWORD
    _migrate()
    user = User.objects.get(email="owner@school.example")
    user.set_password("changed-since-by-the-owner")
    user.save()

    settings.FIRST_SUPERUSER_PASSWORD = "another-long-passphrase-here"
    _migrate()

    assert User.objects.filter(is_superuser=True).count() == 1
    user.refresh_from_db()
    assert user.check_password("changed-since-by-the-owner")


def test_an_existing_account_with_that_email_is_left_alone(settings):
    learner = UserFactory(email="owner@school.example")
    settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD = EMAIL, PASSWORD

    _migrate()

    learner.refresh_from_db()
    assert (learner.is_staff, learner.is_superuser) == (False, False)
    assert not learner.check_password(PASSWORD)
    assert User.objects.count() == 1


def test_nothing_happens_without_the_settings_and_half_of_them_is_refused(settings):
    _migrate()
    assert not User.objects.exists()

    settings.FIRST_SUPERUSER_EMAIL = EMAIL
    with pytest.raises(ImproperlyConfigured, match="Set both FIRST_SUPERUSER_EMAIL"):
        _migrate()
    assert not User.objects.exists()


def test_a_weak_password_is_refused_with_the_reason(settings):
    settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD = EMAIL, "password"

    with pytest.raises(ValidationError) as refused:
        _migrate()

    assert "This password is too common." in refused.value.messages
    assert not User.objects.exists()
