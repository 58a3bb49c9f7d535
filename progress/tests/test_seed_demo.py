from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.roles import Role, user_role_get
from accounts.tests.factories import UserFactory
from billing.models import Plan, Tier
from billing.selectors import plans_on_sale
from catalog.access import structure_for
from catalog.models import Choice, Course, Lesson, Question, Quiz, Section
from progress.management import demo_school
from progress.models import ActivityDay, Enrollment, LearnerStats, LessonProgress, XPAward
from progress.paths.models import LearningPath, LearningPathCourse
from progress.selectors import dashboard_get
from progress.services import course_join, enrollment_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_site(settings):
    # pytest-django runs with DEBUG off, where seed_demo refuses to run (see the last test).
    settings.DEBUG = True


def _seed(*args: str, analytics_learners: int = 0) -> str:
    """seed_demo, by default without analytics' demo learners (their own tests run them)."""
    out = StringIO()
    call_command("seed_demo", *args, f"--analytics-learners={analytics_learners}", stdout=out)
    return out.getvalue()


def _rows() -> dict[str, set]:
    return {
        "tiers": set(Tier.objects.values_list("pk", "slug", "rank")),
        "plans": set(
            Plan.objects.values_list(
                "pk", "slug", "tier_id", "features", "stripe_price_monthly", "is_active", "order"
            )
        ),
        "users": set(User.objects.values_list("pk", "email", "is_staff")),
        "courses": set(Course.objects.values_list("pk", "slug", "status")),
        "sections": set(
            Section.objects.values_list(
                "pk", "course_id", "order", "is_hidden", "release_after_days", "prerequisites"
            )
        ),
        "lessons": set(Lesson.objects.values_list("pk", "section_id", "slug", "order")),
        "join codes": set(Course.objects.values_list("pk", "join_code")),
        "quizzes": set(Quiz.objects.values_list("pk", "lesson_id", "pass_mark")),
        "questions": set(Question.objects.values_list("pk", "quiz_id", "prompt", "order")),
        "choices": set(Choice.objects.values_list("pk", "question_id", "text", "is_correct")),
        "enrollments": set(
            Enrollment.objects.values_list("pk", "user_id", "course_id", "last_activity_at")
        ),
        "progress": set(
            LessonProgress.objects.values_list("pk", "lesson_id", "status", "completed_at")
        ),
        "xp": set(XPAward.objects.values_list("pk", "source_key", "amount")),
        "days": set(ActivityDay.objects.values_list("pk", "day")),
        "stats": set(LearnerStats.objects.values_list("pk", "xp_total", "current_streak")),
        "paths": set(LearningPath.objects.values_list("pk", "slug", "status", "updated_at")),
        "path courses": set(LearningPathCourse.objects.values_list("pk", "course_id", "order")),
        "progressions": set(Course.objects.values_list("pk", "progression")),
    }


def test_running_twice_keeps_the_same_rows():
    _seed(analytics_learners=3)
    first = _rows()

    _seed(analytics_learners=3)

    assert _rows() == first
    assert all(first.values())  # something of each was created
    assert len(first["courses"]) == 4


def test_printed_credentials_sign_in(client):
    output = _seed()

    for email, password in (
        ("staff@example.com", "demo-staff-2024"),
        ("instructor@example.com", "demo-instructor-2024"),
        ("learner@example.com", "demo-learner-2024"),
    ):
        assert f"{email} / {password}" in output
        assert client.login(email=email, password=password)
        client.logout()


def test_credentials_still_work_after_a_password_change_and_reseed(client):
    _seed()
    learner = User.objects.get(email="learner@example.com")
    learner.set_password("something-else-entirely")
    learner.save()

    _seed()

    assert client.login(email="learner@example.com", password="demo-learner-2024")


def test_staff_is_a_superuser_and_the_learner_is_not_staff():
    _seed()

    staff = User.objects.get(email="staff@example.com")
    learner = User.objects.get(email="learner@example.com")
    assert (staff.is_staff, staff.is_superuser) == (True, True)
    assert (learner.is_staff, learner.is_superuser) == (False, False)


def test_the_demo_instructor_teaches_salsa_foundations_without_staff_rights():
    _seed()
    _seed()

    instructor = User.objects.get(email="instructor@example.com")
    assert user_role_get(instructor) == Role.INSTRUCTOR
    assert (instructor.is_staff, instructor.is_superuser) == (True, False)
    assert list(instructor.taught_courses.values_list("slug", flat=True)) == ["salsa-foundations"]
    salsa = Course.objects.get(slug="salsa-foundations")
    assert set(salsa.instructors.values_list("email", flat=True)) == {
        "staff@example.com",
        "instructor@example.com",
    }


def test_tiers_rank_rookie_below_advanced_below_performer():
    _seed()

    assert list(Tier.objects.order_by("rank").values_list("name", "rank")) == [
        ("Rookie", 1),
        ("Advanced", 2),
        ("Performer", 3),
    ]


def test_each_tier_has_a_plan_on_sale_with_placeholder_prices():
    output = _seed()

    plans = plans_on_sale()
    assert [(plan.name, plan.tier.name, plan.tier.rank) for plan in plans] == [
        ("Rookie", "Rookie", 1),
        ("Advanced", "Advanced", 2),
        ("Performer", "Performer", 3),
    ]
    for plan in plans:
        assert plan.stripe_price_monthly == f"price_demo_{plan.slug}_monthly"
        assert plan.stripe_price_yearly == f"price_demo_{plan.slug}_yearly"
        assert plan.intervals == ["month", "year"]
        assert plan.display_price_monthly.startswith("$")
        assert len(plan.feature_list) == 3
        plan.full_clean()
    assert "Plans: Rookie $9/month $90/year" in output
    assert "Payments are off" in output


def test_reseeding_keeps_the_stripe_prices_staff_put_on_a_demo_plan():
    _seed()
    Plan.objects.filter(slug="advanced").update(
        stripe_price_monthly="price_1RealTestMonthly", is_active=False
    )

    _seed()

    plan = Plan.objects.get(slug="advanced")
    assert (plan.stripe_price_monthly, plan.is_active) == ("price_1RealTestMonthly", False)
    assert Plan.objects.count() == 3


def test_demo_courses_cover_every_type_kind_and_visibility():
    _seed()

    courses = Course.objects.all()
    assert {course.status for course in courses} == {Course.Status.PUBLISHED}
    assert all(course.published_at for course in courses)
    assert {course.course_type for course in courses} == set(Course.CourseType.values)
    assert {course.visibility for course in courses} == set(Course.Visibility.values)
    paid = courses.get(visibility=Course.Visibility.PAID)
    assert paid.required_tier.name == "Advanced"
    assert set(Lesson.objects.values_list("kind", flat=True)) == set(Lesson.Kind.values)
    assert Lesson.objects.filter(is_free_preview=True, course=paid).exists()
    assert Lesson.objects.filter(is_boss=True).exists()
    assert all(course.sections.count() >= 2 for course in courses)
    assert not Lesson.objects.filter(body="").exists()
    assert all(course.instructors.filter(email="staff@example.com").exists() for course in courses)


def test_every_demo_quiz_lesson_has_a_quiz_with_answerable_questions():
    _seed()

    quiz_lessons = Lesson.objects.filter(kind=Lesson.Kind.QUIZ)
    assert quiz_lessons.count() == 3
    for lesson in quiz_lessons:
        # Rules that keep the pass mark meaningful, and let a demo learner fail then pass.
        quiz = lesson.quiz
        rules = (quiz.max_attempts, quiz.retry_wait_minutes, quiz.reveal_answers)
        assert rules == (3, 0, "after_last_attempt"), lesson.slug
        questions = list(lesson.quiz.questions.prefetch_related("choices"))
        assert len(questions) >= 2, lesson.slug
        for question in questions:
            right = [choice for choice in question.choices.all() if choice.is_correct]
            if question.kind == Question.Kind.SINGLE:
                assert len(right) == 1, question.prompt
            elif question.kind == Question.Kind.MULTIPLE:
                assert len(right) >= 1, question.prompt
            else:
                assert question.accepted_answer_list and not question.choices.exists()
    kinds = set(Question.objects.values_list("kind", flat=True))
    assert kinds == set(Question.Kind.values)


def test_a_members_course_gets_a_printed_join_code_that_enrolls(user):
    output = _seed()

    course = Course.objects.get(join_code__isnull=False)
    assert course.visibility == Course.Visibility.MEMBERS
    assert f"{course.join_code} -> /courses/join/?code={course.join_code}" in output
    enrollment = course_join(user=user, code=course.join_code.lower())
    assert (enrollment.course, enrollment.source) == (course, Enrollment.Source.JOIN_CODE)


def test_the_join_code_survives_a_reseed():
    first = _seed()
    code = Course.objects.get(join_code__isnull=False).join_code

    second = _seed()

    assert Course.objects.get(join_code__isnull=False).join_code == code
    assert code in first and code in second


def test_the_demo_learner_has_progress_on_the_dashboard():
    output = _seed()

    learner = User.objects.get(email="learner@example.com")
    dashboard = dashboard_get(user=learner)
    in_progress = {item.course.slug: item.completed_count for item in dashboard.in_progress}
    assert in_progress == {"salsa-foundations": 2, "python-for-beginners": 1}
    assert dashboard.stats.xp == 30 == sum(XPAward.objects.values_list("amount", flat=True))
    assert dashboard.stats.current_streak == 1
    assert "learner@example.com has made a start in 2 courses, 30 XP" in output


def test_large_course_option_creates_a_public_course_with_n_lessons():
    output = _seed("--large-course", "45")

    course = Course.objects.get(slug="demo-large")
    assert (course.status, course.visibility) == (Course.Status.PUBLISHED, "public")
    assert course.lessons.count() == 45
    assert course.sections.count() == 3  # 20 lessons per section
    first = course.lessons.order_by("section__order", "order").first()
    assert first.slug == "drill-001"
    assert "Practice Marathon" in output
    assert "45 lessons" in output


def test_large_course_option_is_idempotent_and_grows_on_request():
    _seed("--large-course", "30")
    _seed("--large-course", "30")
    assert Lesson.objects.filter(course__slug="demo-large").count() == 30

    _seed("--large-course", "50")

    lessons = Lesson.objects.filter(course__slug="demo-large")
    assert lessons.count() == 50
    assert lessons.filter(is_boss=True).count() == 2  # the last of each run


def test_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        _seed()

    assert not User.objects.exists()


def test_demo_courses_have_distinct_pictures_and_the_instructor_a_bio_and_portrait():
    import hashlib

    _seed()

    courses = list(Course.objects.filter(slug__in=[c.slug for c in demo_school.COURSES]))
    digests = set()
    for course in courses:
        assert course.thumbnail.name.endswith(".webp"), course.slug
        with course.thumbnail.open("rb") as picture:
            digests.add(hashlib.sha256(picture.read()).hexdigest())
    assert len(digests) == len(courses) == 3
    staff = User.objects.get(email=demo_school.STAFF.email)
    assert staff.display_name == "Sam Rivera"
    assert staff.bio.startswith("Dancer, choreographer")
    assert staff.avatar and staff.avatar_thumbnail
    pictures = {course.pk: course.thumbnail.name for course in courses}
    avatar = staff.avatar.name

    _seed()  # set once: a rerun keeps the files (and what staff put in their place)

    assert {c.pk: c.thumbnail.name for c in Course.objects.filter(pk__in=pictures)} == pictures
    staff.refresh_from_db()
    assert staff.avatar.name == avatar


def test_one_demo_course_shows_each_structure_rule(client):
    output = _seed()

    course = Course.objects.get(slug="bachata-step-by-step")
    assert course.progression == Course.Progression.SECTIONS
    learner = User.objects.get(email="learner@example.com")
    structure = structure_for(user=learner, course=course)
    sections = {section.title: section for section in course.sections.all()}
    basic, turns, practice, notes, routine = (
        sections["Part 1: The basic step"],
        sections["Part 2: Turns"],
        sections["Part 3: Practice week"],
        sections["Teacher's notes"],
        sections["Part 4: Your first bachata routine"],
    )
    assert structure.section_lock(basic.pk) is None
    assert structure.section_lock(turns.pk).requires == ("Part 1: The basic step",)
    assert structure.section_lock(practice.pk).requires == ("Part 2: Turns",)
    # Once the parts before it are done, it opens 3 days after enrolling.
    newcomer = UserFactory()
    enrolled_at = enrollment_create(
        user=newcomer, course=course, source=Enrollment.Source.SELF
    ).created_at
    LessonProgress.objects.bulk_create(
        LessonProgress(
            user=newcomer,
            lesson=lesson,
            course=course,
            status=LessonProgress.Status.COMPLETED,
            completed_at=enrolled_at,
        )
        for lesson in course.lessons.filter(section__in=[basic, turns])
    )
    lock = structure_for(user=newcomer, course=course).section_lock(practice.pk)
    assert (lock.kind, lock.opens_at) == ("until", enrolled_at + timedelta(days=3))
    assert structure.section_hidden(notes.pk)
    assert list(routine.prerequisites.all()) == [basic]
    assert set(structure.section_lock(routine.pk).requires) == {
        "Part 1: The basic step",
        "Part 3: Practice week",
    }
    # Learners never see the hidden section; the course's instructors do.
    staff = User.objects.get(email="staff@example.com")
    assert not structure_for(user=staff, course=course).section_hidden(notes.pk)
    client.force_login(learner)
    assert "Teacher" not in client.get(course.get_absolute_url()).content.decode()
    assert "Structure rules: Bachata Step by Step is sequential" in output


def test_the_demo_school_has_a_published_learning_path(client):
    output = _seed()

    path = LearningPath.objects.get(slug="social-dance-starter")
    assert path.status == LearningPath.Status.PUBLISHED
    assert list(path.steps.values_list("course__slug", flat=True)) == [
        "salsa-foundations",
        "bachata-step-by-step",
    ]
    assert "Learning path: Social Dance Starter (2 courses" in output
    assert "-> /paths/social-dance-starter/" in output
    page = client.get(path.get_absolute_url())
    assert page.status_code == 200
    assert "Bachata Step by Step" in page.content.decode()


def test_staff_changes_to_the_demo_path_and_rules_survive_a_reseed():
    _seed()
    path = LearningPath.objects.get(slug="social-dance-starter")
    path.steps.filter(course__slug="salsa-foundations").delete()
    Section.objects.filter(title="Teacher's notes").update(is_hidden=False)

    _seed()

    assert path.steps.count() == 1
    assert not Section.objects.get(title="Teacher's notes").is_hidden
