"""The tutor in the admin: staff set the questions a day per tier and review the answers
learners reported; instructors (staff status, not the staff role) see neither."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.roles import STAFF_GROUP, Role, role_groups_sync
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from assistant.models import Conversation, Message, TutorQuota
from billing.tests.factories import TierFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


@pytest.fixture
def staff_member(client):
    role_groups_sync()
    member = UserFactory(is_staff=True, email="staff@example.com")
    member.groups.add(Group.objects.get(name=STAFF_GROUP))
    client.force_login(member)
    return member


@pytest.fixture
def instructor(client):
    teacher = user_role_set(
        user=UserFactory(email="teo@example.com"), role=Role.INSTRUCTOR, actor=None
    )
    client.force_login(teacher)
    return teacher


@pytest.fixture
def reported():
    lesson = LessonFactory(
        section=SectionFactory(course=CourseFactory(title="Salsa")), title="Basic step"
    )
    learner = UserFactory(email="ana@example.com")
    conversation = Conversation.objects.create(user=learner, lesson=lesson)
    Message.objects.create(
        conversation=conversation, role=Message.Role.USER, text="Which foot first?"
    )
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text="Start with **either** foot [1].",
        citations=[
            {"lesson": str(lesson.pk), "title": "Basic step", "url": lesson.get_absolute_url()}
        ],
        flagged_at=timezone.now(),
        flag_reason="Wrong: the lesson says left.",
    )
    Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, text="An unreported answer."
    )
    return answer


def test_staff_review_a_reported_answer_with_its_question_and_sources(
    client, staff_member, reported
):
    listing = client.get(reverse("admin:assistant_message_changelist"))
    page = client.get(reverse("admin:assistant_message_change", args=[reported.pk]))

    assert listing.status_code == 200
    assert "Reported tutor answers" in listing.content.decode()
    assert "Start with **either** foot [1]." in listing.content.decode()
    assert "An unreported answer." not in listing.content.decode()
    html = page.content.decode()
    assert "Which foot first?" in html
    assert "Start with <strong>either</strong> foot [1]." in html
    assert f'<a href="{reported.conversation.lesson.get_absolute_url()}">Basic step</a>' in html
    assert "ana@example.com" in html
    assert "Wrong: the lesson says left." in html
    assert 'name="_mark_reviewed"' in html


def test_marking_an_answer_reviewed_records_who_and_when(client, staff_member, reported):
    url = reverse("admin:assistant_message_change", args=[reported.pk])

    response = client.post(url, {"_mark_reviewed": "1"}, follow=True)

    reported.refresh_from_db()
    assert reported.reviewed_by == staff_member
    assert reported.reviewed_at is not None
    assert "Marked reviewed." in response.content.decode()
    assert 'name="_mark_reviewed"' not in response.content.decode()


def test_the_review_action_marks_the_selected_answers(client, staff_member, reported):
    client.post(
        reverse("admin:assistant_message_changelist"),
        {"action": "mark_reviewed", "_selected_action": [str(reported.pk)]},
    )

    reported.refresh_from_db()
    assert reported.reviewed_by == staff_member


def test_an_unreported_answer_is_not_in_the_admin(client, staff_member, reported):
    unreported = Message.objects.get(text="An unreported answer.")

    response = client.get(reverse("admin:assistant_message_change", args=[unreported.pk]))

    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert response.url == reverse("admin:index")


def test_staff_set_the_questions_a_day_of_a_tier(client, staff_member):
    tier = TierFactory(name="Pro", slug="pro", rank=3)

    response = client.post(
        reverse("admin:assistant_tutorquota_add"), {"tier": tier.pk, "questions_per_day": 20}
    )

    assert response.status_code == 302
    assert TutorQuota.objects.get(tier=tier).questions_per_day == 20


def test_the_learners_without_a_tier_get_one_row_only(client, staff_member):
    TutorQuota.objects.create(tier=None, questions_per_day=0)

    response = client.post(
        reverse("admin:assistant_tutorquota_add"), {"tier": "", "questions_per_day": 3}
    )

    assert response.status_code == 200
    assert "This tier already has a tutor quota." in response.content.decode()
    assert TutorQuota.objects.get().questions_per_day == 0


def test_instructors_see_neither_quotas_nor_reported_answers(client, instructor, reported):
    for url in (
        reverse("admin:assistant_message_changelist"),
        reverse("admin:assistant_message_change", args=[reported.pk]),
        reverse("admin:assistant_tutorquota_changelist"),
    ):
        assert client.get(url).status_code == 403, url
    client.post(
        reverse("admin:assistant_message_change", args=[reported.pk]), {"_mark_reviewed": "1"}
    )
    reported.refresh_from_db()
    assert reported.reviewed_at is None


def test_learners_are_kept_out_of_the_review(client, reported):
    client.force_login(reported.conversation.user)

    response = client.get(reverse("admin:assistant_message_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response.url
