"""Compiled course outlines and the content versions that key them (issue 18).

`versions`: a number per course, and one for the whole catalog, bumped by every change of a
course's content (the receivers in `catalog.signals`, at once and again at commit). Every
cache of what a course shows (the compiled outline, anonymous whole pages) is keyed by them,
so a change shows at once without deleting anything.
"""

from catalog.outline.versions import (
    catalog_version_get,
    content_versions_bump,
    course_version_get,
    course_versions_get,
)

__all__ = [
    "catalog_version_get",
    "content_versions_bump",
    "course_version_get",
    "course_versions_get",
]
