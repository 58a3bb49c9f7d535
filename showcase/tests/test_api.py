"""The showcase API: whole bodies of the list and a project, submitting with retries
(client_id, Idempotency-Key), editing own until approval, soft delete and restore, the
picture, my projects, tags; errors in the envelope; a query budget constant in size."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from progress.tests.factories import EnrollmentFactory
from showcase.models import Project
from showcase.tests.factories import ProjectFactory, ProjectLinkFactory, TagFactory, picture

pytestmark = pytest.mark.django_db

LIST = reverse("showcase-api:projects")
MINE = reverse("showcase-api:my-projects")
TAGS = reverse("showcase-api:project-tags")


def iso(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def detail_url(project: Project) -> str:
    return reverse("showcase-api:project-detail", args=[project.slug])


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def body(project: Project, *, course=None, review_note="", is_mine=False, can_edit=False):
    """A project as the API answers it."""
    project.refresh_from_db()
    return {
        "id": str(project.pk),
        "slug": project.slug,
        "url": f"http://testserver/projects/{project.slug}/",
        "title": project.title,
        "summary": project.summary,
        "detail": project.detail,
        "detail_html": "<p>Built with <strong>care</strong>.</p>"
        if project.detail == "Built with **care**."
        else project.detail,
        "thumbnail_url": None,
        "tags": [{"slug": tag.slug, "name": tag.name} for tag in project.tags.order_by("name")],
        "links": [{"label": link.label, "url": link.url} for link in project.links.all()],
        "course": course,
        "origin": project.origin,
        "author": {"id": str(project.author_id), "name": project.author.public_name},
        "status": project.status,
        "review_note": review_note,
        "is_mine": is_mine,
        "can_edit": can_edit,
        "published_at": iso(project.published_at),
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
        "deleted_at": iso(project.deleted_at),
        "restorable_until": None,
    }


@pytest.fixture
def course():
    return CourseFactory(title="Python for Beginners", slug="python")


@pytest.fixture
def learner(course):
    learner = UserFactory(email="lee@example.com", display_name="Lee Park")
    EnrollmentFactory(user=learner, course=course)
    return learner


@pytest.fixture
def learner_api(api_client, learner):
    api_client.force_authenticate(learner)
    return api_client


# --- Reading -----------------------------------------------------------------------------------


def test_the_list_answers_approved_projects_whole(api_client, course):
    python = TagFactory(name="Python", slug="python")
    project = ProjectFactory(
        title="Snake", course=course, tags=[python], review_note="For the author only."
    )
    ProjectLinkFactory(project=project, label="Code", url="https://example.com/snake")
    ProjectFactory(title="Waiting", submitted=True)

    response = api_client.get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            body(project, course={"id": str(course.pk), "slug": "python", "title": course.title})
        ],
    }


def test_filters_search_and_their_errors(api_client):
    python = TagFactory(name="Python", slug="python")
    snake = ProjectFactory(title="Snake", summary="A terminal game.", tags=[python])
    ProjectFactory(title="Recital", course=CourseFactory(slug="salsa"))

    by_tag = api_client.get(LIST, {"tag": "python", "q": "terminal"})
    unknown = api_client.get(LIST, {"tag": "cobol"})
    no_projects = api_client.get(LIST, {"course": "python-course"})
    too_long = api_client.get(LIST, {"q": "x" * 101})

    assert [row["slug"] for row in by_tag.json()["results"]] == [snake.slug]
    assert unknown.status_code == no_projects.status_code == too_long.status_code == 400
    assert unknown.json() == error(
        "VALIDATION_ERROR", "Some fields are invalid.", {"tag": ["There is no tag with this slug."]}
    )
    assert no_projects.json()["error"]["fields"] == {
        "course": ["No course with public projects has this slug."]
    }
    assert too_long.json()["error"]["fields"] == {
        "q": ["Ensure this field has no more than 100 characters."]
    }


def test_a_project_not_approved_is_404_for_others_and_whole_for_its_author(
    api_client, learner, course
):
    project = ProjectFactory(
        author=learner,
        course=course,
        status=Project.Status.REJECTED,
        review_note="Add a picture.",
    )

    anonymous = api_client.get(detail_url(project))
    api_client.force_authenticate(learner)
    mine = api_client.get(detail_url(project))

    assert anonymous.status_code == 404
    assert anonymous.json() == error("PROJECT_NOT_FOUND", "There is no project at this address.")
    assert mine.status_code == 200
    assert mine.json() == body(
        project,
        course={"id": str(course.pk), "slug": "python", "title": course.title},
        review_note="Add a picture.",
        is_mine=True,
        can_edit=True,
    )


def test_a_draft_course_is_not_named_to_those_it_does_not_exist_for(api_client):
    project = ProjectFactory(course=CourseFactory(draft=True))

    assert api_client.get(detail_url(project)).json()["course"] is None


# --- Submitting --------------------------------------------------------------------------------


def test_a_learner_submits_and_a_retry_returns_the_same_project(learner_api, learner, course):
    TagFactory(name="Python", slug="python")
    payload = {
        "title": "Snake",
        "summary": "A terminal game.",
        "detail": "Built with **care**.",
        "course": "python",
        "tags": ["python"],
        "links": [{"label": "Code", "url": "https://example.com/snake"}],
        "client_id": "3f9b0d1c-8d36-4d77-9d2b-6a1f7c8e2a10",
    }

    created = learner_api.post(LIST, payload, format="json")
    retried = learner_api.post(LIST, {**payload, "title": "Changed"}, format="json")

    project = Project.objects.get()
    expected = body(
        project,
        course={"id": str(course.pk), "slug": "python", "title": course.title},
        is_mine=True,
        can_edit=True,
    )
    assert (created.status_code, retried.status_code) == (201, 200)
    assert created.json() == expected == retried.json()
    assert (project.status, project.origin, project.author) == ("submitted", "learner", learner)


def test_an_idempotency_key_also_makes_a_retry_harmless(learner_api):
    payload = {"title": "Snake", "summary": "A game.", "course": "python", "submit": False}

    first = learner_api.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-7")
    again = learner_api.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-7")
    other = learner_api.post(LIST, payload, format="json", HTTP_IDEMPOTENCY_KEY="order-8")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert first.json()["status"] == "draft"
    assert [row["slug"] for row in other.json()["links"]] == []
    assert other.json()["slug"] == "snake-2"


def test_submitting_refuses_what_the_rules_refuse(learner_api):
    CourseFactory(slug="salsa")
    anonymous = APIClient().post(LIST, {"title": "T", "summary": "S"}, format="json")
    not_enrolled = learner_api.post(
        LIST, {"title": "T", "summary": "S", "course": "salsa"}, format="json"
    )
    bad = learner_api.post(
        LIST,
        {
            "title": "T",
            "summary": "S",
            "course": "python",
            "tags": ["cobol"],
            "links": [{"label": "x", "url": "ftp://example.com/file"}],
        },
        format="json",
    )
    bad_link = learner_api.post(
        LIST,
        {
            "title": "T",
            "summary": "S",
            "course": "python",
            "links": [{"label": "x", "url": "ftp://example.com/file"}],
        },
        format="json",
    )

    assert anonymous.status_code == 401
    assert not_enrolled.status_code == 400
    assert not_enrolled.json()["error"]["fields"] == {
        "course": ["Choose one of the courses you are enrolled in."]
    }
    assert bad.json()["error"]["fields"] == {"tags": ["There is no tag with the slug cobol."]}
    assert bad_link.json()["error"]["fields"] == {
        "links.0.url": ["Enter a web address starting with https:// or http://."]
    }
    assert Project.objects.count() == 0


# --- Editing, deleting, restoring --------------------------------------------------------------


def test_the_author_edits_until_approval(learner_api, learner, course):
    waiting = ProjectFactory(author=learner, course=course, submitted=True, title="Old")
    approved = ProjectFactory(author=learner, course=course)
    others = ProjectFactory(course=course)

    edited = learner_api.patch(detail_url(waiting), {"title": "New", "tags": []}, format="json")
    locked = learner_api.patch(detail_url(approved), {"title": "New"}, format="json")
    not_mine = learner_api.patch(detail_url(others), {"title": "New"}, format="json")

    assert edited.status_code == 200
    assert edited.json()["title"] == "New"
    assert locked.status_code == 409
    assert locked.json() == error(
        "PROJECT_LOCKED",
        "This project is approved and public: ask the school's staff to change it.",
    )
    assert not_mine.status_code == 403
    assert not_mine.json()["error"]["code"] == "PROJECT_NOT_YOURS"


def test_delete_then_restore_within_the_window_but_not_after(learner_api, learner, settings):
    settings.LMS_SHOWCASE_RESTORE_DAYS = 30
    project = ProjectFactory(author=learner)
    restore = reverse("showcase-api:project-restore", args=[project.slug])

    deleted = learner_api.delete(detail_url(project))
    gone = learner_api.get(detail_url(project))
    listed = learner_api.get(MINE).json()["results"][0]
    restored = learner_api.post(restore)
    learner_api.delete(detail_url(project))
    Project.objects.filter(pk=project.pk).update(
        deleted_at=Project.objects.get(pk=project.pk).deleted_at - timedelta(days=31)
    )
    expired = learner_api.post(restore)

    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert listed["deleted_at"] is not None
    assert listed["restorable_until"] is not None
    assert restored.status_code == 200
    assert (restored.json()["deleted_at"], restored.json()["status"]) == (None, "approved")
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "PROJECT_RESTORE_EXPIRED"
    actions = list(AuditLog.objects.order_by("created_at").values_list("action", flat=True))
    assert actions == ["showcase.deleted", "showcase.restored", "showcase.deleted"]


def test_someone_elses_project_cannot_be_deleted_or_restored(learner_api):
    project = ProjectFactory()
    hidden = ProjectFactory(submitted=True)

    delete = learner_api.delete(detail_url(project))
    delete_hidden = learner_api.delete(detail_url(hidden))
    restore = learner_api.post(reverse("showcase-api:project-restore", args=[project.slug]))

    assert (delete.status_code, delete_hidden.status_code, restore.status_code) == (403, 404, 404)
    assert Project.objects.filter(deleted_at__isnull=False).count() == 0


def test_my_projects_lists_every_status_of_mine_only(learner_api, learner):
    ProjectFactory(author=learner, title="One", submitted=True)
    ProjectFactory(author=learner, title="Two", draft=True)
    ProjectFactory(title="Not mine")

    response = learner_api.get(MINE)

    assert [(row["title"], row["status"]) for row in response.json()["results"]] == [
        ("Two", "draft"),
        ("One", "submitted"),
    ]


# --- Picture and tags --------------------------------------------------------------------------


def test_setting_and_removing_the_picture(learner_api, learner):
    project = ProjectFactory(author=learner, submitted=True)
    url = reverse("showcase-api:project-thumbnail", args=[project.slug])

    bad = learner_api.put(url, {"thumbnail": picture(100, 50)}, format="multipart")
    good = learner_api.put(url, {"thumbnail": picture()}, format="multipart")
    removed = learner_api.delete(url)

    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {
        "thumbnail": ["The picture is 100×50 pixels; it must be at least 320×180."]
    }
    assert good.status_code == 200
    assert good.json()["thumbnail_url"].startswith("http://testserver/media/thumbnails/projects/")
    assert good.json()["thumbnail_url"].endswith(".webp")
    assert removed.status_code == 204
    project.refresh_from_db()
    assert not project.thumbnail


def test_the_tags_list(api_client):
    TagFactory(name="Salsa", slug="salsa")
    TagFactory(name="Python", slug="python")

    assert api_client.get(TAGS).json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [{"slug": "python", "name": "Python"}, {"slug": "salsa", "name": "Salsa"}],
    }


@pytest.mark.parametrize("count", [2, 10])
def test_the_list_costs_the_same_queries_for_any_number(
    api_client, count, django_assert_max_num_queries
):
    api_client.force_authenticate(UserFactory())
    for _number in range(count):
        project = ProjectFactory(tags=[TagFactory()], course=CourseFactory(draft=True))
        ProjectLinkFactory(project=project)

    with django_assert_max_num_queries(6):
        response = api_client.get(LIST)

    assert response.json()["count"] == count
