"""Invites and enrollments in the admin, driven like staff would: pages, posts, rows."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.tests.factories import CourseFactory
from progress.models import Enrollment, Invite
from progress.services import enrollment_create, invite_create, invite_redeem, invite_revoke

pytestmark = pytest.mark.django_db

INVITES_URL = reverse("admin:progress_invite_changelist")
ADD_URL = reverse("admin:progress_invite_add")


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    # MFA for the admin is tested with the accounts; here it would only add a setup step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _add_data(**overrides) -> dict:
    data = {
        "role": "learner",
        "course": "",
        "tier": "",
        "tier_days": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "max_uses": "1",
        "email": "",
        "note": "",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
        "redemptions-MIN_NUM_FORMS": "0",
        "redemptions-MAX_NUM_FORMS": "1000",
    }
    return {**data, **overrides}


def test_staff_create_an_invite_in_the_admin_and_it_is_emailed_and_audited(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    course = CourseFactory(title="Salsa basics")
    tier = TierFactory(name="Advanced")
    expires = timezone.localtime() + timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            ADD_URL,
            _add_data(
                role="instructor",
                course=str(course.pk),
                tier=str(tier.pk),
                tier_days="30",
                expires_at_0=expires.strftime("%Y-%m-%d"),
                expires_at_1=expires.strftime("%H:%M:%S"),
                max_uses="3",
                email="newcomer@example.com",
                open_to_anyone="on",
                note="Guest teacher",
            ),
            REMOTE_ADDR="192.0.2.10",
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    invite = Invite.objects.get()
    assert response["Location"] == INVITES_URL
    assert len(invite.code) == 10
    assert (invite.role, invite.course, invite.tier, invite.tier_days, invite.max_uses) == (
        "instructor",
        course,
        tier,
        30,
        3,
    )
    assert (invite.email, invite.open_to_anyone, invite.note, invite.created_by) == (
        "newcomer@example.com",
        True,
        "Guest teacher",
        staff_user,
    )
    entry = AuditLog.objects.get(action="invite.created")
    assert (entry.actor, entry.ip_address, entry.target_id) == (
        staff_user,
        "192.0.2.10",
        str(invite.pk),
    )
    assert [message.to for message in mail.outbox] == [["newcomer@example.com"]]
    assert f"http://testserver/invites/redeem/?code={invite.code}" in mail.outbox[0].body


def test_the_add_form_refuses_a_tier_without_a_duration(staff_client):
    response = staff_client.post(ADD_URL, _add_data(tier=str(TierFactory().pk)))

    assert response.status_code == 200
    assert (
        "A tier needs a duration of at least one day, and a duration needs a tier."
        in response.content.decode()
    )
    assert not Invite.objects.exists()


def test_the_add_form_refuses_several_uses_for_one_address(staff_client):
    response = staff_client.post(ADD_URL, _add_data(email="maria@example.com", max_uses="3"))

    assert response.context["adminform"].form.errors == {
        "max_uses": [
            "An invite only for maria@example.com can be used once. Open it to anyone with "
            "the code to let it serve 3 people."
        ]
    }
    assert not Invite.objects.exists()


def test_an_invite_added_with_an_email_is_for_that_address_only(staff_client):
    response = staff_client.post(ADD_URL, _add_data(email="maria@example.com"))

    assert response.status_code == 302
    invite = Invite.objects.get()
    assert (invite.email, invite.open_to_anyone) == ("maria@example.com", False)
    html = staff_client.get(INVITES_URL).content.decode()
    assert "only maria@example.com" in html


def test_the_list_says_who_can_redeem_each_invite(staff_client, staff_user):
    invite_create(created_by=staff_user, email="maria@example.com", note="personal")
    invite_create(
        created_by=staff_user, email="lead@example.com", open_to_anyone=True, note="shared"
    )
    invite_create(created_by=staff_user, note="open")

    response = staff_client.get(INVITES_URL)
    only_personal = staff_client.get(INVITES_URL, {"open_to_anyone__exact": "0"})

    html = response.content.decode()
    assert "only maria@example.com" in html
    assert "anyone with the code (sent to lead@example.com)" in html
    assert html.count('<td class="field-redeemable_by">anyone with the code</td>') == 1
    assert [i.note for i in only_personal.context["cl"].result_list] == ["personal"]


def test_the_change_page_shows_a_copyable_redeem_link_and_nothing_to_edit(staff_client, staff_user):
    invite = invite_create(created_by=staff_user, note="For the newsletter")

    response = staff_client.get(reverse("admin:progress_invite_change", args=[invite.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="http://testserver/invites/redeem/?code={invite.code}"' in html
    assert 'id="invite-redeem-url-copy"' in html
    assert response.context["adminform"].form.fields == {}  # everything is read-only
    assert 'name="_save"' not in html
    assert "/delete/" not in html


def test_the_revoke_action_revokes_through_the_service(staff_client, staff_user):
    first = invite_create(created_by=staff_user)
    second = invite_create(created_by=staff_user)
    already = invite_create(created_by=staff_user)
    invite_revoke(invite=already, actor=staff_user)

    response = staff_client.post(
        INVITES_URL,
        {
            "action": "revoke_selected",
            "_selected_action": [str(first.pk), str(second.pk), str(already.pk)],
        },
        REMOTE_ADDR="192.0.2.11",
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 2 invites." in response.content.decode()
    assert set(Invite.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
        already.pk,
    }
    revoked = AuditLog.objects.filter(action="invite.revoked", ip_address="192.0.2.11")
    assert set(revoked.values_list("target_id", flat=True)) == {str(first.pk), str(second.pk)}
    assert {entry.actor for entry in revoked} == {staff_user}


def test_invites_cannot_be_deleted(staff_client, staff_user):
    invite = invite_create(created_by=staff_user)

    response = staff_client.post(reverse("admin:progress_invite_delete", args=[invite.pk]))

    assert response.status_code == 403
    assert Invite.objects.filter(pk=invite.pk).exists()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", {"active"}),
        ("expired", {"expired"}),
        ("revoked", {"revoked"}),
        ("used_up", {"used_up"}),
        (None, {"active", "expired", "revoked", "used_up"}),
    ],
)
def test_the_status_filter_lists_invites_in_that_state(staff_client, staff_user, status, expected):
    invites = {
        name: invite_create(created_by=staff_user, note=name)
        for name in ("active", "expired", "revoked", "used_up")
    }
    Invite.objects.filter(pk=invites["expired"].pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    invite_revoke(invite=invites["revoked"], actor=staff_user)
    invite_redeem(code=invites["used_up"].code, user=UserFactory())

    response = staff_client.get(INVITES_URL, {"status": status} if status else {})

    assert response.status_code == 200
    listed = {invite.note for invite in response.context["cl"].result_list}
    assert listed == expected
    html = response.content.decode()
    for name in expected:
        assert invites[name].code in html


def test_invites_are_found_by_code_or_email(staff_client, staff_user):
    wanted = invite_create(created_by=staff_user, email="maria@example.com")
    other = invite_create(created_by=staff_user, email="joe@example.com")

    by_email = staff_client.get(INVITES_URL, {"q": "maria@"})
    by_code = staff_client.get(INVITES_URL, {"q": other.code.lower()})

    assert list(by_email.context["cl"].result_list) == [wanted]
    assert list(by_code.context["cl"].result_list) == [other]


def test_the_list_filters_by_role_and_course(staff_client, staff_user):
    course = CourseFactory(title="Salsa")
    for_course = invite_create(created_by=staff_user, course=course)
    for_instructors = invite_create(created_by=staff_user, role="instructor")

    by_course = staff_client.get(INVITES_URL, {"course__id__exact": str(course.pk)})
    by_role = staff_client.get(INVITES_URL, {"role__exact": "instructor"})

    assert list(by_course.context["cl"].result_list) == [for_course]
    assert list(by_role.context["cl"].result_list) == [for_instructors]


def test_the_invite_list_costs_the_same_queries_for_3_and_30_invites(
    staff_client, staff_user, django_assert_max_num_queries
):
    course, tier = CourseFactory(), TierFactory()
    staff_client.get(INVITES_URL)  # the first request of a session does some one-off writes
    counts = []
    for total in (3, 30):
        while Invite.objects.count() < total:
            invite_create(created_by=staff_user, course=course, tier=tier, tier_days=5)
        with django_assert_max_num_queries(20) as captured:
            response = staff_client.get(INVITES_URL)
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_learners_cannot_reach_the_invites(client, user):
    client.force_login(user)

    response = client.get(INVITES_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- Enrollments ---------------------------------------------------------------------------


def test_staff_enroll_someone_by_hand(staff_client):
    learner, course = UserFactory(), CourseFactory()

    response = staff_client.post(
        reverse("admin:progress_enrollment_add"),
        {"user": str(learner.pk), "course": str(course.pk)},
    )

    assert response.status_code == 302
    assert list(Enrollment.objects.values_list("user", "course", "source")) == [
        (learner.pk, course.pk, "staff")
    ]


def test_the_enrollment_list_shows_who_is_in_which_course(staff_client):
    enrollment = enrollment_create(
        user=UserFactory(email="ana@example.com"),
        course=CourseFactory(title="Bachata"),
        source=Enrollment.Source.INVITE,
    )

    response = staff_client.get(reverse("admin:progress_enrollment_changelist"))
    change = staff_client.get(reverse("admin:progress_enrollment_change", args=[enrollment.pk]))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [enrollment]
    html = response.content.decode()
    assert "Bachata" in html and "Invite" in html
    assert change.context["adminform"].form.fields == {}
