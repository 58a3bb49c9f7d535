"""Private lesson attachments: signed download URLs only for those who may open the lesson,
through the API and the lesson page's links, against a loopback S3 (moto)."""

# The moto fixtures are imported from media's conftest, so tests naming them redefine them.
# ruff: noqa: F811

from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.test_admin import error_text, page_form_data
from lms.errors import CATALOG, ErrorCode
from media.models import StoredFile
from media.tests.conftest import s3, s3_server  # noqa: F401  (the loopback S3 fixtures)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 salsa footwork handout"


def _upload(s3, *, title: str, body: bytes = PDF, **kwargs) -> StoredFile:
    file = StoredFile(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title=title,
        content_type="application/pdf",
        size=len(body),
        status=StoredFile.Status.CONFIRMED,
        confirmed_at=timezone.now(),
        **kwargs,
    )
    file.key = f"attachments/{file.id}.pdf"
    file.save()
    s3["client"].put_object(
        Bucket=s3["bucket"], Key=file.key, Body=body, ContentType="application/pdf"
    )
    return file


def _paid_lesson(**kwargs) -> Lesson:
    tier = TierFactory(slug="pro", name="Pro", rank=2)
    course = CourseFactory(slug="salsa", visibility=Course.Visibility.PAID, required_tier=tier)
    section = SectionFactory(course=course)
    return LessonFactory(section=section, slug="footwork", **kwargs)


def _entitled(user) -> None:
    tier_grant_create(user=user, tier=TierFactory(slug="pro"), source="staff")


def _api_url(lesson: Lesson, file: StoredFile) -> str:
    return f"/api/v1/lessons/{lesson.pk}/attachments/{file.pk}/"


def _error(code: ErrorCode) -> dict:
    return {"error": {"code": code.value, "message": CATALOG[code].message, "fields": {}}}


# --- The API ------------------------------------------------------------------------------


def test_an_entitled_learner_gets_a_short_lived_url_that_downloads_the_file(api_client, user, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Footwork handout.pdf")
    lesson.attachments.add(handout)
    _entitled(user)
    api_client.force_authenticate(user)

    before = timezone.now()
    response = api_client.get(_api_url(lesson, handout))

    assert response.status_code == 200
    body = response.json()
    assert sorted(body) == ["expires_at", "url"]
    expires_at = parse_datetime(body["expires_at"])
    assert before + timedelta(minutes=4) < expires_at <= timezone.now() + timedelta(minutes=5)
    download = requests.get(body["url"], timeout=10)
    assert download.status_code == 200
    assert download.content == PDF
    assert 'filename="Footwork handout.pdf"' in download.headers["Content-Disposition"]
    # The URL is signed: without its signature the bucket refuses.
    assert requests.get(body["url"].split("?")[0], timeout=10).status_code == 403


def test_a_learner_without_the_tier_is_refused_and_gets_no_url(api_client, user, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Handout.pdf")
    lesson.attachments.add(handout)
    tier_grant_create(user=user, tier=TierFactory(slug="basic", rank=1), source="staff")
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson, handout))

    assert response.status_code == 403
    assert response.json() == _error(ErrorCode.UPGRADE_REQUIRED)


def test_a_visitor_is_asked_to_sign_in_and_gets_no_url(api_client, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Handout.pdf")
    lesson.attachments.add(handout)

    response = api_client.get(_api_url(lesson, handout))

    assert response.status_code == 403
    assert response.json() == _error(ErrorCode.LOGIN_REQUIRED)


def test_a_visitor_may_download_the_files_of_a_free_preview_lesson(api_client, s3):
    lesson = _paid_lesson(is_free_preview=True)
    handout = _upload(s3, title="Handout.pdf")
    lesson.attachments.add(handout)

    response = api_client.get(_api_url(lesson, handout))

    assert response.status_code == 200
    assert requests.get(response.json()["url"], timeout=10).content == PDF


def test_a_file_not_attached_to_the_lesson_is_not_found(api_client, user, s3):
    lesson = _paid_lesson()
    other_lesson = LessonFactory(section=lesson.section, slug="turns")
    elsewhere = _upload(s3, title="Turns.pdf")
    other_lesson.attachments.add(elsewhere)
    _entitled(user)
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson, elsewhere))

    assert response.status_code == 404
    assert response.json() == _error(ErrorCode.FILE_NOT_FOUND)


def test_a_deleted_attachment_is_no_longer_handed_out(api_client, user, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Handout.pdf", deleted_at=timezone.now())
    lesson.attachments.add(handout)
    _entitled(user)
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson, handout))

    assert response.status_code == 404
    assert response.json() == _error(ErrorCode.FILE_NOT_FOUND)


# --- The lesson page ------------------------------------------------------------------------


def test_the_lesson_page_lists_downloads_whose_links_open_the_file(client, user, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Footwork handout.pdf")
    lesson.attachments.add(handout)
    _entitled(user)
    client.force_login(user)

    page = client.get("/courses/salsa/footwork/")
    link = f"/courses/salsa/footwork/files/{handout.pk}/"
    response = client.get(link)

    assert page.status_code == 200
    assert "Downloads" in page.text
    assert f'<a href="{link}" rel="nofollow">Footwork handout.pdf</a>' in page.text
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    assert requests.get(response["Location"], timeout=10).content == PDF


def test_a_locked_lesson_page_lists_no_downloads_and_its_links_are_refused(client, user, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Footwork handout.pdf")
    lesson.attachments.add(handout)
    link = f"/courses/salsa/footwork/files/{handout.pk}/"

    visitor_page = client.get("/courses/salsa/footwork/")
    visitor_link = client.get(link)
    client.force_login(user)
    learner_page = client.get("/courses/salsa/footwork/")
    learner_link = client.get(link)

    for page in (visitor_page, learner_page):
        assert page.status_code == 403
        assert "Footwork handout.pdf" not in page.text
        assert link not in page.text
    for response in (visitor_link, learner_link):
        assert response.status_code == 403
        assert "Location" not in response


def test_a_lesson_without_attachments_shows_no_downloads_section(client, user, s3):
    _paid_lesson()
    _entitled(user)
    client.force_login(user)

    page = client.get("/courses/salsa/footwork/")

    assert page.status_code == 200
    assert "Downloads" not in page.text


# --- The lesson admin ------------------------------------------------------------------------


def test_staff_attach_confirmed_files_to_a_lesson_in_the_admin(staff_client, s3):
    lesson = _paid_lesson()
    handout = _upload(s3, title="Handout.pdf")
    pending = _upload(s3, title="Pending.pdf")
    StoredFile.objects.filter(pk=pending.pk).update(status=StoredFile.Status.PENDING)
    url = reverse("admin:catalog_lesson_change", args=[lesson.pk])
    data = page_form_data(staff_client.get(url))

    refused = staff_client.post(url, {**data, "attachments": [str(pending.pk)]})
    saved = staff_client.post(url, {**data, "attachments": [str(handout.pk)]})

    assert refused.status_code == 200
    assert "Select a valid choice" in error_text(refused)
    assert saved.status_code == 302, error_text(saved)
    lesson.refresh_from_db()
    assert list(lesson.attachments.all()) == [handout]
    assert lesson.title == data["title"]


def test_instructors_attach_files_to_their_lesson_from_a_plain_list(client, s3, settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False
    instructor = UserFactory(email="ana@example.com")
    user_role_set(user=instructor, role=Role.INSTRUCTOR, actor=None)
    lesson = LessonFactory(section=SectionFactory(course=CourseFactory(instructors=[instructor])))
    handout = _upload(s3, title="Handout.pdf")
    client.force_login(instructor)
    url = reverse("admin:catalog_lesson_change", args=[lesson.pk])
    page = client.get(url)
    data = page_form_data(page)

    saved = client.post(url, {**data, "attachments": [str(handout.pk)]})

    # No autocomplete: it would ask the file library's admin, which instructors cannot open.
    assert "admin-autocomplete" not in page.content.decode()
    assert "Handout.pdf" in page.content.decode()
    assert saved.status_code == 302, error_text(saved)
    assert list(lesson.attachments.all()) == [handout]
