"""The reports moderation queue in the admin: open reports first; actions resolve, hide or
delete through the services (audited); moderators use it with only community rights."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from community.models import Report
from community.tests.factories import ReplyFactory, ReportFactory, ThreadFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:community_report_changelist")


@pytest.fixture
def moderator_client(client):
    moderator = user_role_set(user=UserFactory(), role=Role.MODERATOR, actor=None)
    client.force_login(moderator)
    client.moderator = moderator
    return client


def test_the_queue_lists_open_reports_first(moderator_client):
    handled = ReportFactory(thread=ThreadFactory(title="Handled long ago"))
    Report.objects.filter(pk=handled.pk).update(
        status=Report.Status.DISMISSED, handled_at=handled.created_at
    )
    ReportFactory(thread=ThreadFactory(title="Still open"))

    html = moderator_client.get(QUEUE).content.decode()

    assert html.index("Still open") < html.index("Handled long ago")


def test_hiding_a_reported_post_resolves_every_open_report_about_it(moderator_client):
    reply = ReplyFactory(body="Buy my course")
    first = ReportFactory(thread=None, reply=reply)
    second = ReportFactory(thread=None, reply=reply, reason=Report.Reason.OFF_TOPIC)

    moderator_client.post(
        QUEUE, {"action": "hide_post", "_selected_action": [first.pk]}, follow=True
    )

    reply.refresh_from_db()
    assert reply.is_hidden
    for report in (first, second):
        report.refresh_from_db()
        assert report.status == Report.Status.RESOLVED
        assert report.handled_by == moderator_client.moderator
    assert AuditLog.objects.filter(action=AuditLog.Action.REPORT_HANDLED).count() == 1
    assert AuditLog.objects.get(action=AuditLog.Action.POST_MODERATED).details["change"] == "hidden"


def test_deleting_and_dismissing_from_the_queue(moderator_client):
    spam = ReportFactory(thread=ThreadFactory(title="Spam"))
    fine = ReportFactory(thread=ThreadFactory(title="Fine"))

    moderator_client.post(QUEUE, {"action": "delete_post", "_selected_action": [spam.pk]})
    moderator_client.post(QUEUE, {"action": "dismiss", "_selected_action": [fine.pk]})

    spam.refresh_from_db()
    fine.refresh_from_db()
    spam.thread.refresh_from_db()
    fine.thread.refresh_from_db()
    assert (spam.status, spam.thread.deleted_at is not None) == (Report.Status.RESOLVED, True)
    assert (fine.status, fine.thread.deleted_at, fine.thread.is_hidden) == (
        Report.Status.DISMISSED,
        None,
        False,
    )


def test_a_moderator_sees_only_the_community_in_the_admin(moderator_client):
    index = moderator_client.get(reverse("admin:index")).content.decode()

    assert "Reports" in index
    assert "Discussion threads" in index
    assert reverse("admin:community_thread_changelist") in index
    assert reverse("admin:catalog_course_changelist") not in index
    assert reverse("admin:accounts_user_changelist") not in index
    assert reverse("admin:accounts_auditlog_changelist") not in index


def test_learners_and_instructors_have_no_queue(client):
    client.force_login(UserFactory())
    assert client.get(QUEUE).status_code == 302  # to the admin sign-in

    client.force_login(user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None))
    assert client.get(QUEUE).status_code == 403
