"""`manage.py course_export <slug> [-o file]`: a course as a course document (JSON).

The document is what `GET /api/v1/manage/courses/<id>/export/` answers; import it here or in
another school with `manage.py course_import` (README "Course documents"). Audited as an
export with no actor.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.documents import course_document_export
from catalog.models import Course


class Command(BaseCommand):
    help = "Write a course as a course document (JSON) to a file or to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The course's slug.")
        parser.add_argument("-o", "--output", help="The file to write (default: standard output).")

    def handle(self, *args, slug: str, output: str | None, **options) -> None:
        course = Course.objects.filter(slug=slug).first()
        if course is None:
            raise CommandError(f"No course has the slug {slug!r}.")
        text = json.dumps(course_document_export(course=course), indent=2, ensure_ascii=False)
        if output is None:
            self.stdout.write(text)
            return
        Path(output).write_text(f"{text}\n", encoding="utf-8")
        self.stderr.write(f"Wrote {course.title!r} to {output}.")
