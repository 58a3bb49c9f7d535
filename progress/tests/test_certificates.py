"""Certificates: the public page and the PDF, both by code, both without the learner's email;
the name on them, given by its owner when it is missing and corrected (audited)."""

import base64
import html
import importlib
import re
import zlib
from datetime import UTC, datetime

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.certificates_pdf import certificate_pdf_render
from progress.models import Certificate, Enrollment, LearnerStats
from progress.services import lesson_complete

pytestmark = pytest.mark.django_db


# --- Reading a PDF back (reportlab's output is regular enough for this) --------------------
_STREAM = re.compile(rb"(\d+) 0 obj\s*<<([^<>]*)>>\s*stream\r?\n")
_FONT = re.compile(rb"/Name /(\S+)[^>]*?/ToUnicode (\d+) 0 R")
_TEXT = re.compile(rb"/(?P<font>[^\s/]+) [\d.]+ Tf|\((?P<string>(?:\\.|[^\\)])*)\) Tj")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _streams(pdf: bytes) -> dict[int, bytes]:
    """Every stream object, inflated (reportlab uses Flate, and ASCII85 on page content)."""
    streams = {}
    for match in _STREAM.finditer(pdf):
        head = match.group(2)
        length = int(re.search(rb"/Length (\d+)", head).group(1))
        raw = pdf[match.end() : match.end() + length]
        if b"/ASCII85Decode" in head:
            raw = base64.a85decode(raw.strip().removesuffix(b"~>"))
        if b"/FlateDecode" in head:
            raw = zlib.decompress(raw)
        streams[int(match.group(1))] = raw
    return streams


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages, one `Tj` a line, decoded through each embedded font's
    ToUnicode map: what a reader shows (and copies) for the certificate."""
    streams = _streams(pdf)
    to_unicode = {}
    for name, ref in _FONT.findall(pdf):
        pairs = re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4,})>", streams[int(ref)])
        to_unicode[name] = {int(code, 16): chr(int(uni, 16)) for code, uni in pairs}
    lines = []
    for number, content in streams.items():
        if number in {int(ref) for _name, ref in _FONT.findall(pdf)} or b" Tj" not in content:
            continue
        font: dict[int, str] = {}
        for match in _TEXT.finditer(content):
            if match.group("font"):
                font = to_unicode.get(match.group("font"), {})
            else:
                codes = _unescape(match.group("string"))
                lines.append("".join(font.get(code, chr(code)) for code in codes))
    return "\n".join(lines)


# --- Helpers ---------------------------------------------------------------------------------
def text_of(response) -> str:
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def earn_certificate(learner, *, title: str = "Salsa basics", slug: str = "salsa") -> Certificate:
    """Complete every lesson of a new course, the way a learner does."""
    course = CourseFactory(title=title, slug=slug)
    section = SectionFactory(course=course, order=0)
    for order in range(2):
        lesson_complete(user=learner, lesson=LessonFactory(section=section, order=order))
    return Certificate.objects.get(user=learner, course=course)


@pytest.fixture
def learner():
    return UserFactory(
        email="ada.private@example.com", display_name="Ada Lovelace", time_zone="Europe/London"
    )


# --- The page ------------------------------------------------------------------------------
def test_the_certificate_page_is_at_its_documented_address(learner):
    certificate = earn_certificate(learner)

    assert certificate.get_absolute_url() == f"/certificates/{certificate.code}/"
    assert reverse("progress:certificate_pdf", kwargs={"code": certificate.code}) == (
        f"/certificates/{certificate.code}/pdf/"
    )


def test_anyone_with_the_code_sees_the_frozen_name_and_title(client, learner):
    certificate = earn_certificate(learner)
    # Renaming the learner or the course later does not rewrite the certificate.
    learner.display_name = "Ada King"
    learner.save()
    certificate.course.title = "Salsa for everyone"
    certificate.course.save()

    response = client.get(f"/certificates/{certificate.code}/")

    assert response.status_code == 200
    text = text_of(response)
    assert (
        f"Certificate of completion This certifies that Ada Lovelace has completed the course "
        f"Salsa basics Issued on {_issued(certificate)} Certificate code {certificate.code}"
    ) in text
    assert "Ada King" not in text
    assert "Salsa for everyone" not in text
    assert f"http://testserver/certificates/{certificate.code}/" in text
    page = response.content.decode()
    assert f'href="/certificates/{certificate.code}/pdf/" download>Download PDF</a>' in page
    assert '<meta name="robots" content="noindex">' in page
    # Its address goes to no other site (and same-site forms still pass the CSRF Origin check).
    assert '<meta name="referrer" content="same-origin">' in page


def _issued(certificate: Certificate) -> str:
    day = timezone.localtime(certificate.issued_at, certificate.user.zoneinfo)
    return f"{day.day} {day:%B} {day.year}"


def test_the_issue_date_is_the_learners_own_day(client, monkeypatch):
    learner = UserFactory(display_name="Mere Tane", time_zone="Pacific/Auckland")
    # 23:30 UTC on 5 March is already the morning of 6 March in Auckland.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 3, 5, 23, 30, tzinfo=UTC))
    certificate = earn_certificate(learner)

    page = client.get(certificate.get_absolute_url()).content.decode()

    assert '<time datetime="2025-03-06">6 March 2025</time>' in page
    assert "Issued on 6 March 2025" in pdf_text(
        client.get(f"{certificate.get_absolute_url()}pdf/").content
    )


def test_the_page_never_shows_the_learners_email(client, learner):
    certificate = earn_certificate(learner)

    page = client.get(certificate.get_absolute_url()).content.decode()

    assert "ada.private" not in page
    assert "example.com" not in page


def test_the_code_is_matched_whatever_its_case(client, learner):
    certificate = earn_certificate(learner)

    response = client.get(f"/certificates/{certificate.code.lower()}/")

    assert response.status_code == 200
    assert "Ada Lovelace" in text_of(response)


def test_an_unknown_code_gives_the_not_found_page(client):
    for url in ("/certificates/NOPE12345678/", "/certificates/NOPE12345678/pdf/"):
        response = client.get(url)

        assert response.status_code == 404
        text = text_of(response)
        assert "There is no certificate with this code." in text
        assert "CERTIFICATE_NOT_FOUND" in text


def test_only_the_owner_is_told_it_is_their_certificate(client, learner):
    certificate = earn_certificate(learner)
    anonymous = Client()
    someone_else = Client()
    someone_else.force_login(UserFactory())
    client.force_login(learner)

    assert "This is your certificate." in text_of(client.get(certificate.get_absolute_url()))
    for visitor in (anonymous, someone_else):
        response = visitor.get(certificate.get_absolute_url())
        assert response.status_code == 200
        assert "This is your certificate." not in text_of(response)


def test_the_dashboard_links_to_the_certificate(client, learner):
    certificate = earn_certificate(learner)
    client.force_login(learner)

    page = client.get(reverse("progress:dashboard")).content.decode()

    link = f'<a class="certificate-item__link" href="/certificates/{certificate.code}/">'
    assert f"{link}Salsa basics</a>" in page
    assert client.get(f"/certificates/{certificate.code}/").status_code == 200


# --- The PDF ------------------------------------------------------------------------------
def test_the_pdf_downloads_with_a_sensible_name(client, learner):
    certificate = earn_certificate(learner, title="Salsa: the basics!")

    response = client.get(f"/certificates/{certificate.code}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="certificate-salsa-the-basics-{certificate.code.lower()}.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_the_pdf_shows_name_title_date_code_and_where_to_verify(client, learner):
    certificate = earn_certificate(learner)

    text = pdf_text(client.get(f"/certificates/{certificate.code}/pdf/").content)

    assert text.split("\n")[:6] == [
        "LMS SCHOOL",
        "Certificate of completion",
        "This certifies that",
        "Ada Lovelace",
        "has completed the course",
        "Salsa basics",
    ]
    assert f"Issued on {_issued(certificate)}" in text
    assert f"http://testserver/certificates/{certificate.code}/" in text
    assert certificate.code in text
    assert "ada.private" not in text


def test_names_with_accents_are_embedded_and_readable(learner):
    learner.display_name = "Zoë Łukasz-Núñez"
    learner.save()
    certificate = earn_certificate(learner, title="Café con leche: ritmo")

    pdf = certificate_pdf_render(
        certificate=certificate, verification_url="https://lms.example/certificates/X/"
    )

    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # the TrueType font travels inside the file
    text = pdf_text(pdf)
    assert "Zoë Łukasz-Núñez" in text
    assert "Café con leche: ritmo" in text


def test_uncompressed_pdf_has_the_name_as_plain_bytes(learner):
    certificate = earn_certificate(learner)

    pdf = certificate_pdf_render(
        certificate=certificate, verification_url="https://lms.example/c/", compress=False
    )

    assert pdf.startswith(b"%PDF")
    assert b"(Ada Lovelace) Tj" in pdf


def test_a_very_long_course_title_is_wrapped_not_cut(learner):
    title = "A very long course title " * 7
    certificate = earn_certificate(learner, title=title.strip())

    text = pdf_text(certificate_pdf_render(certificate=certificate, verification_url="x"))

    lines = text.split("\n")
    start = lines.index("has completed the course") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("Issued on"))
    assert end - start > 1
    assert " ".join(lines[start:end]) == title.strip()


# --- The name on the certificate: given when missing, corrected, audited -------------------
def name_url(certificate: Certificate) -> str:
    return reverse("progress:certificate_name", kwargs={"code": certificate.code})


def audit_entries() -> list[tuple]:
    return list(
        AuditLog.objects.order_by("created_at").values_list(
            "action", "actor__email", "target_type", "target_id", "details"
        )
    )


def test_a_learner_without_a_name_still_gets_the_certificate_and_everything_else(client):
    learner = UserFactory(email="zoe.quiet@example.com", display_name="")

    certificate = earn_certificate(learner)

    # Completion, XP and the certificate itself are all there; only the name waits.
    assert (certificate.learner_name, certificate.name_pending) == ("", True)
    assert Enrollment.objects.get(user=learner).completed_at is not None
    assert LearnerStats.objects.get(user=learner).xp_total > 0


def test_a_certificate_without_a_name_is_not_shown_to_others_and_never_by_email(client):
    learner = UserFactory(email="zoe.quiet@example.com", display_name="")
    certificate = earn_certificate(learner)
    someone = Client()
    someone.force_login(UserFactory())

    for visitor in (client, someone):
        page = visitor.get(certificate.get_absolute_url())
        assert page.status_code == 200
        assert "This certificate is not ready yet: its owner has not yet confirmed the name" in (
            text_of(page)
        )
        assert "zoe.quiet" not in page.content.decode()
        assert "@" not in text_of(page)
        assert "Download PDF" not in text_of(page)
        assert 'name="learner_name"' not in page.content.decode()
        pdf = visitor.get(f"{certificate.get_absolute_url()}pdf/")
        assert pdf.status_code == 409
        assert "This certificate shows once its owner has confirmed the name" in text_of(pdf)


def test_its_owner_is_asked_for_the_name_and_giving_it_shows_the_certificate(client):
    learner = UserFactory(email="zoe.quiet@example.com", display_name="")
    certificate = earn_certificate(learner)
    code = certificate.code
    client.force_login(learner)

    page = client.get(certificate.get_absolute_url())
    assert "Tell us the name to print on it" in text_of(page)
    assert "Your name on the certificate" in text_of(page)
    assert 'name="learner_name" id="id_learner_name" value=""' in page.content.decode()

    response = client.post(name_url(certificate), {"learner_name": "  Zoë   Quiet "})

    assert response.status_code == 302
    assert response["Location"] == certificate.get_absolute_url()
    certificate.refresh_from_db()
    assert (certificate.code, certificate.learner_name, certificate.name_corrections) == (
        code,
        "Zoë Quiet",
        0,  # giving a missing name is not a correction
    )
    learner.refresh_from_db()
    assert learner.display_name == "Zoë Quiet"  # the next certificates carry it from the start
    assert audit_entries() == [
        (
            "certificate.name_confirmed",
            "zoe.quiet@example.com",
            "progress.certificate",
            str(certificate.pk),
            {
                "code": code,
                "course_title": "Salsa basics",
                "old_name": "",
                "new_name": "Zoë Quiet",
                "corrections": 0,
            },
        )
    ]
    page = Client().get(certificate.get_absolute_url())
    assert "This certifies that Zoë Quiet has completed the course Salsa basics" in text_of(page)
    assert "Zoë Quiet" in pdf_text(Client().get(f"{certificate.get_absolute_url()}pdf/").content)
    followed = client.get(certificate.get_absolute_url())
    assert "Your certificate now carries your name: Zoë Quiet." in text_of(followed)


def test_the_owner_corrects_the_name_audited_with_the_code_kept_and_the_pdf_renamed(
    client, learner
):
    certificate = earn_certificate(learner)
    code = certificate.code
    client.force_login(learner)
    assert "You can correct the name 2 more times" in text_of(client.get(f"/certificates/{code}/"))

    response = client.post(name_url(certificate), {"learner_name": "Augusta Ada King"})

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert (certificate.code, certificate.learner_name, certificate.name_corrections) == (
        code,
        "Augusta Ada King",
        1,
    )
    (entry,) = audit_entries()
    assert entry[0] == "certificate.name_corrected"
    assert entry[4] == {
        "code": code,
        "course_title": "Salsa basics",
        "old_name": "Ada Lovelace",
        "new_name": "Augusta Ada King",
        "corrections": 1,
    }
    learner.refresh_from_db()
    assert learner.display_name == "Ada Lovelace"  # the profile is the learner's own business
    text = pdf_text(client.get(f"/certificates/{code}/pdf/").content)
    assert "Augusta Ada King" in text
    assert "Ada Lovelace" not in text
    page = client.get(f"/certificates/{code}/")
    assert "The name on your certificate is now Augusta Ada King." in text_of(page)
    assert "You can correct the name 1 more time;" in text_of(page)


def test_corrections_are_limited_and_the_page_says_so(client, learner, settings):
    settings.LMS_CERTIFICATE_NAME_CORRECTIONS = 1
    certificate = earn_certificate(learner)
    client.force_login(learner)
    client.post(name_url(certificate), {"learner_name": "Ada King"})

    response = client.post(name_url(certificate), {"learner_name": "Ada Byron"})

    assert response.status_code == 409
    assert "The name on this certificate has been corrected as many times as allowed" in (
        text_of(response)
    )
    certificate.refresh_from_db()
    assert (certificate.learner_name, certificate.name_corrections) == ("Ada King", 1)
    assert [entry[0] for entry in audit_entries()] == ["certificate.name_corrected"]
    page = client.get(certificate.get_absolute_url())
    assert 'name="learner_name"' not in page.content.decode()
    assert "Contact us if it still needs a change." in text_of(page)


def test_the_same_name_again_changes_nothing_and_writes_no_audit(client, learner):
    certificate = earn_certificate(learner)
    client.force_login(learner)

    response = client.post(name_url(certificate), {"learner_name": " Ada  Lovelace "})

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert (certificate.learner_name, certificate.name_corrections) == ("Ada Lovelace", 0)
    assert audit_entries() == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("   ", "Enter the name to print on the certificate."),
        ("ada@example.com", "Enter your name, not an email address."),
        ("A" * 81, "Use at most 80 characters."),
    ],
)
def test_an_unusable_name_is_a_form_error_and_changes_nothing(client, learner, name, error):
    certificate = earn_certificate(learner)
    client.force_login(learner)

    response = client.post(name_url(certificate), {"learner_name": name})

    assert response.status_code == 400
    assert f'<p class="field__error" id="id_learner_name_error">{error}</p>' in (
        response.content.decode()
    )
    certificate.refresh_from_db()
    assert (certificate.learner_name, certificate.name_corrections) == ("Ada Lovelace", 0)
    assert audit_entries() == []


def test_nobody_else_can_change_the_name_on_a_certificate(client, learner):
    certificate = earn_certificate(learner)
    someone = Client()
    someone.force_login(UserFactory(email="mallory@example.com", display_name="Mallory"))

    refused = someone.post(name_url(certificate), {"learner_name": "Mallory"})
    anonymous = Client().post(name_url(certificate), {"learner_name": "Mallory"})
    owner_page_for_someone = someone.get(certificate.get_absolute_url())

    assert refused.status_code == 403
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    assert 'name="learner_name"' not in owner_page_for_someone.content.decode()
    certificate.refresh_from_db()
    assert certificate.learner_name == "Ada Lovelace"
    assert audit_entries() == []


def test_a_renamed_profile_leaves_the_certificate_frozen_and_is_offered_to_its_owner(
    client, learner
):
    certificate = earn_certificate(learner)
    learner.display_name = "Ada King"
    learner.save()
    client.force_login(learner)

    page = client.get(certificate.get_absolute_url())

    assert "This certifies that Ada Lovelace has completed" in text_of(page)
    assert "Use your profile name: Ada King" in text_of(page)
    assert '<input type="hidden" name="learner_name" value="Ada King">' in page.content.decode()
    assert "Use your profile name" not in text_of(Client().get(certificate.get_absolute_url()))

    client.post(name_url(certificate), {"learner_name": "Ada King"})

    certificate.refresh_from_db()
    assert certificate.learner_name == "Ada King"
    assert "Use your profile name" not in text_of(client.get(certificate.get_absolute_url()))


def test_old_certificates_named_after_the_email_ask_for_a_name_after_the_migration(client):
    """The data migration `0006_certificate_name_to_confirm`: certificates that carry the
    email's local part (what they printed before sign-up asked for a name) or an address
    wait for their owner's name; real names stay."""
    migration = importlib.import_module("progress.migrations.0006_certificate_name_to_confirm")
    local_part = earn_certificate(UserFactory(email="newlearner1@example.com", display_name=""))
    address = earn_certificate(UserFactory(display_name="Rui"), slug="two")
    named = earn_certificate(UserFactory(display_name="Nia Okafor"), slug="three")
    chosen = earn_certificate(UserFactory(email="kiki@example.com", display_name="kiki"), slug="4")
    Certificate.objects.filter(pk=local_part.pk).update(learner_name="newlearner1")
    Certificate.objects.filter(pk=address.pk).update(learner_name="rui@example.com")

    migration.local_part_names_to_confirm(django_apps, None)

    names = dict(Certificate.objects.values_list("pk", "learner_name"))
    assert [names[c.pk] for c in (local_part, address, named, chosen)] == [
        "",
        "",
        "Nia Okafor",
        "kiki",  # the name they chose themselves, even if it reads like their address
    ]
    assert "newlearner1" not in Client().get(local_part.get_absolute_url()).content.decode()
