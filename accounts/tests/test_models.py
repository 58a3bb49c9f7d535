import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_is_stored_lowercase():
    user = User.objects.create_user("Ada@Example.COM", "s3cret-pass", display_name="Ada")

    assert user.email == "ada@example.com"
    assert authenticate(username="ADA@example.com", password="s3cret-pass") == user
    assert str(user) == "Ada"


def test_emails_differing_only_in_case_cannot_both_exist():
    User.objects.create_user("sam@example.com", "pw")

    with pytest.raises(IntegrityError):
        User.objects.create(email="SAM@example.com")


def test_superuser_is_staff_and_superuser():
    admin = User.objects.create_superuser("root@example.com", "pw")

    assert admin.is_staff and admin.is_superuser


def test_unknown_time_zone_is_rejected():
    user = User(email="tz@example.com", time_zone="Mars/Olympus")

    with pytest.raises(ValidationError) as excinfo:
        user.full_clean(exclude=["password"])

    assert "time_zone" in excinfo.value.message_dict


def test_user_ids_are_not_sequential():
    first = User.objects.create_user("a@example.com", "pw")
    second = User.objects.create_user("b@example.com", "pw")

    assert first.pk.version == 4 and second.pk.version == 4


def test_the_name_others_see_is_the_display_name_or_a_neutral_word_never_the_email():
    named = User.objects.create_user("ada.private@example.com", display_name="Ada Lovelace")
    nameless = User.objects.create_user("zoe.quiet@example.com")

    assert (named.public_name, named.get_short_name(), named.get_full_name()) == (
        "Ada Lovelace",
        "Ada Lovelace",
        "Ada Lovelace",
    )
    assert (nameless.public_name, nameless.get_short_name(), nameless.get_full_name()) == (
        "Learner",
        "Learner",
        "",
    )


def test_a_nameless_learner_is_not_greeted_by_their_email_in_the_header(client):
    client.force_login(User.objects.create_user("zoe.quiet@example.com"))

    page = client.get("/courses/").content.decode()

    assert '<span class="site-nav__name">Learner</span>' in page
    assert "zoe.quiet" not in page
