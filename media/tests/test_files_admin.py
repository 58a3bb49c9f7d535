"""The file library in the admin, driven like staff would: list, filters, search, soft delete
and restore, no hard delete, and "Open" through a fresh signed URL."""

from datetime import timedelta

import pytest
import requests
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone

import media.admin_files  # noqa: F401  (registers StoredFileAdmin until media/admin.py does)
from accounts.tests.factories import UserFactory
from media.models import StoredFile

# The project's URLconf may have been built before this module registered the admin class
# (an earlier test module reversing an admin URL); this one always sees it, then the rest.
urlpatterns = [path("admin/", admin.site.urls), path("", include("lms.urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def _file(**kwargs) -> StoredFile:
    defaults = {
        "purpose": StoredFile.Purpose.AVATAR,
        "content_type": "image/png",
        "status": StoredFile.Status.CONFIRMED,
        "size": 2048,
    }
    defaults.update(kwargs)
    defaults.setdefault("key", f"{defaults['purpose']}/{defaults.get('title', 'x')}.png")
    return StoredFile.objects.create(**defaults)


def _rows(response) -> list[str]:
    return [str(file) for file in response.context["cl"].result_list]


def test_the_library_lists_files_with_size_and_filters(staff_client):
    _file(title="Logo", purpose="thumbnails", size=3 * 1024 * 1024)
    _file(title="Handout", purpose="attachments", content_type="application/pdf")
    _file(title="Pending", status=StoredFile.Status.PENDING)
    _file(title="Old", deleted_at=timezone.now())

    url = reverse("admin:media_storedfile_changelist")
    everything = staff_client.get(url)
    attachments = staff_client.get(url, {"purpose__exact": "attachments"})
    pending = staff_client.get(url, {"status__exact": "pending"})
    deleted = staff_client.get(url, {"deleted": "yes"})
    kept = staff_client.get(url, {"deleted": "no"})

    assert everything.status_code == 200
    assert sorted(_rows(everything)) == ["Handout", "Logo", "Old", "Pending"]
    assert "3.0\xa0MB" in everything.text
    assert _rows(attachments) == ["Handout"]
    assert _rows(pending) == ["Pending"]
    assert _rows(deleted) == ["Old"]
    assert sorted(_rows(kept)) == ["Handout", "Logo", "Pending"]


def test_search_finds_files_by_title_or_key(staff_client):
    _file(title="Team photo", key="avatars/aaa.png")
    _file(title="Syllabus", key="attachments/bbb.pdf", purpose="attachments")
    url = reverse("admin:media_storedfile_changelist")

    assert _rows(staff_client.get(url, {"q": "team"})) == ["Team photo"]
    assert _rows(staff_client.get(url, {"q": "bbb"})) == ["Syllabus"]


def test_deleting_hides_a_file_and_restoring_brings_it_back(staff_client):
    kept, removed = _file(title="Kept"), _file(title="Removed")
    url = reverse("admin:media_storedfile_changelist")

    response = staff_client.post(
        url, {"action": "soft_delete", "_selected_action": [removed.pk]}, follow=True
    )

    assert "1 file deleted." in response.text
    removed.refresh_from_db()
    kept.refresh_from_db()
    assert removed.deleted_at is not None and kept.deleted_at is None
    assert StoredFile.objects.count() == 2

    response = staff_client.post(
        url, {"action": "restore", "_selected_action": [removed.pk]}, follow=True
    )

    assert "1 file restored." in response.text
    removed.refresh_from_db()
    assert removed.deleted_at is None


def test_there_is_no_hard_delete_and_no_adding(staff_client):
    file = _file(title="Logo")

    delete = staff_client.post(
        reverse("admin:media_storedfile_delete", args=[file.pk]), {"post": "yes"}
    )
    add = staff_client.get(reverse("admin:media_storedfile_add"))
    changelist = staff_client.get(reverse("admin:media_storedfile_changelist"))

    assert delete.status_code == 403
    assert add.status_code == 403
    assert StoredFile.objects.filter(pk=file.pk).exists()
    assert "delete_selected" not in changelist.text


def test_staff_can_rename_a_file_but_not_change_its_key(staff_client):
    file = _file(title="Logo", key="avatars/k.png")

    response = staff_client.post(
        reverse("admin:media_storedfile_change", args=[file.pk]),
        {"title": "New logo", "key": "avatars/other.png"},
    )

    assert response.status_code == 302
    file.refresh_from_db()
    assert (file.title, file.key) == ("New logo", "avatars/k.png")


def test_open_redirects_to_a_short_lived_signed_url_that_serves_the_file(staff_client, s3):
    user = UserFactory()
    file = _file(title="Handout", key="attachments/h.pdf", uploaded_by=user)
    s3["client"].put_object(
        Bucket=s3["bucket"], Key=file.key, Body=b"%PDF-1.7", ContentType="application/pdf"
    )
    change_page = staff_client.get(reverse("admin:media_storedfile_change", args=[file.pk]))
    open_url = reverse("admin:media_storedfile_open", args=[file.pk])
    assert f'href="{open_url}"' in change_page.text

    response = staff_client.get(open_url)

    assert response.status_code == 302
    assert "X-Amz-Expires=60" in response["Location"]
    assert requests.get(response["Location"], timeout=10).content == b"%PDF-1.7"


def test_open_without_storage_explains_instead_of_failing(staff_client):
    file = _file(title="Handout")

    response = staff_client.get(reverse("admin:media_storedfile_open", args=[file.pk]), follow=True)

    assert response.status_code == 200
    assert "no S3-compatible storage is configured" in response.text


def test_learners_cannot_open_the_library_or_files(client):
    file = _file(title="Handout", created_at=timezone.now() - timedelta(days=1))
    client.force_login(UserFactory())

    response = client.get(reverse("admin:media_storedfile_open", args=[file.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def _changelist_queries(client, count: int) -> int:
    StoredFile.objects.all().delete()
    for index in range(count):
        _file(title=f"File {index}", uploaded_by=UserFactory())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:media_storedfile_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_the_library_page_costs_the_same_queries_for_5_or_50_files(
    staff_client, django_assert_max_num_queries
):
    few = _changelist_queries(staff_client, 5)
    many = _changelist_queries(staff_client, 50)

    assert few == many
    with django_assert_max_num_queries(few):
        staff_client.get(reverse("admin:media_storedfile_changelist"))
