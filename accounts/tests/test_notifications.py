import pytest
from django.core import mail

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_changing_the_password_emails_a_security_notice(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="ana@example.com", verified_email=True)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/password/change/",
            {
                "oldpassword": "correct-horse-battery",
                "password1": "a-brand-new-passphrase",
                "password2": "a-brand-new-passphrase",
            },
        )

    assert response.status_code == 302
    [notice] = mail.outbox
    assert notice.to == ["ana@example.com"]
    assert "password" in notice.subject.lower()
    assert [mimetype for _content, mimetype in notice.alternatives] == ["text/html"]
