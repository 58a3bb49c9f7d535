"""The profile page `/profile/`: display name, time zone, avatar upload, sessions."""

import io
from zoneinfo import ZoneInfo

import pytest
from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from PIL import Image

from accounts.models import User
from accounts.services import user_avatar_remove, user_avatar_set
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _refresh_device_info_on_every_request(settings):
    # These tests make "devices" with force_login and then one request; refresh the
    # session's device info (user agent, IP, last seen) on that request.
    settings.LMS_SESSION_ACTIVITY_INTERVAL = 0


PROFILE = "/profile/"
NOT_A_PICTURE = "Upload a JPEG, PNG or WebP picture; this file is not one."


def picture(
    size: tuple[int, int] = (800, 600), fmt: str = "PNG", name: str | None = None, **save
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, (200, 80, 40, 255) if mode == "RGBA" else (200, 80, 40)).save(
        buffer, format=fmt, **save
    )
    return SimpleUploadedFile(name or f"me.{fmt.lower()}", buffer.getvalue())


def stored(name: str) -> Image.Image:
    with default_storage.open(name) as handle:
        image = Image.open(handle)
        image.load()
    return image


def post_profile(client, **data):
    form = {"display_name": "Ana", "time_zone": "Europe/Madrid", **data}
    return client.post(PROFILE, form)


@pytest.fixture
def ana() -> User:
    return UserFactory(email="ana@example.com", display_name="Ana", time_zone="UTC")


@pytest.fixture
def ana_client(client, ana):
    client.force_login(ana)
    return client


# --- The page ---------------------------------------------------------------------------------


def test_profile_needs_a_signed_in_user(client):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={PROFILE}"


def test_profile_shows_the_current_values_and_the_security_links(ana_client):
    response = ana_client.get(PROFILE)

    assert response.status_code == 200
    assert reverse("accounts:profile") == PROFILE
    page = response.content.decode()
    assert 'name="display_name" value="Ana"' in page
    assert '<option value="UTC" selected>UTC</option>' in page
    assert '<optgroup label="Europe">' in page
    assert '<option value="Europe/Madrid">Madrid</option>' in page
    assert "ana@example.com" in page
    assert 'enctype="multipart/form-data"' in page
    for name in ("account_change_password", "account_email", "mfa_index"):
        assert f'href="{reverse(name)}"' in page


def test_saving_changes_the_name_and_time_zone(ana_client, ana):
    response = post_profile(ana_client, display_name="  Ana María ", time_zone="America/Bogota")

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone) == ("Ana María", "America/Bogota")
    page = ana_client.get(PROFILE).content.decode()
    assert "Your profile is saved." in page
    assert '<option value="America/Bogota" selected>Bogota</option>' in page


def test_saving_a_bio_keeps_it_as_plain_text(ana_client, ana):
    response = post_profile(ana_client, bio="  I teach **Django** <b>daily</b>.  ")

    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.bio == "I teach **Django** <b>daily</b>."
    page = ana_client.get(PROFILE).content.decode()
    assert "I teach **Django** &lt;b&gt;daily&lt;/b&gt;.</textarea>" in page


def test_a_bio_over_600_characters_is_a_form_error(ana_client, ana):
    response = post_profile(ana_client, bio="x" * 601)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "bio": ["Ensure this value has at most 600 characters (it has 601)."]
    }
    ana.refresh_from_db()
    assert ana.bio == ""


def test_an_unknown_time_zone_is_a_form_error(ana_client, ana):
    response = post_profile(ana_client, time_zone="Mars/Olympus_Mons", display_name="Changed")

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "time_zone": [
            "Select a valid choice. Mars/Olympus_Mons is not one of the available choices."
        ]
    }
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone) == ("Ana", "UTC")


# --- Avatar -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_an_uploaded_picture_is_stored_as_webp_with_a_square_thumbnail(ana_client, ana, fmt):
    response = post_profile(ana_client, avatar=picture((800, 600), fmt))

    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.avatar.name.startswith(f"avatars/{ana.pk}/")
    assert ana.avatar.name.endswith(".webp")
    full, thumbnail = stored(ana.avatar.name), stored(ana.avatar_thumbnail.name)
    assert (full.format, full.size) == ("WEBP", (512, 384))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (128, 128))
    # The name and time zone posted with it are saved too.
    assert ana.time_zone == "Europe/Madrid"


def test_a_small_picture_is_not_scaled_up(ana_client, ana):
    post_profile(ana_client, avatar=picture((100, 64)))

    ana.refresh_from_db()
    assert stored(ana.avatar.name).size == (100, 64)
    assert stored(ana.avatar_thumbnail.name).size == (128, 128)


def test_the_camera_orientation_is_applied(ana_client, ana):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"

    post_profile(ana_client, avatar=picture((400, 200), "JPEG", exif=exif))

    ana.refresh_from_db()
    assert stored(ana.avatar.name).size == (200, 400)


@pytest.mark.parametrize(
    ("fmt", "exif_orientation", "stored_size"),
    [("PNG", None, (512, 512)), ("JPEG", 6, (341, 512)), ("WEBP", None, (512, 256))],
    ids=["png", "jpeg-rotated", "webp"],
)
def test_the_largest_accepted_picture_is_stored(
    ana_client, ana, fmt, exif_orientation, stored_size
):
    # The most pixels allowed (16.8 MP; WebP half of it), decoded reduced (draft for a
    # JPEG), the camera's rotation applied to the reduced pixels.
    size = {"PNG": (4096, 4096), "JPEG": (4096, 2730), "WEBP": (4096, 2048)}[fmt]
    save = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        save["exif"] = exif
    upload = picture(size, fmt, **save)

    response = post_profile(ana_client, avatar=upload)

    assert response.status_code == 302
    ana.refresh_from_db()
    assert stored(ana.avatar.name).size == stored_size
    assert stored(ana.avatar_thumbnail.name).size == (128, 128)


def test_a_small_file_of_too_many_pixels_is_refused_before_it_is_decoded(ana_client, ana):
    # One colour: about 120 KB on disk, 144 MB once decoded.
    upload = picture((6000, 6000), "PNG")
    assert upload.size < 200_000

    response = post_profile(ana_client, display_name="Changed", avatar=upload)

    message = (
        "The picture is 6000×6000 pixels (36.0 megapixels); it can have at most 16.8 "
        "megapixels. Make it smaller and try again."
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"avatar": [message]}
    assert message in response.content.decode()
    ana.refresh_from_db()
    assert (ana.display_name, ana.avatar.name, ana.avatar_thumbnail.name) == ("Ana", "", "")
    assert not default_storage.exists(f"avatars/{ana.pk}")


def test_a_webp_gets_half_the_pixels(ana_client, ana):
    response = post_profile(ana_client, avatar=picture((4096, 4096), "WEBP", lossless=True))

    assert response.context["form"].errors == {
        "avatar": [
            "The picture is 4096×4096 pixels (16.8 megapixels); it can have at most 8.4 "
            "megapixels. Make it smaller and try again."
        ]
    }


def test_the_header_shows_the_thumbnail(ana_client, ana):
    post_profile(ana_client, avatar=picture())
    ana.refresh_from_db()

    page = ana_client.get(PROFILE).content.decode()

    assert f'src="/media/{ana.avatar_thumbnail.name}"' in page
    assert f'src="/media/{ana.avatar.name}"' in page


def test_replacing_the_picture_deletes_the_old_files(
    ana_client, ana, django_capture_on_commit_callbacks
):
    post_profile(ana_client, avatar=picture())
    ana.refresh_from_db()
    old = [ana.avatar.name, ana.avatar_thumbnail.name]

    with django_capture_on_commit_callbacks(execute=True):
        post_profile(ana_client, avatar=picture((300, 300), "JPEG"))

    ana.refresh_from_db()
    assert [default_storage.exists(name) for name in old] == [False, False]
    assert default_storage.exists(ana.avatar.name)
    assert default_storage.exists(ana.avatar_thumbnail.name)
    assert ana.avatar.name not in old


def test_removing_the_picture_deletes_its_files(
    ana_client, ana, django_capture_on_commit_callbacks
):
    post_profile(ana_client, avatar=picture())
    ana.refresh_from_db()
    old = [ana.avatar.name, ana.avatar_thumbnail.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = ana_client.post(reverse("accounts:avatar_remove"))

    assert response.status_code == 302
    ana.refresh_from_db()
    assert (ana.avatar.name, ana.avatar_thumbnail.name) == ("", "")
    assert [default_storage.exists(name) for name in old] == [False, False]
    page = ana_client.get(PROFILE).content.decode()
    assert "Your picture is removed." in page
    assert '<span class="avatar avatar--large" aria-hidden="true">A</span>' in page


def test_removing_when_there_is_no_picture_changes_nothing(ana):
    assert user_avatar_remove(user=ana) == ana
    assert ana.avatar.name == ""


def bad_upload_cases() -> list:
    png = picture().read()
    return [
        pytest.param(
            SimpleUploadedFile("me.png", b"just some text, not pixels"), NOT_A_PICTURE, id="text"
        ),
        pytest.param(picture(fmt="GIF", name="me.png"), NOT_A_PICTURE, id="gif-named-png"),
        pytest.param(picture(fmt="BMP"), NOT_A_PICTURE, id="bmp"),
        pytest.param(
            SimpleUploadedFile("me.png", png[: len(png) // 2]),
            "The picture file is damaged.",
            id="truncated",
        ),
        pytest.param(
            picture((63, 200)),
            "The picture is 63×200 pixels; it must be at least 64×64.",
            id="too-small",
        ),
        pytest.param(
            picture((6001, 64)),
            "The picture is 6001×64 pixels; it can be at most 6000×6000.",
            id="too-big",
        ),
    ]


@pytest.mark.parametrize(("upload", "message"), bad_upload_cases())
def test_a_bad_file_re_renders_the_form_with_an_error_and_changes_nothing(
    ana_client, ana, upload, message
):
    response = post_profile(ana_client, display_name="Changed", avatar=upload)

    assert response.status_code == 400
    assert response.context["form"].errors == {"avatar": [message]}
    assert message in response.content.decode()
    ana.refresh_from_db()
    assert (ana.display_name, ana.time_zone, ana.avatar.name) == ("Ana", "UTC", "")
    assert not default_storage.exists(f"avatars/{ana.pk}")


def test_a_file_over_the_size_limit_is_refused(ana_client, ana, settings):
    settings.LMS_AVATAR_MAX_BYTES = 2048
    upload = picture((800, 800), "PNG", compress_level=0)

    response = post_profile(ana_client, avatar=upload)

    size = filesizeformat(upload.size)  # about 2.4 MB: pixels stored uncompressed
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "avatar": [f"The picture is too large ({size}); the limit is 2.0\xa0KB."]
    }
    ana.refresh_from_db()
    assert ana.avatar.name == ""


def test_a_bad_replacement_keeps_the_current_picture(ana, django_capture_on_commit_callbacks):
    user_avatar_set(user=ana, upload=picture())
    current = ana.avatar.name

    with (
        pytest.raises(ValidationError, match="not one"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        user_avatar_set(user=ana, upload=SimpleUploadedFile("x.png", b"nope"))

    ana.refresh_from_db()
    assert ana.avatar.name == current
    assert default_storage.exists(current)


# --- Sessions ---------------------------------------------------------------------------------


def test_the_page_lists_sessions_with_this_device_marked(ana):
    ana.time_zone = "Asia/Tokyo"
    ana.save()
    laptop = Client(HTTP_USER_AGENT="Firefox/140.0 (Linux)")
    laptop.force_login(ana)
    phone = Client(HTTP_USER_AGENT="Safari (iPhone)", REMOTE_ADDR="10.1.2.3")
    phone.force_login(ana)
    phone.get("/")
    phone_session = UserSession.objects.get(user=ana, user_agent="Safari (iPhone)")

    page = laptop.get(PROFILE).content.decode()

    assert "Firefox/140.0 (Linux)" in page
    assert "Safari (iPhone)" in page
    assert "IP 10.1.2.3" in page
    # "Last seen" in the user's own time zone.
    tokyo = localtime(phone_session.last_seen_at, ZoneInfo("Asia/Tokyo"))
    assert f'Last seen <time datetime="{phone_session.last_seen_at.isoformat()}">' in page
    assert date_format(tokyo, "DATETIME_FORMAT") in page
    assert page.count("This device") == 1
    revoke_url = reverse("accounts:session_revoke", args=[phone_session.pk])
    assert f'action="{revoke_url}"' in page
    laptop_session = UserSession.objects.get(user=ana, user_agent="Firefox/140.0 (Linux)")
    assert reverse("accounts:session_revoke", args=[laptop_session.pk]) not in page


def test_revoking_another_session_signs_that_device_out(ana):
    laptop = Client()
    laptop.force_login(ana)
    phone = Client(HTTP_USER_AGENT="Safari (iPhone)")
    phone.force_login(ana)
    phone.get("/")
    phone_session = UserSession.objects.get(user=ana, user_agent="Safari (iPhone)")

    response = laptop.post(reverse("accounts:session_revoke", args=[phone_session.pk]))

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert phone.get(PROFILE).status_code == 302  # back to the sign-in page
    page = laptop.get(PROFILE).content.decode()
    assert "That session is signed out." in page
    assert "Safari (iPhone)" not in page


def test_revoking_this_device_signs_it_out(ana_client, ana):
    ana_client.get(PROFILE)
    current = UserSession.objects.get(user=ana)

    response = ana_client.post(reverse("accounts:session_revoke", args=[current.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert ana_client.get(PROFILE).status_code == 302


def test_someone_elses_session_is_not_found_and_lives_on(ana_client):
    bea = UserFactory(email="bea@example.com")
    bea_browser = Client()
    bea_browser.force_login(bea)
    bea_browser.get("/")
    bea_session = UserSession.objects.get(user=bea)

    response = ana_client.post(reverse("accounts:session_revoke", args=[bea_session.pk]))

    assert response.status_code == 404
    assert bea_browser.get(PROFILE).status_code == 200


def test_revoking_is_post_only_and_needs_the_csrf_token(ana):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ana)
    browser.get("/")
    session = UserSession.objects.get(user=ana)
    url = reverse("accounts:session_revoke", args=[session.pk])

    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
    assert UserSession.objects.filter(pk=session.pk).exists()
