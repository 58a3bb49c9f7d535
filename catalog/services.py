"""Every write to the catalog. Admin actions, the authoring API (`/api/v1/manage/`) and
commands call these, never `.save()` directly.

Each write runs in one transaction that also
- calls `catalog.changes.course_content_changed` for the course whose content it changed,
  so the offline bundles are rebuilt after commit, and
- when an `actor` is given (the admin, the authoring API), writes its audit row
  (`accounts.services.audit_record`): the target is the row, the details say what, always
  with the course's id (`{"course": ...}`) plus `fields` for changes, `from`/`to` for a
  status, the new `order` for reorders. Seeds and imports pass no actor (an import audits
  itself, once).
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models import F, Max, QuerySet
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.services import audit_record
from billing.models import Tier
from catalog.changes import course_content_changed
from catalog.models import Course, Lesson, Section
from lms.codes import CODE_ALPHABET, readable_code_generate
from lms.errors import ApplicationError, ErrorCode
from media.models import StoredFile, Video

# Orders are shifted past this offset while reordering, so the unique (parent, order)
# constraints never see two rows with the same order mid-way.
_REORDER_OFFSET = 1_000_000

# Join codes are read out in class or typed from a slide (see lms.codes).
JOIN_CODE_ALPHABET = CODE_ALPHABET
JOIN_CODE_LENGTH = 10

Action = AuditLog.Action


# --- Audit and the content-change hook ---------------------------------------------------------


def content_audit(
    *,
    action: str,
    actor: User | None,
    target: models.Model,
    course_id: UUID | str,
    **details: Any,
) -> None:
    """The audit row of one catalog write, when someone (not a seed or an import) made it.
    Call it inside the write's transaction, before a delete (the row keeps its id)."""
    if actor is None:
        return
    audit_record(
        action=action, actor=actor, target=target, details={"course": str(course_id), **details}
    )


def _changed(*, course_id: UUID | str) -> None:
    course_content_changed(course_id=course_id)


def delete_blockers(obj: models.Model) -> list[str]:
    """What deleting `obj` would also delete outside the course's own content (learners'
    progress, attempts, enrollments, discussions...), by model name; or raises CONTENT_IN_USE
    when something protects it (certificates, invites). One query per related table."""
    collector = Collector(using=router.db_for_write(type(obj)), origin=obj)
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError) as error:
        raise ApplicationError(ErrorCode.CONTENT_IN_USE) from error
    names = {
        str(model._meta.verbose_name_plural)
        for model, rows in collector.data.items()
        if model._meta.app_label != "catalog" and rows
    }
    names |= {
        str(queryset.model._meta.verbose_name_plural)
        for queryset in collector.fast_deletes
        if queryset.model._meta.app_label != "catalog" and queryset.exists()
    }
    return sorted(names)


def _delete(obj: models.Model, *, force: bool) -> None:
    """Delete a row of course content. Unless `force` (the admin, after its confirmation page
    listed everything that goes with it), refuse with CONTENT_IN_USE when learners have
    records on it: unpublishing or archiving keeps them."""
    blockers = delete_blockers(obj) if not force else []
    if blockers:
        raise ApplicationError(
            ErrorCode.CONTENT_IN_USE,
            fields={"records": blockers},
        )
    try:
        obj.delete()
    except (ProtectedError, RestrictedError) as error:
        raise ApplicationError(ErrorCode.CONTENT_IN_USE) from error


# --- Courses -------------------------------------------------------------------------------


def course_create(
    *,
    title: str,
    slug: str = "",
    subtitle: str = "",
    description: str = "",
    course_type: str = Course.CourseType.COURSE,
    difficulty: str = Course.Difficulty.BEGINNER,
    locale: str = "en",
    visibility: str = Course.Visibility.PUBLIC,
    required_tier: Tier | None = None,
    instructors: Iterable[User] = (),
    progression: str = Course.Progression.FREE,
    prerequisite_courses: Iterable[Course] = (),
    client_id: str = "",
    actor: User | None = None,
) -> Course:
    prerequisite_courses = list(prerequisite_courses)
    course = Course(
        title=title,
        slug=slug or slugify(title)[:80],
        subtitle=subtitle,
        description=description,
        course_type=course_type,
        difficulty=difficulty,
        locale=locale,
        visibility=visibility,
        required_tier=required_tier,
        progression=progression,
        client_id=client_id,
    )
    course.full_clean()
    course_prerequisites_validate(course=course, prerequisites=prerequisite_courses)
    with transaction.atomic():
        course.save()
        course.instructors.set(list(instructors))
        if prerequisite_courses:
            course.prerequisite_courses.set(prerequisite_courses)
        content_audit(
            action=Action.CONTENT_CREATED, actor=actor, target=course, course_id=course.pk
        )
        _changed(course_id=course.pk)
    return course


def courses_set_status(*, courses: QuerySet[Course], status: str, actor: User | None = None) -> int:
    """Publish, unpublish (back to draft) or archive courses; returns how many changed.

    The first publication sets `published_at`; later ones keep it, so "new" stays honest.
    """
    now = timezone.now()
    with transaction.atomic():
        # The queryset may be the admin's annotated one: lock plain rows by their ids.
        ids = list(courses.exclude(status=status).values_list("pk", flat=True))
        rows = list(
            Course.objects.select_for_update()
            .filter(pk__in=ids)
            .exclude(status=status)
            .only("pk", "title", "status")
        )
        changed = Course.objects.filter(pk__in=[row.pk for row in rows])
        if status == Course.Status.DRAFT:
            count = changed.update(status=status, updated_at=now)
        else:
            count = changed.filter(published_at__isnull=True).update(
                status=status, published_at=now, updated_at=now
            )
            count += changed.exclude(status=status).update(status=status, updated_at=now)
        for row in rows:
            content_audit(
                action=Action.COURSE_STATUS_CHANGED,
                actor=actor,
                target=row,
                course_id=row.pk,
                **{"from": row.status, "to": status},
            )
            _changed(course_id=row.pk)
        return count


def course_set_status(*, course: Course, status: str, actor: User | None = None) -> Course:
    """One course's status (publish, unpublish, archive), by the rule of `courses_set_status`."""
    courses_set_status(courses=Course.objects.filter(pk=course.pk), status=status, actor=actor)
    course.refresh_from_db(fields=["status", "published_at", "updated_at"])
    return course


def course_publish(*, course: Course, actor: User | None = None) -> Course:
    return course_set_status(course=course, status=Course.Status.PUBLISHED, actor=actor)


@transaction.atomic
def course_delete(*, course: Course, actor: User | None = None, force: bool = False) -> None:
    """Delete a course and all its content. CONTENT_IN_USE when certificates or invites
    point at it, or (unless `force`) when learners have records in it."""
    content_audit(action=Action.CONTENT_DELETED, actor=actor, target=course, course_id=course.pk)
    course_id = course.pk
    _delete(course, force=force)
    _changed(course_id=course_id)


# --- Sections and lessons: creating --------------------------------------------------------


def _next_order(siblings: QuerySet) -> int:
    last = siblings.aggregate(last=Max("order"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def section_create(
    *,
    course: Course,
    title: str,
    order: int | None = None,
    is_hidden: bool = False,
    release_at: datetime | None = None,
    release_after_days: int | None = None,
    release_from: str = Section.ReleaseFrom.ENROLLMENT,
    prerequisites: Iterable[Section] = (),
    client_id: str = "",
    actor: User | None = None,
) -> Section:
    """A new section (at the end unless `order`), with its structure rules if any."""
    if order is None:
        Course.objects.select_for_update().filter(pk=course.pk).first()  # one writer of orders
        order = _next_order(course.sections.all())
    section = Section(
        course=course,
        title=title,
        order=order,
        is_hidden=is_hidden,
        release_at=release_at,
        release_after_days=release_after_days,
        release_from=release_from,
        client_id=client_id,
    )
    section.full_clean()
    section_release_validate(release_after_days=release_after_days)
    prerequisites = list(prerequisites)
    section_prerequisites_validate(section=section, prerequisites=prerequisites)
    section.save()
    if prerequisites:
        section.prerequisites.set(prerequisites)
    content_audit(action=Action.CONTENT_CREATED, actor=actor, target=section, course_id=course.pk)
    _changed(course_id=course.pk)
    return section


@transaction.atomic
def lesson_create(
    *,
    section: Section,
    title: str,
    slug: str = "",
    kind: str = Lesson.Kind.TEXT,
    body: str = "",
    duration_seconds: int = 0,
    order: int | None = None,
    is_free_preview: bool = False,
    is_published: bool = True,
    is_hidden: bool = False,
    xp_value: int = 10,
    is_boss: bool = False,
    is_required: bool = True,
    video: Video | None = None,
    attachments: Iterable[StoredFile] = (),
    client_id: str = "",
    actor: User | None = None,
) -> Lesson:
    if order is None:
        Section.objects.select_for_update().filter(pk=section.pk).first()
        order = _next_order(section.lessons.all())
    lesson = Lesson(
        course_id=section.course_id,
        section=section,
        title=title,
        slug=slug or slugify(title)[:80],
        kind=kind,
        body=body,
        duration_seconds=duration_seconds,
        order=order,
        is_free_preview=is_free_preview,
        is_published=is_published,
        is_hidden=is_hidden,
        xp_value=xp_value,
        is_boss=is_boss,
        is_required=is_required,
        video=video,
        client_id=client_id,
    )
    lesson.full_clean()
    lesson.save()
    attachments = list(attachments)
    if attachments:
        lesson.attachments.set(attachments)
    content_audit(
        action=Action.CONTENT_CREATED, actor=actor, target=lesson, course_id=section.course_id
    )
    _changed(course_id=section.course_id)
    return lesson


# --- Ordering --------------------------------------------------------------------------------


def _apply_orders(queryset: QuerySet, new_orders: dict) -> None:
    """Give each row in `new_orders` (pk -> order) its order without a transient clash."""
    if not new_orders:
        return
    moving = queryset.filter(pk__in=list(new_orders))
    moving.update(order=F("order") + _REORDER_OFFSET)
    rows = list(moving)
    for row in rows:
        row.order = new_orders[row.pk]
    queryset.model.objects.bulk_update(rows, ["order"])


def _order_check(current: dict, ids: Sequence, field: str, message: str) -> None:
    if set(current) != set(ids) or len(ids) != len(current):
        raise ValidationError({field: [message]}, code="order_incomplete")


@transaction.atomic
def sections_reorder(*, course: Course, section_ids: Sequence, actor: User | None = None) -> None:
    """Put the course's sections in the given order (0, 1, 2, ...)."""
    sections = Section.objects.select_for_update().filter(course=course)
    current = {section.pk: section.order for section in sections}
    _order_check(
        current,
        section_ids,
        "sections",
        _("List every section of the course exactly once."),
    )
    wanted = {pk: index for index, pk in enumerate(section_ids) if current[pk] != index}
    _apply_orders(Section.objects.filter(course=course), wanted)
    if wanted:
        order = [str(pk) for pk in section_ids]
        content_audit(
            action=Action.CONTENT_REORDERED,
            actor=actor,
            target=course,
            course_id=course.pk,
            sections=order,
        )
        _changed(course_id=course.pk)


@transaction.atomic
def lessons_reorder(*, section: Section, lesson_ids: Sequence, actor: User | None = None) -> None:
    """Put the section's lessons in the given order (0, 1, 2, ...)."""
    lessons = Lesson.objects.select_for_update().filter(section=section)
    current = {lesson.pk: lesson.order for lesson in lessons}
    _order_check(
        current,
        lesson_ids,
        "lessons",
        _("List every lesson of the section exactly once."),
    )
    wanted = {pk: index for index, pk in enumerate(lesson_ids) if current[pk] != index}
    _apply_orders(Lesson.objects.filter(section=section), wanted)
    if wanted:
        content_audit(
            action=Action.CONTENT_REORDERED,
            actor=actor,
            target=section,
            course_id=section.course_id,
            lessons=[str(pk) for pk in lesson_ids],
        )
        _changed(course_id=section.course_id)


def _parent_of(row: models.Model) -> tuple[models.Model, UUID]:
    """The parent whose children `row` is ordered among, and the course it belongs to."""
    if isinstance(row, Section):
        return row.course, row.course_id
    if isinstance(row, Lesson):
        return row.section, row.course_id
    quiz = row.quiz  # a question
    return quiz, quiz.lesson.course_id


@transaction.atomic
def orders_apply(*, queryset: QuerySet, new_orders: dict, actor: User | None = None) -> None:
    """Save edited orders (pk -> order) for siblings in `queryset`, swaps included.

    Used by the admin inlines, where an editor may swap two orders in one save.
    """
    if not new_orders:
        return
    first = queryset.filter(pk__in=list(new_orders)).first()
    if first is None:
        return
    _apply_orders(queryset, new_orders)
    parent, course_id = _parent_of(first)
    content_audit(
        action=Action.CONTENT_REORDERED,
        actor=actor,
        target=parent,
        course_id=course_id,
        orders={str(pk): order for pk, order in new_orders.items()},
    )
    _changed(course_id=course_id)


def _move(siblings: QuerySet, item, direction: Literal["up", "down"]) -> bool:
    neighbour = (
        siblings.filter(order__lt=item.order).order_by("-order").first()
        if direction == "up"
        else siblings.filter(order__gt=item.order).order_by("order").first()
    )
    if neighbour is None:
        return False
    _apply_orders(siblings, {item.pk: neighbour.order, neighbour.pk: item.order})
    item.order = neighbour.order
    return True


def _moved(item: Section | Lesson, direction: str, actor: User | None) -> None:
    content_audit(
        action=Action.CONTENT_REORDERED,
        actor=actor,
        target=item,
        course_id=item.course_id,
        direction=direction,
        order=item.order,
    )
    _changed(course_id=item.course_id)


@transaction.atomic
def section_move(
    *, section: Section, direction: Literal["up", "down"], actor: User | None = None
) -> bool:
    """Swap a section with its neighbour; False when it is already at that end."""
    siblings = Section.objects.select_for_update().filter(course_id=section.course_id)
    list(siblings)  # take the locks
    item = Section.objects.get(pk=section.pk)
    if not _move(siblings, item, direction):
        return False
    _moved(item, direction, actor)
    return True


@transaction.atomic
def lesson_move(
    *, lesson: Lesson, direction: Literal["up", "down"], actor: User | None = None
) -> bool:
    """Swap a lesson with its neighbour in its section; False when it is already at that end."""
    siblings = Lesson.objects.select_for_update().filter(section_id=lesson.section_id)
    list(siblings)
    item = Lesson.objects.get(pk=lesson.pk)
    if not _move(siblings, item, direction):
        return False
    _moved(item, direction, actor)
    return True


# --- Edits (the admin's change forms and inlines, and the authoring API, call these) ------

_COURSE_CONTENT_FIELDS = frozenset(
    {
        "title",
        "slug",
        "subtitle",
        "description",
        "course_type",
        "difficulty",
        "locale",
        "thumbnail",
        "visibility",
        "required_tier",
        "progression",
    }
)
_SECTION_FIELDS = frozenset(
    {"title", "order", "is_hidden", "release_at", "release_after_days", "release_from"}
)
_LESSON_FIELDS = frozenset(
    {
        "title",
        "slug",
        "kind",
        "body",
        "duration_seconds",
        "order",
        "is_free_preview",
        "is_published",
        "is_hidden",
        "xp_value",
        "is_boss",
        "is_required",
        "video",
    }
)


def _reject_unknown(data: Mapping[str, Any], allowed: Iterable[str], entity: str) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValueError(f"{entity} cannot change {', '.join(sorted(unknown))} this way.")


@transaction.atomic
def course_update(*, course: Course, data: Mapping[str, Any], actor: User | None = None) -> Course:
    """Change a course; `data` holds only what changes (content fields, instructors, status).

    A status change goes through `courses_set_status`, so publishing from the edit page
    follows the same rule as the bulk actions: the first publication dates the course.
    """
    _reject_unknown(
        data,
        _COURSE_CONTENT_FIELDS | {"instructors", "prerequisite_courses", "status"},
        "course_update",
    )
    fields = sorted(_COURSE_CONTENT_FIELDS.intersection(data))
    prerequisites = data.get("prerequisite_courses")
    if prerequisites is not None:
        prerequisites = list(prerequisites)
        course_prerequisites_validate(course=course, prerequisites=prerequisites)
    if fields:
        for name in fields:
            setattr(course, name, data[name])
        # The status and its date are `courses_set_status`'s business, checked there.
        course.full_clean(exclude=["status", "published_at"])
        if "progression" in data:
            course_progression_validate(course=course, progression=data["progression"])
        course.save(update_fields=[*fields, "updated_at"])
        _changed(course_id=course.pk)
    if "instructors" in data:
        course.instructors.set(list(data["instructors"]))
    if prerequisites is not None:
        course.prerequisite_courses.set(prerequisites)
        _changed(course_id=course.pk)
    many = {"instructors", "prerequisite_courses"} & set(data)
    changed = sorted({*fields, *many})
    if changed:
        content_audit(
            action=Action.CONTENT_CHANGED,
            actor=actor,
            target=course,
            course_id=course.pk,
            fields=changed,
        )
    if "status" in data:
        courses_set_status(
            courses=Course.objects.filter(pk=course.pk), status=data["status"], actor=actor
        )
        course.refresh_from_db(fields=["status", "published_at", "updated_at"])
    return course


@transaction.atomic
def section_update(
    *, section: Section, data: Mapping[str, Any], actor: User | None = None
) -> Section:
    """Change a section: its title, a free order (use `orders_apply` to swap orders), and
    its structure rules (hidden, release, `prerequisites`: sections of the same course)."""
    _reject_unknown(data, _SECTION_FIELDS | {"prerequisites"}, "section_update")
    if not data:
        return section
    data = dict(data)
    prerequisites = data.pop("prerequisites", None)
    for name, value in data.items():
        setattr(section, name, value)
    if data:
        section.full_clean()
        section_release_validate(release_after_days=section.release_after_days)
    if prerequisites is not None:
        prerequisites = list(prerequisites)
        section_prerequisites_validate(section=section, prerequisites=prerequisites)
    if data:
        section.save(update_fields=sorted(data))
    if prerequisites is not None:
        section.prerequisites.set(prerequisites)
        data["prerequisites"] = prerequisites
    content_audit(
        action=Action.CONTENT_CHANGED,
        actor=actor,
        target=section,
        course_id=section.course_id,
        fields=sorted(data),
    )
    _changed(course_id=section.course_id)
    return section


@transaction.atomic
def lesson_update(
    *,
    lesson: Lesson,
    data: Mapping[str, Any],
    section: Section | None = None,
    actor: User | None = None,
) -> Lesson:
    """Change a lesson; passing `section` moves it there, and to that section's course.
    `data` may hold `attachments` (files, replacing the lesson's) besides its own fields."""
    _reject_unknown(data, _LESSON_FIELDS | {"attachments"}, "lesson_update")
    data = dict(data)
    attachments = data.pop("attachments", None)
    fields = set(data)
    previous_course_id = lesson.course_id
    for name, value in data.items():
        setattr(lesson, name, value)
    if section is not None:
        lesson.section = section
        lesson.course_id = section.course_id
        fields |= {"section", "course"}
    if fields:
        lesson.full_clean()
        lesson.save(update_fields=[*sorted(fields), "updated_at"])
    if attachments is not None:
        lesson.attachments.set(list(attachments))
        fields.add("attachments")
    if not fields:
        return lesson
    content_audit(
        action=Action.CONTENT_CHANGED,
        actor=actor,
        target=lesson,
        course_id=lesson.course_id,
        fields=sorted(fields - {"course"}),
    )
    _changed(course_id=lesson.course_id)
    if previous_course_id != lesson.course_id:
        _changed(course_id=previous_course_id)
    return lesson


@transaction.atomic
def lesson_attachments_set(
    *, lesson: Lesson, files: Iterable[StoredFile], actor: User | None = None
) -> Lesson:
    """Make these files the lesson's attachments (confirmed attachment files: the field's
    choices; VALIDATION_ERROR otherwise)."""
    files = list(files)
    allowed = Lesson._meta.get_field("attachments").get_limit_choices_to()
    usable = set(
        StoredFile.objects.filter(pk__in=[file.pk for file in files], **allowed).values_list(
            "pk", flat=True
        )
    )
    if len(usable) != len({file.pk for file in files}):
        raise ValidationError(
            {"attachments": [_("Only confirmed attachment files can be attached.")]},
            code="invalid_attachment",
        )
    return lesson_update(lesson=lesson, data={"attachments": files}, actor=actor)


@transaction.atomic
def section_delete(*, section: Section, actor: User | None = None, force: bool = False) -> None:
    """Delete a section and its lessons. Unless `force`, CONTENT_IN_USE when learners have
    records on its lessons."""
    content_audit(
        action=Action.CONTENT_DELETED, actor=actor, target=section, course_id=section.course_id
    )
    course_id = section.course_id
    _delete(section, force=force)
    _changed(course_id=course_id)


@transaction.atomic
def lesson_delete(*, lesson: Lesson, actor: User | None = None, force: bool = False) -> None:
    """Delete a lesson (its quiz too). Unless `force`, CONTENT_IN_USE when learners have
    records on it (progress, attempts, discussions)."""
    content_audit(
        action=Action.CONTENT_DELETED, actor=actor, target=lesson, course_id=lesson.course_id
    )
    course_id = lesson.course_id
    _delete(lesson, force=force)
    _changed(course_id=course_id)


# --- Structure rules: what the services refuse (the admin's forms show the same errors) ----

# A release counted in days is at most about ten years after the enrollment.
RELEASE_AFTER_DAYS_MAX = 3650


def prerequisite_cycle_find(
    *, start: Any, requires: Iterable[Any], edges: Mapping[Any, Collection[Any]]
) -> Any | None:
    """The first of `requires` from which `start` can be reached along `edges` (each id to
    the ids it requires): requiring it would close a circle. None when none does."""
    for first in requires:
        seen, frontier = set(), [first]
        while frontier:
            node = frontier.pop()
            if node == start:
                return first
            if node in seen:
                continue
            seen.add(node)
            frontier.extend(edges.get(node, ()))
    return None


def course_prerequisites_validate(*, course: Course, prerequisites: Collection[Course]) -> None:
    """Refuse the course itself, and a course that already requires this one (directly or
    through others): learners could never open either. Reads the links level by level."""
    message = None
    if any(other.pk == course.pk for other in prerequisites):
        message = _("A course cannot require itself.")
    else:
        titles = {other.pk: other.title for other in prerequisites}
        edges: dict[Any, set] = {}
        frontier, queried = set(titles), set()
        while frontier:
            queried |= frontier
            rows = Course.prerequisite_courses.through.objects.filter(
                from_course_id__in=frontier
            ).values_list("from_course_id", "to_course_id")
            for from_id, to_id in rows:
                edges.setdefault(from_id, set()).add(to_id)
            frontier = {to for targets in edges.values() for to in targets} - queried - {course.pk}
        culprit = prerequisite_cycle_find(start=course.pk, requires=titles, edges=edges)
        if culprit is not None:
            message = _(
                "“%(title)s” already requires this course (directly or through other "
                "courses): learners could open neither."
            ) % {"title": titles[culprit]}
    if message:
        raise ValidationError({"prerequisite_courses": [message]}, code="prerequisite_cycle")


def _course_edges(course_id: Any, *, leaving: Any = None) -> dict[Any, set]:
    """The course's section prerequisite links (section id -> required ids), but those of
    `leaving`, which the caller is replacing."""
    edges: dict[Any, set] = {}
    rows = Section.prerequisites.through.objects.filter(from_section__course_id=course_id)
    if leaving is not None:
        rows = rows.exclude(from_section_id=leaving)
    for from_id, to_id in rows.values_list("from_section_id", "to_section_id"):
        edges.setdefault(from_id, set()).add(to_id)
    return edges


def section_prerequisites_validate(*, section: Section, prerequisites: Collection[Section]) -> None:
    """Refuse prerequisites that are not sections of the same course, the section itself,
    one that already requires it (a circle), and, in a sequential course, a later section
    (each section already needs the ones before it). One query for the course's links."""
    problems: list[str] = []
    course = section.course
    for other in prerequisites:
        if other.pk == section.pk:
            problems.append(_("A section cannot require itself."))
        elif other.course_id != section.course_id:
            problems.append(
                _("“%(title)s” is a section of another course: choose sections of this one.")
                % {"title": other.title}
            )
        elif (
            course.progression != Course.Progression.FREE
            and section.order is not None
            and other.order > section.order
        ):
            problems.append(
                _(
                    "“%(title)s” comes later in this sequential course, which already needs "
                    "each section before the next: learners could open neither."
                )
                % {"title": other.title}
            )
    if not problems and prerequisites and not section._state.adding:
        by_id = {other.pk: other for other in prerequisites}
        culprit = prerequisite_cycle_find(
            start=section.pk,
            requires=by_id,
            edges=_course_edges(section.course_id, leaving=section.pk),
        )
        if culprit is not None:
            problems.append(
                _(
                    "“%(title)s” already requires this section (directly or through other "
                    "sections): learners could open neither."
                )
                % {"title": by_id[culprit].title}
            )
    if problems:
        raise ValidationError({"prerequisites": problems}, code="prerequisite_cycle")


def course_progression_validate(*, course: Course, progression: str) -> None:
    """A sequential course cannot keep a section that requires a later one."""
    if progression == Course.Progression.FREE:
        return
    backwards = (
        Section.prerequisites.through.objects.filter(
            from_section__course_id=course.pk, to_section__order__gt=F("from_section__order")
        )
        .values_list("from_section__title", "to_section__title")
        .first()
    )
    if backwards is not None:
        raise ValidationError(
            {
                "progression": [
                    _(
                        "“%(section)s” requires the later “%(later)s”: remove that "
                        "prerequisite before making the course sequential."
                    )
                    % {"section": backwards[0], "later": backwards[1]}
                ]
            },
            code="prerequisite_cycle",
        )


def section_release_validate(*, release_after_days: int | None) -> None:
    if release_after_days is not None and release_after_days > RELEASE_AFTER_DAYS_MAX:
        raise ValidationError(
            {
                "release_after_days": [
                    _("At most %(max)d days (about ten years).") % {"max": RELEASE_AFTER_DAYS_MAX}
                ]
            },
            code="max_value",
        )


# --- Join codes --------------------------------------------------------------------------------


def _join_code_generate() -> str:
    return readable_code_generate(
        length=JOIN_CODE_LENGTH,
        taken=lambda codes: set(
            Course.objects.filter(join_code__in=codes).values_list("join_code", flat=True)
        ),
    )


def _join_code_set(*, course: Course, code: str | None, actor: User | None) -> Course:
    now = timezone.now()
    Course.objects.filter(pk=course.pk).update(join_code=code, updated_at=now)
    course.join_code, course.updated_at = code, now
    # The code itself stays out of the log: it is a key to the course. Not course content
    # either (no offline bundle holds it), so no rebuild.
    content_audit(
        action=Action.CONTENT_CHANGED,
        actor=actor,
        target=course,
        course_id=course.pk,
        fields=["join_code"],
    )
    return course


@transaction.atomic
def course_join_code_rotate(*, course: Course, actor: User | None = None) -> Course:
    """Give the course a fresh join code (turning joining on); the previous code stops
    working at once. Learners who joined with it stay enrolled."""
    return _join_code_set(course=course, code=_join_code_generate(), actor=actor)


@transaction.atomic
def course_join_code_clear(*, course: Course, actor: User | None = None) -> Course:
    """Turn joining by code off: the current code stops working; enrollments stay."""
    return _join_code_set(course=course, code=None, actor=actor)
