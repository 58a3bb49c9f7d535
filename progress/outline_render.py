"""The outline's HTML on the course page and beside a lesson, assembled from the compiled
outline's fragments (`catalog.outline`) and one learner's overlay (`progress.overlay`).

Nothing is rendered here but the per-learner slots: a state class, a number or an icon, a
mark, a lock's reason. The markup is the one `catalog_tags.outline_lessons` and the templates
wrote before, so the pages read (and are checked for accessibility) as they were.

The lesson sidebar opens the lesson's section only; the others are a header each (title,
state, count) linking to the section on the course page, so its cost does not grow with the
course's lessons.
"""

from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.access import Access
from catalog.outline import CompiledLesson
from catalog.templatetags.catalog_tags import duration, icon, lesson_count, lock_reason
from progress.overlay import COMPLETED, NOT_STARTED, OutlineOverlay


@dataclass(frozen=True)
class _Words:
    """What every row of one page shares, translated once per language and process (the
    words are constants of the code and its catalogues)."""

    lock_icon: str
    check_icon: str
    locked_tag: str
    marks: dict[str, str]
    hidden_not_started: str
    section_locked: str
    # The slots of an open row by the learner's status (None: no marks shown): classes,
    # whether the number is the check icon, hidden status and the status's tag.
    open_slots: dict[str | None, tuple[str, bool, str, str]]

    @classmethod
    def get(cls) -> "_Words":
        language = get_language() or ""
        words = _WORDS.get(language)
        if words is None:
            words = _WORDS[language] = cls._make()
        return words

    @classmethod
    def _make(cls) -> "_Words":
        lock = str(icon("lock", "icon icon--small"))
        marks = {
            COMPLETED: escape(_("Completed")),
            "in_progress": escape(_("In progress")),
        }
        # Said to screen readers only: on screen, the plain number says it already.
        hidden_not_started = f'<span class="visually-hidden">{escape(_("Not started"))}</span>'
        open_slots: dict[str | None, tuple[str, bool, str, str]] = {None: ("", False, "", "")}
        for status in (NOT_STARTED, "in_progress", COMPLETED):
            css = status.replace("_", "-")
            open_slots[status] = (
                f" is-{css}",
                status == COMPLETED,
                hidden_not_started if status == NOT_STARTED else "",
                ""
                if status == NOT_STARTED
                else f'<span class="progress-label progress-label--{css}">{marks[status]}</span>',
            )
        return cls(
            lock_icon=lock,
            check_icon=str(icon("check", "icon icon--small")),
            locked_tag=f'<span class="lock-label">{escape(_("Locked"))}</span>',
            marks=marks,
            hidden_not_started=hidden_not_started,
            section_locked=f'<span class="section-lock">{lock}<span class="lock-label">'
            f"{escape(_('Locked'))}</span> ",
            open_slots=open_slots,
        )


_WORDS: dict[str, _Words] = {}


def _row(
    lesson: CompiledLesson,
    *,
    access: Access,
    number: int,
    status: str | None,
    current: bool,
    section_lock: Access | None,
    zone,
    words: _Words,
) -> str:
    locked = access.locked
    tags = lesson.badges
    if locked:
        tags += words.locked_tag
        if access.is_structure_lock and access != section_lock:
            tags += f'<span class="lock-reason">{escape(lock_reason(access, zone))}</span>'
    hidden_status = ""
    classes = ""
    if locked:
        classes += " is-locked"
    if current:
        classes += " is-current"
    if status is not None:
        css = status.replace("_", "-")
        classes += f" is-{css}"
        if status == NOT_STARTED:
            hidden_status = words.hidden_not_started
        else:
            tags += (
                f'<span class="progress-label progress-label--{css}">{words.marks[status]}</span>'
            )
    return lesson.row.format(
        classes=classes,
        number=words.lock_icon if locked else words.check_icon if status == COMPLETED else number,
        current=' aria-current="page"' if current else "",
        hidden_status=hidden_status,
        tags=f'<span class="outline-lesson__tags">{tags}</span>' if tags else "",
    )


def _rows(
    overlay: OutlineOverlay,
    lesson_ids: tuple[UUID, ...],
    *,
    marks: bool,
    current_id: UUID | None,
    section_lock: Access | None,
    zone,
    words: _Words,
) -> str:
    """The rows of these lessons. An open row that is not the current lesson (most rows)
    takes its slots from `words.open_slots` by status; the others go through `_row`."""
    by_id = overlay.compiled.lesson_by_id
    numbers = overlay.visible.numbers
    decision = overlay.access
    structure = overlay.structure
    # Each row's access is the course's decision unless the tier or a rule says otherwise.
    per_lesson = decision.locked or (
        not structure.bypass and bool(structure.section_locks or structure.lesson_locks)
    )
    statuses = overlay.marks if marks else None
    open_slots = words.open_slots
    check_icon = words.check_icon
    parts = []
    for pk in lesson_ids:
        lesson = by_id[pk]
        access = overlay.access_of(pk) if per_lesson else decision
        mark = statuses.get(pk) if statuses is not None else None
        status = (mark.status if mark is not None else NOT_STARTED) if marks else None
        if access.locked or pk == current_id:
            parts.append(
                _row(
                    lesson,
                    access=access,
                    number=numbers[pk],
                    status=status,
                    current=pk == current_id,
                    section_lock=section_lock,
                    zone=zone,
                    words=words,
                )
            )
            continue
        classes, checked, hidden_status, mark_tag = open_slots[status]
        tags = lesson.badges + mark_tag
        parts.append(
            lesson.row.format(
                classes=classes,
                number=check_icon if checked else numbers[pk],
                current="",
                hidden_status=hidden_status,
                tags=f'<span class="outline-lesson__tags">{tags}</span>' if tags else "",
            )
        )
    return "".join(parts)


def _state(lock: Access | None, *, zone, words: _Words) -> str:
    if lock is None:
        return ""
    reason = escape(lock_reason(lock, zone))
    return f'{words.section_locked}<span class="lock-reason">{reason}</span></span>'


@lru_cache(maxsize=4096)
def _meta(language: str, count: int, seconds: int | None = None) -> str:
    """A section header's "12 lessons · 1 h 5 min" (or the count alone), escaped; kept per
    language (the caller's active one), as a course's sections repeat few of them."""
    meta = lesson_count(count)
    if seconds is not None:
        meta += f" · {duration(seconds)}"
    return escape(meta)


def course_outline_html(
    *, overlay: OutlineOverlay, open_section_id: UUID | None, marks: bool, zone
) -> SafeString:
    """The course page's outline: every section, `open_section_id` unfolded, each with its
    lessons; the learner's marks when `marks` (enrolled learners)."""
    words = _Words.get()
    language = get_language() or ""
    visible = overlay.visible
    parts = []
    for section_id in visible.section_ids:
        section = overlay.compiled.section_by_id[section_id]
        lock = overlay.section_lock(section_id)
        ids = visible.section_lessons[section_id]
        parts.append(
            section.summary.format(
                open=" open" if section_id == open_section_id else "",
                state=_state(lock, zone=zone, words=words),
                meta=_meta(language, len(ids), visible.section_durations[section_id]),
            )
        )
        if ids:
            rows = _rows(
                overlay,
                ids,
                marks=marks,
                current_id=None,
                section_lock=lock,
                zone=zone,
                words=words,
            )
            parts.append(f'<ol class="outline-lessons" role="list">{rows}</ol>\n')
        else:
            empty = escape(_("Lessons for this part are coming soon."))
            parts.append(f'<p class="outline-section__empty">{empty}</p>\n')
        parts.append("</details>\n")
    if not parts:
        empty = escape(_("The outline of this course is being written."))
        parts.append(f'<div class="empty-state empty-state--compact"><p>{empty}</p></div>\n')
    return mark_safe("".join(parts))  # noqa: S308 - fragments escaped when compiled, slots here


def sidebar_outline_html(
    *, overlay: OutlineOverlay, current_id: UUID, section_id: UUID, marks: bool, zone
) -> SafeString:
    """The lesson sidebar's outline: the lesson's section (`section_id`) with its lessons,
    the others folded to a header linking to them on the course page."""
    words = _Words.get()
    language = get_language() or ""
    visible = overlay.visible
    parts = []
    for shown_id in visible.section_ids:
        section = overlay.compiled.section_by_id[shown_id]
        lock = overlay.section_lock(shown_id)
        ids = visible.section_lessons[shown_id]
        state = _state(lock, zone=zone, words=words)
        meta = _meta(language, len(ids))
        if shown_id != section_id:
            parts.append(section.folded.format(state=state, meta=meta))
            continue
        rows = _rows(
            overlay,
            ids,
            marks=marks,
            current_id=current_id,
            section_lock=lock,
            zone=zone,
            words=words,
        )
        parts.append(
            section.sidebar.format(state=state, meta=meta)
            + f'<ol class="outline-lessons outline-lessons--compact" role="list">{rows}</ol>\n'
            + "</details>\n"
        )
    return mark_safe("".join(parts))  # noqa: S308 - fragments escaped when compiled, slots here
