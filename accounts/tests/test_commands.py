import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_createsuperuser_asks_for_an_email_not_a_username(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")

    call_command("createsuperuser", "--noinput", "--email", "Head@School.test", verbosity=0)

    admin = User.objects.get()
    assert admin.email == "head@school.test"
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password("a-long-admin-password")
