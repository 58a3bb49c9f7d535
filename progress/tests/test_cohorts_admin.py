"""Cohorts in the admin, driven like staff and instructors would: the cohort form, the "Add
learners" page and its result, removing a member, the invite list, and instructor scope."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.roles import Role, role_groups_sync
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from progress.cohorts.services import cohort_create, cohort_members_add
from progress.models import Cohort, CohortMembership, Enrollment, Invite

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:progress_cohort_changelist")
ADD_URL = reverse("admin:progress_cohort_add")
SPRING = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def change_url(cohort: Cohort) -> str:
    return reverse("admin:progress_cohort_change", args=[cohort.pk])


def add_learners_url(cohort: Cohort) -> str:
    return reverse("admin:progress_cohort_add_learners", args=[cohort.pk])


def text(response) -> str:
    """The page's visible text, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _members_formset(cohort: Cohort, delete: set[int] = frozenset()) -> dict:
    rows = list(CohortMembership.objects.filter(cohort=cohort).order_by("created_at"))
    data = {
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(len(rows)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data[f"memberships-{index}-id"] = str(row.pk)
        data[f"memberships-{index}-cohort"] = str(cohort.pk)
        if row.pk in delete:
            data[f"memberships-{index}-DELETE"] = "on"
    return data


@pytest.fixture
def course():
    return CourseFactory(title="Salsa basics", slug="salsa-basics")


@pytest.fixture
def instructor(course):
    role_groups_sync()
    teacher = user_role_set(
        user=UserFactory(email="teacher@example.com"), role=Role.INSTRUCTOR, actor=None
    )
    course.instructors.add(teacher)
    return teacher


def test_staff_create_a_cohort_and_its_dates_are_checked(staff_client, course):
    response = staff_client.post(
        ADD_URL,
        {
            "course": str(course.pk),
            "name": "Spring",
            "starts_on": "2026-03-02",
            "ends_on": "2026-03-01",
            **_members_formset(Cohort(pk=0)),
        },
    )
    assert response.status_code == 200
    assert "A cohort cannot end before it starts." in text(response)
    assert not Cohort.objects.exists()

    response = staff_client.post(
        ADD_URL,
        {
            "course": str(course.pk),
            "name": "Spring",
            "starts_on": "2026-03-02",
            "ends_on": "2026-06-30",
            **_members_formset(Cohort(pk=0)),
        },
    )

    assert response.status_code == 302, text(response)
    cohort = Cohort.objects.get()
    assert (cohort.course, cohort.name, cohort.starts_on, cohort.ends_on) == (
        course,
        "Spring",
        SPRING,
        dt.date(2026, 6, 30),
    )
    page = text(staff_client.get(LIST_URL))
    assert "Spring" in page and "Salsa basics" in page and "Add learners" in page


def test_the_add_learners_page_enrolls_invites_and_shows_what_happened(
    staff_client, staff_user, course, django_capture_on_commit_callbacks
):
    cohort = cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)
    ana = UserFactory(email="ana@example.com", verified_email=True)
    autumn = cohort_create(actor=staff_user, course=course, name="Autumn", starts_on=SPRING)
    UserFactory(email="bo@example.com", verified_email=True)
    cohort_members_add(actor=staff_user, cohort=autumn, text_or_emails="bo@example.com")
    assert "Add learners" in text(staff_client.get(change_url(cohort)))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            add_learners_url(cohort),
            {"addresses": "Ana <ana@example.com>; bo@example.com\nnew@example.com, oops@"},
        )

    assert response.status_code == 200
    page = text(response)
    assert "Enrolled now and added 1 (1 newly enrolled in the course) ana@example.com" in page
    assert "Invited by email 1 new@example.com" in page
    assert "Already in this cohort 0" in page
    assert "In another cohort of this course (not moved) 1 bo@example.com (Autumn)" in page
    assert "Not email addresses 1 oops@" in page
    assert Enrollment.objects.get(user=ana, course=course).is_active
    assert list(CohortMembership.objects.filter(cohort=cohort).values_list("user", flat=True)) == [
        ana.pk
    ]
    assert [message.to for message in mail.outbox] == [["new@example.com"]]

    # The same paste again: everyone is already there, nothing is sent.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            add_learners_url(cohort), {"addresses": "ana@example.com new@example.com"}
        )
    page = text(response)
    assert "Already in this cohort 1 ana@example.com" in page
    assert "Already invited (not sent again) 1 new@example.com" in page
    assert len(mail.outbox) == 1

    # The cohort's page lists its member; the invite list shows the invite's cohort.
    assert "ana@example.com" in text(staff_client.get(change_url(cohort)))
    invites = text(staff_client.get(reverse("admin:progress_invite_changelist")))
    assert "Salsa basics: Spring" in invites


def test_a_paste_over_the_maximum_is_a_form_error(staff_client, staff_user, course, settings):
    settings.LMS_COHORT_BULK_MAX = 2
    cohort = cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)

    response = staff_client.post(add_learners_url(cohort), {"addresses": "a@x.org b@x.org c@x.org"})

    assert response.status_code == 400
    assert "This paste has 3 addresses; add at most 2 at a time" in text(response)
    assert not Invite.objects.exists()

    response = staff_client.post(add_learners_url(cohort), {"addresses": "Just some words"})
    assert response.status_code == 400
    assert "No email address found in the text." in text(response)


def test_ticking_delete_on_a_member_takes_them_out_of_the_cohort_not_the_course(
    staff_client, staff_user, course
):
    cohort = cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)
    ana = UserFactory(email="ana@example.com", verified_email=True)
    cohort_members_add(actor=staff_user, cohort=cohort, text_or_emails="ana@example.com")
    membership = CohortMembership.objects.get()

    response = staff_client.post(
        change_url(cohort),
        {
            "name": "Spring",
            "starts_on": "2026-03-02",
            "ends_on": "",
            **_members_formset(cohort, delete={membership.pk}),
        },
    )

    assert response.status_code == 302, text(response)
    assert not CohortMembership.objects.exists()
    assert Enrollment.objects.get(user=ana, course=course).is_active


def test_a_staff_invite_may_name_a_cohort_of_its_course_only(staff_client, staff_user, course):
    cohort = cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)
    other = CourseFactory(title="Bachata")
    data = {
        "role": "learner",
        "tier": "",
        "tier_days": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "max_uses": "1",
        "email": "guest@example.com",
        "note": "",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
        "redemptions-MIN_NUM_FORMS": "0",
        "redemptions-MAX_NUM_FORMS": "1000",
        "cohort": str(cohort.pk),
    }

    response = staff_client.post(
        reverse("admin:progress_invite_add"), {**data, "course": str(other.pk)}
    )
    assert response.status_code == 200
    assert "Choose a cohort of the course above." in text(response)

    response = staff_client.post(reverse("admin:progress_invite_add"), {**data, "course": ""})
    assert response.status_code == 302, text(response)
    invite = Invite.objects.get()
    assert (invite.course, invite.cohort) == (course, cohort)


# --- Instructors: their own courses' cohorts only ---------------------------------------------


def test_instructors_manage_the_cohorts_of_their_courses_only(
    client, instructor, course, staff_user, django_capture_on_commit_callbacks
):
    own = cohort_create(actor=staff_user, course=course, name="Spring", starts_on=SPRING)
    others = CourseFactory(title="Bachata")
    foreign = cohort_create(
        actor=staff_user, course=others, name="Secret evening", starts_on=SPRING
    )
    client.force_login(instructor)

    page = client.get(LIST_URL)
    assert page.status_code == 200
    assert "Spring" in text(page)
    assert "Secret evening" not in text(page) and "Bachata" not in text(page)
    assert client.get(change_url(foreign)).status_code == 302  # "does not exist" (admin's way)
    assert client.get(add_learners_url(foreign)).status_code == 404
    assert client.post(add_learners_url(foreign), {"addresses": "a@x.org"}).status_code == 404

    # Their course is the only one the add form accepts.
    response = client.post(
        ADD_URL,
        {"course": str(others.pk), "name": "Mine", "starts_on": "2026-03-02", "ends_on": ""},
    )
    assert response.status_code == 200
    assert not Cohort.objects.filter(name="Mine").exists()
    response = client.post(
        ADD_URL,
        {
            "course": str(course.pk),
            "name": "Mine",
            "starts_on": "2026-03-02",
            "ends_on": "",
            **_members_formset(Cohort(pk=0)),
        },
    )
    assert response.status_code == 302, text(response)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(add_learners_url(own), {"addresses": "new@example.com"})
    assert response.status_code == 200
    assert "Invited by email 1 new@example.com" in text(response)
    assert Invite.objects.get().created_by == instructor
    assert not Invite.objects.filter(cohort=foreign).exists()
