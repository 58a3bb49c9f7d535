"""The showcase in the admin: staff author a project (links, tags, picture) and publish it
from the form; the review actions approve and reject with the action bar's note, delete and
restore, all through the services (audited, the learner told). Instructors see none of it."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from notifications.models import Notification
from showcase.models import Project
from showcase.tests.factories import ProjectFactory, TagFactory, picture

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:showcase_project_changelist")
ADD = reverse("admin:showcase_project_add")


@pytest.fixture
def staff():
    return UserFactory(email="sam@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def links_form(*rows, initial: int = 0) -> dict:
    data = {
        "links-TOTAL_FORMS": str(len(rows)),
        "links-INITIAL_FORMS": str(initial),
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "5",
    }
    for index, (label, url) in enumerate(rows):
        data |= {f"links-{index}-label": label, f"links-{index}-url": url}
    return data


def test_staff_author_and_publish_a_project_from_the_form(admin_client, staff):
    salsa = TagFactory(name="Salsa", slug="salsa")

    response = admin_client.post(
        ADD,
        {
            "title": "Spring recital",
            "slug": "",
            "summary": "Our learners on stage.",
            "detail": "Three **choreographies**.",
            "tags": [str(salsa.pk)],
            "thumbnail": picture(),
            "decision": "approve",
            "note": "",
            **links_form(("Video", "https://example.com/recital")),
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    project = Project.objects.get()
    assert (project.slug, project.origin, project.status, project.author) == (
        "spring-recital",
        "staff",
        "approved",
        staff,
    )
    assert list(project.tags.all()) == [salsa]
    assert list(project.links.values_list("label", "url")) == [
        ("Video", "https://example.com/recital")
    ]
    assert project.thumbnail.name.endswith(".webp")
    assert list(AuditLog.objects.values_list("action", "actor", "target_id")) == [
        ("showcase.approved", staff.pk, str(project.pk))
    ]


def test_a_picture_that_is_no_picture_is_a_form_error(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin_client.post(
        ADD,
        {
            "title": "Recital",
            "summary": "On stage.",
            "thumbnail": SimpleUploadedFile("x.png", b"not a picture", content_type="image/png"),
            **links_form(),
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "Upload a valid image." in response.content.decode()
    assert Project.objects.count() == 0


def test_approving_and_rejecting_from_the_list_with_the_note(admin_client, staff):
    learner = UserFactory()
    waiting = ProjectFactory(author=learner, submitted=True, title="Snake")
    other = ProjectFactory(submitted=True, title="Quiz app")

    admin_client.post(
        CHANGELIST,
        {"action": "approve", "_selected_action": [waiting.pk], "note": "Great job!"},
    )
    refused = admin_client.post(
        CHANGELIST, {"action": "reject", "_selected_action": [other.pk], "note": ""}, follow=True
    )
    admin_client.post(
        CHANGELIST,
        {"action": "reject", "_selected_action": [other.pk], "note": "The link is broken."},
    )

    waiting.refresh_from_db()
    other.refresh_from_db()
    assert (waiting.status, waiting.review_note, waiting.reviewed_by) == (
        "approved",
        "Great job!",
        staff,
    )
    assert "Quiz app: Say why, for the author: they read this note." in refused.content.decode()
    assert (other.status, other.review_note) == ("rejected", "The link is broken.")
    assert sorted(AuditLog.objects.values_list("action", "target_id")) == sorted(
        [("showcase.approved", str(waiting.pk)), ("showcase.rejected", str(other.pk))]
    )
    assert list(Notification.objects.filter(user=learner).values_list("title", flat=True)) == [
        "Your project “Snake” is approved and public"
    ]


def test_deleting_and_restoring_from_the_list(admin_client, staff):
    project = ProjectFactory(title="Snake")

    admin_client.post(CHANGELIST, {"action": "soft_delete", "_selected_action": [project.pk]})
    project.refresh_from_db()
    assert project.deleted_at is not None
    admin_client.post(CHANGELIST, {"action": "restore", "_selected_action": [project.pk]})

    project.refresh_from_db()
    assert project.deleted_at is None
    rows = AuditLog.objects.order_by("created_at").values_list("action", "actor", "details")
    assert [(action, actor, details["by"]) for action, actor, details in rows] == [
        ("showcase.deleted", staff.pk, "staff"),
        ("showcase.restored", staff.pk, "staff"),
    ]


def test_editing_a_learners_project_keeps_its_author_and_status(admin_client, staff):
    learner = UserFactory()
    project = ProjectFactory(author=learner, title="Snake", submitted=True)

    response = admin_client.post(
        reverse("admin:showcase_project_change", args=[project.pk]),
        {
            "title": "Snake, revised",
            "slug": project.slug,
            "summary": project.summary,
            "detail": project.detail,
            **links_form(("Code", "https://example.com/snake")),
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.title, project.author, project.status, project.origin) == (
        "Snake, revised",
        learner,
        "submitted",
        "learner",
    )
    assert list(project.links.values_list("label", flat=True)) == ["Code"]


def test_instructors_do_not_reach_the_showcase_admin(client):
    instructor = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    client.force_login(instructor)

    assert client.get(CHANGELIST).status_code == 403


def test_the_services_rules_are_form_errors_in_the_admin(admin_client):
    ProjectFactory(slug="taken")

    reserved = admin_client.post(
        ADD,
        {"title": "T", "slug": "new", "summary": "S", **links_form(), "_save": "Save"},
    )
    taken = admin_client.post(
        ADD,
        {"title": "T", "slug": "taken", "summary": "S", **links_form(), "_save": "Save"},
    )
    ftp = admin_client.post(
        ADD,
        {
            "title": "T",
            "summary": "S",
            **links_form(("Files", "ftp://example.com/files")),
            "_save": "Save",
        },
    )

    assert reserved.status_code == taken.status_code == ftp.status_code == 200
    assert "“new” is reserved; choose another slug." in reserved.content.decode()
    assert "Another project has this slug." in taken.content.decode()
    assert "Enter a web address starting with https:// or http://." in ftp.content.decode()
    assert Project.objects.count() == 1
