"""`manage.py create_test_user`: a verified learner, enrolled and entitled, in one command."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.tests.factories import PlanFactory, TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.models import Enrollment

pytestmark = pytest.mark.django_db

PASSWORD = "tester-passphrase-2026"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_test_user", *args, stdout=out)
    return out.getvalue()


def _sign_in(client, email: str, password: str = PASSWORD) -> int:
    return client.post("/accounts/login/", {"login": email, "password": password}).status_code


@pytest.fixture
def paid_course() -> Course:
    pro = TierFactory(slug="pro", name="Pro", rank=2)
    PlanFactory(slug="pro-monthly", name="Pro Monthly", tier=pro)
    course = CourseFactory(
        title="Salsa Pro", slug="salsa-pro", visibility=Course.Visibility.PAID, required_tier=pro
    )
    course.join_code = "SALSA24"
    course.save(update_fields=["join_code"])
    LessonFactory(section=SectionFactory(course=course), slug="shines", title="Shines")
    return course


def test_creates_a_verified_learner_who_can_sign_in_enrolled_with_the_tier(client, paid_course):
    output = _run(
        "--email", "Tester@Example.com", "--password", PASSWORD, "--name", "Test Learner",
        "--course-code", "salsa-pro", "--tier", "pro",
    )  # fmt: skip

    assert output.splitlines() == [
        "Created tester@example.com (verified).",
        "Enrolled in Salsa Pro.",
        "Has the Pro tier.",
    ]
    user = User.objects.get(email="tester@example.com")
    assert (user.display_name, user.is_staff) == ("Test Learner", False)
    assert _sign_in(client, "tester@example.com") == 302
    # The paid lesson opens: enrolled, and the tier is theirs.
    assert client.get("/courses/salsa-pro/shines/").status_code == 200
    enrollment = Enrollment.objects.get(user=user, course=paid_course)
    assert (enrollment.source, enrollment.unenrolled_at) == ("staff", None)


def test_running_it_again_updates_the_learner_and_stacks_nothing(client, paid_course):
    UserFactory(email="tester@example.com", display_name="Old name")
    args = ["--email", "tester@example.com", "--password", PASSWORD, "--name", "New name"]

    first = _run(*args, "--course-code", "salsa 24", "--tier", "Pro Monthly")
    _run(*args, "--course-code", "SALSA24", "--tier", "pro-monthly")

    assert first.splitlines()[0] == "Updated tester@example.com (verified)."
    user = User.objects.get(email="tester@example.com")
    assert user.display_name == "New name"
    assert _sign_in(client, "tester@example.com") == 302
    assert Enrollment.objects.filter(user=user).count() == 1
    assert TierGrant.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--course-code", "nope", "No course has the slug or join code 'nope'."),
        ("--tier", "platinum", "No tier or plan is called 'platinum' (tiers: pro)."),
    ],
)
def test_an_unknown_course_or_tier_is_refused_and_nothing_is_created(
    paid_course, option, value, message
):
    with pytest.raises(CommandError) as refused:
        _run("--email", "t@example.com", "--password", PASSWORD, "--name", "T", option, value)

    assert str(refused.value) == message
    assert not User.objects.filter(email="t@example.com").exists()
