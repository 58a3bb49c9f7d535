"""From validated document items to rows: what to create, change and delete, checked the way
the models check themselves, then written in a number of queries that does not grow with
the course (bulk inserts and updates; Django splits them only past the database's batch
size).

The import and the bulk creates both fill a `ContentPlan` and call `write()`. Nothing is
written until the whole plan is valid: errors collect by the item's path in the request.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from catalog.quizzes import question_problems
from catalog.services import prerequisite_cycle_find
from media.models import StoredFile, Video

# Orders are moved past this offset before they are set, so the unique (parent, order)
# constraints never see two rows with one order mid-way (as `catalog.services` reorders).
ORDER_OFFSET = 1_000_000

# Foreign keys are set by id and checked by the plan itself: `clean_fields` would query
# each one.
_NOT_CLEANED: dict[type[models.Model], list[str]] = {
    Course: [
        "required_tier",
        "preview_video",
        "thumbnail",
        "instructors",
        "join_code",
        "status",
        "published_at",
    ],
    Section: ["course"],
    Lesson: ["course", "section", "video", "attachments"],
    Quiz: ["lesson"],
    Question: ["quiz"],
    Choice: ["question"],
}
# Lesson fields whose change is not an edit of the lesson (its place in the course), so they
# leave `updated_at` alone, as the services' reorders do.
_PLACE_FIELDS = frozenset({"order", "section_id"})
Through = Lesson.attachments.through
Requires = Section.prerequisites.through
# A section's own values an item sets (its order is its place in the list).
SECTION_RULE_FIELDS = ("is_hidden", "release_at", "release_after_days", "release_from")
# The models whose order is unique among siblings.
_ORDERED = (Section, Lesson, Question)
# What refers to a lesson from outside the course's content and goes (or stays) with it.
_LEARNER_DATA_DELETES = (models.CASCADE, models.PROTECT, models.RESTRICT)


_TALLY_NAMES = {
    Course: "courses",
    Section: "sections",
    Lesson: "lessons",
    Quiz: "quizzes",
    Question: "questions",
    Choice: "choices",
}


@dataclass
class Tally:
    """How many rows of each kind."""

    courses: int = 0
    sections: int = 0
    lessons: int = 0
    quizzes: int = 0
    questions: int = 0
    choices: int = 0

    def add(self, model: type[models.Model], count: int = 1) -> None:
        name = _TALLY_NAMES[model]
        setattr(self, name, getattr(self, name) + count)

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def __bool__(self) -> bool:
        return any(self.as_dict().values())


@dataclass(frozen=True)
class DocumentWarning:
    """Something the request asked that was left out, and why (the rest was written)."""

    path: str
    problem: str  # video_not_found | attachment_not_found | course_not_found
    message: str


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


class Matcher:
    """Finds the row a document item stands for: the row with its client id, else the row
    whose uuid it is (an export names rows without a client id by their uuid)."""

    def __init__(self, rows: Iterable[models.Model]) -> None:
        self.rows = list(rows)
        self.by_client_id = {row.client_id: row for row in self.rows if row.client_id}
        self.by_pk = {row.pk: row for row in self.rows}
        self.claimed: set = set()

    def find(self, client_id: str) -> models.Model | None:
        row = self.by_client_id.get(client_id)
        if row is None and (pk := as_uuid(client_id)) is not None:
            row = self.by_pk.get(pk)
        return row

    def claim(self, row: models.Model) -> bool:
        """Mark the row as taken by an item; False when another item took it already."""
        if row.pk in self.claimed:
            return False
        self.claimed.add(row.pk)
        return True

    def unclaimed(self) -> list[models.Model]:
        return [row for row in self.rows if row.pk not in self.claimed]


@dataclass
class Existing:
    """A course's content as it is, loaded in a fixed number of queries."""

    sections: list[Section] = field(default_factory=list)
    lessons: list[Lesson] = field(default_factory=list)
    quizzes: dict[uuid.UUID, Quiz] = field(default_factory=dict)  # by lesson id
    questions: dict[uuid.UUID, list[Question]] = field(default_factory=dict)  # by quiz id
    choices: dict[uuid.UUID, list[Choice]] = field(default_factory=dict)  # by question id
    # Linked files that may still be linked (confirmed attachments): lesson -> file -> link.
    links: dict[uuid.UUID, dict[uuid.UUID, int]] = field(default_factory=dict)
    # Each section's prerequisites: section id -> the ids it requires.
    requires: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)

    @classmethod
    def load(cls, course: Course) -> "Existing":
        existing = cls(
            sections=list(Section.objects.filter(course=course).order_by("order")),
            lessons=list(Lesson.objects.filter(course=course).order_by("section__order", "order")),
        )
        for quiz in Quiz.objects.filter(lesson__course=course):
            existing.quizzes[quiz.lesson_id] = quiz
        questions = Question.objects.filter(quiz__lesson__course=course).order_by("order")
        for question in questions:
            existing.questions.setdefault(question.quiz_id, []).append(question)
        choices = Choice.objects.filter(question__quiz__lesson__course=course)
        for choice in choices.order_by("order", "text"):
            existing.choices.setdefault(choice.question_id, []).append(choice)
        for pk, lesson_id, file_id in linkable_links(course=course):
            existing.links.setdefault(lesson_id, {})[file_id] = pk
        existing.requires = section_requirements(course=course)
        return existing


def section_requirements(*, course: Course) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The course's section prerequisites, section id -> required ids: one query."""
    requires: dict[uuid.UUID, set[uuid.UUID]] = {}
    rows = Requires.objects.filter(from_section__course=course)
    for from_id, to_id in rows.values_list("from_section_id", "to_section_id"):
        requires.setdefault(from_id, set()).add(to_id)
    return requires


def linkable_files() -> models.QuerySet[StoredFile]:
    """The files a lesson may link, by the admin's rules (`Lesson.attachments`)."""
    return StoredFile.objects.filter(
        purpose=StoredFile.Purpose.ATTACHMENT,
        status=StoredFile.Status.CONFIRMED,
        deleted_at__isnull=True,
    )


def linkable_links(*, course: Course) -> Iterator[tuple[int, uuid.UUID, uuid.UUID]]:
    """(link id, lesson id, file id) of the course's links to linkable files."""
    return Through.objects.filter(
        lesson__course=course, storedfile__in=linkable_files().values("pk")
    ).values_list("pk", "lesson_id", "storedfile_id")


class Media:
    """Which of the videos and files a request names exist here and may be linked: two
    queries for the whole request."""

    def __init__(self, lessons: Iterable[Mapping[str, Any]]) -> None:
        lessons = list(lessons)
        video_ids = {item["video"]["id"] for item in lessons if item.get("video")}
        file_ids = {ref["id"] for item in lessons for ref in item.get("attachments", [])}
        self.videos = set(
            Video.objects.filter(pk__in=video_ids, deleted_at__isnull=True).values_list(
                "pk", flat=True
            )
            if video_ids
            else ()
        )
        self.files = set(
            linkable_files().filter(pk__in=file_ids).values_list("pk", flat=True)
            if file_ids
            else ()
        )


def lessons_with_learner_data(*, lesson_ids: Iterable[uuid.UUID]) -> list[Lesson]:
    """Those of these lessons that something outside the course's content refers to (learners'
    progress, quiz attempts, discussions, tutor conversations...): one query, whatever apps
    refer to lessons."""
    condition = Q()
    for relation in Lesson._meta.related_objects:
        if relation.related_model._meta.app_label == "catalog" or relation.many_to_many:
            continue
        if relation.on_delete not in _LEARNER_DATA_DELETES:
            continue
        rows = relation.related_model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
        condition |= Q(Exists(rows))
    ids = list(lesson_ids)
    if not ids or not condition:
        return []
    return list(Lesson.objects.filter(pk__in=ids).filter(condition).order_by("title"))


@dataclass
class _Changes:
    """The existing rows of one model that change, with the fields that do."""

    rows: dict[Any, models.Model] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def add(self, row: models.Model, names: Iterable[str]) -> None:
        self.rows[row.pk] = row
        self.names.update(names)


class ContentPlan:
    """Rows to create, change and delete for one course, built item by item."""

    def __init__(
        self, *, course: Course, existing: Existing, media: Media, replace: bool = False
    ) -> None:
        self.course = course
        self.replace = replace
        self.existing = existing
        self.media = media
        self.errors: dict[str, list[str]] = {}
        self.warnings: list[DocumentWarning] = []
        self.created, self.updated, self.unchanged = Tally(), Tally(), Tally()
        self.deleted, self.kept = Tally(), Tally()
        self.new: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        self.changes: dict[type[models.Model], _Changes] = defaultdict(_Changes)
        self.doomed: dict[type[models.Model], set] = defaultdict(set)
        self.links_add: list[tuple[uuid.UUID, uuid.UUID]] = []
        self.links_remove: list[int] = []
        self.slug_changes: set[uuid.UUID] = set()
        self.requires: dict[uuid.UUID, set[uuid.UUID]] = {}  # sections whose links are set
        self.shift: dict[type[models.Model], set] = defaultdict(set)
        self._slugs: dict[str, str] = {}  # a planned lesson's slug -> its path
        self._ids: dict[tuple, str] = {}  # (scope, client id) -> path
        self.now = timezone.now()

    # --- Checks -----------------------------------------------------------------------------
    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def warn(self, path: str, problem: str, message: str) -> None:
        self.warnings.append(DocumentWarning(path=path, problem=problem, message=message))

    def client_id_unique(self, scope: tuple, client_id: str, path: str, message: str) -> bool:
        key = (*scope, client_id)
        if key in self._ids:
            self.error(f"{path}.client_id", message)
            return False
        self._ids[key] = path
        return True

    def _clean(self, row: models.Model, path: str) -> None:
        try:
            row.clean_fields(exclude=_NOT_CLEANED[type(row)])
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.errors.setdefault(f"{path}.{name}", []).extend(messages)

    # --- Rows ---------------------------------------------------------------------------------
    def create(self, row: models.Model, path: str) -> models.Model:
        self._clean(row, path)
        self.new[type(row)].append(row)
        self.created.add(type(row))
        return row

    def change(
        self,
        row: models.Model,
        values: Mapping[str, Any],
        path: str,
        *,
        also_changed: bool = False,
        counted: bool = True,
    ) -> set[str]:
        """Give an existing row these values; returns the names that changed."""
        changed = {name for name, value in values.items() if getattr(row, name) != value}
        for name in changed:
            setattr(row, name, values[name])
        if changed:
            self._clean(row, path)
            self.changes[type(row)].add(row, changed)
            if "order" in changed or "section_id" in changed:
                self.shift[type(row)].add(row.pk)
        if counted:
            (self.updated if changed or also_changed else self.unchanged).add(type(row))
        return changed

    def delete(self, model: type[models.Model], pk: Any) -> None:
        self.doomed[model].add(pk)
        self.deleted.add(model)

    # --- Sections -------------------------------------------------------------------------------
    def section(
        self, *, item: Mapping[str, Any], path: str, row: Section | None, order: int
    ) -> Section:
        values = {"title": item["title"], "order": order}
        values.update({name: item[name] for name in SECTION_RULE_FIELDS})
        if row is None:
            row = Section(course_id=self.course.pk, client_id=item["client_id"], **values)
            return self.create(row, path)
        self.change(row, values, path)
        return row

    def prerequisites(
        self,
        *,
        named: list[tuple[Section, str, Mapping[str, Any]]],
        find,
        kept: Mapping[uuid.UUID, set[uuid.UUID]],
        orders: Mapping[uuid.UUID, int],
        progression: str,
    ) -> None:
        """Set the prerequisites of the `named` sections (row, path, item) from their items'
        client ids, `find(client_id)` giving the section it names (or None). Refused by path,
        as the services refuse them: an unknown id, the section itself, a circle through
        these and the `kept` links (sections the request leaves as they are), and a later
        section in a sequential course (`orders`: every section's place afterwards)."""
        wanted: dict[uuid.UUID, set[uuid.UUID]] = {}
        titles: dict[uuid.UUID, str] = {}
        for row, path, item in named:
            titles[row.pk] = row.title
            ids: set[uuid.UUID] = set()
            for index, client_id in enumerate(item["prerequisites"]):
                other = find(client_id)
                where = f"{path}.prerequisites[{index}]"
                if other is None:
                    self.error(where, _("No section of this course or document has this id."))
                elif other.pk == row.pk:
                    self.error(where, _("A section cannot require itself."))
                elif progression != Course.Progression.FREE and orders.get(
                    other.pk, -1
                ) > orders.get(row.pk, -1):
                    self.error(
                        where,
                        _(
                            "This section comes later in a sequential course, which already "
                            "needs each section before the next."
                        ),
                    )
                else:
                    ids.add(other.pk)
                    titles[other.pk] = other.title
            wanted[row.pk] = ids
        edges = {**kept, **wanted}
        for row, path, _item in named:
            culprit = prerequisite_cycle_find(start=row.pk, requires=wanted[row.pk], edges=edges)
            if culprit is not None:
                self.error(
                    f"{path}.prerequisites",
                    _("“%(title)s” already requires this section: learners could open neither.")
                    % {"title": titles.get(culprit, "")},
                )
        for row, _path, _item in named:
            if wanted[row.pk] != self.existing.requires.get(row.pk, set()):
                self.requires[row.pk] = wanted[row.pk]
                if row.pk in {section.pk for section in self.existing.sections} and (
                    row.pk not in self.changes[Section].rows
                ):
                    self.unchanged.sections -= 1  # its links change: counted as updated
                    self.updated.sections += 1

    # --- Lessons ---------------------------------------------------------------------------------
    def lesson_slug(self, item: Mapping[str, Any], path: str) -> str:
        slug = item["slug"] or slugify(item["title"])[:80]
        if not slug:
            self.error(f"{path}.slug", _("Give a slug: the title makes none."))
        elif slug in self._slugs:
            self.error(f"{path}.slug", _("Another lesson of this document has this slug."))
        else:
            self._slugs[slug] = path
        return slug

    def slugs_free(self, lessons: Iterable[Lesson]) -> None:
        """Lessons that stay as they are must keep their slugs: no planned lesson may take one."""
        for lesson in lessons:
            path = self._slugs.get(lesson.slug)
            if path is not None:
                self.error(f"{path}.slug", _("Another lesson of this course has this slug."))

    def _video_id(self, item: Mapping[str, Any], path: str, row: Lesson | None) -> Any:
        ref = item.get("video")
        if ref is None:
            return None
        if ref["id"] in self.media.videos:
            return ref["id"]
        self.warn(
            f"{path}.video",
            "video_not_found",
            _("There is no video with this id here: the lesson keeps the video it has, if any."),
        )
        return row.video_id if row is not None else None

    def _files(self, item: Mapping[str, Any], path: str, row: Lesson | None) -> set[uuid.UUID]:
        refs = item.get("attachments", [])
        found = set()
        for index, ref in enumerate(refs):
            if ref["id"] in self.media.files:
                found.add(ref["id"])
            else:
                self.warn(
                    f"{path}.attachments[{index}]",
                    "attachment_not_found",
                    _("There is no attachment with this id here: it is left out."),
                )
        current = set(self.existing.links.get(row.pk, {})) if row is not None else set()
        if refs and not found:
            return current  # none of them is here: what the lesson has stays
        return found

    def _links(self, lesson: Lesson, wanted: set[uuid.UUID]) -> bool:
        current = self.existing.links.get(lesson.pk, {})
        for file_id in wanted - set(current):
            self.links_add.append((lesson.pk, file_id))
        self.links_remove.extend(current[file_id] for file_id in set(current) - wanted)
        return wanted != set(current)

    def lesson(
        self,
        *,
        item: Mapping[str, Any],
        path: str,
        section: Section,
        row: Lesson | None,
        order: int,
    ) -> Lesson:
        values = {
            name: item[name]
            for name in (
                "title",
                "kind",
                "body",
                "duration_seconds",
                "is_free_preview",
                "is_published",
                "is_hidden",
                "xp_value",
                "is_boss",
                "is_required",
            )
        }
        values.update(
            slug=self.lesson_slug(item, path),
            order=order,
            section_id=section.pk,
            course_id=self.course.pk,
            video_id=self._video_id(item, path, row),
        )
        files = self._files(item, path, row)
        if row is None:
            row = self.create(Lesson(client_id=item["client_id"], **values), path)
            self._links(row, files)
        else:
            old_slug = row.slug
            links_changed = self._links(row, files)
            changed = self.change(row, values, path, also_changed=links_changed)
            if links_changed or changed - _PLACE_FIELDS:
                row.updated_at = self.now
                self.changes[Lesson].add(row, ["updated_at"])
            if row.slug != old_slug:
                self.slug_changes.add(row.pk)
        self.quiz(item=item.get("quiz"), path=f"{path}.quiz", lesson=row)
        return row

    def place(self, row: Section | Lesson, *, order: int) -> None:
        """Move a row the request does not name to `order` (behind the named ones)."""
        self.change(row, {"order": order}, "", counted=False)

    # --- Quizzes -------------------------------------------------------------------------------
    def quiz_drop(self, lesson: Lesson) -> None:
        """Delete the lesson's quiz, its questions and choices."""
        quiz = self.existing.quizzes.get(lesson.pk)
        if quiz is None:
            return
        self.delete(Quiz, quiz.pk)
        for question in self.existing.questions.get(quiz.pk, []):
            self.deleted.add(Question)
            self.deleted.add(Choice, len(self.existing.choices.get(question.pk, [])))

    def quiz(self, *, item: Mapping[str, Any] | None, path: str, lesson: Lesson) -> None:
        if item is None:
            if self.replace:
                self.quiz_drop(lesson)
            return
        if lesson.kind != Lesson.Kind.QUIZ:
            self.error(path, _("Only a quiz lesson has a quiz: make the kind quiz, or send null."))
            return
        values = {
            name: item[name]
            for name in ("pass_mark", "max_attempts", "retry_wait_minutes", "reveal_answers")
        }
        quiz = self.existing.quizzes.get(lesson.pk)
        if quiz is None:
            quiz = self.create(Quiz(lesson_id=lesson.pk, **values), path)
        else:
            self.change(quiz, values, path)
        self.questions(items=item["questions"], path=path, quiz=quiz)

    def questions(self, *, items: list, path: str, quiz: Quiz) -> None:
        matcher = Matcher(self.existing.questions.get(quiz.pk, []))
        for index, item in enumerate(items):
            item_path = f"{path}.questions[{index}]"
            if not self.client_id_unique(
                (quiz.pk,),
                item["client_id"],
                item_path,
                _("Another question of this quiz has this client id."),
            ):
                continue
            row = matcher.find(item["client_id"])
            if row is not None and not matcher.claim(row):
                row = None
            self.question(item=item, path=item_path, quiz=quiz, row=row, order=index)
        for row in matcher.unclaimed():
            self.delete(Question, row.pk)
            self.deleted.add(Choice, len(self.existing.choices.get(row.pk, [])))

    def question(
        self, *, item: Mapping[str, Any], path: str, quiz: Quiz, row: Question | None, order: int
    ) -> None:
        answers = "\n".join(item["accepted_answers"])
        problems = question_problems(
            kind=item["kind"],
            accepted_answers=answers,
            correct_flags=[choice["is_correct"] for choice in item["choices"]],
        )
        for name, messages in problems.items():
            self.errors.setdefault(f"{path}.{name}", []).extend(messages)
        values = {
            "kind": item["kind"],
            "prompt": item["prompt"],
            "explanation": item["explanation"],
            "points": item["points"],
            "order": order,
        }
        if row is None:
            row = Question(
                quiz_id=quiz.pk, client_id=item["client_id"], accepted_answers=answers, **values
            )
            self.create(row, path)
        else:
            if row.accepted_answer_list != item["accepted_answers"]:
                values["accepted_answers"] = answers  # else the stored spelling stays
            self.change(row, values, path)
        self.choices(items=item["choices"], path=path, question=row)

    def choices(self, *, items: list, path: str, question: Question) -> None:
        matcher = Matcher(self.existing.choices.get(question.pk, []))
        for index, item in enumerate(items):
            item_path = f"{path}.choices[{index}]"
            if not self.client_id_unique(
                (question.pk,),
                item["client_id"],
                item_path,
                _("Another choice of this question has this client id."),
            ):
                continue
            values = {"text": item["text"], "is_correct": item["is_correct"], "order": index}
            row = matcher.find(item["client_id"])
            if row is not None and matcher.claim(row):
                self.change(row, values, item_path)
            else:
                choice = Choice(question_id=question.pk, client_id=item["client_id"], **values)
                self.create(choice, item_path)
        for row in matcher.unclaimed():
            self.delete(Choice, row.pk)

    # --- Writing ------------------------------------------------------------------------------
    def write(self) -> None:
        """Write the plan (the course row itself is the caller's, saved before)."""
        # What goes first frees orders and slugs for what comes.
        for model in (Choice, Question, Quiz, Lesson):
            if self.doomed[model]:
                model.objects.filter(pk__in=self.doomed[model]).delete()
        self._slugs_release()
        for model in (Section, Lesson, Quiz, Question, Choice):
            self._write_model(model)
            if model is Section:
                self._write_requires()
            if model is Lesson:
                self._write_links()
        if self.doomed[Section]:
            Section.objects.filter(pk__in=self.doomed[Section]).delete()

    def _slugs_release(self) -> None:
        # Two lessons may swap slugs: each takes a placeholder first (its own id).
        if self.slug_changes:
            Lesson.objects.filter(pk__in=self.slug_changes).update(
                slug=Concat(models.Value("~"), Cast("id", models.CharField()))
            )

    def _write_model(self, model: type[models.Model]) -> None:
        shifting = self.shift[model] | (self.doomed[model] if model is Section else set())
        if shifting and model in _ORDERED:
            model.objects.filter(pk__in=shifting).update(order=F("order") + ORDER_OFFSET)
        if self.new[model]:
            model.objects.bulk_create(self.new[model])
        changes = self.changes[model]
        if changes.rows:
            model.objects.bulk_update(list(changes.rows.values()), sorted(changes.names))

    def _write_requires(self) -> None:
        if not self.requires:
            return
        Requires.objects.filter(from_section_id__in=list(self.requires)).delete()
        Requires.objects.bulk_create(
            Requires(from_section_id=from_id, to_section_id=to_id)
            for from_id, ids in self.requires.items()
            for to_id in ids
        )

    def _write_links(self) -> None:
        if self.links_remove:
            Through.objects.filter(pk__in=self.links_remove).delete()
        if self.links_add:
            Through.objects.bulk_create(
                Through(lesson_id=lesson_id, storedfile_id=file_id)
                for lesson_id, file_id in self.links_add
            )

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.created
            or self.updated
            or self.deleted
            or self.requires
            or any(changes.rows for changes in self.changes.values())
        )
