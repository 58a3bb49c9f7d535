"""Staff (the Staff group, not only superusers) see notifications, preferences and digests
in the admin; digests are a read-only record."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import STAFF_GROUP, role_groups_sync
from accounts.tests.factories import UserFactory
from notifications.models import Digest
from notifications.tests.factories import NotificationFactory, NotificationPreferenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_member_client(client, settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False
    role_groups_sync()
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name=STAFF_GROUP))
    client.force_login(member)
    return client


def test_staff_list_notifications_preferences_and_digests(staff_member_client):
    notification = NotificationFactory(title="Ana replied to your thread")
    NotificationPreferenceFactory(user=notification.user)
    Digest.objects.create(
        user=notification.user,
        period="daily",
        period_start="2026-11-30T07:00Z",
        period_end="2026-12-01T07:00Z",
        item_count=1,
    )

    pages = {
        name: staff_member_client.get(reverse(f"admin:notifications_{name}_changelist"))
        for name in ("notification", "notificationpreference", "digest")
    }

    assert {name: page.status_code for name, page in pages.items()} == {
        "notification": 200,
        "notificationpreference": 200,
        "digest": 200,
    }
    assert "Ana replied to your thread" in pages["notification"].content.decode()
    assert staff_member_client.get(reverse("admin:notifications_digest_add")).status_code == 403


def test_learners_cannot_open_them(client):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:notifications_notification_changelist"))
    assert response.status_code == 302
