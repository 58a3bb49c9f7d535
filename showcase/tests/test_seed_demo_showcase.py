"""The demo school's showcase (`seed_demo` runs `seed_demo_showcase`): approved projects by
staff and the demo learner with pictures, tags and course links, one waiting for review;
the same after a rerun."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from showcase.models import Project, ProjectLink, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_site(settings):
    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off


def _showcase() -> dict:
    return {
        "projects": set(
            Project.objects.values_list(
                "pk", "slug", "author__email", "status", "course__slug", "thumbnail"
            )
        ),
        "tags": set(Tag.objects.values_list("pk", "slug")),
        "links": set(ProjectLink.objects.values_list("pk", "project__slug", "url")),
    }


def test_the_demo_school_has_public_projects_and_one_waiting_once(client):
    out = StringIO()
    call_command("seed_demo", "--analytics-learners=0", stdout=out)
    first = _showcase()
    call_command("seed_demo", "--analytics-learners=0", stdout=StringIO())

    assert _showcase() == first
    assert "Showcase: 3 public projects and 1 waiting for review -> /projects/" in out.getvalue()
    rows = {
        (slug, author, status, course)
        for _pk, slug, author, status, course, _t in first["projects"]
    }
    assert rows == {
        ("salsa-spring-recital", "staff@example.com", "approved", "salsa-foundations"),
        ("night-sky-full-piece", "staff@example.com", "approved", "contemporary-choreo-night-sky"),
        ("number-guessing-game", "learner@example.com", "approved", "python-for-beginners"),
        ("my-first-shines", "learner@example.com", "submitted", "salsa-foundations"),
    }
    html = client.get("/projects/").content.decode()
    assert "3 projects" in html
    assert "Number guessing game" in html and "My first shines" not in html


def test_it_needs_the_demo_school():
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        call_command("seed_demo_showcase", stdout=StringIO())
