"""`manage.py seed_demo_showcase`: the demo school's projects, through showcase's services.

`seed_demo` runs it at its end when this app is installed (by name, through `call_command`,
so `progress` never imports `showcase`); it can also run on its own after `seed_demo`. It
needs the demo people and courses that `seed_demo` creates.

Two projects authored by staff and one by the demo learner are approved (so /projects/
shows cards, tags and course links), and one more of the learner's waits for review (so
"My projects" and the admin's review have something to do). Idempotent: projects are found
by slug and only missing ones are created; tags by slug.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from catalog.models import Course
from progress import management as progress_management
from showcase.models import Project, Tag
from showcase.services import LinkSpec, project_approve, project_create, tag_ensure
from showcase.thumbnails import thumbnail_from_upload

# The demo school's people, and its pictures (progress/management/demo_assets).
STAFF_EMAIL = "staff@example.com"
LEARNER_EMAIL = "learner@example.com"
ASSETS = Path(progress_management.__file__).resolve().parent / "demo_assets"

TAGS = (
    ("Python", "python"),
    ("Games", "games"),
    ("Salsa", "salsa"),
    ("Contemporary", "contemporary"),
    ("Choreography", "choreography"),
    ("Live performance", "live-performance"),
)


@dataclass(frozen=True)
class DemoProject:
    slug: str
    title: str
    summary: str
    detail: str
    author: str  # "staff" or "learner"
    course: str
    tags: tuple[str, ...]
    approved: bool
    picture: str = ""
    links: tuple[tuple[str, str], ...] = ()
    note: str = ""


PROJECTS = (
    DemoProject(
        slug="salsa-spring-recital",
        title="Spring recital: Salsa Foundations on stage",
        summary="Twelve learners of Salsa Foundations dance the course's final routine live.",
        detail=(
            "Our spring recital closed the term: **twelve learners**, one routine, the basic "
            "step, the cross-body lead and three shines from the course.\n\n"
            "## How we prepared\n\n- Four weeks of practice nights\n- Counting out loud, "
            "always\n- A dress rehearsal the day before"
        ),
        author="staff",
        course="salsa-foundations",
        tags=("salsa", "choreography", "live-performance"),
        approved=True,
        picture="salsa-foundations.webp",
        links=(("Recital video", "https://example.com/videos/spring-recital"),),
    ),
    DemoProject(
        slug="night-sky-full-piece",
        title="Night Sky, the full piece",
        summary="The contemporary choreography of the course, danced in one take at dusk.",
        detail=(
            "The whole *Night Sky* choreography, from the floor work to the final turn, filmed "
            "in one take on the roof of the studio."
        ),
        author="staff",
        course="contemporary-choreo-night-sky",
        tags=("contemporary", "choreography"),
        approved=True,
        picture="contemporary-choreo-night-sky.webp",
    ),
    DemoProject(
        slug="number-guessing-game",
        title="Number guessing game",
        summary="My first program: the computer picks a number and tells me warmer or colder.",
        detail=(
            "I wrote this after the lesson on variables and types. It uses a `while` loop, "
            "`input()` and `random.randint`.\n\n```python\nsecret = random.randint(1, 100)\n```"
        ),
        author="learner",
        course="python-for-beginners",
        tags=("python", "games"),
        approved=True,
        picture="python-for-beginners.webp",
        links=(("Source code", "https://example.com/lee/number-guessing-game"),),
        note="A great first program. Thanks for sharing it!",
    ),
    DemoProject(
        slug="my-first-shines",
        title="My first shines",
        summary="Suzie Q and the cross-over, practised every evening for two weeks.",
        detail="A short clip of my shines, recorded in the living room.",
        author="learner",
        course="salsa-foundations",
        tags=("salsa",),
        approved=False,
    ),
)


class Command(BaseCommand):
    help = (
        "Create or refresh the demo school's showcase (approved projects by staff and the demo "
        "learner, and one waiting for review). Run after seed_demo."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (as seed_demo does).",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("DEBUG is off: pass --allow-production for a throwaway site.")
        people = {
            "staff": User.objects.filter(email__iexact=STAFF_EMAIL).first(),
            "learner": User.objects.filter(email__iexact=LEARNER_EMAIL).first(),
        }
        courses = {course.slug: course for course in Course.objects.all()}
        wanted = {demo.course for demo in PROJECTS}
        if None in people.values() or not wanted <= set(courses):
            raise CommandError("The demo school is missing: run `manage.py seed_demo` first.")
        with transaction.atomic():
            tags = {slug: tag_ensure(name=name, slug=slug) for name, slug in TAGS}
            for demo in PROJECTS:
                self._project_ensure(demo, people=people, courses=courses, tags=tags)
        self._report()

    def _project_ensure(
        self,
        demo: DemoProject,
        *,
        people: dict[str, User],
        courses: dict[str, Course],
        tags: dict[str, Tag],
    ) -> Project:
        existing = Project.objects.filter(slug=demo.slug).first()
        if existing is not None:
            return existing
        thumbnail = None
        if demo.picture:
            data = (ASSETS / demo.picture).read_bytes()
            upload = SimpleUploadedFile(demo.picture, data, content_type="image/webp")
            thumbnail = thumbnail_from_upload(upload)
        project, _created = project_create(
            author=people[demo.author],
            slug=demo.slug,
            title=demo.title,
            summary=demo.summary,
            detail=demo.detail,
            course=courses[demo.course],
            tags=[tags[slug] for slug in demo.tags],
            links=[LinkSpec(label=label, url=url) for label, url in demo.links],
            thumbnail=thumbnail,
        )
        if demo.approved:
            project = project_approve(actor=people["staff"], project=project, note=demo.note)
        return project

    def _report(self) -> None:
        public = Project.objects.filter(status=Project.Status.APPROVED, deleted_at__isnull=True)
        waiting = Project.objects.filter(status=Project.Status.SUBMITTED, deleted_at__isnull=True)
        self.stdout.write(
            f"Showcase: {public.count()} public projects and {waiting.count()} waiting for "
            "review -> /projects/"
        )
