"""`manage.py seed_demo`: the demo school, created or refreshed through the apps' services.

Idempotent: rows are found by slug or email and only missing ones are created, so running
it twice leaves the same rows. The demo passwords are reset on every run so the printed
credentials always work.

Each tier gets a plan with placeholder Stripe price ids (`price_demo_<plan>_monthly`), so
/pricing/ has something to show; the demo runs with payments off until a Stripe key is set.
Plans are created once and then left to the admin (like quizzes).
Besides the courses it gives every demo quiz lesson its questions, one members course a join
code, and the demo learner a few completed lessons, so "My learning" is not empty.
An instructor (no staff rights) teaches Salsa Foundations, to see the admin as instructors do.
Bachata Step by Step shows every structure rule (sequential sections, a section released 3
days after enrolling, a hidden section, a section prerequisite; set when its sections are
created, then left to staff), and the learning path Social Dance Starter takes Salsa
Foundations then Bachata Step by Step (created once, published).
Then, when the apps are installed, `seed_demo_community` adds a course chat, a lesson
discussion and an announcement, and `seed_demo_analytics` a month of demo learners' activity
for the dashboards (called by name: `progress` imports nothing above it).
"""

import math
from dataclasses import dataclass
from pathlib import Path

from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_avatar_set, user_profile_update, user_role_set
from billing.gateway import billing_enabled
from billing.models import Plan, Tier
from billing.services import plan_ensure, tier_ensure
from catalog.models import Course, Lesson, Question, Quiz, Section
from catalog.quizzes import QuestionSpec, quiz_create
from catalog.services import (
    course_create,
    course_join_code_rotate,
    course_publish,
    course_update,
    lesson_create,
    lesson_update,
    section_create,
)
from media.models import Video
from media.services import video_file_ensure
from progress.management import demo_school
from progress.management.demo_school import DemoCourse, DemoPlan, DemoSection, DemoUser
from progress.models import LessonProgress
from progress.paths.models import LearningPath
from progress.paths.services import path_create
from progress.selectors import dashboard_get
from progress.services import lesson_complete

# The demo school's pictures, drawn once by demo_assets/make_artwork.py and committed.
DEMO_ASSETS = Path(__file__).resolve().parent.parent / "demo_assets"


@dataclass(frozen=True)
class DemoQuestion:
    kind: str
    prompt: str
    explanation: str
    choices: tuple[tuple[str, bool], ...] = ()
    accepted_answers: tuple[str, ...] = ()


SINGLE, MULTIPLE, SHORT = Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.SHORT

# The rules of the demo quizzes: three attempts to pass, no wait (so a demo learner can fail
# once and pass straight after), the answers shown once passed or out of attempts.
DEMO_QUIZ_RULES = {
    "max_attempts": 3,
    "retry_wait_minutes": 0,
    "reveal_answers": Quiz.Reveal.AFTER_LAST_ATTEMPT,
}

# The questions of the demo quiz lessons, by (course slug, lesson slug), created through the
# catalog's `quiz_create` with DEMO_QUIZ_RULES.
DEMO_QUIZZES: dict[tuple[str, str], tuple[DemoQuestion, ...]] = {
    ("salsa-foundations", "timing-check"): (
        DemoQuestion(
            SINGLE,
            "On which counts do you **pause**?",
            "You step on 1-2-3 and 5-6-7 and pause on 4 and 8.",
            choices=(("1 and 5", False), ("4 and 8", True), ("2 and 6", False)),
        ),
        DemoQuestion(
            SINGLE,
            "Which foot does the leader start with?",
            "The leader starts forward with the **left** foot; the follower mirrors it.",
            choices=(("Left", True), ("Right", False)),
        ),
        DemoQuestion(
            SHORT,
            "How many beats make one full basic step?",
            "One basic step is one phrase of **eight** counts.",
            accepted_answers=("8", "eight"),
        ),
    ),
    ("python-for-beginners", "quiz-basics"): (
        DemoQuestion(
            SHORT,
            "What does `print(2 + 3)` show?",
            "Python adds the numbers first, then prints the result: `5`.",
            accepted_answers=("5", "five"),
        ),
        DemoQuestion(
            SINGLE,
            'What is the type of `"42"`?',
            "The quotes make it text: a `str`, even though it looks like a number.",
            choices=(("`str`", True), ("`int`", False), ("`float`", False)),
        ),
        DemoQuestion(
            MULTIPLE,
            "Which of these are valid variable names?",
            "Names start with a letter or `_` and contain only letters, digits and `_`.",
            choices=(
                ("`fast_2`", True),
                ("`_fast`", True),
                ("`2fast`", False),
                ("`fast-2`", False),
            ),
        ),
    ),
    ("contemporary-choreo-night-sky", "counts-quiz"): (
        DemoQuestion(
            SINGLE,
            "On which counts does the first descent happen?",
            "You spiral down to the floor on 5-8 and roll through on 9-12.",
            choices=(("1-4", False), ("5-8", True), ("9-12", False)),
        ),
        DemoQuestion(
            SINGLE,
            "What drives the orbit?",
            "The hips drive the pivot; the hands only trail.",
            choices=(("The hands", False), ("The hips", True), ("The shoulders", False)),
        ),
    ),
}

# The members course whose join code is printed, and the lessons the demo learner has done.
JOIN_CODE_COURSE = "python-for-beginners"
LEARNER_COMPLETED = (
    ("salsa-foundations", "why-counting-matters"),
    ("salsa-foundations", "practice-lab"),
    ("python-for-beginners", "variables-and-types"),
)


class Command(BaseCommand):
    help = (
        "Create or refresh the demo school: tiers and their plans, a staff user and a learner "
        "with printed credentials, three published courses, one course showing every "
        "structure rule and a learning path. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--large-course",
            type=int,
            default=0,
            metavar="N",
            help=(
                f"Also make sure the public course '{demo_school.LARGE_COURSE_SLUG}' has "
                "lessons 1..N (for benchmarks and query budgets)."
            ),
        )
        parser.add_argument(
            "--analytics-learners",
            type=int,
            default=None,
            metavar="N",
            help="How many demo learners seed_demo_analytics adds (its default: 40).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (it creates a superuser with a published password).",
        )

    def handle(
        self,
        *args,
        large_course: int,
        allow_production: bool,
        analytics_learners: int | None,
        **options,
    ) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off: seed_demo creates a superuser with a published password. "
                "Pass --allow-production if this really is a throwaway site."
            )
        if large_course < 0:
            raise CommandError("--large-course must be zero or a positive number of lessons.")

        self.created_lessons = 0
        with transaction.atomic():
            tiers = {
                tier.slug: tier_ensure(
                    slug=tier.slug, name=tier.name, rank=tier.rank, description=tier.description
                )
                for tier in demo_school.TIERS
            }
            plans = [self._plan_ensure(demo, tiers=tiers) for demo in demo_school.PLANS]
            staff = self._user_ensure(demo_school.STAFF)
            learner = self._user_ensure(demo_school.LEARNER)
            self.clips = self._clips_ensure(staff)
            courses = [
                self._course_ensure(demo, tiers=tiers, instructor=staff)
                for demo in (*demo_school.COURSES, demo_school.RULES_COURSE)
            ]
            self._instructor_ensure(self._user_ensure(demo_school.INSTRUCTOR))
            quizzes = self._quizzes_ensure()
            join_course = self._join_code_ensure()
            self._learner_progress_ensure(learner)
            path = self._path_ensure(demo_school.PATH)
            if large_course:
                courses.append(self._large_course_ensure(large_course, instructor=staff))

        self._report(tiers=list(tiers.values()), plans=plans, courses=courses)
        self._report_learning(quizzes=quizzes, join_course=join_course, learner=learner)
        self._report_rules(path=path)
        self._apps_above_ensure(
            allow_production=allow_production, analytics_learners=analytics_learners
        )

    def _apps_above_ensure(self, *, allow_production: bool, analytics_learners: int | None) -> None:
        """The apps above `progress` seed their own part of the demo school, by command name
        (this app imports none of them): the community's chat, discussion and announcement,
        then the analytics' demo learners and their month of activity."""
        learners = {} if analytics_learners is None else {"learners": analytics_learners}
        for app, command, options in (
            ("community", "seed_demo_community", {}),
            ("analytics", "seed_demo_analytics", learners),
            ("showcase", "seed_demo_showcase", {}),
        ):
            if apps.is_installed(app):
                call_command(
                    command, allow_production=allow_production, stdout=self.stdout, **options
                )

    def _instructor_ensure(self, instructor: User) -> None:
        """The demo instructor: the instructor role (a rerun finds it and records nothing)
        and a teacher of INSTRUCTOR_COURSES, next to the courses' other instructors."""
        user_role_set(user=instructor, role=Role.INSTRUCTOR, actor=None)
        for course in Course.objects.filter(slug__in=demo_school.INSTRUCTOR_COURSES):
            teachers = list(course.instructors.all())
            if instructor not in teachers:
                course_update(course=course, data={"instructors": [*teachers, instructor]})

    def _user_ensure(self, demo: DemoUser) -> User:
        user = User.objects.filter(email__iexact=demo.email).first()
        if user is None:
            create = User.objects.create_superuser if demo.is_staff else User.objects.create_user
            user = create(demo.email, demo.password, display_name=demo.display_name)
        else:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
        # Sign-in verifies email addresses first (allauth, mandatory): the demo people's
        # printed addresses count as verified, so they can sign in straight away.
        EmailAddress.objects.update_or_create(
            user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
        )
        return self._profile_ensure(user, demo)

    def _profile_ensure(self, user: User, demo: DemoUser) -> User:
        """The demo person's bio and picture (the course pages show them), set once: a rerun
        keeps what they changed since."""
        if demo.bio and not user.bio:
            user = user_profile_update(user=user, bio=demo.bio)
        if demo.picture and not user.avatar:
            data = (DEMO_ASSETS / demo.picture).read_bytes()
            upload = SimpleUploadedFile(demo.picture, data, content_type="image/webp")
            user = user_avatar_set(user=user, upload=upload)
        return user

    def _thumbnail_ensure(self, course: Course) -> Course:
        """The course's picture from demo_assets/<slug>.webp, set once (staff may replace it)."""
        artwork = DEMO_ASSETS / f"{course.slug}.webp"
        if course.thumbnail or not artwork.exists():
            return course
        with artwork.open("rb") as picture:
            return course_update(course=course, data={"thumbnail": File(picture, artwork.name)})

    def _plan_ensure(self, demo: DemoPlan, *, tiers: dict[str, Tier]) -> Plan:
        """The demo plan, created once. An existing one is left alone: staff may have put the
        ids of their own Stripe test prices on it, which a rerun must not undo."""
        existing = Plan.objects.select_related("tier").filter(slug=demo.slug).first()
        if existing is not None:
            return existing
        return plan_ensure(
            slug=demo.slug,
            tier=tiers[demo.tier_slug],
            name=demo.name,
            description=demo.description,
            features="\n".join(demo.features),
            stripe_price_monthly=demo.stripe_price_monthly,
            stripe_price_yearly=demo.stripe_price_yearly,
            display_price_monthly=demo.display_price_monthly,
            display_price_yearly=demo.display_price_yearly,
            order=demo.order,
        )

    def _clips_ensure(self, staff: User) -> list[Video]:
        """The sample clips as file videos (created once), for every demo video lesson."""
        return [
            video_file_ensure(
                title=title, path=demo_school.DEMO_CLIPS_DIR / filename, created_by=staff
            )
            for filename, title in demo_school.DEMO_CLIPS
        ]

    def _clip_for(self, number: int) -> dict:
        """A video lesson's clip and its duration (lessons take turns with the clips)."""
        clip = self.clips[number % len(self.clips)]
        return {"video": clip, "duration_seconds": round(clip.duration_seconds or 0)}

    def _clips_attach(self, course: Course) -> None:
        """Give the course's video lessons that have no video a clip (lessons staff gave a
        video keep it)."""
        lessons = course.lessons.filter(kind=Lesson.Kind.VIDEO, video__isnull=True)
        for number, lesson in enumerate(lessons.order_by("section__order", "order")):
            lesson_update(lesson=lesson, data=self._clip_for(number))

    def _sections_ensure(
        self, course: Course, titles: list[str], demos: tuple[DemoSection, ...] = ()
    ) -> list[Section]:
        """The course's sections by title, the missing ones created with the structure rules
        of their demo (a rerun leaves existing sections and their rules to staff)."""
        existing = {section.title: section for section in course.sections.all()}
        rules = {demo.title: demo for demo in demos}
        sections = []
        for title in titles:
            section = existing.get(title)
            if section is None:
                demo = rules.get(title)
                section = section_create(
                    course=course,
                    title=title,
                    **(self._section_rules(demo, existing) if demo else {}),
                )
                existing[title] = section
            sections.append(section)
        return sections

    @staticmethod
    def _section_rules(demo: DemoSection, existing: dict[str, Section]) -> dict:
        return {
            "is_hidden": demo.hidden,
            "release_after_days": demo.release_after_days,
            "prerequisites": [existing[title] for title in demo.prerequisites],
        }

    def _course_ensure(
        self, demo: DemoCourse, *, tiers: dict[str, Tier], instructor: User
    ) -> Course:
        course = Course.objects.filter(slug=demo.slug).first()
        if course is None:
            course = course_create(
                title=demo.title,
                slug=demo.slug,
                subtitle=demo.subtitle,
                description=demo.description,
                course_type=demo.course_type,
                difficulty=demo.difficulty,
                visibility=demo.visibility,
                required_tier=tiers[demo.tier_slug] if demo.tier_slug else None,
                instructors=[instructor],
                progression=demo.progression,
            )
        course = self._thumbnail_ensure(course_publish(course=course))
        sections = self._sections_ensure(
            course, [section.title for section in demo.sections], demo.sections
        )
        existing_slugs = set(course.lessons.values_list("slug", flat=True))
        for section, demo_section in zip(sections, demo.sections, strict=True):
            for lesson in demo_section.lessons:
                if lesson.slug in existing_slugs:
                    continue
                video = (
                    self._clip_for(self.created_lessons) if lesson.kind == Lesson.Kind.VIDEO else {}
                )
                lesson_create(
                    section=section,
                    title=lesson.title,
                    slug=lesson.slug,
                    kind=lesson.kind,
                    body=lesson.body,
                    is_free_preview=lesson.free_preview,
                    is_boss=lesson.boss,
                    xp_value=lesson.xp,
                    **{"duration_seconds": lesson.minutes * 60, **video},
                )
                self.created_lessons += 1
        self._clips_attach(course)
        return course

    def _path_ensure(self, demo: demo_school.DemoPath) -> LearningPath:
        """The demo learning path, created once and published; later runs leave it (and its
        courses) to staff."""
        path = LearningPath.objects.filter(slug=demo.slug).first()
        if path is not None:
            return path
        courses = {
            course.slug: course for course in Course.objects.filter(slug__in=demo.course_slugs)
        }
        return path_create(
            slug=demo.slug,
            title=demo.title,
            summary=demo.summary,
            description=demo.description,
            status=LearningPath.Status.PUBLISHED,
            courses=[courses[slug] for slug in demo.course_slugs],
        )

    def _quizzes_ensure(self) -> list[Quiz]:
        """A quiz with its rules and questions for each demo quiz lesson, through the catalog's
        `quiz_create`. A quiz that already exists is left alone: staff may have edited it."""
        quizzes = []
        for (course_slug, lesson_slug), questions in DEMO_QUIZZES.items():
            lesson = Lesson.objects.get(course__slug=course_slug, slug=lesson_slug)
            quiz = Quiz.objects.filter(lesson=lesson).first()
            if quiz is None:
                quiz = quiz_create(
                    lesson=lesson,
                    pass_mark=70,
                    questions=[
                        QuestionSpec(
                            kind=demo.kind,
                            prompt=demo.prompt,
                            explanation=demo.explanation,
                            accepted_answers="\n".join(demo.accepted_answers),
                            choices=demo.choices,
                        )
                        for demo in questions
                    ],
                    **DEMO_QUIZ_RULES,
                )
            quizzes.append(quiz)
        return quizzes

    def _join_code_ensure(self) -> Course:
        """The members course gets a join code once; later runs keep (and print) it."""
        course = Course.objects.get(slug=JOIN_CODE_COURSE)
        return course if course.join_code else course_join_code_rotate(course=course)

    def _learner_progress_ensure(self, learner: User) -> None:
        """Complete a few lessons for the demo learner through the learning engine (which
        enrolls them and awards XP). Lessons already completed are skipped, so a rerun adds no
        activity day and moves no "last activity"."""
        done = set(
            LessonProgress.objects.filter(
                user=learner, status=LessonProgress.Status.COMPLETED
            ).values_list("course__slug", "lesson__slug")
        )
        for course_slug, lesson_slug in LEARNER_COMPLETED:
            if (course_slug, lesson_slug) in done:
                continue
            lesson = Lesson.objects.select_related("course").get(
                course__slug=course_slug, slug=lesson_slug
            )
            lesson_complete(user=learner, lesson=lesson)

    def _large_course_ensure(self, lesson_count: int, *, instructor: User) -> Course:
        per_section = demo_school.LARGE_COURSE_LESSONS_PER_SECTION
        course = Course.objects.filter(slug=demo_school.LARGE_COURSE_SLUG).first()
        if course is None:
            course = course_create(
                title="Practice Marathon",
                slug=demo_school.LARGE_COURSE_SLUG,
                subtitle="A long course of short daily drills",
                description=(
                    "A large demo course: one short drill a day, grouped in weeks. "
                    "It exists to show how the school behaves with hundreds of lessons."
                ),
                course_type=Course.CourseType.COURSE,
                difficulty=Course.Difficulty.INTERMEDIATE,
                visibility=Course.Visibility.PUBLIC,
                instructors=[instructor],
            )
        course = self._thumbnail_ensure(course_publish(course=course))
        section_count = math.ceil(lesson_count / per_section)
        sections = self._sections_ensure(
            course, [f"Week {number}" for number in range(1, section_count + 1)]
        )
        existing_slugs = set(course.lessons.values_list("slug", flat=True))
        kinds = demo_school.LARGE_COURSE_KINDS
        for number in range(1, lesson_count + 1):
            slug = demo_school.large_lesson_slug(number)
            if slug in existing_slugs:
                continue
            kind = kinds[(number - 1) % len(kinds)]
            video = self._clip_for(number) if kind == Lesson.Kind.VIDEO else {}
            lesson_create(
                section=sections[(number - 1) // per_section],
                title=f"Drill {number}: {kind.label.lower()} practice",
                slug=slug,
                kind=kind,
                body=(
                    f"## Drill {number}\n\nRepeat the pattern **{number % 8 + 1} times**, "
                    "slowly, then once at full speed.\n\n- Breathe out on the effort.\n"
                    "- Rest for one minute between rounds.\n"
                ),
                is_boss=number == lesson_count,
                **{"duration_seconds": 60 * (3 + number % 10), **video},
            )
            self.created_lessons += 1
        self._clips_attach(course)
        return course

    def _report(self, *, tiers: list[Tier], plans: list[Plan], courses: list[Course]) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS("Demo school ready."))
        out("Tiers: " + " < ".join(f"{tier.name} ({tier.rank})" for tier in tiers))
        out(
            "Plans: "
            + ", ".join(
                f"{plan.name} {plan.display_price_monthly}/month {plan.display_price_yearly}/year"
                for plan in plans
            )
            + f" -> {reverse('billing:pricing')}"
        )
        if not billing_enabled():
            out(
                "  Payments are off (no STRIPE_SECRET_KEY). To try checkout, set a Stripe test "
                "key and put your test prices' ids on the plans in /admin/."
            )
        out("Courses:")
        for course in courses:
            tier = f" ({course.required_tier.name} tier)" if course.required_tier_id else ""
            out(
                f"  {course.title}: {course.get_course_type_display()}, "
                f"{course.visibility}{tier}, {course.lessons.count()} lessons "
                f"-> {course.get_absolute_url()}"
            )
        out(f"Lessons created in this run: {self.created_lessons}")
        out("Sign in at /accounts/login/ with:")
        people = (
            (demo_school.STAFF, "staff, /admin/"),
            (demo_school.INSTRUCTOR, "instructor of Salsa Foundations, /admin/"),
            (demo_school.LEARNER, "learner"),
        )
        for demo, role in people:
            out(f"  {demo.email} / {demo.password}  ({role})")
        out(
            "Paid courses stay locked for the learner until they hold a tier (a plan from "
            "/pricing/, or a tier grant or an invite with one, made in /admin/); staff see "
            "everything."
        )

    def _report_learning(self, *, quizzes: list[Quiz], join_course: Course, learner: User) -> None:
        out = self.stdout.write
        questions = sum(quiz.questions.count() for quiz in quizzes)
        out(f"Quizzes: {len(quizzes)} quiz lessons with {questions} questions.")
        out(
            f"Join code for {join_course.title} ({join_course.visibility}): "
            f"{join_course.join_code} -> {reverse('progress:course_join')}"
            f"?code={join_course.join_code}"
        )
        dashboard = dashboard_get(user=learner)
        courses = len(dashboard.in_progress) + len(dashboard.completed)
        out(
            f"{learner.email} has made a start in {courses} courses, "
            f"{dashboard.stats.xp} XP -> {reverse('progress:dashboard')}"
        )

    def _report_rules(self, *, path: LearningPath) -> None:
        out = self.stdout.write
        rules = demo_school.RULES_COURSE
        out(
            f"Structure rules: {rules.title} is sequential, opens its practice week 3 days after "
            "enrolling, hides the teacher's notes from learners and asks for the basic step "
            f"before the routine -> {reverse('progress:course_detail', args=[rules.slug])}"
        )
        out(
            f"Learning path: {path.title} ({path.steps.count()} courses, with a certificate "
            f"once all are completed) -> {path.get_absolute_url()}"
        )
