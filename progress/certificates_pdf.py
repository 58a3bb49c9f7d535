"""A certificate as a one-page PDF (A4 landscape), drawn with reportlab.

The text is set in Bitstream Vera, which ships inside reportlab, embedded in the file: names
with accents (Zoë, Łukasz, Núñez) print as typed on any reader, with no font installed.
Vera covers the Latin alphabets of Western and Central Europe; a character outside it prints
as an empty box rather than failing the download.
"""

import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import reportlab
from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from progress.models import Certificate, PathCertificate

FONT = "LmsVera"
FONT_BOLD = "LmsVera-Bold"
FONT_ITALIC = "LmsVera-Italic"
_FONT_FILES = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf", FONT_ITALIC: "VeraIt.ttf"}

# English month names, not the process locale's: the date reads the same on every server.
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 14 * mm
INK = HexColor("#14142b")
MUTED = HexColor("#4a4a68")
ACCENT = HexColor("#4f46e5")
RULE = Color(0.31, 0.27, 0.9, alpha=0.25)
# The verification block and QR code take the bottom of the page.
BODY_TOP = PAGE_HEIGHT - MARGIN - 22 * mm
BODY_BOTTOM = MARGIN + 44 * mm
SCALES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def certificate_issued_on(certificate: "Certificate | PathCertificate") -> date:
    """The day the certificate was earned, in the learner's own time zone."""
    return timezone.localtime(certificate.issued_at, certificate.user.zoneinfo).date()


def issue_date_format(day: date) -> str:
    """`5 March 2025`: the one way a certificate's date is written, on the page and the PDF."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def certificate_filename(certificate: Certificate) -> str:
    """`certificate-<course-title>-<code>.pdf`, in ASCII so every browser keeps it as it is."""
    return pdf_filename(title=certificate.course_title, code=certificate.code)


def pdf_filename(*, title: str, code: str) -> str:
    """`certificate-<title>-<code>.pdf` for any certificate (a course's, a path's)."""
    slug = slugify(title)[:60].strip("-")
    return "-".join(filter(None, ("certificate", slug, code.lower()))) + ".pdf"


@cache
def _fonts_register() -> None:
    folder = Path(reportlab.__file__).parent / "fonts"
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))


@dataclass(frozen=True)
class _Line:
    text: str
    font: str
    size: float
    color: Color


def _fit(text: str, *, font: str, size: float, min_size: float, width: float) -> list[_Line]:
    """The text on one line, shrunk down to `min_size` to fit `width`; wrapped beyond that."""
    while size > min_size and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 1
    return [_Line(part, font, size, INK) for part in simpleSplit(text, font, size, width) or [text]]


@dataclass(frozen=True)
class Printable:
    """What a certificate prints, whatever it certifies: a course, or a learning path
    (`progress.paths`). Only frozen fields of the certificate, never the email."""

    code: str
    learner_name: str
    title: str
    achievement: str  # the line before the title: "has completed the course"
    issued_on: date


def certificate_pdf_render(
    *, certificate: Certificate, verification_url: str, compress: bool = True
) -> bytes:
    """The certificate as PDF bytes: learner name, course title, issue date, and the
    verification URL and code (also as a QR code) that anyone can check it with.

    Uses only the frozen fields of the certificate (the name and title as they were when it
    was issued) and never the learner's email. `compress=False` leaves the page content as
    plain text, for tests and debugging.
    """
    printable = Printable(
        code=certificate.code,
        learner_name=certificate.learner_name,
        title=certificate.course_title,
        achievement="has completed the course",
        issued_on=certificate_issued_on(certificate),
    )
    return printable_pdf_render(
        printable=printable, verification_url=verification_url, compress=compress
    )


def printable_pdf_render(
    *, printable: Printable, verification_url: str, compress: bool = True
) -> bytes:
    """Any certificate as a one-page PDF (see `certificate_pdf_render`)."""
    _fonts_register()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        pageCompression=1 if compress else 0,
        invariant=1,  # the same certificate always gives the same bytes
    )
    canvas.setTitle(f"Certificate: {printable.title}")
    canvas.setAuthor(settings.SITE_NAME)
    canvas.setSubject(f"Certificate {printable.code}")
    canvas.setCreator(settings.SITE_NAME)

    _draw_frame(canvas)
    # Long names and titles wrap; when they would run into the verification block, the
    # whole text block is set smaller until it fits. Then it is centred in the space it has.
    scale = next(
        (scale for scale in SCALES if _draw_body(None, printable, scale) >= BODY_BOTTOM),
        SCALES[-1],
    )
    spare = max(0.0, _draw_body(None, printable, scale) - BODY_BOTTOM)
    _draw_body(canvas, printable, scale, top=BODY_TOP - spare / 2)
    _draw_verification(canvas, certificate=printable, verification_url=verification_url)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_body(
    canvas: Canvas | None, certificate: Printable, scale: float, top: float | None = None
) -> float:
    """Draw the centred text block at `scale` (only measure it without a canvas); return
    where it ends."""
    center = PAGE_WIDTH / 2
    width = PAGE_WIDTH - 2 * MARGIN - 40 * mm
    y = BODY_TOP if top is None else top

    def draw(lines: list[_Line], space_above: float, leading: float = 1.2) -> None:
        nonlocal y
        y -= space_above
        for index, line in enumerate(lines):
            if index:
                y -= line.size * leading
            if canvas is not None:
                _centered(canvas, line, center, y)

    draw([_Line(settings.SITE_NAME.upper(), FONT_BOLD, 12, ACCENT)], 0)
    draw([_Line("Certificate of completion", FONT_BOLD, 30 * scale, INK)], 18 * mm * scale)
    draw([_Line("This certifies that", FONT_ITALIC, 14, MUTED)], 16 * mm * scale)
    # Never empty here: a certificate still waiting for its name is not rendered.
    name = certificate.learner_name
    draw(_fit(name, font=FONT_BOLD, size=34 * scale, min_size=16, width=width), 18 * mm * scale)
    if canvas is not None:
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(1)
        canvas.line(center - 70 * mm, y - 5 * mm, center + 70 * mm, y - 5 * mm)
    draw([_Line(certificate.achievement, FONT_ITALIC, 14, MUTED)], 16 * mm * scale)
    title = certificate.title
    draw(_fit(title, font=FONT_BOLD, size=22 * scale, min_size=12, width=width), 14 * mm * scale)
    issued = issue_date_format(certificate.issued_on)
    draw([_Line(f"Issued on {issued}", FONT, 13, INK)], 14 * mm * scale)
    return y


def _centered(canvas: Canvas, line: _Line, x: float, y: float) -> None:
    canvas.setFillColor(line.color)
    canvas.setFont(line.font, line.size)
    canvas.drawCentredString(x, y, line.text)


def _draw_frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(MARGIN, MARGIN, PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - 2 * MARGIN)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(1)
    inset = MARGIN + 3 * mm
    canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset)


def _draw_verification(canvas: Canvas, *, certificate: Printable, verification_url: str) -> None:
    """Bottom left: how to check the certificate; bottom right: the same URL as a QR code."""
    left = MARGIN + 12 * mm
    bottom = MARGIN + 12 * mm
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, 9)
    canvas.drawString(left, bottom + 12 * mm, "Verify this certificate at")
    canvas.setFillColor(INK)
    canvas.setFont(FONT, 10)
    canvas.drawString(left, bottom + 7 * mm, verification_url)
    canvas.linkURL(
        verification_url,
        (left, bottom + 6 * mm, left + 150 * mm, bottom + 11 * mm),
        relative=0,
    )
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, 9)
    canvas.drawString(left, bottom + 1 * mm, "Certificate code")
    canvas.setFillColor(INK)
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(left + 28 * mm, bottom + 1 * mm, certificate.code)

    size = 28 * mm
    widget = QrCodeWidget(verification_url, barLevel="M")
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, PAGE_WIDTH - MARGIN - 12 * mm - size, bottom - 2 * mm)
