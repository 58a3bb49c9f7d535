"""Every write to the catalog. Admin actions and commands call these, never `.save()` directly."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from billing.models import Tier
from catalog.models import Course, Lesson, Section
from lms.codes import CODE_ALPHABET, readable_code_generate
from media.models import Video

# Orders are shifted past this offset while reordering, so the unique (parent, order)
# constraints never see two rows with the same order mid-way.
_REORDER_OFFSET = 1_000_000

# Join codes are read out in class or typed from a slide (see lms.codes).
JOIN_CODE_ALPHABET = CODE_ALPHABET
JOIN_CODE_LENGTH = 10


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
) -> Course:
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
    )
    course.full_clean()
    with transaction.atomic():
        course.save()
        course.instructors.set(list(instructors))
    return course


def courses_set_status(*, courses: QuerySet[Course], status: str) -> int:
    """Publish, unpublish (back to draft) or archive courses; returns how many changed.

    The first publication sets `published_at`; later ones keep it, so "new" stays honest.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = courses.exclude(status=status)
        if status == Course.Status.DRAFT:
            return changed.update(status=status, updated_at=now)
        count = changed.filter(published_at__isnull=True).update(
            status=status, published_at=now, updated_at=now
        )
        count += changed.update(status=status, updated_at=now)
        return count


def course_publish(*, course: Course) -> Course:
    courses_set_status(courses=Course.objects.filter(pk=course.pk), status=Course.Status.PUBLISHED)
    course.refresh_from_db(fields=["status", "published_at", "updated_at"])
    return course


def section_create(*, course: Course, title: str, order: int | None = None) -> Section:
    if order is None:
        last = course.sections.aggregate(last=Max("order"))["last"]
        order = 0 if last is None else last + 1
    section = Section(course=course, title=title, order=order)
    section.full_clean()
    section.save()
    return section


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
    xp_value: int = 10,
    is_boss: bool = False,
    is_required: bool = True,
    video: Video | None = None,
) -> Lesson:
    if order is None:
        last = section.lessons.aggregate(last=Max("order"))["last"]
        order = 0 if last is None else last + 1
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
        xp_value=xp_value,
        is_boss=is_boss,
        is_required=is_required,
        video=video,
    )
    lesson.full_clean()
    lesson.save()
    return lesson


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


@transaction.atomic
def sections_reorder(*, course: Course, section_ids: Sequence) -> None:
    """Put the course's sections in the given order (0, 1, 2, ...)."""
    sections = Section.objects.select_for_update().filter(course=course)
    current = {section.pk: section.order for section in sections}
    if set(current) != set(section_ids) or len(section_ids) != len(current):
        raise ValueError("section_ids must list every section of the course exactly once.")
    wanted = {pk: index for index, pk in enumerate(section_ids) if current[pk] != index}
    _apply_orders(Section.objects.filter(course=course), wanted)


@transaction.atomic
def lessons_reorder(*, section: Section, lesson_ids: Sequence) -> None:
    """Put the section's lessons in the given order (0, 1, 2, ...)."""
    lessons = Lesson.objects.select_for_update().filter(section=section)
    current = {lesson.pk: lesson.order for lesson in lessons}
    if set(current) != set(lesson_ids) or len(lesson_ids) != len(current):
        raise ValueError("lesson_ids must list every lesson of the section exactly once.")
    wanted = {pk: index for index, pk in enumerate(lesson_ids) if current[pk] != index}
    _apply_orders(Lesson.objects.filter(section=section), wanted)


@transaction.atomic
def orders_apply(*, queryset: QuerySet, new_orders: dict) -> None:
    """Save edited orders (pk -> order) for siblings in `queryset`, swaps included.

    Used by the admin inlines, where an editor may swap two orders in one save.
    """
    _apply_orders(queryset, new_orders)


def _move(siblings: QuerySet, item, direction: Literal["up", "down"]) -> bool:
    neighbour = (
        siblings.filter(order__lt=item.order).order_by("-order").first()
        if direction == "up"
        else siblings.filter(order__gt=item.order).order_by("order").first()
    )
    if neighbour is None:
        return False
    _apply_orders(siblings, {item.pk: neighbour.order, neighbour.pk: item.order})
    return True


@transaction.atomic
def section_move(*, section: Section, direction: Literal["up", "down"]) -> bool:
    """Swap a section with its neighbour; False when it is already at that end."""
    siblings = Section.objects.select_for_update().filter(course_id=section.course_id)
    list(siblings)  # take the locks
    return _move(siblings, Section.objects.get(pk=section.pk), direction)


@transaction.atomic
def lesson_move(*, lesson: Lesson, direction: Literal["up", "down"]) -> bool:
    """Swap a lesson with its neighbour in its section; False when it is already at that end."""
    siblings = Lesson.objects.select_for_update().filter(section_id=lesson.section_id)
    list(siblings)
    return _move(siblings, Lesson.objects.get(pk=lesson.pk), direction)


# --- Edits (the admin's change forms and inlines call these) ------------------------------

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
    }
)
_SECTION_FIELDS = frozenset({"title", "order"})
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
def course_update(*, course: Course, data: Mapping[str, Any]) -> Course:
    """Change a course; `data` holds only what changes (content fields, instructors, status).

    A status change goes through `courses_set_status`, so publishing from the edit page
    follows the same rule as the bulk actions: the first publication dates the course.
    """
    _reject_unknown(data, _COURSE_CONTENT_FIELDS | {"instructors", "status"}, "course_update")
    fields = sorted(_COURSE_CONTENT_FIELDS.intersection(data))
    if fields:
        for name in fields:
            setattr(course, name, data[name])
        # The status and its date are `courses_set_status`'s business, checked there.
        course.full_clean(exclude=["status", "published_at"])
        course.save(update_fields=[*fields, "updated_at"])
    if "instructors" in data:
        course.instructors.set(list(data["instructors"]))
    if "status" in data:
        courses_set_status(courses=Course.objects.filter(pk=course.pk), status=data["status"])
        course.refresh_from_db(fields=["status", "published_at", "updated_at"])
    return course


def section_update(*, section: Section, data: Mapping[str, Any]) -> Section:
    """Rename a section or give it a free order (use `orders_apply` to swap orders)."""
    _reject_unknown(data, _SECTION_FIELDS, "section_update")
    if not data:
        return section
    for name, value in data.items():
        setattr(section, name, value)
    section.full_clean()
    section.save(update_fields=sorted(data))
    return section


def lesson_update(
    *, lesson: Lesson, data: Mapping[str, Any], section: Section | None = None
) -> Lesson:
    """Change a lesson; passing `section` moves it there, and to that section's course."""
    _reject_unknown(data, _LESSON_FIELDS, "lesson_update")
    fields = set(data)
    for name, value in data.items():
        setattr(lesson, name, value)
    if section is not None:
        lesson.section = section
        lesson.course_id = section.course_id
        fields |= {"section", "course"}
    if not fields:
        return lesson
    lesson.full_clean()
    lesson.save(update_fields=[*sorted(fields), "updated_at"])
    return lesson


# --- Join codes --------------------------------------------------------------------------------


def _join_code_generate() -> str:
    return readable_code_generate(
        length=JOIN_CODE_LENGTH,
        taken=lambda codes: set(
            Course.objects.filter(join_code__in=codes).values_list("join_code", flat=True)
        ),
    )


def _join_code_set(*, course: Course, code: str | None) -> Course:
    now = timezone.now()
    Course.objects.filter(pk=course.pk).update(join_code=code, updated_at=now)
    course.join_code, course.updated_at = code, now
    return course


@transaction.atomic
def course_join_code_rotate(*, course: Course) -> Course:
    """Give the course a fresh join code (turning joining on); the previous code stops
    working at once. Learners who joined with it stay enrolled."""
    return _join_code_set(course=course, code=_join_code_generate())


@transaction.atomic
def course_join_code_clear(*, course: Course) -> Course:
    """Turn joining by code off: the current code stops working; enrollments stay."""
    return _join_code_set(course=course, code=None)
