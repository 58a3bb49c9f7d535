"""Course documents: a whole course as one JSON document (export, import) and bulk creates
of sections and lessons in the same shape. README "Course documents" describes the format.

- `course_document_export(*, course, actor)`: the document (audited COURSE_EXPORTED);
- `course_document_import(*, document, actor, course=None, mode="merge")`: one transaction,
  idempotent by client ids (audited COURSE_IMPORTED, with the counts);
- `sections_bulk_create(*, course, items, actor)`, `lessons_bulk_create(*, section, items,
  actor)`: retryable by client ids.
"""

from catalog.documents.bulk import BulkItem, BulkResult, lessons_bulk_create, sections_bulk_create
from catalog.documents.export import course_document_export
from catalog.documents.importer import ImportMode, ImportResult, course_document_import
from catalog.documents.plan import DocumentWarning, Tally

__all__ = [
    "BulkItem",
    "BulkResult",
    "DocumentWarning",
    "ImportMode",
    "ImportResult",
    "Tally",
    "course_document_export",
    "course_document_import",
    "lessons_bulk_create",
    "sections_bulk_create",
]
