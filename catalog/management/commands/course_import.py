"""`manage.py course_import <file> [--course <slug>] [--replace]`: import a course document.

Creates the course the document describes (a draft), or updates the course it names (by its
client id, or its uuid here), in one transaction: all or nothing. Importing the same file
twice changes nothing the second time. Run by an operator, it checks no author's rights and
the API's body limit does not apply (the sections and lessons limit,
LMS_COURSE_DOCUMENT_MAX_LESSONS, does). README "Course documents" describes the format.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.documents import ImportMode, ImportResult, course_document_import
from catalog.models import Course
from lms.errors import ApplicationError


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


class Command(BaseCommand):
    help = "Import a course document (JSON): a new draft course, or changes to the one it names."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The document (JSON); '-' reads standard input.")
        parser.add_argument(
            "--course", help="Import into the course with this slug, whatever the document says."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the sections and lessons the document does not name (refused when "
            "learners have data in a lesson to delete).",
        )

    def handle(self, *args, file: str, course: str | None, replace: bool, **options) -> None:
        document = self._read(file)
        target = None
        if course is not None:
            target = Course.objects.filter(slug=course).first()
            if target is None:
                raise CommandError(f"No course has the slug {course!r}.")
        mode = ImportMode.REPLACE if replace else ImportMode.MERGE
        try:
            result = course_document_import(document=document, actor=None, course=target, mode=mode)
        except ApplicationError as error:
            lines = [f"{error.code}: {error.message}"]
            lines += [f"  {path}: {' '.join(messages)}" for path, messages in error.fields.items()]
            raise CommandError("\n".join(lines)) from error
        self._report(result)

    def _read(self, file: str) -> object:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
        try:
            return json.loads(text, parse_constant=_not_json)
        except (json.JSONDecodeError, ValueError) as error:
            raise CommandError(f"{file} is not JSON: {error}") from error
        except RecursionError as error:
            raise CommandError(f"{file} nests too deeply to be a course document.") from error

    def _report(self, result: ImportResult) -> None:
        course = result.course
        verb = "Created" if result.course_created else "Updated"
        self.stdout.write(f"{verb} {course.title!r} ({course.slug}, id {course.pk}).")
        for label, tally in (
            ("created", result.created),
            ("updated", result.updated),
            ("unchanged", result.unchanged),
            ("deleted", result.deleted),
            ("kept", result.kept),
        ):
            counts = ", ".join(
                f"{count} {name}" for name, count in tally.as_dict().items() if count
            )
            if counts:
                self.stdout.write(f"  {label}: {counts}")
        for warning in result.warnings:
            self.stderr.write(f"  warning: {warning.path}: {warning.message}")
