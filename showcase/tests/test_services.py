"""The showcase's rules, through its services: who submits for which course, edits until
approval, reviews (audited, the learner told once), soft delete and restore within the
window, pictures re-encoded, links that are web addresses only, and a person's data."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from accounts.models import AuditLog
from accounts.personal_data import personal_data_export
from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from lms.errors import AccessDeniedError, ApplicationError
from notifications.models import Notification
from progress.tests.factories import EnrollmentFactory
from showcase import services
from showcase.models import Project
from showcase.selectors import project_get, projects_public_list
from showcase.services import LinkSpec
from showcase.tests.factories import ProjectFactory, TagFactory, picture
from showcase.thumbnails import thumbnail_from_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(email="sam@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def course():
    return CourseFactory(title="Python for Beginners", slug="python")


@pytest.fixture
def learner(course):
    learner = UserFactory(email="lee@example.com", display_name="Lee Park")
    EnrollmentFactory(user=learner, course=course)
    return learner


def submit(learner, course, **kwargs):
    values = {"title": "Snake game", "summary": "A game in the terminal.", "course": course}
    project, _created = services.project_create(author=learner, **(values | kwargs))
    return project


def audit_rows(action):
    return list(
        AuditLog.objects.filter(action=action).values(
            "actor_id", "target_type", "target_id", "target_repr", "details"
        )
    )


# --- Submitting --------------------------------------------------------------------------------


def test_a_learner_submits_for_their_course_and_only_they_and_staff_see_it(learner, course, staff):
    python, game = TagFactory(name="Python", slug="python"), TagFactory(name="Games", slug="games")

    project = submit(
        learner,
        course,
        detail="Uses *curses*.",
        tags=[python, game, python],
        links=[LinkSpec(label=" Code ", url="https://example.com/snake ")],
    )

    project.refresh_from_db()
    assert (project.slug, project.status, project.origin) == ("snake-game", "submitted", "learner")
    assert sorted(project.tags.values_list("slug", flat=True)) == ["games", "python"]
    assert list(project.links.values_list("label", "url", "order")) == [
        ("Code", "https://example.com/snake", 0)
    ]
    assert list(projects_public_list()) == []
    assert project_get(user=learner, slug="snake-game") == project
    assert project_get(user=staff, slug="snake-game") == project
    with pytest.raises(ApplicationError) as refused:
        project_get(user=UserFactory(), slug="snake-game")
    assert refused.value.code == "PROJECT_NOT_FOUND"


def test_a_learner_cannot_submit_for_a_course_they_do_not_take(learner):
    other = CourseFactory(title="Salsa")

    with pytest.raises(ValidationError) as refused:
        submit(learner, other)
    with pytest.raises(ValidationError) as no_course:
        submit(learner, None)

    assert refused.value.message_dict == {
        "course": ["Choose one of the courses you are enrolled in."]
    }
    assert no_course.value.message_dict == {"course": ["Choose the course this project is for."]}
    assert Project.objects.count() == 0


def test_staff_author_drafts_for_any_course_or_none(staff):
    project, created = services.project_create(author=staff, title="Recital", summary="A night.")

    assert created
    assert (project.origin, project.status, project.course) == ("staff", "draft", None)


def test_sending_the_same_client_id_twice_adds_one_project(learner, course):
    client_id = "6d8a0a87-54b3-4f4b-a0cf-8a2c1d33a9e1"

    first, created = services.project_create(
        author=learner, title="Game", summary="Fun.", course=course, client_id=client_id
    )
    again, created_again = services.project_create(
        author=learner, title="Other title", summary="Other.", course=course, client_id=client_id
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.title == "Game"
    assert Project.objects.count() == 1


def test_slugs_come_from_titles_numbered_when_taken_never_reserved(learner, course):
    first, second = submit(learner, course, title="Snake!"), submit(learner, course, title="snake")
    reserved = submit(learner, course, title="New")
    unicode_only = submit(learner, course, title="蛇")

    assert [first.slug, second.slug, reserved.slug, unicode_only.slug] == [
        "snake",
        "snake-2",
        "new-project",
        "project",
    ]


def test_bad_text_and_links_are_refused_by_field_and_nothing_is_stored(learner, course):
    with pytest.raises(ValidationError) as refused:
        submit(
            learner,
            course,
            title="  ",
            summary="x" * 301,
            links=[
                LinkSpec(label="Code", url="https://example.com"),
                LinkSpec(label="", url="javascript:alert(1)"),
            ],
        )
    with pytest.raises(ValidationError) as too_many:
        submit(learner, course, links=[LinkSpec(label="L", url="https://example.com")] * 6)

    assert refused.value.message_dict == {
        "title": ["This field cannot be blank."],
        "summary": ["Ensure this value has at most 300 characters (it has 301)."],
        "links.1.label": ["Give the link a label."],
        "links.1.url": ["Enter a web address starting with https:// or http://."],
    }
    assert too_many.value.message_dict == {"links": ["At most 5 links."]}
    assert Project.objects.count() == 0


# --- Editing -----------------------------------------------------------------------------------


def test_the_author_edits_until_approval_then_it_is_locked(learner, course, staff):
    project = submit(learner, course)

    services.project_update(actor=learner, project=project, title="Snake 2", links=[])
    services.project_approve(actor=staff, project=project)
    with pytest.raises(ApplicationError) as locked:
        services.project_update(actor=learner, project=project, title="Snake 3")
    with pytest.raises(ApplicationError) as locked_picture:
        services.project_thumbnail_set(
            actor=learner, project=project, thumbnail=thumbnail_from_upload(picture())
        )
    staff_edit = services.project_update(actor=staff, project=project, summary="Edited by staff.")

    assert locked.value.code == locked_picture.value.code == "PROJECT_LOCKED"
    project.refresh_from_db()
    assert (project.title, project.summary, project.slug) == (
        "Snake 2",
        "Edited by staff.",
        "snake-game",
    )
    assert staff_edit.status == "approved"


def test_nobody_else_edits_a_learners_project(learner, course):
    project = submit(learner, course)
    other = UserFactory()

    with pytest.raises(AccessDeniedError) as refused:
        services.project_update(actor=other, project=project, title="Mine now")

    assert refused.value.code == "PROJECT_NOT_YOURS"
    project.refresh_from_db()
    assert project.title == "Snake game"


def test_changing_and_resubmitting_after_a_rejection_puts_it_back_in_review(learner, course, staff):
    project = submit(learner, course)
    services.project_reject(actor=staff, project=project, note="Add a picture, please.")

    as_draft = services.project_update(actor=learner, project=project, submit=False)
    assert (as_draft.status, as_draft.review_note, as_draft.reviewed_at) == ("draft", "", None)
    again = services.project_update(actor=learner, project=project, summary="Now with a picture.")
    assert again.status == "draft"
    again = services.project_update(actor=learner, project=project, submit=True)

    assert (again.status, again.reviewed_by, again.reviewed_at) == ("submitted", None, None)


# --- Review ------------------------------------------------------------------------------------


def test_approving_publishes_audits_and_tells_the_learner_once(
    learner, course, staff, django_capture_on_commit_callbacks
):
    project = submit(learner, course)

    with django_capture_on_commit_callbacks(execute=True):
        services.project_approve(actor=staff, project=project, note="Lovely work!")
        services.project_approve(actor=staff, project=project, note="Lovely work!")

    project.refresh_from_db()
    assert (project.status, project.reviewed_by, project.review_note) == (
        "approved",
        staff,
        "Lovely work!",
    )
    assert project.published_at == project.reviewed_at
    assert list(projects_public_list()) == [project]
    assert audit_rows(AuditLog.Action.PROJECT_APPROVED) == [
        {
            "actor_id": staff.pk,
            "target_type": "showcase.project",
            "target_id": str(project.pk),
            "target_repr": "Snake game",
            "details": {
                "previous_status": "submitted",
                "note": "Lovely work!",
                "author": str(learner.pk),
            },
        }
    ]
    assert list(Notification.objects.values("user", "kind", "title", "body", "url")) == [
        {
            "user": learner.pk,
            "kind": "project_review",
            "title": "Your project “Snake game” is approved and public",
            "body": "Lovely work!",
            "url": "/projects/snake-game/",
        }
    ]


def test_rejecting_needs_a_note_and_takes_an_approved_project_off_the_list(learner, course, staff):
    project = submit(learner, course)
    services.project_approve(actor=staff, project=project)

    with pytest.raises(ValidationError) as no_note:
        services.project_reject(actor=staff, project=project, note=" ")
    services.project_reject(actor=staff, project=project, note="The link is broken.")

    assert no_note.value.message_dict == {"note": ["Say why, for the author: they read this note."]}
    project.refresh_from_db()
    assert (project.status, project.review_note) == ("rejected", "The link is broken.")
    assert list(projects_public_list()) == []
    assert [row["details"] for row in audit_rows(AuditLog.Action.PROJECT_REJECTED)] == [
        {"previous_status": "approved", "note": "The link is broken.", "author": str(learner.pk)}
    ]
    assert list(Notification.objects.order_by("created_at").values_list("title", flat=True)) == [
        "Your project “Snake game” is approved and public",
        "Your project “Snake game” was not approved",
    ]


def test_only_staff_review_and_never_a_deleted_project(learner, course, staff):
    project = submit(learner, course)

    with pytest.raises(AccessDeniedError) as not_staff:
        services.project_approve(actor=learner, project=project)
    services.project_delete(actor=learner, project=project)
    with pytest.raises(ApplicationError) as deleted:
        services.project_approve(actor=staff, project=project)

    assert (not_staff.value.code, deleted.value.code) == (
        "PERMISSION_DENIED",
        "PROJECT_NOT_REVIEWABLE",
    )
    project.refresh_from_db()
    assert project.status == "submitted"


# --- Soft delete and restore -------------------------------------------------------------------


def test_the_author_deletes_and_restores_within_the_window(learner, course, staff, settings):
    settings.LMS_SHOWCASE_RESTORE_DAYS = 30
    project = submit(learner, course)
    services.project_approve(actor=staff, project=project)

    services.project_delete(actor=learner, project=project)
    assert list(projects_public_list()) == []
    services.project_restore(actor=learner, project=project)

    project.refresh_from_db()
    assert (project.deleted_at, project.status) == (None, "approved")
    assert list(projects_public_list()) == [project]
    assert [row["details"]["by"] for row in audit_rows(AuditLog.Action.PROJECT_DELETED)] == [
        "author"
    ]
    restored = audit_rows(AuditLog.Action.PROJECT_RESTORED)
    assert [(row["actor_id"], row["details"]["by"]) for row in restored] == [(learner.pk, "author")]


def test_after_the_window_only_staff_restore(learner, course, staff, settings):
    settings.LMS_SHOWCASE_RESTORE_DAYS = 30
    project = services.project_delete(actor=learner, project=submit(learner, course))
    Project.objects.filter(pk=project.pk).update(deleted_at=project.deleted_at - timedelta(days=31))

    with pytest.raises(ApplicationError) as expired:
        services.project_restore(actor=learner, project=project)
    assert expired.value.code == "PROJECT_RESTORE_EXPIRED"
    project.refresh_from_db()
    assert project.deleted_at is not None

    services.project_restore(actor=staff, project=project)
    project.refresh_from_db()
    assert project.deleted_at is None


def test_nobody_else_deletes_or_restores(learner, course):
    project = submit(learner, course)

    with pytest.raises(AccessDeniedError) as refused:
        services.project_delete(actor=UserFactory(), project=project)

    assert refused.value.code == "PROJECT_NOT_YOURS"
    project.refresh_from_db()
    assert project.deleted_at is None
    assert AuditLog.objects.filter(action=AuditLog.Action.PROJECT_DELETED).count() == 0


# --- Pictures ----------------------------------------------------------------------------------


def test_a_picture_is_stored_as_webp_within_1280_by_720(
    learner, course, django_capture_on_commit_callbacks
):
    project = submit(learner, course, thumbnail=thumbnail_from_upload(picture(4000, 3000, "JPEG")))
    first = project.thumbnail.name

    with Image.open(default_storage.open(first)) as stored:
        assert (stored.format, stored.size) == ("WEBP", (960, 720))
    with django_capture_on_commit_callbacks(execute=True):
        services.project_thumbnail_set(
            actor=learner, project=project, thumbnail=thumbnail_from_upload(picture(640, 360))
        )
    project.refresh_from_db()
    assert project.thumbnail.name != first
    assert not default_storage.exists(first)  # the old file goes once the change is committed
    assert default_storage.exists(project.thumbnail.name)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (picture(200, 100), "The picture is 200×100 pixels; it must be at least 320×180."),
        (
            picture(7000, 400),
            "The picture is 7000×400 pixels; it can have at most 16.8 megapixels and 6000 "
            "pixels a side.",
        ),
    ],
)
def test_pictures_too_small_or_too_big_are_refused(upload, message):
    with pytest.raises(ValidationError) as refused:
        thumbnail_from_upload(upload)

    assert refused.value.message_dict == {"thumbnail": [message]}


def test_a_file_that_is_no_picture_is_refused():
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("evil.png", b"<svg onload=alert(1)>", content_type="image/png")

    with pytest.raises(ValidationError) as refused:
        thumbnail_from_upload(fake)

    assert refused.value.message_dict == {
        "thumbnail": ["Upload a JPEG, PNG or WebP picture; this file is not one."]
    }


# --- Search and a person's data ----------------------------------------------------------------


def test_search_needs_every_word_somewhere_and_filters_combine():
    python = TagFactory(name="Python", slug="python")
    course = CourseFactory()
    game = ProjectFactory(title="Snake", summary="A terminal game.", course=course, tags=[python])
    ProjectFactory(title="Recital", summary="A salsa night.", detail="With a snake dance.")
    ProjectFactory(title="Hidden snake game", submitted=True)

    assert set(projects_public_list(search="snake")) == {game, Project.objects.get(title="Recital")}
    assert list(projects_public_list(search="SNAKE terminal")) == [game]
    assert list(projects_public_list(search="snake", tag=python, course=course)) == [game]
    assert list(projects_public_list(tag=TagFactory())) == []


def test_a_learners_export_lists_their_projects_and_deletion_removes_them(
    learner, course, staff, django_capture_on_commit_callbacks
):
    from accounts.deletion import user_account_delete

    mine = submit(learner, course, thumbnail=thumbnail_from_upload(picture()))
    _ours, _created = services.project_create(author=staff, title="Ours", summary="Ours.")
    picture_name = mine.thumbnail.name

    exported = personal_data_export(user=learner)["showcase"]["projects"]
    assert [(row["title"], row["status"], row["course"]) for row in exported] == [
        ("Snake game", "submitted", "Python for Beginners")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        user_account_delete(user=learner)

    assert list(Project.objects.values_list("title", flat=True)) == ["Ours"]
    assert not default_storage.exists(picture_name)
