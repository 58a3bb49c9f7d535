"""The video library in the admin, driven like an editor would, against a fake Mux."""

import json

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory
from media.models import Video
from media.tests.fake_mux import FakeMux, fake_mux_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:media_video_changelist")
UPLOAD_URL = reverse("admin:media_video_upload")
CREATE_URL = reverse("admin:media_video_upload_create")
PROJECT_STATIC = django_settings.BASE_DIR / "static"


def change_url(video: Video) -> str:
    return reverse("admin:media_video_change", args=[video.pk])


def status_url(video: Video) -> str:
    return reverse("admin:media_video_status", args=[video.pk])


@pytest.fixture
def editor(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def upchunk_installed(settings, tmp_path):
    """UpChunk where STATICFILES_DIRS maps it (`npm install` puts the real one there)."""
    (tmp_path / "vendor" / "upchunk").mkdir(parents=True)
    (tmp_path / "vendor" / "upchunk" / "upchunk.js").write_text("window.UpChunk = {};")
    settings.STATICFILES_DIRS = [PROJECT_STATIC, tmp_path]


@pytest.fixture
def upchunk_missing(settings):
    settings.STATICFILES_DIRS = [PROJECT_STATIC]


def ready(video: Video, fake: FakeMux) -> Video:
    fake.asset_ready(video.mux_upload_id)
    from media.services import video_refresh_from_mux

    video_refresh_from_mux(video=video)
    video.refresh_from_db()
    return video


# --- upload ----------------------------------------------------------------------------------
def test_create_upload_returns_the_mux_url_for_the_browser(client, editor, fake_mux):
    response = client.post(CREATE_URL, {"title": "Lesson 1", "playback_policy": "signed"})

    assert response.status_code == 201
    video = Video.objects.get()
    upload = fake_mux.uploads[video.mux_upload_id]
    assert response.json() == {
        "video": {
            "id": str(video.pk),
            "title": "Lesson 1",
            "source": "mux",
            "status": "waiting",
            "status_label": "Waiting for upload",
            "playback_policy": "signed",
            "playback_id": "",
            "duration_seconds": None,
            "aspect_ratio": "",
            "error": "",
            "deleted": False,
        },
        "upload_url": upload["url"],
        "status_url": status_url(video),
        "change_url": change_url(video),
    }
    [request] = fake_mux.seen("POST", "/video/v1/uploads")
    assert request.authorized
    assert request.body["cors_origin"] == "http://testserver"
    assert request.body["new_asset_settings"]["passthrough"] == str(video.pk)
    assert video.created_by == editor


def test_create_upload_without_a_title_is_refused_with_the_field_error(client, editor, fake_mux):
    response = client.post(CREATE_URL, {"title": " ", "playback_policy": "signed"})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Some fields are invalid.",
            "fields": {"title": ["This field cannot be blank."]},
        }
    }
    assert Video.objects.count() == 0
    assert fake_mux.requests == []


def test_create_upload_when_mux_is_down_answers_a_clear_error(client, editor, fake_mux):
    fake_mux.fail_next(503)

    response = client.post(CREATE_URL, {"title": "Lesson 1", "playback_policy": "signed"})

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "MUX_UNAVAILABLE"
    assert Video.objects.count() == 0


def test_create_upload_with_a_token_mux_refuses_says_to_check_it(
    client, editor, fake_mux, settings
):
    settings.MUX_TOKEN_SECRET = "wrong"

    response = client.post(CREATE_URL, {"title": "Lesson 1", "playback_policy": "signed"})

    assert response.status_code == 502
    assert response.json() == {
        "error": {
            "code": "MUX_UNAVAILABLE",
            "message": "Mux refused our access token: check MUX_TOKEN_ID and MUX_TOKEN_SECRET.",
            "fields": {},
        }
    }
    assert Video.objects.count() == 0


def test_upload_page_has_the_form_progress_bar_and_uploader(
    client, editor, fake_mux, upchunk_installed
):
    response = client.get(UPLOAD_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<progress id="video-upload-progress" max="100" value="0"' in html
    assert 'value="Create upload"' in html
    assert f'data-endpoint="{CREATE_URL}"' in html
    assert '<script src="/static/vendor/upchunk/upchunk.js" defer></script>' in html
    assert "/static/js/admin-upload.js" in html
    assert "Retry upload" in html
    assert "not configured" not in html
    assert "not installed" not in html


def test_add_video_leads_to_the_upload_page(client, editor):
    response = client.get(reverse("admin:media_video_add"))

    assert response.status_code == 302
    assert response["Location"] == UPLOAD_URL


def test_without_mux_configured_the_upload_page_says_so_and_uploads_are_refused(
    client, editor, settings, upchunk_installed
):
    settings.MUX_TOKEN_ID = ""
    settings.MUX_TOKEN_SECRET = ""

    page = client.get(UPLOAD_URL)
    create = client.post(CREATE_URL, {"title": "Lesson 1", "playback_policy": "signed"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "Video uploads are not configured: set MUX_TOKEN_ID and MUX_TOKEN_SECRET." in html
    assert 'value="Create upload" data-upload-submit disabled' in html
    assert create.status_code == 503
    assert create.json() == {
        "error": {
            "code": "MUX_NOT_CONFIGURED",
            "message": "Video uploads are not configured: set MUX_TOKEN_ID and MUX_TOKEN_SECRET.",
            "fields": {},
        }
    }
    assert Video.objects.count() == 0


def test_without_upchunk_installed_the_upload_page_says_so(
    client, editor, fake_mux, upchunk_missing
):
    html = client.get(UPLOAD_URL).content.decode()

    assert "The uploader (UpChunk) is not installed on this server" in html
    assert "vendor/upchunk" not in html
    assert 'value="Create upload" data-upload-submit disabled' in html


def test_a_video_page_without_mux_configured_still_opens(client, editor, settings):
    settings.MUX_TOKEN_ID = ""
    video = Video.objects.create(title="Imported", mux_upload_id="upload-1")

    response = client.get(change_url(video))

    assert response.status_code == 200
    assert "Video uploads are not configured" in response.content.decode()


# --- list ------------------------------------------------------------------------------------
def videos_in_use(count: int) -> list[Video]:
    videos = [Video.objects.create(title=f"Video {n:02d}") for n in range(count)]
    for video in videos:
        LessonFactory.create_batch(2, video=video, kind="video")
        CourseFactory(preview_video=video)
    return videos


def list_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_list_runs_the_same_queries_for_3_and_30_videos(client, editor):
    videos_in_use(3)
    few, _ = list_queries(client)
    videos_in_use(27)
    many, html = list_queries(client)

    assert few == many <= 8  # session, user, count, rows, date hierarchy...
    assert html.count('<td class="field-usage_count">3</td>') == 30


def test_the_list_shows_title_status_policy_duration_and_usage(client, editor, fake_mux):
    used = Video.objects.create(
        title="Welcome", status="ready", playback_id="p1", duration_seconds=125.4
    )
    LessonFactory(video=used)
    Video.objects.create(title="Trailer", playback_policy="public")

    html = client.get(LIST_URL).content.decode()

    assert "Welcome" in html and "Trailer" in html
    assert '<td class="field-status">Ready</td>' in html
    assert '<td class="field-playback_policy">Public (course previews)</td>' in html
    assert '<td class="field-duration">2:05</td>' in html
    assert '<td class="field-usage_count">1</td>' in html
    assert '<td class="field-usage_count">0</td>' in html


def test_the_list_filters_by_status_policy_and_deleted_and_searches(client, editor):
    Video.objects.create(title="Alpha lesson", status="ready", playback_id="p1")
    Video.objects.create(title="Beta trailer", playback_policy="public")
    Video.objects.create(title="Gamma old", status="deleted", deleted_at="2026-01-01T00:00Z")

    def titles(query: str) -> set[str]:
        response = client.get(f"{LIST_URL}?{query}")
        assert response.status_code == 200
        return {v.title for v in response.context["cl"].result_list}

    assert titles("status__exact=ready") == {"Alpha lesson"}
    assert titles("playback_policy__exact=public") == {"Beta trailer"}
    assert titles("deleted=yes") == {"Gamma old"}
    assert titles("deleted=no") == {"Alpha lesson", "Beta trailer"}
    assert titles("q=trailer") == {"Beta trailer"}


def test_the_list_is_paginated(client, editor):
    Video.objects.bulk_create(Video(title=f"Video {n}") for n in range(51))

    first = client.get(LIST_URL)
    second = client.get(f"{LIST_URL}?p=2")

    assert len(first.context["cl"].result_list) == 50
    assert len(second.context["cl"].result_list) == 1


# --- delete and restore ----------------------------------------------------------------------
def test_soft_delete_action_deletes_the_mux_asset_and_restore_brings_it_back(
    client, editor, fake_mux, django_capture_on_commit_callbacks
):
    created = client.post(CREATE_URL, {"title": "Old take", "playback_policy": "signed"})
    video = ready(Video.objects.get(pk=created.json()["video"]["id"]), fake_mux)
    asset_id = video.mux_asset_id

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            LIST_URL,
            {"action": "soft_delete_selected", "_selected_action": [video.pk]},
            follow=True,
        )

    assert "Deleted 1 video." in response.content.decode()
    assert [r.path for r in fake_mux.seen("DELETE")] == [f"/video/v1/assets/{asset_id}"]
    video.refresh_from_db()
    assert (video.status, video.deleted_at is not None) == ("deleted", True)

    response = client.post(
        LIST_URL, {"action": "restore_selected", "_selected_action": [video.pk]}, follow=True
    )

    assert "Restored 1 video: upload its file again." in response.content.decode()
    video.refresh_from_db()
    assert (video.status, video.deleted_at) == ("waiting", None)


def test_deleting_a_video_in_use_warns_which_ones(client, editor):
    video = Video.objects.create(title="Busy video")
    LessonFactory(video=video)

    response = client.post(
        LIST_URL, {"action": "soft_delete_selected", "_selected_action": [video.pk]}, follow=True
    )

    assert "Still used by lessons or courses, which no longer play them: Busy video" in (
        response.content.decode()
    )


def test_videos_cannot_be_deleted_outright(client, editor):
    video = Video.objects.create(title="Keep")

    response = client.post(reverse("admin:media_video_delete", args=[video.pk]), {"post": "yes"})
    actions = client.get(LIST_URL).context["action_form"].fields["action"].choices

    assert response.status_code == 403
    assert Video.objects.filter(pk=video.pk).exists()
    assert "delete_selected" not in [name for name, _ in actions]


# --- change page -----------------------------------------------------------------------------
def test_the_video_page_links_to_the_lessons_and_courses_using_it(client, editor, fake_mux):
    video = Video.objects.create(title="Shared", playback_policy="public")
    lesson = LessonFactory(video=video, title="Chords 101")
    course = CourseFactory(preview_video=video, title="Guitar basics")

    html = client.get(change_url(video)).content.decode()

    lesson_link = reverse("admin:catalog_lesson_change", args=[lesson.pk])
    course_link = reverse("admin:catalog_course_change", args=[course.pk])
    assert f'<li>Lesson: <a href="{lesson_link}">Chords 101</a></li>' in html
    assert f'<li>Course preview: <a href="{course_link}">Guitar basics</a></li>' in html
    assert f'data-status-url="{status_url(video)}" data-status="waiting"' in html
    assert "Upload and replace" in html


def test_the_status_view_reports_the_live_state(client, editor, fake_mux):
    created = client.post(CREATE_URL, {"title": "Intro", "playback_policy": "signed"})
    video = Video.objects.get(pk=created.json()["video"]["id"])
    before = client.get(status_url(video)).json()
    video = ready(video, fake_mux)

    after = client.get(status_url(video)).json()

    assert before["status"] == "waiting"
    assert after == {
        "id": str(video.pk),
        "title": "Intro",
        "source": "mux",
        "status": "ready",
        "status_label": "Ready",
        "playback_policy": "signed",
        "playback_id": video.playback_id,
        "duration_seconds": 42.5,
        "aspect_ratio": "16:9",
        "error": "",
        "deleted": False,
    }


def test_renaming_a_video_on_its_page_saves_the_title(client, editor):
    video = Video.objects.create(title="Untitled")

    response = client.post(change_url(video), {"title": "Scales in G"})

    assert response.status_code == 302
    video.refresh_from_db()
    assert video.title == "Scales in G"


def test_replacing_the_file_returns_a_new_upload_url(
    client, editor, fake_mux, django_capture_on_commit_callbacks
):
    created = client.post(CREATE_URL, {"title": "Take 1", "playback_policy": "signed"})
    video = ready(Video.objects.get(pk=created.json()["video"]["id"]), fake_mux)
    old_asset = video.mux_asset_id

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:media_video_replace", args=[video.pk]))

    assert response.status_code == 200
    video.refresh_from_db()
    body = response.json()
    assert body["upload_url"] == fake_mux.uploads[video.mux_upload_id]["url"]
    assert body["video"]["status"] == "waiting"
    assert [r.path for r in fake_mux.seen("DELETE")] == [f"/video/v1/assets/{old_asset}"]


def test_staff_without_video_permissions_cannot_create_uploads(client, fake_mux):
    client.force_login(UserFactory(is_staff=True))

    page = client.get(UPLOAD_URL)
    create = client.post(CREATE_URL, {"title": "Sneaky", "playback_policy": "signed"})

    assert page.status_code == create.status_code == 403
    assert fake_mux.requests == []
    assert Video.objects.count() == 0


def test_status_view_is_json_for_pollers(client, editor):
    video = Video.objects.create(title="Waiting")

    response = client.get(status_url(video))

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["status_label"] == "Waiting for upload"


# --- in a browser ----------------------------------------------------------------------------
UPCHUNK_DIST = django_settings.BASE_DIR / "node_modules" / "@mux" / "upchunk" / "dist"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_editor_uploads_a_file_straight_to_mux_and_sees_it_become_ready(
    browser, live_server, fake_mux, settings
):
    from django.test import Client
    from playwright.sync_api import expect

    from lms.tests.browser import screenshot
    from media.services import video_refresh_from_mux

    if not (UPCHUNK_DIST / "upchunk.js").exists():
        pytest.fail("UpChunk is missing: run `npm install` (package.json) first")
    settings.STATICFILES_DIRS = [PROJECT_STATIC, ("vendor/upchunk", UPCHUNK_DIST)]
    session = Client()
    session.force_login(UserFactory(is_staff=True, is_superuser=True))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    clip = b"\x00\x00\x00\x18ftypmp42" + bytes(300_000)

    page.goto(f"{live_server.url}{UPLOAD_URL}")
    mux_form = page.locator("[data-video-upload-form]")
    mux_form.get_by_label("Title:").fill("Basic step")
    mux_form.get_by_label("Video file:").set_input_files(
        {"name": "basic-step.mp4", "mimeType": "video/mp4", "buffer": clip}
    )
    page.get_by_role("button", name="Create upload").click()

    expect(page.get_by_text("Uploaded. Mux is preparing the video")).to_be_visible()
    progress = page.locator("progress#video-upload-progress")
    expect(progress).to_have_attribute("value", "100")
    expect(mux_form.locator("[data-upload-percent]")).to_have_text("100%")
    video = Video.objects.get(title="Basic step")
    assert fake_mux.files[video.mux_upload_id] == clip  # the bytes went to Mux, not to us
    # Mux (like the fake) accepts the browser's PUTs only from the origin we asked for.
    assert fake_mux.uploads[video.mux_upload_id]["cors_origin"] == live_server.url
    status = page.locator("[data-upload-done] [data-video-status]")
    expect(status).to_have_text("Waiting for upload")
    screenshot(page, "admin-video-uploaded")

    fake_mux.asset_ready(video.mux_upload_id)
    video_refresh_from_mux(video=video)  # as the webhook would

    expect(status).to_have_text("Ready", timeout=10_000)
    page.get_by_role("link", name="Open the video").click()
    expect(page.locator("[data-video-status]")).to_have_text("Ready")
    expect(page.get_by_role("heading", name="Upload a new file")).to_be_visible()
    screenshot(page, "admin-video-change")
    context.close()
