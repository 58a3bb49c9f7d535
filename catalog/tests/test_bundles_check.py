"""The apps' update check (`POST /api/v1/updates/check/`) and bundle downloads
(`GET /api/v1/bundles/<id>/?token=`): what to download, only for what the learner may open,
through signed URLs that expire."""

# The moto fixtures are imported from media's conftest, so tests naming them redefine them.
# ruff: noqa: F811

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from jsonschema import Draft7Validator
from schemathesis.specs.openapi.converter import to_json_schema

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.bundles.downloads import bundle_download_url
from catalog.bundles.models import SectionBundle
from catalog.models import Course, Lesson
from catalog.services import lesson_update, section_delete
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from catalog.tests.test_admin import error_text, page_form_data
from catalog.tests.test_bundles_build import build, current, salsa_course
from lms.errors import CATALOG, ErrorCode
from media.models import StoredFile, Video
from media.tests.conftest import s3, s3_server  # noqa: F401  (the loopback S3 fixtures)

pytestmark = pytest.mark.django_db

URL = "/api/v1/updates/check/"
IOS = {"name": "ios", "version": "2.4.1"}
HIGHEST = {
    "name": "highest.mp4",
    "ext": "mp4",
    "resolution": "highest",
    "width": 1920,
    "height": 1080,
    "bitrate": 5_000_000,
    "size_bytes": 48_000_000,
    "status": "ready",
    "id": "rendition-1",
    "at": "2026-01-01T00:00:00Z",
}


class Matches:
    """Equal to any string matching the pattern (signed URLs carry tokens we cannot know)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(self.pattern.fullmatch(other))

    def __repr__(self) -> str:
        return f"Matches({self.pattern.pattern!r})"


class Soon:
    """Equal to an ISO time `seconds` from now, give or take a few seconds."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __eq__(self, other: object) -> bool:
        moment = parse_datetime(other) if isinstance(other, str) else None
        expected = timezone.now() + timedelta(seconds=self.seconds)
        return moment is not None and abs((moment - expected).total_seconds()) < 5

    def __repr__(self) -> str:
        return f"Soon({self.seconds})"


def manifest_url(bundle: SectionBundle) -> Matches:
    return Matches(rf"http://testserver/api/v1/bundles/{bundle.pk}/\?token=[\w%.:-]+")


def error(code: ErrorCode, fields: dict | None = None) -> dict:
    return {"error": {"code": code.value, "message": CATALOG[code].message, "fields": fields or {}}}


def section(bundle: SectionBundle, status: str, **extra) -> dict:
    """A section's answer: with the manifest's URL for `update` and `new`."""
    downloads = status in ("update", "new")
    return {
        "section": str(bundle.section_id),
        "course": str(bundle.course_id),
        "status": status,
        "version": bundle.version,
        "size": bundle.size,
        "manifest": {"url": manifest_url(bundle), "expires_at": Soon(600)} if downloads else None,
        "attachments": [],
        "videos": [],
        **extra,
    }


def answer(*sections: dict, offline_video: bool = False, missing: tuple = (), app=None) -> dict:
    return {
        "app": {**(app or IOS), "minimum_version": None},
        "offline_video": offline_video,
        "missing_courses": list(missing),
        "sections": list(sections),
    }


@pytest.fixture
def learner(api_client):
    user = UserFactory()
    api_client.force_authenticate(user)
    return user


def check(api_client, *, bundles=(), courses=(), app=IOS):
    body = {"app": app, "bundles": list(bundles), "courses": [str(pk) for pk in courses]}
    return api_client.post(URL, body, format="json")


def held(bundle: SectionBundle) -> dict:
    return {"section": str(bundle.section_id), "version": bundle.version}


# --- What to download --------------------------------------------------------------------------


def test_an_app_asking_for_a_course_gets_every_section_new_with_its_manifest_url(
    api_client, learner
):
    course = salsa_course()
    build(course)
    bundles = current(course)

    response = check(api_client, courses=[course.pk])

    assert response.status_code == 200
    assert response.json() == answer(
        section(bundles["Basics"], "new"), section(bundles["Turns"], "new")
    )


def test_the_check_answers_only_the_sections_that_changed(api_client, learner, on_commit):
    course = salsa_course()
    build(course)
    before = current(course)

    with on_commit(execute=True):
        lesson_update(lesson=Lesson.objects.get(slug="basic-step"), data={"title": "Side step"})
    response = check(api_client, bundles=[held(b) for b in before.values()], courses=[course.pk])

    after = current(course)
    assert response.status_code == 200
    assert response.json() == answer(
        section(after["Basics"], "update"), section(after["Turns"], "current")
    )


def test_the_manifest_url_downloads_the_bundle_whose_hash_is_its_version(api_client, learner):
    course = salsa_course()
    build(course)
    basics = current(course)["Basics"]
    url = check(api_client, courses=[course.pk]).json()["sections"][0]["manifest"]["url"]
    api_client.force_authenticate(None)  # the signed URL needs no credentials

    download = api_client.get(url)

    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download["ETag"] == f'"{basics.version}"'
    assert hashlib.sha256(download.content).hexdigest() == basics.version
    assert download.json() == basics.manifest


def test_removed_sections_and_missing_courses_are_named(api_client, learner, on_commit):
    course = salsa_course()
    build(course)
    bundles = current(course)
    gone = {"section": str(uuid.uuid4()), "version": "0" * 64}
    unpublished_course = CourseFactory(draft=True)
    with on_commit(execute=True):
        section_delete(section=bundles["Turns"].section)

    response = check(
        api_client,
        bundles=[held(bundles["Basics"]), held(bundles["Turns"]), gone],
        courses=[course.pk, unpublished_course.pk],
    )

    assert response.status_code == 200
    removed = {"course": None, "version": None, "size": None, "manifest": None}
    assert response.json() == answer(
        section(bundles["Basics"], "current"),
        {**section(bundles["Turns"], "removed"), **removed},
        {**section(bundles["Turns"], "removed"), **removed, "section": gone["section"]},
        missing=(str(unpublished_course.pk),),
    )


# --- Only what the learner may open ------------------------------------------------------------


def paid_salsa() -> Course:
    course = salsa_course(visibility=Course.Visibility.PAID, required_tier=pro_tier())
    # Turns holds only a free preview: open to everyone who may see the course.
    Lesson.objects.filter(slug="right-turn").update(is_free_preview=True)
    build(course)
    return course


def pro_tier(**kwargs):
    return TierFactory(slug="pro", name="Pro", rank=2, **kwargs)


def test_a_learner_without_access_gets_no_url_for_what_is_locked(api_client, learner):
    course = paid_salsa()
    bundles = current(course)

    response = check(api_client, bundles=[held(bundles["Basics"])], courses=[course.pk])

    assert response.status_code == 200
    locked = {"version": None, "size": None}
    assert response.json() == answer(
        {**section(bundles["Basics"], "locked"), **locked}, section(bundles["Turns"], "new")
    )


def test_a_learner_with_the_tier_gets_every_section(api_client, learner):
    course = paid_salsa()
    tier_grant_create(user=learner, tier=pro_tier(), source="staff")
    bundles = current(course)

    response = check(api_client, courses=[course.pk])

    assert response.json() == answer(
        section(bundles["Basics"], "new"), section(bundles["Turns"], "new")
    )


def _video_course(**video) -> Course:
    course = salsa_course()
    Video.objects.filter(lessons__slug="right-turn").update(
        playback_policy=Video.PlaybackPolicy.PUBLIC, static_renditions=[HIGHEST], **video
    )
    build(course)
    return course


def _turn_video(course: Course) -> dict:
    lesson = Lesson.objects.get(course=course, slug="right-turn")
    return {
        "lesson": str(lesson.pk),
        "video": str(lesson.video_id),
        "name": "highest.mp4",
        "url": "https://stream.mux.com/turn-playback/highest.mp4",
        "content_type": "video/mp4",
        "size_bytes": 48_000_000,
        "width": 1920,
        "height": 1080,
        "expires_at": None,  # a public playback id: the URL does not expire
    }


@pytest.mark.parametrize(
    ("who", "offline_video"),
    [("no tier", False), ("tier without downloads", False), ("tier with downloads", True)],
)
def test_videos_come_only_to_learners_whose_tier_includes_downloads(
    api_client, learner, who, offline_video
):
    course = _video_course()
    if who != "no tier":
        # The learner holds Pro; a lower tier's downloads come with it (higher ranks include
        # what lower ones open).
        TierFactory(slug="basic", rank=1, offline_video_downloads=offline_video)
        tier_grant_create(user=learner, tier=pro_tier(), source="staff")
    turns = current(course)["Turns"]

    response = check(api_client, courses=[course.pk])

    videos = [_turn_video(course)] if offline_video else []
    assert response.json()["sections"][1] == section(turns, "new", videos=videos)
    assert response.json()["offline_video"] is offline_video


def test_staff_turn_on_offline_video_for_a_tier_in_the_admin(api_client, learner, staff_client):
    course = _video_course()
    tier = pro_tier()
    tier_grant_create(user=learner, tier=tier, source="staff")
    change_url = f"/admin/billing/tier/{tier.pk}/change/"
    form = page_form_data(staff_client.get(change_url))
    assert check(api_client, courses=[course.pk]).json()["sections"][1]["videos"] == []

    response = staff_client.post(change_url, {**form, "offline_video_downloads": "on"})

    assert response.status_code == 302, error_text(response)
    tier.refresh_from_db()
    assert tier.offline_video_downloads is True
    api_client.force_authenticate(User.objects.get(pk=learner.pk))  # a new request's user
    sections = check(api_client, courses=[course.pk]).json()["sections"]
    assert sections[1]["videos"] == [_turn_video(course)]
    assert "offline video downloads" in staff_client.get("/admin/billing/tier/").text.casefold()


def test_staff_always_get_the_videos(api_client, staff_user):
    course = _video_course()
    api_client.force_authenticate(staff_user)
    bundles = current(course)

    response = check(api_client, courses=[course.pk])

    assert response.json() == answer(
        section(bundles["Basics"], "new"),
        section(bundles["Turns"], "new", videos=[_turn_video(course)]),
        offline_video=True,
    )


def _attach(s3, lesson: Lesson, body: bytes) -> StoredFile:
    file = StoredFile(
        purpose=StoredFile.Purpose.ATTACHMENT,
        title="Footwork.pdf",
        content_type="application/pdf",
        size=len(body),
        status=StoredFile.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    file.key = f"attachments/{file.id}.pdf"
    file.save()
    if s3 is not None:
        s3["client"].put_object(Bucket=s3["bucket"], Key=file.key, Body=body)
    lesson.attachments.add(file)
    return file


def test_attachments_come_with_signed_urls_that_download_them(api_client, learner, s3):
    course = salsa_course()
    lesson = Lesson.objects.get(slug="basic-step")
    handout = _attach(s3, lesson, b"%PDF-1.4 footwork")
    build(course)

    response = check(api_client, courses=[course.pk])

    attachments = response.json()["sections"][0]["attachments"]
    assert attachments == [
        {
            "lesson": str(lesson.pk),
            "file": str(handout.pk),
            "url": Matches(r"http://127\.0\.0\.1:\d+/.+"),
            "expires_at": Soon(600),
        }
    ]
    assert requests.get(attachments[0]["url"], timeout=10).content == b"%PDF-1.4 footwork"


def test_without_a_bucket_attachments_are_listed_without_url(api_client, learner):
    course = salsa_course()
    lesson = Lesson.objects.get(slug="basic-step")
    handout = _attach(None, lesson, b"%PDF")
    build(course)

    response = check(api_client, courses=[course.pk])

    basics = current(course)["Basics"]
    assert basics.manifest["lessons"][0]["attachments"][0]["sha256"] is None
    assert response.json()["sections"][0] == section(
        basics,
        "new",
        attachments=[
            {"lesson": str(lesson.pk), "file": str(handout.pk), "url": None, "expires_at": None}
        ],
    )


# --- Signed URLs --------------------------------------------------------------------------------


def _download(api_client, bundle: SectionBundle, *, now: datetime | None = None, token=None):
    if token is None:
        signed = bundle_download_url(bundle_id=bundle.pk, now=now)
        token = parse_qs(urlsplit(signed.url).query)["token"][0]
    return api_client.get(f"/api/v1/bundles/{bundle.pk}/", {"token": token})


def test_a_signed_url_expires(api_client, settings):
    course = salsa_course()
    build(course)
    basics = current(course)["Basics"]
    ttl = settings.LMS_BUNDLE_URL_TTL_SECONDS

    fresh = _download(api_client, basics, now=timezone.now() - timedelta(seconds=ttl - 5))
    expired = _download(api_client, basics, now=timezone.now() - timedelta(seconds=ttl + 1))

    assert fresh.status_code == 200
    assert expired.status_code == 410
    assert expired.json() == error(ErrorCode.BUNDLE_URL_EXPIRED)


def test_a_token_that_does_not_verify_or_names_another_bundle_is_refused(api_client):
    course = salsa_course()
    build(course)
    bundles = current(course)
    turns_token = parse_qs(urlsplit(bundle_download_url(bundle_id=bundles["Turns"].pk).url).query)

    forged = _download(api_client, bundles["Basics"], token="eyJiIjoiYSJ9:forged")
    swapped = _download(api_client, bundles["Basics"], token=turns_token["token"][0])
    missing = api_client.get(f"/api/v1/bundles/{bundles['Basics'].pk}/")

    assert (forged.status_code, swapped.status_code) == (403, 403)
    assert forged.json() == swapped.json() == error(ErrorCode.BUNDLE_URL_INVALID)
    assert missing.status_code == 400
    assert missing.json() == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": CATALOG[ErrorCode.VALIDATION_ERROR].message,
            "fields": {"token": ["This field is required."]},
        }
    }


def test_a_replaced_version_downloads_until_it_is_purged(api_client, on_commit):
    course = salsa_course()
    build(course)
    old = current(course)["Basics"]
    with on_commit(execute=True):
        lesson_update(lesson=Lesson.objects.get(slug="basic-step"), data={"title": "Side step"})

    still = _download(api_client, old)
    SectionBundle.objects.filter(pk=old.pk).delete()  # what the purge does after a day
    gone = _download(api_client, old)

    assert still.status_code == 200
    assert still.json()["lessons"][0]["title"] == "Basic step"
    assert gone.status_code == 410
    assert gone.json() == error(ErrorCode.BUNDLE_GONE)


# --- App versions and input ---------------------------------------------------------------------


def test_an_app_older_than_its_minimum_is_told_to_update(api_client, learner, settings):
    settings.LMS_APP_MIN_VERSIONS = {"ios": "2.5", "android": "3.0"}
    course = salsa_course()
    build(course)

    old = check(api_client, courses=[course.pk], app={"name": "ios", "version": "2.4.9"})
    beta = check(api_client, app={"name": "iOS", "version": "2.5.0-beta.2"})
    desktop = check(api_client, app={"name": "desktop", "version": "0.1"})

    assert old.status_code == 426
    assert old.json() == error(
        ErrorCode.APP_UPDATE_REQUIRED, {"app.version": ["The ios app needs version 2.5 or later."]}
    )
    assert beta.status_code == 200
    assert beta.json()["app"] == {
        "name": "iOS",
        "version": "2.5.0-beta.2",
        "minimum_version": "2.5",
    }
    assert desktop.json()["app"] == {"name": "desktop", "version": "0.1", "minimum_version": None}


def test_the_check_is_for_signed_in_learners(api_client):
    response = check(api_client)

    assert response.status_code == 401
    assert response.json() == error(ErrorCode.NOT_AUTHENTICATED)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"app": {"name": "ios", "version": "two"}}, ["app.version"]),
        ({"app": IOS, "bundles": [{"section": "x", "version": "0" * 64}]}, ["bundles.0.section"]),
        (
            {"app": IOS, "bundles": [{"section": str(uuid.UUID(int=1)), "version": "F" * 64}]},
            ["bundles.0.version"],
        ),
        (
            {"app": IOS, "bundles": [{"section": str(uuid.UUID(int=1)), "version": "0" * 64}] * 2},
            ["bundles"],
        ),
        ({"app": IOS, "courses": [str(uuid.UUID(int=n)) for n in range(51)]}, ["courses"]),
    ],
)
def test_bad_input_is_refused_with_the_fields_to_fix(api_client, learner, body, fields):
    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert sorted(response.json()["error"]["fields"]) == fields


# --- The schema tells the truth -----------------------------------------------------------------


def _documented(api_client, path: str, method: str, status: int) -> Draft7Validator:
    """A validator of the answer the schema documents for this operation and status, read
    as schemathesis reads it (OpenAPI 3.0's `nullable` turned into JSON Schema)."""
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    response = schema["paths"][path][method]["responses"][str(status)]
    components = {
        name: to_json_schema(component, nullable_keyword="nullable", is_response_schema=True)
        for name, component in schema["components"]["schemas"].items()
    }
    body = to_json_schema(
        response["content"]["application/json"]["schema"],
        nullable_keyword="nullable",
        is_response_schema=True,
    )
    return Draft7Validator(
        {**body, "components": {"schemas": components}},
        format_checker=Draft7Validator.FORMAT_CHECKER,
    )


def test_the_check_and_the_download_answer_what_the_schema_documents(api_client, staff_user, s3):
    course = _video_course()
    _attach(s3, Lesson.objects.get(slug="basic-step"), b"%PDF-1.4")
    Lesson.objects.filter(slug="check").update(is_free_preview=True)
    build(course)
    api_client.force_authenticate(staff_user)
    bundles = current(course)
    gone = {"section": str(uuid.uuid4()), "version": "0" * 64}

    check_answer = check(api_client, bundles=[held(bundles["Turns"]), gone], courses=[course.pk])
    url = check_answer.json()["sections"][0]["manifest"]["url"]
    download = api_client.get(url)
    expired = _download(api_client, bundles["Basics"], now=timezone.now() - timedelta(days=1))

    statuses = [item["status"] for item in check_answer.json()["sections"]]
    assert statuses == ["new", "current", "removed"]
    assert check_answer.json()["sections"][0]["attachments"][0]["url"] is not None
    check_schema = _documented(api_client, "/api/v1/updates/check/", "post", 200)
    check_schema.validate(check_answer.json())
    _documented(api_client, "/api/v1/bundles/{bundle_id}/", "get", 200).validate(download.json())
    _documented(api_client, "/api/v1/bundles/{bundle_id}/", "get", 410).validate(expired.json())


# --- Offline progress and cost ------------------------------------------------------------------


def test_a_lesson_completed_offline_from_a_bundle_syncs(api_client, learner):
    course = salsa_course()
    build(course)
    manifest_url_ = check(api_client, courses=[course.pk]).json()["sections"][0]["manifest"]["url"]
    lesson_id = api_client.get(manifest_url_).json()["lessons"][0]["id"]
    event = {
        "id": str(uuid.uuid4()),
        "type": "complete",
        "lesson": lesson_id,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }

    response = api_client.post("/api/v1/progress/sync/", {"events": [event]}, format="json")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": event["id"],
            "status": "applied",
            "code": None,
            "lesson": lesson_id,
            "lesson_status": "completed",
            "xp_awarded": 10,
        }
    ]


def _course_of(sections: int) -> Course:
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=pro_tier())
    video = Video.objects.create(
        title="Clip",
        status=Video.Status.READY,
        playback_id="clip",
        playback_policy=Video.PlaybackPolicy.PUBLIC,
        static_renditions=[HIGHEST],
    )
    for index in range(sections):
        part = SectionFactory(course=course, order=index)
        LessonFactory(section=part, order=0, kind=Lesson.Kind.VIDEO, video=video)
        LessonFactory(section=part, order=1)
    build(course)
    return course


def test_the_check_costs_the_same_queries_whatever_the_course_size(api_client, learner):
    tier_grant_create(user=learner, tier=pro_tier(offline_video_downloads=True), source="staff")
    small, large = _course_of(2), _course_of(12)

    def queries(course: Course, holding: int) -> tuple[int, dict]:
        bundles = [held(bundle) for bundle in list(current(course).values())[:holding]]
        api_client.force_authenticate(User.objects.get(pk=learner.pk))  # as a new request
        with CaptureQueriesContext(connection) as context:
            response = check(api_client, courses=[course.pk], bundles=bundles)
        return len(context), response.json()

    small_count, small_answer = queries(small, holding=1)
    large_count, large_answer = queries(large, holding=3)

    # The held sections' courses, the courses and their instructors, the learner's tier, the
    # bundles, the manifests to sign, the videos, the offline-video tier.
    assert (small_count, large_count) == (8, 8)
    assert [item["status"] for item in small_answer["sections"]] == ["current", "new"]
    assert [item["status"] for item in large_answer["sections"]] == ["current"] * 3 + ["new"] * 9
    assert all(len(item["videos"]) == 1 for item in large_answer["sections"][3:])


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks
