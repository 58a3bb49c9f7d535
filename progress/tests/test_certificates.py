"""Certificates: the public page and the PDF, both by code, both without the learner's email."""

import base64
import html
import re
import zlib
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from progress.certificates_pdf import certificate_pdf_render
from progress.models import Certificate
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


def test_a_learner_without_a_display_name_is_not_shown_by_email(client):
    learner = UserFactory(email="zoe.quiet@example.com", display_name="")
    certificate = earn_certificate(learner)

    page = client.get(certificate.get_absolute_url())
    pdf = client.get(f"{certificate.get_absolute_url()}pdf/").content

    assert "This certifies that zoe.quiet has completed" in text_of(page)
    assert "@example.com" not in page.content.decode()
    assert "zoe.quiet" in pdf_text(pdf)
    assert "@" not in pdf_text(pdf)
    assert b"example.com" not in pdf


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
