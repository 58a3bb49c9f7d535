"""The compiled outline of a course: what every learner surface shows of its sections and
lessons, built once per content version and kept in the cache (issue 18).

A course page or lesson page used to load every section and lesson as model instances and
render about 900 bytes of markup per lesson on every request. The compiled outline holds the
same thing as plain data (picklable, no model instances): the rows the access policy and the
structure rules need, the course's rules (`catalog.structure.CourseRules`, so deciding them
reads nothing), the outline rows' HTML with the per-learner parts left as slots, and the API
payload of each section and lesson without its per-learner fields. What one learner sees is
then an overlay of a few `values()` queries (`progress.overlay`), never a new rendering.

It is keyed by the course's content version (`catalog.outline.versions`), which every change
of the course, a section or a lesson bumps: a change shows at once, and nothing is deleted.
The key also holds the active language, as the fragments hold translated words.

Who sees which lessons is decided by the access policy; the compiled outline precomputes the
three answers it can give (`Visible`): a learner's (published lessons that are not hidden,
in sections that are not hidden), an editor's where the course has rules (everything: they
bypass them), and an editor's where it has none (everything but hidden lessons, which can
then only be unpublished ones; `catalog.access.structure_for` decides so).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.models import Course, Lesson, Section
from catalog.outline.versions import course_version_get
from catalog.structure import CourseRules, course_rules_get, section_rule_flags

_KEY = "catalog:outline:{}:{}:{}"
# Long: the key changes with every content change, so an entry is never stale, only unused.
_TIMEOUT = 7 * 24 * 3600
# Bump when the shape of CompiledOutline or its fragments changes (a deploy then rebuilds).
_FORMAT = 1
# The outlines this process read last, by key: a 1,000-lesson outline is about 1 MB to fetch
# and unpickle, which would make a lesson page's cost grow with the course. An entry is
# never stale (its key holds the version), so keeping it needs no invalidation.
_LOCAL: OrderedDict[str, "CompiledOutline"] = OrderedDict()
_LOCAL_SIZE = 64
_LOCAL_LOCK = threading.Lock()

LEARNER = "learner"
EDITOR = "editor"  # the course has rules: its editors bypass them and see everything
EDITOR_PLAIN = "editor_plain"  # no rules: editors see all but hidden (unpublished) lessons


@dataclass(frozen=True)
class CompiledLesson:
    """One lesson as every surface shows it. `row` is its outline row's HTML, with slots
    for the per-learner parts (`OUTLINE_ROW_SLOTS`); `badges` its fixed tags (preview,
    boss, unpublished, hidden), which the row's tags slot puts first; `payload` the API's
    fields of it that are the same for everyone."""

    id: UUID
    slug: str
    title: str
    kind: str
    kind_label: str
    section_id: UUID
    order: int
    duration_seconds: int
    is_published: bool
    is_required: bool
    is_free_preview: bool
    is_boss: bool
    is_hidden: bool
    xp_value: int
    url: str
    row: str
    badges: str
    payload: dict[str, Any]

    # Read like a Lesson by the templates and by `catalog.access` (which asks `section_id`,
    # `is_hidden` and `is_free_preview` of whatever it is given).
    @property
    def pk(self) -> UUID:
        return self.id

    def get_absolute_url(self) -> str:
        return self.url

    def get_kind_display(self) -> str:
        return self.kind_label


@dataclass(frozen=True)
class CompiledSection:
    """One section: its lessons (all of them, in order), its summary's HTML (`summary`:
    the course page's, `sidebar`: the lesson sidebar's, each with slots for the state and
    the counts) and the API's fields of it that are the same for everyone."""

    id: UUID
    title: str
    order: int
    is_hidden: bool
    lesson_ids: tuple[UUID, ...]
    anchor: str  # the id of its element on the course page
    summary: str
    sidebar: str
    folded: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Visible:
    """What one kind of viewer sees of the course (`LEARNER`, `EDITOR`, `EDITOR_PLAIN`):
    the sections and lessons in order, each lesson's number in the course, each section's
    lessons, counts and length, and the totals. Precomputed so a page that shows part of
    the outline (a lesson page) spends nothing on the rest."""

    section_ids: tuple[UUID, ...]
    lesson_ids: tuple[UUID, ...]
    numbers: dict[UUID, int]  # 1-based position among the visible lessons
    section_lessons: dict[UUID, tuple[UUID, ...]]
    section_durations: dict[UUID, int]
    duration_seconds: int
    required_count: int  # published required lessons: completing them completes the course

    @property
    def lesson_count(self) -> int:
        return len(self.lesson_ids)


@dataclass(frozen=True)
class CompiledOutline:
    course_id: UUID
    version: int
    language: str
    course_url: str
    rules: CourseRules
    sections: tuple[CompiledSection, ...]
    lessons: tuple[CompiledLesson, ...]  # course order
    visible: dict[str, Visible]
    # The lessons progress counts, as `progress.selectors` counts them (published, not
    # hidden, in sections not hidden): (id, section id, is_required), in course order.
    counted: tuple[tuple[UUID, UUID, bool], ...]
    counted_ids: frozenset[UUID] = field(repr=False)
    lesson_by_id: dict[UUID, CompiledLesson] = field(repr=False)
    section_by_id: dict[UUID, CompiledSection] = field(repr=False)
    lesson_by_slug: dict[str, CompiledLesson] = field(repr=False)

    def audience(self, *, editor: bool, bypass: bool) -> Visible:
        """What a viewer sees: `editor` (staff or the course's instructor), `bypass` (their
        structure bypasses the rules, `Structure.bypass`)."""
        if not editor:
            return self.visible[LEARNER]
        return self.visible[EDITOR if bypass else EDITOR_PLAIN]


# The slots of `CompiledLesson.row`, filled with `str.format` (the fixed parts have their
# braces doubled): `classes` (" is-locked is-current is-completed"), `number` (the number,
# or the lock or check icon), `current` (' aria-current="page"'), `hidden_status` (the
# screen-reader-only "Not started") and `tags` (the tags' span, or "").
OUTLINE_ROW_SLOTS = ("classes", "number", "current", "hidden_status", "tags")


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def outline_compiled_get(*, course: Course) -> CompiledOutline:
    """The course's compiled outline: from this process's last outlines or the cache (one
    round trip besides the version's), or built on a miss in a fixed number of queries
    whatever the course's size (its sections and lessons, plus the prerequisite links when
    the course has any and its rules are not cached). Leaves the course's rules on
    `course`, so deciding them reads nothing more."""
    version = course_version_get(course.pk)
    language = get_language() or ""
    key = _KEY.format(course.pk, version, f"{language}:{_FORMAT}")
    compiled = _LOCAL.get(key)
    if compiled is None:
        compiled = cache.get(key)
    if not isinstance(compiled, CompiledOutline) or compiled.rules.progression != (
        course.progression
    ):
        compiled = _compile(course=course, version=version, language=language)
        cache.set(key, compiled, _TIMEOUT)
    _remember(key, compiled)
    if getattr(course, "_structure_rules", None) is None:
        course._structure_rules = compiled.rules
    return compiled


def _remember(key: str, compiled: CompiledOutline) -> None:
    with _LOCAL_LOCK:
        _LOCAL[key] = compiled
        _LOCAL.move_to_end(key)
        while len(_LOCAL) > _LOCAL_SIZE:
            _LOCAL.popitem(last=False)


def _compile(*, course: Course, version: int, language: str) -> CompiledOutline:
    lessons_qs = Lesson.objects.filter(course=course).defer("body", "video").order_by("order")
    sections = list(
        Section.objects.filter(course=course)
        .annotate(**section_rule_flags())
        .prefetch_related(Prefetch("lessons", queryset=lessons_qs, to_attr="outline_lessons"))
    )
    rules = course_rules_get(course=course, sections=sections)
    url_pattern = reverse(
        "progress:lesson_detail", kwargs={"course_slug": course.slug, "lesson_slug": "-slug-"}
    )
    course_url = course.get_absolute_url()
    parts = _RowParts()
    compiled_lessons: list[CompiledLesson] = []
    compiled_sections: list[CompiledSection] = []
    for section in sections:
        for lesson in section.outline_lessons:
            compiled_lessons.append(
                _lesson_compile(
                    lesson=lesson, url=url_pattern.replace("-slug-", lesson.slug), parts=parts
                )
            )
        compiled_sections.append(_section_compile(section=section, course_url=course_url))
    lesson_by_id = {lesson.id: lesson for lesson in compiled_lessons}
    hidden_sections = {s.id for s in compiled_sections if s.is_hidden}
    learner_sees = [
        lesson
        for lesson in compiled_lessons
        if lesson.is_published and not lesson.is_hidden and lesson.section_id not in hidden_sections
    ]
    visible = {
        LEARNER: _visible(compiled_sections, learner_sees, skip_sections=hidden_sections),
        EDITOR: _visible(compiled_sections, compiled_lessons, skip_sections=set()),
        EDITOR_PLAIN: _visible(
            compiled_sections,
            [lesson for lesson in compiled_lessons if not lesson.is_hidden],
            skip_sections=set(),
        ),
    }
    return CompiledOutline(
        course_id=course.pk,
        version=version,
        language=language,
        course_url=course_url,
        rules=rules,
        sections=tuple(compiled_sections),
        lessons=tuple(compiled_lessons),
        visible=visible,
        counted=tuple(
            (lesson.id, lesson.section_id, lesson.is_required) for lesson in learner_sees
        ),
        counted_ids=frozenset(lesson.id for lesson in learner_sees),
        lesson_by_id=lesson_by_id,
        section_by_id={section.id: section for section in compiled_sections},
        lesson_by_slug={lesson.slug: lesson for lesson in compiled_lessons},
    )


def _visible(
    sections: list[CompiledSection], lessons: list[CompiledLesson], *, skip_sections: set[UUID]
) -> Visible:
    by_section: dict[UUID, list[CompiledLesson]] = {}
    for lesson in lessons:
        by_section.setdefault(lesson.section_id, []).append(lesson)
    shown = [section for section in sections if section.id not in skip_sections]
    return Visible(
        section_ids=tuple(section.id for section in shown),
        lesson_ids=tuple(lesson.id for lesson in lessons),
        numbers={lesson.id: number for number, lesson in enumerate(lessons, start=1)},
        section_lessons={
            section.id: tuple(lesson.id for lesson in by_section.get(section.id, ()))
            for section in shown
        },
        section_durations={
            section.id: sum(lesson.duration_seconds for lesson in by_section.get(section.id, ()))
            for section in shown
        },
        duration_seconds=sum(lesson.duration_seconds for lesson in lessons),
        required_count=sum(1 for lesson in lessons if lesson.is_published and lesson.is_required),
    )


class _RowParts:
    """What all rows share, computed once per compilation: kind labels and icons, badges."""

    def __init__(self) -> None:
        # Imported here: the tags module imports the selectors, which import the outline.
        from catalog.templatetags.catalog_tags import icon

        self.kinds = {
            value: (str(label), icon(value, "icon icon--small"))
            for value, label in Lesson.Kind.choices
        }
        self.labels = {
            "preview": _("Preview"),
            "boss": _("Boss"),
            "draft": _("Unpublished"),
            "hidden": _("Hidden"),
        }


def _lesson_compile(*, lesson: Lesson, url: str, parts: _RowParts) -> CompiledLesson:
    from catalog.templatetags.catalog_tags import duration, iso_duration

    kind_label, kind_icon = parts.kinds[lesson.kind]
    badges = "".join(
        format_html('<span class="badge badge--{}">{}</span>', css, parts.labels[css])
        for css, shown in (
            ("preview", lesson.is_free_preview),
            ("boss", lesson.is_boss),
            ("draft", not lesson.is_published),
            ("hidden", lesson.is_hidden),  # only its editors see it
        )
        if shown
    )
    # The same markup as `catalog_tags.outline_lessons` wrote per request before.
    link = format_html('<a class="outline-lesson__link" href="{}"', url)
    rest = format_html(
        '>{}</a><span class="outline-lesson__meta"><span class="kind kind--{}">{}{}</span> '
        '<span aria-hidden="true">·</span> <time datetime="{}">{}</time></span>',
        lesson.title,
        lesson.kind,
        kind_icon,
        kind_label,
        iso_duration(lesson.duration_seconds),
        duration(lesson.duration_seconds),
    )
    row = (
        '<li class="outline-lesson{classes}"><span class="outline-lesson__number" '
        'aria-hidden="true">{number}</span><div class="outline-lesson__main">'
        + _braces(link)
        + "{current}"
        + _braces(rest)
        + "{hidden_status}</div>{tags}</li>"
    )
    return CompiledLesson(
        id=lesson.pk,
        slug=lesson.slug,
        title=lesson.title,
        kind=str(lesson.kind),
        kind_label=kind_label,
        section_id=lesson.section_id,
        order=lesson.order,
        duration_seconds=lesson.duration_seconds,
        is_published=lesson.is_published,
        is_required=lesson.is_required,
        is_free_preview=lesson.is_free_preview,
        is_boss=lesson.is_boss,
        is_hidden=lesson.is_hidden,
        xp_value=lesson.xp_value,
        url=url,
        row=row,
        badges=badges,
        payload={
            "id": str(lesson.pk),
            "slug": lesson.slug,
            "title": lesson.title,
            "kind": str(lesson.kind),
            "duration_seconds": lesson.duration_seconds,
            "order": lesson.order,
            "is_free_preview": lesson.is_free_preview,
            "is_boss": lesson.is_boss,
            "xp_value": lesson.xp_value,
            "is_hidden": lesson.is_hidden,
        },
    )


# The slots of `CompiledSection.summary` and `.sidebar`: `state` (its lock) and `meta`
# (its count and length); `.summary` has `open` too (" open" or "").
SECTION_SLOTS = ("open", "state", "meta")


def _section_compile(*, section: Section, course_url: str) -> CompiledSection:
    hidden = (
        format_html('<span class="badge badge--hidden">{}</span>', _("Hidden"))
        if section.is_hidden
        else ""
    )
    title = _braces(format_html("{}", section.title))
    anchor = f"section-{section.pk}"
    summary = (
        f'<details class="outline-section" id="{anchor}"{{open}}>\n'
        '<summary class="outline-section__summary">\n'
        f'<span class="outline-section__title">{title}</span>\n'
        f"{hidden}{{state}}\n"
        '<span class="outline-section__meta">{meta}</span>\n'
        "</summary>\n"
    )
    sidebar = (
        '<details class="sidebar-section" open>\n'
        '<summary class="sidebar-section__summary">\n'
        f'<h3 class="sidebar-section__title">{title}</h3>\n'
        f"{hidden}{{state}}\n"
        '<span class="sidebar-section__meta">{meta}</span>\n'
        "</summary>\n"
    )
    # A folded section of the lesson sidebar: its header only, a link to it on the course
    # page (whose outline lists its lessons), so the sidebar costs the same for any course.
    folded = (
        '<div class="sidebar-section sidebar-section--folded">\n'
        f'<a class="sidebar-section__summary sidebar-section__link" href="{course_url}#{anchor}">\n'
        f'<h3 class="sidebar-section__title">{title}</h3>\n'
        f"{hidden}{{state}}\n"
        '<span class="sidebar-section__meta">{meta}</span>\n'
        "</a>\n</div>\n"
    )
    return CompiledSection(
        id=section.pk,
        title=section.title,
        order=section.order,
        is_hidden=section.is_hidden,
        lesson_ids=tuple(lesson.pk for lesson in section.outline_lessons),
        anchor=anchor,
        summary=summary,
        sidebar=sidebar,
        folded=folded,
        payload={
            "id": str(section.pk),
            "title": section.title,
            "order": section.order,
            "is_hidden": section.is_hidden,
        },
    )
