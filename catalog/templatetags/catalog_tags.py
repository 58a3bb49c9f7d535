"""Template helpers for the learner pages: durations people can read, lesson-kind icons, and
the outline rows with the learner's progress marks."""

from datetime import datetime
from typing import TYPE_CHECKING

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.access import Access
from catalog.models import Lesson
from catalog.selectors import OutlineLesson

if TYPE_CHECKING:
    # Only for the annotation: catalog never imports progress at run time (dependencies point
    # from progress to catalog); the tag just reads `status_of` on what the page passes in.
    from progress.selectors import CourseProgress

register = template.Library()

# Small inline icons (24px grid, stroke-drawn) so pages need no icon font or image requests.
# Each one is decorative: the kind is always written out next to it.
ICON_PATHS = {
    "video": '<rect x="3" y="5" width="13" height="14" rx="2"/><path d="m16 10 5-3v10l-5-3"/>',
    "text": '<path d="M6 3h9l4 4v14H6z"/><path d="M9 12h7M9 16h7M9 8h3"/>',
    "quiz": '<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 '
    '1.6V14"/><path d="M12 17.5v.01"/>',
    "lab": '<path d="M9 3h6M10 3v6l-5 9a2 2 0 0 0 1.8 3h10.4a2 2 0 0 0 1.8-3l-5-9V3"/>'
    '<path d="M7.5 15h9"/>',
    "lock": '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "play": '<circle cx="12" cy="12" r="9"/><path d="m10 8.5 5 3.5-5 3.5z"/>',
    "layers": '<path d="m12 3 9 5-9 5-9-5z"/><path d="m3 13 9 5 9-5"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-4-4"/>',
    "arrow-left": '<path d="M19 12H5M11 6l-6 6 6 6"/>',
    "arrow-right": '<path d="M5 12h14M13 6l6 6-6 6"/>',
    "check": '<path d="m5 12 5 5 9-10"/>',
    "award": '<circle cx="12" cy="9" r="6"/><path d="m8.5 14-1.5 7 5-3 5 3-1.5-7"/>',
    "users": '<circle cx="9" cy="8" r="4"/>'
    '<path d="M2 21a7 7 0 0 1 14 0M16 4a4 4 0 0 1 0 8M22 21a7 7 0 0 0-4-6.3"/>',
}

# The learner's state in a lesson, as `LessonProgress.Status` values (no row: not started).
COMPLETED = "completed"
IN_PROGRESS = "in_progress"
NOT_STARTED = "not_started"


def _split(seconds: int) -> tuple[int, int, int]:
    hours, rest = divmod(max(int(seconds or 0), 0), 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs


@register.filter
def duration(seconds: int | None) -> str:
    """`90` -> "1 min 30 sec", `3900` -> "1 h 5 min": precise for short lessons, rounded for long.

    Seconds only matter for short items; past ten minutes they are noise.
    """
    hours, minutes, secs = _split(seconds or 0)
    if hours:
        if secs >= 30:
            minutes += 1
        if minutes == 60:
            hours, minutes = hours + 1, 0
        return (
            _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
            if minutes
            else _("%(hours)d h") % {"hours": hours}
        )
    if minutes >= 10:
        return _("%(minutes)d min") % {"minutes": minutes + (1 if secs >= 30 else 0)}
    if minutes:
        if secs:
            return _("%(minutes)d min %(seconds)d sec") % {"minutes": minutes, "seconds": secs}
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("%(seconds)d sec") % {"seconds": secs}


@register.filter
def iso_duration(seconds: int | None) -> str:
    """ISO 8601 duration for `<time datetime=...>`, so machines read what people read."""
    hours, minutes, secs = _split(seconds or 0)
    value = "PT"
    if hours:
        value += f"{hours}H"
    if minutes:
        value += f"{minutes}M"
    if secs or value == "PT":
        value += f"{secs}S"
    return value


@register.filter
def clock(seconds: float | None) -> str:
    """A player position as people read it on a player: `192` -> "3:12", `3723` -> "1:02:03"."""
    hours, minutes, secs = _split(int(seconds or 0))
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def lesson_count(count: int | None) -> str:
    count = count or 0
    return ngettext("%(count)d lesson", "%(count)d lessons", count) % {"count": count}


@register.simple_tag
def icon(name: str, css_class: str = "icon") -> SafeString:
    paths = ICON_PATHS.get(name, "")
    return format_html(
        '<svg class="{}" viewBox="0 0 24 24" width="20" height="20" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true" focusable="false">{}</svg>',
        css_class,
        SafeString(paths),  # constant markup from ICON_PATHS above, never user input
    )


@register.filter
def opens_at(value: datetime | None, zone=None) -> str:
    """A release instant as a learner reads it, in their zone (`user.zoneinfo`; the site's
    when None): "Tue 3 Dec, 09:00", with the year when it is not this year's."""
    if value is None:
        return ""
    zone = zone or timezone.get_current_timezone()
    local = timezone.localtime(value, zone)
    this_year = timezone.localtime(timezone.now(), zone).year
    return dateformat.format(local, "D j M, H:i" if local.year == this_year else "D j M Y, H:i")


@register.filter
def lock_reason(access: Access | None, zone=None) -> str:
    """Why the course's rules keep a section or lesson closed, and when it opens, in words
    ("Complete “Basics” first", "Opens Tue 3 Dec, 09:00", "Opens 3 days after you enroll");
    empty when open or locked by the tier only (which has its own prompt)."""
    if access is None or not access.is_structure_lock:
        return ""
    parts = []
    if access.requires:
        names = ", ".join(f"“{title}”" for title in access.requires)
        parts.append(_("Complete %(names)s first") % {"names": names})
    if access.opens_at is not None:
        parts.append(_("Opens %(when)s") % {"when": opens_at(access.opens_at, zone)})
    elif access.opens_after_days is not None and not access.requires:
        days = access.opens_after_days
        parts.append(
            ngettext(
                "Opens %(days)d day after you enroll",
                "Opens %(days)d days after you enroll",
                days,
            )
            % {"days": days}
        )
    return " · ".join(parts) or _("Not open yet")


@register.simple_tag
def outline_lessons(
    entries: list[OutlineLesson],
    current: OutlineLesson | None = None,
    progress: "CourseProgress | None" = None,
    zone=None,
    section_lock: Access | None = None,
) -> str:
    """The `<li>` rows of one outline section, with the learner's marks when `progress` is given.

    A lesson closed by the course's rules says why (`lock_reason`, times in `zone`) unless
    its section's lock (`section_lock`), shown on the section, already says it.

    Built in Python rather than with an `{% include %}` per row: a 200-lesson course renders
    its outline once on the course page and once in every lesson's sidebar, and a template
    per row cost ~0.5 ms each. Lesson URLs share one `reverse()` for the same reason.
    """
    if not entries:
        return ""
    course = entries[0].lesson.course
    url_pattern = reverse(
        "progress:lesson_detail", kwargs={"course_slug": course.slug, "lesson_slug": "-slug-"}
    )
    kinds = {
        value: (str(label), icon(value, "icon icon--small")) for value, label in Lesson.Kind.choices
    }
    labels = {
        "preview": _("Preview"),
        "boss": _("Boss"),
        "unpublished": _("Unpublished"),
        "locked": _("Locked"),
        "hidden": _("Hidden"),
    }
    # Each mark is written out: the check icon alone would say nothing to a screen reader.
    marks = {
        COMPLETED: _("Completed"),
        IN_PROGRESS: _("In progress"),
        NOT_STARTED: _("Not started"),
    }
    row = _OutlineRow(
        url_pattern=url_pattern,
        kinds=kinds,
        labels=labels,
        marks=marks,
        lock_icon=icon("lock", "icon icon--small"),
        check_icon=icon("check", "icon icon--small"),
        current_pk=current.lesson.pk if current is not None else None,
        progress=progress,
        zone=zone,
        section_lock=section_lock,
    )
    return format_html_join("", "{}", ((row.render(entry),) for entry in entries))


class _OutlineRow:
    """Renders rows with what all rows of a section share, computed once."""

    def __init__(
        self,
        *,
        url_pattern,
        kinds,
        labels,
        marks,
        lock_icon,
        check_icon,
        current_pk,
        progress,
        zone=None,
        section_lock=None,
    ):
        self.url_pattern = url_pattern
        self.kinds = kinds
        self.labels = labels
        self.marks = marks
        self.lock_icon = lock_icon
        self.check_icon = check_icon
        self.current_pk = current_pk
        self.progress = progress
        self.zone = zone
        self.section_lock = section_lock

    def render(self, entry: OutlineLesson) -> SafeString:
        lesson = entry.lesson
        is_current = lesson.pk == self.current_pk
        kind_label, kind_icon = self.kinds[lesson.kind]
        status = self.progress.status_of(lesson) if self.progress is not None else None
        tags = [
            format_html('<span class="badge badge--{}">{}</span>', css, self.labels[key])
            for key, css, shown in (
                ("preview", "preview", lesson.is_free_preview),
                ("boss", "boss", lesson.is_boss),
                ("unpublished", "draft", not lesson.is_published),
                ("hidden", "hidden", lesson.is_hidden),  # only its editors see it
            )
            if shown
        ]
        if entry.locked:
            tags.append(format_html('<span class="lock-label">{}</span>', self.labels["locked"]))
            if entry.access.is_structure_lock and entry.access != self.section_lock:
                tags.append(
                    format_html(
                        '<span class="lock-reason">{}</span>', lock_reason(entry.access, self.zone)
                    )
                )
        hidden_status = ""
        if status == NOT_STARTED:
            # Said to screen readers only: on screen, the plain number says it already.
            hidden_status = format_html(
                '<span class="visually-hidden">{}</span>', self.marks[NOT_STARTED]
            )
        elif status is not None:
            tags.append(
                format_html(
                    '<span class="progress-label progress-label--{}">{}</span>',
                    status.replace("_", "-"),
                    self.marks[status],
                )
            )
        if entry.locked:
            number = self.lock_icon
        elif status == COMPLETED:
            number = self.check_icon
        else:
            number = entry.number
        return format_html(
            '<li class="outline-lesson{}{}{}">'
            '<span class="outline-lesson__number" aria-hidden="true">{}</span>'
            '<div class="outline-lesson__main">'
            '<a class="outline-lesson__link" href="{}"{}>{}</a>'
            '<span class="outline-lesson__meta">'
            '<span class="kind kind--{}">{}{}</span> <span aria-hidden="true">·</span> '
            '<time datetime="{}">{}</time></span>{}</div>{}</li>',
            " is-locked" if entry.locked else "",
            " is-current" if is_current else "",
            f" is-{status.replace('_', '-')}" if status is not None else "",
            number,
            self.url_pattern.replace("-slug-", lesson.slug),
            SafeString(' aria-current="page"') if is_current else "",
            lesson.title,
            lesson.kind,
            kind_icon,
            kind_label,
            iso_duration(lesson.duration_seconds),
            duration(lesson.duration_seconds),
            hidden_status,
            format_html('<span class="outline-lesson__tags">{}</span>', SafeString("".join(tags)))
            if tags
            else "",
        )
