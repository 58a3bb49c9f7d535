"""The showcase pages: the public list (filters, search, pages, query budget), a project's
page (404s, who sees what), and the author's pages: submit, edit, delete, restore, mine."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from progress.tests.factories import EnrollmentFactory
from showcase.models import Project
from showcase.tests.factories import ProjectFactory, ProjectLinkFactory, TagFactory, picture

pytestmark = pytest.mark.django_db

LIST = reverse("showcase:project_list")
NEW = reverse("showcase:project_new")
MINE = reverse("showcase:my_projects")


def titles(html: str) -> list[str]:
    return re.findall(r'class="project-card__link" href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def learner():
    return UserFactory(email="lee@example.com", display_name="Lee Park")


@pytest.fixture
def learner_client(client, learner):
    client.force_login(learner)
    return client


# --- The list ----------------------------------------------------------------------------------


def test_the_list_shows_approved_projects_newest_first_and_nothing_else(client):
    ProjectFactory(title="Older game")
    ProjectFactory(title="Newer choreo")
    ProjectFactory(title="Waiting", submitted=True)
    ProjectFactory(title="A draft", draft=True)
    ProjectFactory(title="Rejected", status=Project.Status.REJECTED)
    deleted = ProjectFactory(title="Gone")
    Project.objects.filter(pk=deleted.pk).update(deleted_at=deleted.created_at)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert titles(html) == ["Newer choreo", "Older game"]
    assert "2 projects" in html


def test_filters_by_course_and_tag_and_search_by_words(client):
    python = TagFactory(name="Python", slug="python")
    salsa_course = CourseFactory(title="Salsa", slug="salsa")
    ProjectFactory(title="Snake", summary="A terminal game.", tags=[python])
    ProjectFactory(title="Recital", course=salsa_course, detail="Our salsa **recital**.")
    ProjectFactory(title="Quiz app", tags=[python], summary="Questions and answers.")

    assert titles(client.get(LIST, {"tag": "python"}).content.decode()) == ["Quiz app", "Snake"]
    assert titles(client.get(LIST, {"course": "salsa"}).content.decode()) == ["Recital"]
    searched = client.get(LIST, {"q": "terminal game", "tag": "python"}).content.decode()
    assert titles(searched) == ["Snake"]
    assert "1 project" in searched and "for “terminal game”" in searched
    nothing = client.get(LIST, {"q": "tango"}).content.decode()
    assert titles(nothing) == [] and "No projects match your search" in nothing


def test_an_unknown_filter_is_an_error_the_visitor_sees(client):
    response = client.get(LIST, {"tag": "cobol", "course": "no-such-course"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Tag: “cobol” is not a tag we use." in html
    assert "Course: “no-such-course” is not a course with projects." in html


def test_pages_of_twelve_and_a_page_past_the_end_is_404(client):
    for number in range(13):
        ProjectFactory(title=f"Project number {number:02d}")

    first, second = client.get(LIST), client.get(LIST, {"page": 2})
    past = client.get(LIST, {"page": 3})

    assert len(titles(first.content.decode())) == 12
    assert titles(second.content.decode()) == ["Project number 00"]
    assert "Page 2 of 2" in second.content.decode()
    assert past.status_code == 404


def test_the_related_course_shows_only_where_its_page_exists_for_the_viewer(client):
    instructor = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    draft = CourseFactory(title="Secret draft course", draft=True, instructors=[instructor])
    ProjectFactory(title="Early bird", course=draft)
    ProjectFactory(title="Published one", course=CourseFactory(title="Open course"))

    as_visitor = client.get(LIST).content.decode()
    client.force_login(instructor)
    as_instructor = client.get(LIST).content.decode()

    assert "Open course" in as_visitor and "Secret draft course" not in as_visitor
    assert "Secret draft course" in as_instructor


@pytest.mark.parametrize("count", [3, 12])
def test_the_list_costs_the_same_queries_for_any_number_of_projects(
    client, count, django_assert_max_num_queries
):
    python = TagFactory()
    signed_in = UserFactory()
    for _number in range(count):
        project = ProjectFactory(tags=[python, TagFactory()], course=CourseFactory(draft=True))
        ProjectLinkFactory(project=project)
    client.force_login(signed_in)

    with django_assert_max_num_queries(10):
        response = client.get(LIST)

    assert len(titles(response.content.decode())) == count


# --- A project's page --------------------------------------------------------------------------


def test_a_public_project_page_shows_its_detail_tags_links_and_course(client):
    course = CourseFactory(title="Python for Beginners", slug="python")
    project = ProjectFactory(
        title="Snake",
        summary="A terminal game.",
        detail="Made with **curses**.<script>alert(1)</script>",
        course=course,
        tags=[TagFactory(name="Python", slug="python")],
        review_note="Nice one!",
    )
    ProjectLinkFactory(project=project, label="Source code", url="https://example.com/snake")

    response = client.get(project.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="project-title" class="project__title">Snake</h1>' in html
    assert "<strong>curses</strong>" in html and "<script>alert(1)" not in html
    assert 'href="/projects/?tag=python">Python</a>' in html
    assert (
        'href="https://example.com/snake" rel="noopener noreferrer nofollow ugc">Source code'
        in html
    )
    assert f'<a href="{course.get_absolute_url()}">Python for Beginners</a>' in html
    assert "Nice one!" not in html  # staff's note is for the author


def test_a_project_not_approved_is_404_but_for_its_author_and_staff(client, learner):
    project = ProjectFactory(author=learner, submitted=True, title="Work in progress")

    visitor = client.get(project.get_absolute_url())
    client.force_login(UserFactory())
    other = client.get(project.get_absolute_url())
    client.force_login(learner)
    author = client.get(project.get_absolute_url())
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    staff = client.get(project.get_absolute_url())

    assert (visitor.status_code, other.status_code) == (404, 404)
    assert author.status_code == staff.status_code == 200
    assert "Only you and the school's staff see this page" in author.content.decode()
    assert "Review in the admin" in staff.content.decode()


def test_a_deleted_project_and_an_unknown_slug_are_404(client):
    project = ProjectFactory()
    Project.objects.filter(pk=project.pk).update(deleted_at=project.created_at)

    assert client.get(project.get_absolute_url()).status_code == 404
    assert client.get("/projects/no-such-project/").status_code == 404


# --- Submitting and editing --------------------------------------------------------------------


def test_submitting_needs_a_sign_in(client):
    response = client.get(NEW)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={NEW}"


def test_a_learner_submits_for_a_course_they_take(learner_client, learner):
    course = CourseFactory(title="Python for Beginners", slug="python")
    CourseFactory(title="Not mine", slug="not-mine")
    EnrollmentFactory(user=learner, course=course)
    TagFactory(name="Python", slug="python")

    form = learner_client.get(NEW).content.decode()
    response = learner_client.post(
        NEW,
        {
            "title": "Snake",
            "summary": "A terminal game.",
            "course": "python",
            "tags": ["python"],
            "detail": "Made with **curses**.",
            "thumbnail": picture(),
            "links-TOTAL_FORMS": "5",
            "links-INITIAL_FORMS": "0",
            "links-0-label": "Code",
            "links-0-url": "https://example.com/snake",
            "action": "submit",
        },
        follow=True,
    )

    assert '<option value="python">Python for Beginners</option>' in form
    assert "Not mine" not in form
    html = response.content.decode()
    assert response.redirect_chain == [("/projects/snake/", 302)]
    assert "Thank you! Staff review your project before it is public." in html
    project = Project.objects.get()
    assert (project.author, project.status, project.course) == (learner, "submitted", course)
    assert list(project.tags.values_list("slug", flat=True)) == ["python"]
    assert list(project.links.values_list("label", "url")) == [
        ("Code", "https://example.com/snake")
    ]
    assert project.thumbnail.name.endswith(".webp")


def test_a_bad_form_comes_back_with_its_errors_and_stores_nothing(learner_client, learner):
    EnrollmentFactory(user=learner, course=CourseFactory(slug="python"))

    response = learner_client.post(
        NEW,
        {
            "title": "",
            "summary": "Fine.",
            "course": "python",
            "thumbnail": picture(100, 100),
            "links-TOTAL_FORMS": "5",
            "links-INITIAL_FORMS": "0",
            "links-0-label": "Evil",
            "links-0-url": "javascript:alert(1)",
        },
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Please fix the fields marked below." in html
    assert "This field is required." in html
    assert "The picture is 100×100 pixels; it must be at least 320×180." in html
    assert "Enter a valid URL." in html
    assert Project.objects.count() == 0


def test_forms_refuse_posts_without_the_csrf_token(learner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)

    response = client.post(NEW, {"title": "Snake", "summary": "Game."})

    assert response.status_code == 403
    assert Project.objects.count() == 0


def test_the_author_edits_a_waiting_project_but_not_an_approved_one(learner_client, learner):
    course = CourseFactory(slug="python")
    waiting = ProjectFactory(author=learner, course=course, submitted=True, title="Draft idea")
    approved = ProjectFactory(author=learner, course=course, title="Published")
    edit = reverse("showcase:project_edit", args=[waiting.slug])

    page = learner_client.get(edit).content.decode()
    learner_client.post(
        edit,
        {
            "title": "Better idea",
            "summary": "Now clearer.",
            "course": "python",
            "links-TOTAL_FORMS": "5",
            "links-INITIAL_FORMS": "0",
            "action": "draft",
        },
    )
    locked = learner_client.get(reverse("showcase:project_edit", args=[approved.slug]), follow=True)

    assert 'value="Draft idea"' in page
    waiting.refresh_from_db()
    assert (waiting.title, waiting.summary, waiting.status) == (
        "Better idea",
        "Now clearer.",
        "draft",
    )
    assert locked.redirect_chain == [(approved.get_absolute_url(), 302)]
    assert "This project is approved and public: ask staff to change it." in locked.content.decode()


def test_someone_elses_project_cannot_be_edited_or_deleted(learner_client):
    project = ProjectFactory(title="Not yours")

    edit = learner_client.get(reverse("showcase:project_edit", args=[project.slug]))
    delete = learner_client.post(reverse("showcase:project_delete", args=[project.slug]))

    assert (edit.status_code, delete.status_code) == (403, 403)
    project.refresh_from_db()
    assert project.deleted_at is None


def test_the_author_deletes_then_restores_from_my_projects(learner_client, learner):
    project = ProjectFactory(author=learner, title="Snake", review_note="Lovely!")

    deleted = learner_client.post(
        reverse("showcase:project_delete", args=[project.slug]), follow=True
    )
    mine = deleted.content.decode()
    restored = learner_client.post(
        reverse("showcase:project_restore", args=[project.slug]), follow=True
    )

    assert deleted.redirect_chain == [(MINE, 302)]
    assert "“Snake” is deleted. You can restore it here until" in mine
    assert "Deleted. You can restore it until" in mine
    assert restored.redirect_chain == [(project.get_absolute_url(), 302)]
    assert "“Snake” is back." in restored.content.decode()
    project.refresh_from_db()
    assert project.deleted_at is None


def test_my_projects_lists_every_status_with_staffs_note(learner_client, learner):
    ProjectFactory(author=learner, title="Approved one")
    ProjectFactory(
        author=learner,
        title="Turned down",
        status=Project.Status.REJECTED,
        review_note="Add a link.",
    )
    ProjectFactory(author=learner, title="Waiting one", submitted=True)
    ProjectFactory(title="Someone else's")

    html = learner_client.get(MINE).content.decode()

    for text in (
        "Approved one",
        "Approved: public",
        "Turned down",
        "Not approved",
        "Staff's note:</strong> Add a link.",
        "Waiting one",
        "Waiting for review",
    ):
        assert text in html
    assert "Someone else" not in html


@pytest.mark.parametrize("count", [2, 8])
def test_my_projects_costs_the_same_queries_for_any_number(
    learner_client, learner, count, django_assert_max_num_queries
):
    for _number in range(count):
        project = ProjectFactory(author=learner, tags=[TagFactory()], course=CourseFactory())
        ProjectLinkFactory(project=project)

    with django_assert_max_num_queries(8):
        response = learner_client.get(MINE)

    assert response.content.decode().count('<li class="my-project') == count
