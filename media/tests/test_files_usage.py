"""The file library's "usage": which lessons offer each file, counted without per-row queries,
linked from the change page, and a warning when a file still in use is deleted."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

import media.admin_files  # noqa: F401  (registers StoredFileAdmin until media/admin.py does)
from catalog.tests.factories import LessonFactory
from media.models import StoredFile

# As in test_files_admin: this URLconf always sees the StoredFile admin.
urlpatterns = [path("admin/", admin.site.urls), path("", include("lms.urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

CHANGELIST = "admin:media_storedfile_changelist"


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _attachment(title: str, **kwargs) -> StoredFile:
    return StoredFile.objects.create(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title=title,
        key=f"attachments/{title}.pdf",
        content_type="application/pdf",
        size=1024,
        status=StoredFile.Status.CONFIRMED,
        **kwargs,
    )


def _usage_column(response) -> dict[str, str]:
    changelist = response.context["cl"]
    model_admin = changelist.model_admin
    return {str(file): model_admin.usage_count(file) for file in changelist.result_list}


def test_the_library_shows_how_many_lessons_use_each_file(staff_client):
    handout, slides = _attachment("Handout"), _attachment("Slides")
    _attachment("Unused")
    first, second = LessonFactory(title="Basic step"), LessonFactory(title="Turns")
    first.attachments.add(handout, slides)
    second.attachments.add(handout)

    response = staff_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert _usage_column(response) == {"Handout": "2 lessons", "Slides": "1 lesson", "Unused": "—"}
    assert "2 lessons" in response.text
    ordered = staff_client.get(reverse(CHANGELIST), {"o": "-8"})  # "used in", descending
    assert [str(file) for file in ordered.context["cl"].result_list] == [
        "Handout",
        "Slides",
        "Unused",
    ]


def test_the_usage_column_costs_the_same_queries_for_3_and_30_files(
    staff_client, django_assert_max_num_queries
):
    lessons = [LessonFactory(), LessonFactory()]

    def add_files(first: int, last: int) -> None:
        for index in range(first, last):
            file = _attachment(f"File {index}")
            for lesson in lessons:
                lesson.attachments.add(file)

    def queries_for_the_list(expected_rows: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(reverse(CHANGELIST))
        assert response.text.count("2 lessons") == expected_rows
        return len(queries)

    add_files(0, 3)
    staff_client.get(reverse(CHANGELIST))  # warm: session, permissions, content types
    with_3 = queries_for_the_list(3)
    add_files(3, 30)
    with_30 = queries_for_the_list(30)

    assert with_30 == with_3
    with django_assert_max_num_queries(with_3):
        staff_client.get(reverse(CHANGELIST))


def test_the_change_page_links_to_the_lessons_using_the_file(staff_client):
    handout = _attachment("Handout")
    lesson = LessonFactory(title="Basic step", section__course__title="Salsa")
    lesson.attachments.add(handout)
    _attachment("Alone")

    page = staff_client.get(reverse("admin:media_storedfile_change", args=[handout.pk]))
    alone = StoredFile.objects.get(title="Alone")
    alone_page = staff_client.get(reverse("admin:media_storedfile_change", args=[alone.pk]))

    lesson_url = reverse("admin:catalog_lesson_change", args=[lesson.pk])
    assert page.status_code == 200
    assert f'<a href="{lesson_url}">Salsa · Basic step</a>' in page.text
    assert "Not used by any lesson." in alone_page.text


def test_deleting_a_file_still_used_by_lessons_warns_and_names_it(staff_client):
    used, unused = _attachment("Handout"), _attachment("Unused")
    LessonFactory().attachments.add(used)

    response = staff_client.post(
        reverse(CHANGELIST),
        {"action": "soft_delete", "_selected_action": [used.pk, unused.pk]},
        follow=True,
    )

    messages = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert messages == [
        ("success", "2 files deleted."),
        (
            "warning",
            "Still attached to lessons, so no longer offered there: Handout. "
            "Restore to offer again.",
        ),
    ]
    used.refresh_from_db()
    assert used.deleted_at is not None


def test_deleting_files_no_lesson_uses_does_not_warn(staff_client):
    unused = _attachment("Unused")

    response = staff_client.post(
        reverse(CHANGELIST), {"action": "soft_delete", "_selected_action": [unused.pk]}, follow=True
    )

    assert [m.level_tag for m in response.context["messages"]] == ["success"]
