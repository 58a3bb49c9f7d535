"""`manage.py create_test_user`: a learner who can sign in at once, enrolled and entitled.

For testers, app developers and demos on a staging site: creates the learner (or updates the
one with that email: password and name), verified, then enrolls them in a course and grants
them a tier if asked. Safe to run again: nothing is stacked twice. Lives in progress, the top
app, because it calls the accounts, billing and progress services.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from accounts.services import user_learner_ensure
from billing.models import Plan, Tier, TierGrant
from billing.services import tier_grant_create
from catalog.models import Course
from progress.models import Enrollment
from progress.services.enrollments import enrollment_create

GRANT_SOURCE_ID = "create_test_user:{tier}"


def course_find(code: str) -> Course:
    """A course by its slug or its join code (case and spaces ignored)."""
    join_code = "".join(code.split()).upper()
    course = Course.objects.filter(Q(slug=code.strip()) | Q(join_code=join_code)).first()
    if course is None:
        raise CommandError(f"No course has the slug or join code {code!r}.")
    return course


def tier_find(name: str) -> Tier:
    """A tier by its slug or name, or the tier of a plan by the plan's slug or name."""
    name = name.strip()
    tier = Tier.objects.filter(Q(slug__iexact=name) | Q(name__iexact=name)).first()
    if tier is None:
        plan = (
            Plan.objects.select_related("tier")
            .filter(Q(slug__iexact=name) | Q(name__iexact=name))
            .first()
        )
        tier = plan.tier if plan is not None else None
    if tier is None:
        known = ", ".join(Tier.objects.values_list("slug", flat=True)) or "none yet"
        raise CommandError(f"No tier or plan is called {name!r} (tiers: {known}).")
    return tier


class Command(BaseCommand):
    help = "Create or update a verified learner, and enroll them in a course or give a tier."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", required=True, help="The learner's display name.")
        parser.add_argument("--course-code", help="A course's slug or join code to enroll in.")
        parser.add_argument("--tier", help="A tier or plan (slug or name) to grant for good.")

    def handle(self, *args, email: str, password: str, name: str, **options) -> None:
        # Look everything up first: a typo in --tier must not leave half a learner behind.
        course = course_find(options["course_code"]) if options["course_code"] else None
        tier = tier_find(options["tier"]) if options["tier"] else None
        with transaction.atomic():
            user, created = user_learner_ensure(email=email, password=password, display_name=name)
            if course is not None:
                enrollment_create(user=user, course=course, source=Enrollment.Source.STAFF)
            if tier is not None:
                tier_grant_create(
                    user=user,
                    tier=tier,
                    source=TierGrant.Source.STAFF,
                    source_id=GRANT_SOURCE_ID.format(tier=tier.slug),
                )
        self.stdout.write(f"{'Created' if created else 'Updated'} {user.email} (verified).")
        if course is not None:
            self.stdout.write(f"Enrolled in {course.title}.")
        if tier is not None:
            self.stdout.write(f"Has the {tier.name} tier.")
