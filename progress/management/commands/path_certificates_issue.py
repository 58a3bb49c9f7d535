"""`manage.py path_certificates_issue`: issue the path certificates learners have earned but
not received, for paths changed outside the admin (a shell, a data import). Idempotent."""

from django.core.management.base import BaseCommand, CommandParser

from progress.paths.models import LearningPath
from progress.paths.services import path_certificates_backfill_all


class Command(BaseCommand):
    help = (
        "Issue the certificate of every published learning path to each learner who has "
        "completed all its courses and has none yet. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", metavar="SLUG", help="Only this path.")

    def handle(self, *args, path: str | None = None, **options) -> None:
        paths = LearningPath.objects.all()
        if path:
            paths = paths.filter(slug=path)
        issued = path_certificates_backfill_all(paths=paths)
        self.stdout.write(f"Path certificates issued: {issued}")
