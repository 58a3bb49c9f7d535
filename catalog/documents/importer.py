"""Importing a course document: a new course, or the changes to the one it names.

Matching: the course is the one with the document's `client_id`, or the one whose uuid it
is (the export of a course without a client id carries its uuid); sections and lessons
likewise within that course, questions within their quiz, choices within their question.
Anything not matched is created. Importing the same document twice changes nothing the
second time.

Rows the document does not name: kept (mode "merge", the default), placed after the named
ones; or deleted (mode "replace"), which refuses the whole import when a lesson to delete
has learners' data (COURSE_DOCUMENT_DELETES_LEARNER_DATA). A quiz in the document is the
whole quiz either way: its questions and choices not named are deleted.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, TextChoices
from django.utils.translation import gettext as _

from accounts.models import AuditLog, User
from accounts.roles import user_has_staff_role
from accounts.services import audit_record
from billing.models import Tier
from catalog.changes import course_content_changed
from catalog.documents.format import document_read, validation_error
from catalog.documents.plan import (
    ContentPlan,
    DocumentWarning,
    Existing,
    Matcher,
    Media,
    Tally,
    as_uuid,
    lessons_with_learner_data,
)
from catalog.manage.permissions import author_permission_require, authored_courses
from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from catalog.services import course_prerequisites_validate
from catalog.structure import course_rules_invalidate
from lms.errors import ApplicationError, ErrorCode, NotFoundError

COURSE_FIELDS = (
    "slug",
    "title",
    "subtitle",
    "description",
    "course_type",
    "difficulty",
    "locale",
    "visibility",
    "progression",
)

_CONTENT = (Section, Lesson, Quiz, Question, Choice)
_ATTEMPTS = 2


class ImportMode(TextChoices):
    MERGE = "merge", "merge"
    REPLACE = "replace", "replace"


@dataclass(frozen=True)
class ImportResult:
    course: Course
    course_created: bool
    created: Tally
    updated: Tally
    unchanged: Tally
    deleted: Tally
    kept: Tally
    warnings: list[DocumentWarning]


def course_document_import(
    *,
    document: Any,
    actor: User | None,
    course: Course | None = None,
    mode: str = ImportMode.MERGE,
) -> ImportResult:
    """Import a course document (as JSON data) in one transaction: all of it, or nothing.

    `course`: import into this course whatever the document's client id says (commands);
    else the document names its course. With an `actor` (the API), the actor must author that
    course (else 404 COURSE_NOT_FOUND, as for any course they cannot edit) and have the role's
    permissions: add or change courses, and delete sections and lessons for mode "replace".
    Without one (commands) nothing is checked. An instructor's new course is theirs.

    Errors: 400 VALIDATION_ERROR with `fields` keyed by the failing item's path, 413
    COURSE_DOCUMENT_TOO_LARGE, 409 COURSE_DOCUMENT_DELETES_LEARNER_DATA (replace), 409
    COURSE_DOCUMENT_CONFLICT (another write got there first, twice: send it again).
    """
    data = document_read(document)
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _CourseImport(body=data["course"], actor=actor, mode=mode).run(course)
        except IntegrityError as error:
            # Another write took a client id or slug first (two imports of one new course):
            # once more finds what it wrote.
            if attempt == _ATTEMPTS - 1:
                raise ApplicationError(ErrorCode.COURSE_DOCUMENT_CONFLICT) from error
    raise AssertionError("unreachable")


class _CourseImport:
    def __init__(self, *, body: dict[str, Any], actor: User | None, mode: str) -> None:
        self.body = body
        self.actor = actor
        self.replace = mode == ImportMode.REPLACE
        self.lesson_counts: dict[Any, int] = {}  # a named section's id -> its named lessons
        self.named: list[tuple[Section, str, dict[str, Any]]] = []  # (row, path, item)
        self.prerequisite_courses: list[Course] | None = None  # None: unchanged

    def run(self, course: Course | None) -> ImportResult:
        target = self._match(course)
        self._require_permissions(target)
        existing = Existing.load(target) if target is not None else Existing()
        lessons = [item for section in self.body["sections"] for item in section["lessons"]]
        self.plan = plan = ContentPlan(
            course=target or Course(client_id=self.body["client_id"]),
            existing=existing,
            media=Media(lessons),
            replace=self.replace,
        )
        self._course_plan(target)
        self._content_plan()
        if plan.errors:
            raise validation_error(plan.errors)
        self._write(new=target is None)
        return ImportResult(
            course=plan.course,
            course_created=target is None,
            created=plan.created,
            updated=plan.updated,
            unchanged=plan.unchanged,
            deleted=plan.deleted,
            kept=plan.kept,
            warnings=plan.warnings,
        )

    # --- The course ---------------------------------------------------------------------------
    def _match(self, course: Course | None) -> Course | None:
        """The course to import into, locked: one import (or bulk create) at a time."""
        if course is not None:
            return Course.objects.select_for_update().get(pk=course.pk)
        client_id = self.body["client_id"]
        pk = as_uuid(client_id)
        match = Q(client_id=client_id) | Q(pk=pk) if pk is not None else Q(client_id=client_id)
        courses = list(Course.objects.select_for_update().filter(match))
        # A client id match wins over a uuid match.
        return next((c for c in courses if c.client_id == client_id), None) or next(
            iter(courses), None
        )

    def _require_permissions(self, course: Course | None) -> None:
        actor = self.actor
        if actor is None:
            return
        if course is not None and not authored_courses(user=actor).filter(pk=course.pk).exists():
            raise NotFoundError(ErrorCode.COURSE_NOT_FOUND)
        wanted = [("add" if course is None else "change", Course)]
        wanted += [(action, model) for model in _CONTENT for action in ("add", "change")]
        wanted += [("delete", Question), ("delete", Choice)]  # a quiz is replaced whole
        if self.replace:
            wanted += [("delete", Section), ("delete", Lesson), ("delete", Quiz)]
        for action, model in wanted:
            author_permission_require(user=actor, action=action, model=model)

    def _tier_id(self) -> Any:
        slug = self.body["required_tier"]
        if slug is None:
            if self.body["visibility"] == Course.Visibility.PAID:
                self.plan.error("course.required_tier", _("A paid course needs a required tier."))
            return None
        tier_id = Tier.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if tier_id is None:
            self.plan.error("course.required_tier", _("There is no tier with this slug here."))
        return tier_id

    def _course_plan(self, target: Course | None) -> None:
        plan = self.plan
        values = {name: self.body[name] for name in COURSE_FIELDS}
        values["required_tier_id"] = self._tier_id()
        course = plan.course
        if target is None:
            for name, value in values.items():
                setattr(course, name, value)
            plan.create(course, "course")
        else:
            plan.change(course, values, "course")
        if Course.objects.filter(slug=values["slug"]).exclude(pk=course.pk).exists():
            plan.error("course.slug", _("Another course has this slug."))
        self._prerequisite_courses_plan(course, new=target is None)

    def _prerequisite_courses_plan(self, course: Course, *, new: bool) -> None:
        """The courses the document requires, by slug: those this site has (and the actor
        may name: their own, or any that is not a draft); a warning for the others."""
        plan, slugs = self.plan, self.body["prerequisite_courses"]
        found = Course.objects.filter(slug__in=slugs)
        if self.actor is not None:
            found = found.filter(
                Q(pk__in=authored_courses(user=self.actor).values("pk"))
                | ~Q(status=Course.Status.DRAFT)
            )
        by_slug = {other.slug: other for other in found}
        courses = []
        for index, slug in enumerate(slugs):
            if slug in by_slug:
                courses.append(by_slug[slug])
            else:
                plan.warn(
                    f"course.prerequisite_courses[{index}]",
                    "course_not_found",
                    _("There is no course with this slug here: it is left out."),
                )
        try:
            course_prerequisites_validate(course=course, prerequisites=courses)
        except ValidationError as error:
            for message in error.message_dict["prerequisite_courses"]:
                plan.error("course.prerequisite_courses", message)
        current = set() if new else set(course.prerequisite_courses.values_list("pk", flat=True))
        if {other.pk for other in courses} != current:
            self.prerequisite_courses = courses
            if not new and not plan.changes[Course].rows:
                plan.unchanged.courses -= 1  # its links change: counted as updated
                plan.updated.courses += 1

    # --- Sections and lessons ------------------------------------------------------------------
    def _content_plan(self) -> None:
        plan = self.plan
        sections = Matcher(plan.existing.sections)
        lessons = Matcher(plan.existing.lessons)
        for index, item in enumerate(self.body["sections"]):
            path = f"course.sections[{index}]"
            if not plan.client_id_unique(
                ("section",),
                item["client_id"],
                path,
                _("Another section of this document has this client id."),
            ):
                continue
            row = _claim(sections, item["client_id"])
            section = plan.section(item=item, path=path, row=row, order=index)
            self.named.append((section, path, item))
            self.lesson_counts[section.pk] = len(item["lessons"])
            self._lessons_plan(item["lessons"], path=path, section=section, lessons=lessons)
        self._unnamed_plan(sections=sections, lessons=lessons)
        self._prerequisites_plan(unnamed=sections.unclaimed())

    def _prerequisites_plan(self, *, unnamed: list[Section]) -> None:
        """Each named section's prerequisites, by the client ids of the document's sections.
        Sections the document does not name keep theirs (merge) or go (replace)."""
        by_client_id = {item["client_id"]: row for row, _path, item in self.named}
        orders = {row.pk: index for index, (row, _path, _item) in enumerate(self.named)}
        kept: dict[Any, set] = {}
        if not self.replace:
            for offset, section in enumerate(unnamed):
                orders[section.pk] = len(self.named) + offset
                kept[section.pk] = self.plan.existing.requires.get(section.pk, set())
        self.plan.prerequisites(
            named=self.named,
            find=by_client_id.get,
            kept=kept,
            orders=orders,
            progression=self.body["progression"],
        )

    def _lessons_plan(self, items: list, *, path: str, section: Section, lessons: Matcher) -> None:
        for index, item in enumerate(items):
            item_path = f"{path}.lessons[{index}]"
            if not self.plan.client_id_unique(
                ("lesson",),
                item["client_id"],
                item_path,
                _("Another lesson of this document has this client id."),
            ):
                continue
            row = _claim(lessons, item["client_id"])
            self.plan.lesson(item=item, path=item_path, section=section, row=row, order=index)

    def _unnamed_plan(self, *, sections: Matcher, lessons: Matcher) -> None:
        """Rows the document does not name: deleted (replace) or placed behind (merge)."""
        plan = self.plan
        unnamed_sections, unnamed_lessons = sections.unclaimed(), lessons.unclaimed()
        if self.replace:
            self._refuse_learner_data(unnamed_lessons)
            for lesson in unnamed_lessons:
                plan.delete(Lesson, lesson.pk)
            for section in unnamed_sections:
                plan.delete(Section, section.pk)
            return
        plan.slugs_free(unnamed_lessons)
        named = len(self.body["sections"])
        for offset, section in enumerate(unnamed_sections):
            plan.place(section, order=named + offset)
            plan.kept.add(Section)
        # In a named section, the lessons the document does not name follow its own.
        next_order = dict(self.lesson_counts)
        for lesson in unnamed_lessons:
            plan.kept.add(Lesson)
            if lesson.section_id in next_order:
                plan.place(lesson, order=next_order[lesson.section_id])
                next_order[lesson.section_id] += 1

    def _refuse_learner_data(self, lessons: list[Lesson]) -> None:
        used = lessons_with_learner_data(lesson_ids=[lesson.pk for lesson in lessons])
        if used:
            raise ApplicationError(
                ErrorCode.COURSE_DOCUMENT_DELETES_LEARNER_DATA,
                fields={
                    "lessons": [
                        _("“%(title)s” (%(slug)s)") % {"title": lesson.title, "slug": lesson.slug}
                        for lesson in used
                    ]
                },
            )

    # --- Writing -----------------------------------------------------------------------------
    def _write(self, *, new: bool) -> None:
        plan, course = self.plan, self.plan.course
        if new:
            course.save()
            actor = self.actor
            if actor is not None and not user_has_staff_role(actor):
                course.instructors.add(actor)
        elif plan.changes[Course].rows:
            course.save(update_fields=[*sorted(plan.changes[Course].names), "updated_at"])
        plan.write()
        if self.prerequisite_courses is not None:
            course.prerequisite_courses.set(self.prerequisite_courses)
        if plan.changed_anything or new or self.prerequisite_courses is not None:
            course_content_changed(course_id=course.pk)
            # Bulk writes send no signals: the cached structure rules are dropped here.
            course_rules_invalidate(course_ids=[course.pk])
        audit_record(
            action=AuditLog.Action.COURSE_IMPORTED,
            actor=self.actor,
            target=course,
            details={
                "course": str(course.pk),
                "mode": ImportMode.REPLACE if self.replace else ImportMode.MERGE,
                "created": plan.created.as_dict(),
                "updated": plan.updated.as_dict(),
                "unchanged": plan.unchanged.as_dict(),
                "deleted": plan.deleted.as_dict(),
                "kept": plan.kept.as_dict(),
                "warnings": len(plan.warnings),
            },
        )


def _claim(matcher: Matcher, client_id: str) -> Any:
    row = matcher.find(client_id)
    return row if row is not None and matcher.claim(row) else None
