"""Projects: create (staff's drafts, learners' submissions, retried by client id), edit, the
picture. Who may: `showcase.selectors.project_can_edit`; what: the model's field checks,
links that are web addresses, a learner's course among those they take."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.models import Course
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from showcase.models import (
    LINK_LABEL_MAX_LENGTH,
    LINK_URL_MAX_LENGTH,
    LINKS_MAX,
    RESERVED_PROJECT_SLUGS,
    TAGS_MAX,
    Project,
    ProjectLink,
    Tag,
)
from showcase.selectors import (
    project_can_edit,
    project_course_choices,
    project_is_mine,
    project_is_staff_viewer,
)
from showcase.thumbnails import Thumbnail

# `project_update(course=UNCHANGED)`: keep the related course as it is.
UNCHANGED: Any = object()
_SLUG_MAX = Project._meta.get_field("slug").max_length
_http_url = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class LinkSpec:
    label: str
    url: str


# --- Checks ----------------------------------------------------------------------------------


def _field_clean(name: str, value: Any, errors: dict[str, list[str]]) -> Any:
    """The model field's own checks (max_length, blank): the value, or its errors noted."""
    if isinstance(value, str):
        value = value.strip()
    try:
        return Project._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        errors[name] = exc.messages
        return value


def _links_clean(links: Iterable[LinkSpec], errors: dict[str, list[str]]) -> list[LinkSpec]:
    cleaned: list[LinkSpec] = []
    items = list(links)
    if len(items) > LINKS_MAX:
        errors["links"] = [_("At most %(max)d links.") % {"max": LINKS_MAX}]
        return cleaned
    for index, link in enumerate(items):
        label, url = (link.label or "").strip(), (link.url or "").strip()
        problems = {}
        if not label:
            problems["label"] = _("Give the link a label.")
        elif len(label) > LINK_LABEL_MAX_LENGTH:
            problems["label"] = _("Keep it to %(max)d characters.") % {"max": LINK_LABEL_MAX_LENGTH}
        if len(url) > LINK_URL_MAX_LENGTH:
            problems["url"] = _("Keep it to %(max)d characters.") % {"max": LINK_URL_MAX_LENGTH}
        else:
            try:
                _http_url(url)
            except ValidationError:
                problems["url"] = _("Enter a web address starting with https:// or http://.")
        for field, message in problems.items():
            errors[f"links.{index}.{field}"] = [message]
        cleaned.append(LinkSpec(label=label, url=url))
    return cleaned


def _tags_clean(tags: Iterable[Tag], errors: dict[str, list[str]]) -> list[Tag]:
    unique = list({tag.pk: tag for tag in tags}.values())
    if len(unique) > TAGS_MAX:
        errors["tags"] = [_("Pick at most %(max)d tags.") % {"max": TAGS_MAX}]
    return unique


def _course_check(
    *, actor: User, course: Course | None, current: Course | None, errors: dict
) -> None:
    """Learners submit for a course they are enrolled in (keeping the one it has is fine)."""
    if project_is_staff_viewer(user=actor):
        return
    if course is None:
        errors["course"] = [_("Choose the course this project is for.")]
    elif (current is None or course.pk != current.pk) and not project_course_choices(
        user=actor
    ).filter(pk=course.pk).exists():
        errors["course"] = [_("Choose one of the courses you are enrolled in.")]


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _staff_require(actor: User) -> None:
    if not project_is_staff_viewer(user=actor):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)


def _edit_require(*, actor: User, project: Project) -> None:
    if project.deleted_at is not None:
        raise NotFoundError(ErrorCode.PROJECT_NOT_FOUND)
    if project_can_edit(user=actor, project=project):
        return
    if project_is_mine(user=actor, project=project):
        raise ApplicationError(ErrorCode.PROJECT_LOCKED)
    raise AccessDeniedError(ErrorCode.PROJECT_NOT_YOURS)


def _locked(project: Project) -> Project:
    return Project.objects.select_for_update().get(pk=project.pk)


# --- Slugs -----------------------------------------------------------------------------------


def _slug_base(title: str) -> str:
    base = slugify(title)[: _SLUG_MAX - 8].strip("-") or "project"
    return f"{base}-project" if base in RESERVED_PROJECT_SLUGS else base


def _slug_taken_check(values: dict, errors: dict, *, exclude: Project | None) -> None:
    if "slug" not in values or "slug" in errors:
        return
    others = Project.objects.filter(slug=values["slug"])
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        errors["slug"] = [_("Another project has this slug.")]


def _slug_free(title: str) -> str:
    """A slug for a new project: from its title, numbered when taken (`salsa-night-2`)."""
    base = _slug_base(title)
    taken = set(Project.objects.filter(slug__startswith=base).values_list("slug", flat=True)[:200])
    if base not in taken:
        return base
    for number in range(2, 100):
        if f"{base}-{number}" not in taken:
            return f"{base}-{number}"
    return f"{base}-{uuid.uuid4().hex[:6]}"


# --- Files -----------------------------------------------------------------------------------


def _thumbnail_put(project: Project, thumbnail: Thumbnail | None) -> tuple[list[str], list[str]]:
    """Store the new picture on the instance (not yet the row): (old names, new names). The
    caller saves the row, deletes the new file if that fails and the old after commit."""
    old = [project.thumbnail.name] if project.thumbnail else []
    if thumbnail is None:
        project.thumbnail = ""
        return old, []
    project.thumbnail.save(thumbnail.file.name, thumbnail.file, save=False)
    return old, [project.thumbnail.name]


def _save_with_files(project: Project, *, old: list[str], new: list[str], **save) -> None:
    storage = project.thumbnail.storage
    try:
        project.save(**save)
    except Exception:
        for name in new:
            storage.delete(name)
        raise
    if old:
        transaction.on_commit(lambda: [storage.delete(name) for name in old])


# --- Projects --------------------------------------------------------------------------------


def _links_write(project: Project, links: Sequence[LinkSpec]) -> None:
    project.links.all().delete()
    ProjectLink.objects.bulk_create(
        ProjectLink(project=project, label=link.label, url=link.url, order=order)
        for order, link in enumerate(links)
    )


def _existing_submission(*, author: User, client_id: uuid.UUID | None) -> Project | None:
    if client_id is None:
        return None
    return Project.objects.filter(author=author, client_id=client_id).first()


def _values_clean(
    *, title: Any, summary: Any, detail: Any, slug: Any, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The given text fields (None: not given), cleaned by the model's own field checks."""
    given = {"title": title, "summary": summary, "detail": detail, "slug": slug}
    return {
        name: _field_clean(name, value, errors)
        for name, value in given.items()
        if value is not None
    }


@transaction.atomic
def project_create(
    *,
    author: User,
    title: str,
    summary: str,
    detail: str = "",
    course: Course | None = None,
    tags: Iterable[Tag] = (),
    links: Iterable[LinkSpec] = (),
    thumbnail: Thumbnail | None = None,
    slug: str = "",
    submit: bool = True,
    client_id: uuid.UUID | None = None,
) -> tuple[Project, bool]:
    """A new project: (the project, whether it is new). Staff's are drafts of origin staff
    (approve them to publish); a learner's is submitted for review (`submit=False`: a draft
    they submit later) and needs a course they are enrolled in. Sending the same `client_id`
    again returns the first project unchanged. Invalid values raise ValidationError keyed by
    field (`links.<n>.url` for a link) and nothing is stored."""
    if not author.is_authenticated or not author.is_active:
        raise AccessDeniedError(ErrorCode.NOT_AUTHENTICATED)
    if (existing := _existing_submission(author=author, client_id=client_id)) is not None:
        return existing, False
    staff = project_is_staff_viewer(user=author)
    errors: dict[str, list[str]] = {}
    values = _values_clean(
        title=title, summary=summary, detail=detail, slug=slug or None, errors=errors
    )
    _slug_taken_check(values, errors, exclude=None)
    _course_check(actor=author, course=course, current=None, errors=errors)
    tags, links = _tags_clean(tags, errors), _links_clean(links, errors)
    _raise_if(errors)
    project = Project(
        **values,
        course=course,
        author=author,
        origin=Project.Origin.STAFF if staff else Project.Origin.LEARNER,
        status=Project.Status.SUBMITTED if submit and not staff else Project.Status.DRAFT,
        client_id=client_id,
    )
    if not slug:
        project.slug = _slug_free(project.title)
    old, new = _thumbnail_put(project, thumbnail) if thumbnail else ([], [])
    try:
        with transaction.atomic():
            _save_with_files(project, old=old, new=new, force_insert=True)
    except IntegrityError:
        # Two requests at once: the same client id (return the first), or the same title
        # taking the same slug (number this one).
        if (existing := _existing_submission(author=author, client_id=client_id)) is not None:
            return existing, False
        if slug:
            raise
        project.slug = f"{_slug_base(project.title)}-{uuid.uuid4().hex[:6]}"
        old, new = _thumbnail_put(project, thumbnail) if thumbnail else ([], [])
        _save_with_files(project, old=old, new=new, force_insert=True)
    project.tags.set(tags)
    _links_write(project, links)
    return project, True


def _status_after_edit(*, actor: User, project: Project, submit: bool | None) -> None:
    """The author's `submit`: True sends it (back) to review, False makes it a draft again;
    None keeps the status. Staff's projects are approved, never submitted."""
    if submit is None or not project_is_mine(user=actor, project=project):
        return
    if project.origin == Project.Origin.STAFF:
        return
    project.status = Project.Status.SUBMITTED if submit else Project.Status.DRAFT
    project.reviewed_at = project.reviewed_by = None
    project.review_note = ""


@transaction.atomic
def project_update(
    *,
    actor: User,
    project: Project,
    title: str | None = None,
    summary: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    course: Course | None = UNCHANGED,
    tags: Iterable[Tag] | None = None,
    links: Iterable[LinkSpec] | None = None,
    submit: bool | None = None,
) -> Project:
    """Change the given fields (None, or UNCHANGED for `course`, keeps one). The author
    edits while the project is not approved (PROJECT_LOCKED once it is), staff always
    (PROJECT_NOT_YOURS for anyone else); `submit` as in `_status_after_edit`."""
    project = _locked(project)
    _edit_require(actor=actor, project=project)
    errors: dict[str, list[str]] = {}
    values = _values_clean(title=title, summary=summary, detail=detail, slug=slug, errors=errors)
    _slug_taken_check(values, errors, exclude=project)
    if course is not UNCHANGED:
        _course_check(actor=actor, course=course, current=project.course, errors=errors)
        values["course"] = course
    tags = None if tags is None else _tags_clean(tags, errors)
    links = None if links is None else _links_clean(links, errors)
    _raise_if(errors)
    for name, value in values.items():
        setattr(project, name, value)
    _status_after_edit(actor=actor, project=project, submit=submit)
    project.save()
    if tags is not None:
        project.tags.set(tags)
    if links is not None:
        _links_write(project, links)
    return project


@transaction.atomic
def project_thumbnail_set(*, actor: User, project: Project, thumbnail: Thumbnail | None) -> Project:
    """Replace the project's picture (None removes it); the old file is deleted after
    commit. Who may: as for `project_update`."""
    project = _locked(project)
    _edit_require(actor=actor, project=project)
    if thumbnail is None and not project.thumbnail:
        return project
    old, new = _thumbnail_put(project, thumbnail)
    _save_with_files(project, old=old, new=new, update_fields=["thumbnail", "updated_at"])
    return project
