"""showcase's part of a person's data (`accounts.personal_data`): the projects they wrote.

Deleting the account deletes the projects a learner submitted, with their pictures: they
are the learner's own work, shown under their name. Projects staff authored are the
school's content and stay, attributed to the anonymous tombstone. Who reviewed a project is
the school's record and stays as it is.
"""

from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from showcase.models import Project


def _export(user: User) -> dict[str, Any]:
    projects = Project.objects.filter(author=user).prefetch_related("tags", "links")
    return {
        "projects": [
            {
                "id": project.pk,
                "slug": project.slug,
                "title": project.title,
                "summary": project.summary,
                "detail": project.detail,
                "course": project.course.title if project.course_id else None,
                "tags": [tag.name for tag in project.tags.all()],
                "links": [{"label": link.label, "url": link.url} for link in project.links.all()],
                "thumbnail": project.thumbnail.name or None,
                "status": project.status,
                "review_note": project.review_note,
                "reviewed_at": project.reviewed_at,
                "created_at": project.created_at,
                "updated_at": project.updated_at,
                "deleted_at": project.deleted_at,
            }
            for project in projects.select_related("course").order_by("created_at")
        ]
    }


def _files(user: User) -> list[tuple[str, Any, str]]:
    found = []
    for project in Project.objects.filter(author=user).exclude(thumbnail=""):
        name = project.thumbnail.name
        found.append((f"files/projects/{project.slug}.webp", project.thumbnail.storage, name))
    return found


def _erase(user: User) -> None:
    submitted = Project.objects.filter(author=user, origin=Project.Origin.LEARNER)
    pictures = [(project.thumbnail.storage, project.thumbnail.name) for project in submitted]
    pictures = [(storage, name) for storage, name in pictures if name]
    submitted.delete()  # with their links and tags (cascade)
    if pictures:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in pictures])


personal_data_register(
    Section(
        name="showcase",
        title="Projects you submitted to the showcase (or authored, as staff), with their "
        "pictures, links and review notes.",
        export=_export,
        erase=_erase,
        files=_files,
        on_deletion="Projects you submitted are deleted, with their pictures, and leave the "
        "showcase. Projects you authored as staff stay with the school.",
        covers=("showcase.Project.author",),
        keeps=("showcase.Project.reviewed_by",),
    )
)
