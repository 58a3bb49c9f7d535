"""Path certificates: issued once when a learner completes the last course of a published
path (not before, not for drafts, hidden lessons ignored), also when a path is published or
given courses the learner already completed; concurrent completions issue one (PostgreSQL);
the public verify page, its PDF, the owner giving a missing name, and the API field."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.concurrency import run_together
from notifications.models import Notification
from progress.models import Certificate
from progress.paths.models import LearningPath, PathCertificate
from progress.paths.services import (
    path_certificates_issue,
    path_courses_set,
    path_create,
    path_update,
)
from progress.services import lesson_complete
from progress.tests.test_certificates import pdf_text


def _course(title: str, lessons: int = 2) -> Course:
    course = CourseFactory(title=title, subtitle="")
    section = SectionFactory(course=course, order=0)
    for index in range(lessons):
        LessonFactory(section=section, order=index)
    return course


def _path(*courses: Course, status: str = LearningPath.Status.PUBLISHED) -> LearningPath:
    return path_create(slug="salsa-path", title="Salsa path", status=status, courses=list(courses))


def _complete(user, course: Course) -> None:
    for lesson in course.lessons.order_by("order"):
        lesson_complete(user=user, lesson=lesson)


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.mark.django_db
def test_completing_the_last_course_issues_the_certificate_once(
    django_capture_on_commit_callbacks,
):
    first, second = _course("Salsa basics"), _course("Salsa turns")
    path = _path(first, second)
    learner = UserFactory(display_name="Zoë Núñez")

    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, first)
    assert not PathCertificate.objects.exists()  # one course still to go

    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, second)
        _complete(learner, second)  # again: nothing more

    certificate = PathCertificate.objects.get()
    assert (certificate.user, certificate.path) == (learner, path)
    assert certificate.learner_name == "Zoë Núñez"
    assert certificate.path_title == "Salsa path"
    assert certificate.course_titles == ["Salsa basics", "Salsa turns"]
    assert len(certificate.code) == 12
    assert path_certificates_issue(user=learner, course_ids={first.pk, second.pk}) == []
    assert PathCertificate.objects.count() == 1
    notification = Notification.objects.get(user=learner, source__startswith="path-certificate:")
    assert notification.title == "You earned a path certificate: Salsa path"
    assert notification.url == certificate.get_absolute_url()


@pytest.mark.django_db
def test_hidden_lessons_are_ignored_for_the_path(django_capture_on_commit_callbacks):
    course = _course("Only course", 1)
    LessonFactory(section=course.sections.get(), order=9, is_hidden=True)
    LessonFactory(section=SectionFactory(course=course, order=1, is_hidden=True), order=0)
    _path(course)
    learner = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        lesson_complete(user=learner, lesson=course.lessons.get(section__order=0, order=0))

    assert PathCertificate.objects.filter(user=learner).count() == 1


@pytest.mark.django_db
def test_a_draft_path_issues_nothing_until_it_is_published(django_capture_on_commit_callbacks):
    course = _course("Only course", 1)
    path = _path(course, status=LearningPath.Status.DRAFT)
    learner, other = UserFactory(), UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, course)
    assert not PathCertificate.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        path_update(path=path, data={"status": LearningPath.Status.PUBLISHED})

    assert list(PathCertificate.objects.values_list("user", flat=True)) == [learner.pk]
    assert other.path_certificates.count() == 0


@pytest.mark.django_db
def test_adding_a_course_the_learner_completed_issues_it(django_capture_on_commit_callbacks):
    first, second = _course("First", 1), _course("Second", 1)
    path = _path(first)
    learner = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, second)
    assert not PathCertificate.objects.exists()

    path_courses_set(path=path, courses=[second])

    assert PathCertificate.objects.get().course_titles == ["Second"]
    # A new course later in the path does not take back a certificate.
    path_courses_set(path=path, courses=[second, first])
    assert PathCertificate.objects.count() == 1


@pytest.mark.django_db
def test_the_command_issues_certificates_earned_outside_the_admin():
    course = _course("Only course", 1)
    learner = UserFactory()
    _complete(learner, course)  # no on-commit callbacks run here
    LearningPath.objects.create(slug="raw", title="Raw", status=LearningPath.Status.PUBLISHED)
    LearningPath.objects.get(slug="raw").steps.create(course=course, order=0)

    first_run, second_run = io.StringIO(), io.StringIO()
    call_command("path_certificates_issue", stdout=first_run)
    call_command("path_certificates_issue", stdout=second_run)

    assert PathCertificate.objects.filter(user=learner).count() == 1
    assert first_run.getvalue().strip() == "Path certificates issued: 1"
    assert second_run.getvalue().strip() == "Path certificates issued: 0"


# --- The verify page, the PDF, the name ----------------------------------------------------


def _issued(**user_fields) -> PathCertificate:
    first, second = _course("Salsa basics", 1), _course("Salsa turns", 1)
    path = _path(first, second)
    learner = UserFactory(**user_fields)
    _complete(learner, first)
    _complete(learner, second)
    assert path.status == LearningPath.Status.PUBLISHED
    return path_certificates_issue(user=learner, course_ids={second.pk})[0]


@pytest.mark.django_db
def test_anyone_with_the_code_can_verify_it_without_seeing_the_email(client):
    certificate = _issued(display_name="Lee Park", email="lee@example.com")

    response = client.get(f"/certificates/path/{certificate.code.lower()}/")

    assert response.status_code == 200
    text = _text(response)
    assert "This certifies that Lee Park has completed the learning path Salsa path" in text
    assert "Salsa basics Salsa turns" in text
    assert certificate.code in text
    assert "Verified:" in text
    assert "lee@example.com" not in response.content.decode()
    assert 'name="robots" content="noindex"' in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_code_is_not_found(client):
    assert client.get("/certificates/path/NOSUCHCODE12/").status_code == 404


@pytest.mark.django_db
def test_the_pdf_prints_the_name_and_the_path(client):
    certificate = _issued(display_name="Łukasz Zoë")

    response = client.get(f"/certificates/path/{certificate.code}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        f'filename="certificate-salsa-path-{certificate.code.lower()}.pdf"'
        in response["Content-Disposition"]
    )
    text = pdf_text(response.content)
    assert "Łukasz Zoë" in text
    assert "has completed the learning path" in text
    assert "Salsa path" in text
    assert certificate.code in text


@pytest.mark.django_db
def test_the_owner_gives_the_name_a_certificate_was_issued_without():
    certificate = _issued(display_name="")
    assert certificate.name_pending
    owner, visitor = Client(), Client()
    owner.force_login(certificate.user)

    assert "not ready yet" in _text(visitor.get(certificate.get_absolute_url()))
    assert visitor.get(f"/certificates/path/{certificate.code}/pdf/").status_code != 200
    assert "Tell us the name to print on it" in _text(owner.get(certificate.get_absolute_url()))
    refused = owner.post(f"/certificates/path/{certificate.code}/name/", {"learner_name": " "})
    assert refused.status_code == 400

    response = owner.post(
        f"/certificates/path/{certificate.code}/name/", {"learner_name": "  Sam   Rivera "}
    )

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.learner_name == "Sam Rivera"
    assert "Sam Rivera has completed" in _text(visitor.get(certificate.get_absolute_url()))
    assert AuditLog.objects.filter(
        action=AuditLog.Action.CERTIFICATE_NAME_CONFIRMED, target_id=str(certificate.pk)
    ).exists()
    someone = Client()
    someone.force_login(UserFactory())
    assert (
        someone.post(
            f"/certificates/path/{certificate.code}/name/", {"learner_name": "Not Me"}
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_the_path_page_and_the_api_link_the_learners_certificate(client, api_client):
    certificate = _issued(display_name="Lee Park")
    client.force_login(certificate.user)
    api_client.force_authenticate(certificate.user)

    page = _text(client.get("/paths/salsa-path/"))
    listing = _text(client.get("/paths/"))
    data = api_client.get("/api/v1/paths/salsa-path/").json()

    assert "You completed this path. View your path certificate" in page
    assert "Your path certificate" in listing
    assert data["certificate"] == {
        "code": certificate.code,
        "issued_at": data["certificate"]["issued_at"],
        "learner_name": "Lee Park",
        "name_pending": False,
        "course_titles": ["Salsa basics", "Salsa turns"],
        "url": f"http://testserver/certificates/path/{certificate.code}/",
    }
    assert data["next_course"] is None
    listed = api_client.get("/api/v1/paths/").json()["results"][0]
    assert listed["certificate"]["code"] == certificate.code
    # The course certificates stay what they were.
    assert Certificate.objects.filter(user=certificate.user).count() == 2


# --- Concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_of_the_last_courses_issue_one_certificate():
    first, second = _course("First", 1), _course("Second", 1)
    _path(first, second)
    learner = UserFactory()
    last_lessons = [first.lessons.get(), second.lessons.get()]
    run_together(
        [
            lambda lesson=lesson: lesson_complete(user=learner, lesson=lesson)
            for lesson in last_lessons
        ]
        * 3
    )

    assert PathCertificate.objects.filter(user=learner).count() == 1
    assert (
        Notification.objects.filter(user=learner, source__startswith="path-certificate:").count()
        == 1
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_issuing_for_one_learner_and_path_keeps_one_row():
    course = _course("Only", 1)
    _path(course)
    learner = UserFactory()
    _complete(learner, course)
    PathCertificate.objects.all().delete()  # as if the after-commit hook had not run yet

    results = run_together(
        [lambda: path_certificates_issue(user=learner, course_ids={course.pk})] * 8
    )

    assert PathCertificate.objects.filter(user=learner).count() == 1
    codes = {certificate.code for result in results for certificate in result}
    assert codes == {PathCertificate.objects.get().code}


@pytest.mark.django_db
def test_my_learning_lists_the_learners_own_path_certificates(client):
    certificate = _issued(display_name="Lee Park")

    client.force_login(certificate.user)
    mine = client.get("/learn/").content.decode()
    client.force_login(UserFactory())
    others = client.get("/learn/").content.decode()

    assert f'href="/certificates/path/{certificate.code}/"' in mine
    assert "Learning path: Salsa path" in mine
    assert certificate.code not in others
