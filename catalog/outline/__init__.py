"""Compiled course outlines and the content versions that key them (issue 18).

`versions`: a number per course, and one for the whole catalog, bumped by every change of a
course's content (the receivers in `catalog.signals`, at once and again at commit). Every
cache of what a course shows (the compiled outline, anonymous whole pages) is keyed by them,
so a change shows at once without deleting anything.

`compiled`: the compiled outline of a course (`outline_compiled_get`), what every learner
surface shows of its sections and lessons, as plain data and HTML fragments with slots for
the per-learner overlay (`progress.overlay`).
"""

from catalog.outline.compiled import (
    OUTLINE_ROW_SLOTS,
    SECTION_SLOTS,
    CompiledLesson,
    CompiledOutline,
    CompiledSection,
    Visible,
    outline_compiled_get,
)
from catalog.outline.versions import (
    catalog_version_get,
    content_versions_bump,
    course_version_get,
    course_versions_get,
)

__all__ = [
    "OUTLINE_ROW_SLOTS",
    "SECTION_SLOTS",
    "CompiledLesson",
    "CompiledOutline",
    "CompiledSection",
    "Visible",
    "catalog_version_get",
    "content_versions_bump",
    "course_version_get",
    "course_versions_get",
    "outline_compiled_get",
]
