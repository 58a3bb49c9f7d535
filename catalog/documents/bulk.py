"""Bulk creates: many sections (with their lessons) or many lessons in one request, one
transaction, items in the course document's shape (`catalog.documents.format`).

Retryable by client ids: an item whose client id the course already has is the row created
before, answered as it is (not changed: an import changes rows); the others are created,
after the course's (or section's) own. A retried request therefore creates nothing twice.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.services import audit_record
from catalog.changes import course_content_changed
from catalog.documents.format import (
    LessonDocumentSerializer,
    SectionDocumentSerializer,
    items_read,
    lessons_size_check,
    sections_size_check,
    validation_error,
)
from catalog.documents.plan import (
    ContentPlan,
    DocumentWarning,
    Existing,
    Matcher,
    Media,
    Tally,
    section_requirements,
)
from catalog.models import Course, Lesson, Section
from catalog.structure import course_rules_invalidate
from lms.errors import ApplicationError, ErrorCode


@dataclass(frozen=True)
class BulkItem:
    """One item of the request: its row, whether this request created it, and (for a
    section) its lessons in the request."""

    row: Section | Lesson
    created: bool
    lessons: list["BulkItem"] = field(default_factory=list)


@dataclass(frozen=True)
class BulkResult:
    items: list[BulkItem]
    created: Tally
    warnings: list[DocumentWarning]

    @property
    def created_any(self) -> bool:
        return bool(self.created)


def sections_bulk_create(*, course: Course, items: Any, actor: User | None) -> BulkResult:
    """Create sections, each with its lessons (and their quizzes), at the end of the course.

    `items`: a list of sections as in a course document. 400 VALIDATION_ERROR names the
    failing item (`sections[2].lessons[0].slug`) and nothing is created; 413
    COURSE_DOCUMENT_TOO_LARGE past LMS_COURSE_DOCUMENT_MAX_LESSONS sections or lessons.
    """
    sections_size_check(items)
    data = items_read(items, serializer=SectionDocumentSerializer, name="sections")
    return _write(
        course=course,
        actor=actor,
        lessons=[lesson for item in data for lesson in item["lessons"]],
        fill=lambda bulk: bulk.sections(data),
    )


def lessons_bulk_create(*, section: Section, items: Any, actor: User | None) -> BulkResult:
    """Create lessons (and their quizzes) at the end of a section. Errors as for sections,
    by `lessons[0].slug`."""
    lessons_size_check(count=len(items) if isinstance(items, list) else 0)
    data = items_read(items, serializer=LessonDocumentSerializer, name="lessons")
    return _write(
        course=section.course,
        actor=actor,
        lessons=data,
        fill=lambda bulk: bulk.lessons(data, path="lessons", section=section),
    )


def _write(*, course: Course, actor: User | None, lessons: list, fill) -> BulkResult:
    try:
        with transaction.atomic():
            Course.objects.select_for_update().filter(pk=course.pk).first()  # one writer
            bulk = _Bulk(course=course, media=Media(lessons))
            items = fill(bulk)
            plan = bulk.plan
            plan.slugs_free(plan.existing.lessons)  # lessons already there keep their slugs
            if plan.errors:
                raise validation_error(plan.errors)
            plan.write()
            if plan.created:
                course_content_changed(course_id=course.pk)
                course_rules_invalidate(course_ids=[course.pk])  # bulk writes send no signals
                audit_record(
                    action=AuditLog.Action.CONTENT_CREATED,
                    actor=actor,
                    target=course,
                    details={"course": str(course.pk), "bulk": plan.created.as_dict()},
                )
    except IntegrityError as error:
        raise ApplicationError(ErrorCode.COURSE_DOCUMENT_CONFLICT) from error
    return BulkResult(items=items, created=plan.created, warnings=plan.warnings)


class _Bulk:
    def __init__(self, *, course: Course, media: Media) -> None:
        existing = Existing(
            sections=list(Section.objects.filter(course=course).order_by("order")),
            lessons=list(Lesson.objects.filter(course=course).order_by("order")),
        )
        self.plan = ContentPlan(course=course, existing=existing, media=media)
        self.section_rows = Matcher(existing.sections)
        self.lesson_rows = Matcher(existing.lessons)
        self.next_lesson_order = {section.pk: 0 for section in existing.sections} | _next_orders(
            course
        )

    def sections(self, items: list) -> list[BulkItem]:
        plan, results, created_items = self.plan, [], []
        order = max((section.order for section in self.plan.existing.sections), default=-1) + 1
        for index, item in enumerate(items):
            path = f"sections[{index}]"
            if not plan.client_id_unique(
                ("section",),
                item["client_id"],
                path,
                _("Another section of this request has this client id."),
            ):
                continue
            row = self.section_rows.find(item["client_id"])
            created = row is None
            if created:
                row = plan.section(item=item, path=path, row=None, order=order)
                order += 1
                self.next_lesson_order[row.pk] = 0
                created_items.append((row, path, item))
            lessons = self.lessons(item["lessons"], path=f"{path}.lessons", section=row)
            results.append(BulkItem(row=row, created=created, lessons=lessons))
        self.prerequisites(created_items)
        return results

    def prerequisites(self, created: list) -> None:
        """New sections' prerequisites: client ids of this request's sections or of the
        course's sections already there (their client id, or their uuid)."""
        if not any(item["prerequisites"] for _row, _path, item in created):
            return
        in_request = {item["client_id"]: row for row, _path, item in created}
        self.plan.prerequisites(
            named=created,
            find=lambda client_id: in_request.get(client_id) or self.section_rows.find(client_id),
            kept=section_requirements(course=self.plan.course),
            orders={
                **{section.pk: section.order for section in self.plan.existing.sections},
                **{row.pk: row.order for row, _path, _item in created},
            },
            progression=self.plan.course.progression,
        )

    def lessons(self, items: list, *, path: str, section: Section) -> list[BulkItem]:
        plan, results = self.plan, []
        for index, item in enumerate(items):
            item_path = f"{path}[{index}]"
            if not plan.client_id_unique(
                ("lesson",),
                item["client_id"],
                item_path,
                _("Another lesson of this request has this client id."),
            ):
                continue
            row = self.lesson_rows.find(item["client_id"])
            if row is not None:
                if row.section_id != section.pk:
                    plan.error(
                        f"{item_path}.client_id",
                        _("A lesson of another section of this course has this client id."),
                    )
                results.append(BulkItem(row=row, created=False))
                continue
            order = self.next_lesson_order[section.pk]
            self.next_lesson_order[section.pk] = order + 1
            row = plan.lesson(item=item, path=item_path, section=section, row=None, order=order)
            results.append(BulkItem(row=row, created=True))
        return results


def _next_orders(course: Course) -> dict[Any, int]:
    """Each section's next free lesson order (one query)."""
    rows = (
        Lesson.objects.filter(course=course)
        .values("section_id")
        .annotate(last=Max("order"))
        .values_list("section_id", "last")
    )
    return {section_id: last + 1 for section_id, last in rows}
