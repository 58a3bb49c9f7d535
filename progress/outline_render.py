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
from uuid import UUID

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from catalog.access import Access
from catalog.outline import CompiledLesson
from catalog.templatetags.catalog_tags import duration, icon, lesson_count, lock_reason
from progress.overlay import COMPLETED, NOT_STARTED, OutlineOverlay


@dataclass(frozen=True)
class _Words:
    """What every row of one page shares, translated once."""

    lock_icon: str
    check_icon: str
    locked_tag: str
    marks: dict[str, str]
    hidden_not_started: str
    section_locked: str

    @classmethod
    def get(cls) -> "_Words":
        lock = str(icon("lock", "icon icon--small"))
        marks = {
            COMPLETED: escape(_("Completed")),
            "in_progress": escape(_("In progress")),
        }
        return cls(
            lock_icon=lock,
            check_icon=str(icon("check", "icon icon--small")),
            locked_tag=f'<span class="lock-label">{escape(_("Locked"))}</span>',
            marks=marks,
            # Said to screen readers only: on screen, the plain number says it already.
            hidden_not_started=f'<span class="visually-hidden">{escape(_("Not started"))}</span>',
            section_locked=f'<span class="section-lock">{lock}<span class="lock-label">'
            f"{escape(_('Locked'))}</span> ",
        )


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
    by_id = overlay.compiled.lesson_by_id
    numbers = overlay.visible.numbers
    return "".join(
        _row(
            by_id[pk],
            access=overlay.access_of(pk),
            number=numbers[pk],
            status=overlay.status_of(pk) if marks else None,
            current=pk == current_id,
            section_lock=section_lock,
            zone=zone,
            words=words,
        )
        for pk in lesson_ids
    )


def _state(lock: Access | None, *, zone, words: _Words) -> str:
    if lock is None:
        return ""
    reason = escape(lock_reason(lock, zone))
    return f'{words.section_locked}<span class="lock-reason">{reason}</span></span>'


def course_outline_html(
    *, overlay: OutlineOverlay, open_section_id: UUID | None, marks: bool, zone
) -> SafeString:
    """The course page's outline: every section, `open_section_id` unfolded, each with its
    lessons; the learner's marks when `marks` (enrolled learners)."""
    words = _Words.get()
    visible = overlay.visible
    parts = []
    for section_id in visible.section_ids:
        section = overlay.compiled.section_by_id[section_id]
        lock = overlay.section_lock(section_id)
        ids = visible.section_lessons[section_id]
        meta = f"{lesson_count(len(ids))} · {duration(visible.section_durations[section_id])}"
        parts.append(
            section.summary.format(
                open=" open" if section_id == open_section_id else "",
                state=_state(lock, zone=zone, words=words),
                meta=escape(meta),
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
    visible = overlay.visible
    parts = []
    for shown_id in visible.section_ids:
        section = overlay.compiled.section_by_id[shown_id]
        lock = overlay.section_lock(shown_id)
        ids = visible.section_lessons[shown_id]
        state = _state(lock, zone=zone, words=words)
        meta = escape(lesson_count(len(ids)))
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
