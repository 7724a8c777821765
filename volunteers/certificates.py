"""The certificate of volunteer service as a one-page PDF, drawn from the certificate's snapshot alone.

Pure apart from reading the font file and the settings: it takes a Certificate (or anything with the same
fields), never queries, so a later correction of hours can never change an issued certificate.
"""

import io
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import qrcode
from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

DEFAULT_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# Built into every PDF reader that supports Chinese; used when no TrueType font is found on the server.
CID_FALLBACK_FONT = "STSong-Light"
EMBEDDED_FONT_NAME = "QingkongCertificate"

INK = colors.HexColor("#1b2430")
SKY = colors.HexColor("#0b3a6e")
SOFT = colors.HexColor("#4a5668")
GOLD = colors.HexColor("#c99a2e")


class CertificateLike(Protocol):
    number: str
    holder_name: str
    volunteer_number: str
    minutes: int
    first_service_on: date | None
    last_service_on: date | None
    service_content: str
    issuer_name: str
    issued_on: date


def hours_text(minutes: int) -> str:
    """Approved minutes as hours with one decimal, rounded half up (90 → "1.5", 100 → "1.7")."""
    hours = (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{hours:.1f}"


@dataclass(frozen=True)
class _Font:
    name: str
    embedded: bool


def _font_candidates() -> list[tuple[str, int]]:
    configured = getattr(settings, "CERTIFICATE_FONT", "") or ""
    candidates = []
    if configured:
        index = int(getattr(settings, "CERTIFICATE_FONT_INDEX", 0) or 0)
        candidates.append((str(configured), index))
    candidates.extend((path, 0) for path in DEFAULT_FONT_PATHS)
    return candidates


@lru_cache(maxsize=8)
def _register_font(candidates: tuple[tuple[str, int], ...]) -> _Font:
    # Registration reads and parses the whole font file, so it happens once per process and font list.
    for path, index in candidates:
        if not Path(path).is_file():
            continue
        name = f"{EMBEDDED_FONT_NAME}-{abs(hash((path, index)))}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
        except (TTFError, OSError):
            continue
        return _Font(name=name, embedded=True)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK_FONT))
    return _Font(name=CID_FALLBACK_FONT, embedded=False)


def certificate_font() -> _Font:
    """The TrueType font to embed (settings CERTIFICATE_FONT, else WenQuanYi), else the CID font STSong."""
    return _register_font(tuple(_font_candidates()))


def _qr_image(url: str) -> ImageReader:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=1)
    qr.add_data(url)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image()
    return ImageReader(image)


def _date(value: date | None) -> str:
    return date_format(value, "DATE_FORMAT") if value else "—"


def certificate_pdf(certificate: CertificateLike, *, verify_url: str, language: str) -> bytes:
    """One A4 landscape page in `language`; the QR code leads to the public verification page."""
    font = certificate_font()
    with translation.override(language):
        return _draw(certificate, verify_url=verify_url, font=font)


def _draw(certificate: CertificateLike, *, verify_url: str, font: _Font) -> bytes:
    buffer = io.BytesIO()
    width, height = landscape(A4)
    title = _("Certificate of Volunteer Service")
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    pdf.setTitle(f"{title} {certificate.number}")
    pdf.setAuthor(certificate.issuer_name)
    pdf.setSubject(title)
    pdf.setCreator("Qingkong")

    # A double frame, as on printed certificates.
    pdf.setStrokeColor(SKY)
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setStrokeColor(GOLD)
    pdf.setLineWidth(1)
    pdf.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    pdf.setFillColor(SKY)
    pdf.setFont(font.name, 30)
    pdf.drawCentredString(width / 2, height - 42 * mm, title)

    body_style = ParagraphStyle(
        "body",
        fontName=font.name,
        fontSize=14,
        leading=24,
        textColor=INK,
        alignment=TA_LEFT,
        wordWrap="CJK",
        firstLineIndent=28,
    )
    detail_style = ParagraphStyle(
        "detail", parent=body_style, fontSize=12, leading=19, firstLineIndent=0, textColor=INK
    )
    note_style = ParagraphStyle(
        "note", parent=body_style, fontSize=9.5, leading=14, firstLineIndent=0, textColor=SOFT
    )
    centre_style = ParagraphStyle("centre", parent=note_style, alignment=TA_CENTER)

    hours = hours_text(certificate.minutes)
    statement = _(
        "This is to certify that %(name)s (volunteer number %(number)s) served as a volunteer from "
        "%(first)s to %(last)s, with a total of %(hours)s hours of service recorded and approved."
    ) % {
        "name": f"<b>{escape(certificate.holder_name)}</b>",
        "number": escape(certificate.volunteer_number),
        "first": escape(_date(certificate.first_service_on)),
        "last": escape(_date(certificate.last_service_on)),
        "hours": f"<b>{escape(hours)}</b>",
    }

    left = 30 * mm
    qr_size = 42 * mm
    text_width = width - 2 * left - qr_size - 12 * mm
    cursor = height - 60 * mm

    def place(paragraph: Paragraph, gap: float) -> None:
        nonlocal cursor
        used = paragraph.wrapOn(pdf, text_width, cursor)[1]
        paragraph.drawOn(pdf, left, cursor - used)
        cursor -= used + gap

    place(Paragraph(statement, body_style), 6 * mm)
    rows = [
        (_("Holder"), certificate.holder_name),
        (_("Volunteer number"), certificate.volunteer_number),
        (_("Hours of service"), _("%(hours)s hours") % {"hours": hours}),
        (_("Service content"), certificate.service_content or "—"),
        (
            _("Service dates"),
            _("%(first)s to %(last)s")
            % {"first": _date(certificate.first_service_on), "last": _date(certificate.last_service_on)},
        ),
        (_("Issued by"), certificate.issuer_name),
        (_("Certificate number"), certificate.number),
        (_("Date of issue"), _date(certificate.issued_on)),
    ]
    for label, value in rows:
        label_text = escape(_("%(label)s:") % {"label": label})
        place(Paragraph(f'<font color="#4a5668">{label_text}</font> {escape(value)}', detail_style), 1.5 * mm)

    # The QR code and the address it holds sit at the right, level with the details.
    qr_left = width - left - qr_size
    qr_bottom = 44 * mm
    pdf.drawImage(_qr_image(verify_url), qr_left, qr_bottom, qr_size, qr_size)
    caption = Paragraph(escape(_("Scan to verify this certificate")), centre_style)
    used = caption.wrapOn(pdf, qr_size + 16 * mm, 20 * mm)[1]
    caption.drawOn(pdf, qr_left - 8 * mm, qr_bottom - used - 1 * mm)

    footer_width = width - 2 * left
    free_note = Paragraph(
        escape(
            _(
                "Issued free of charge under the Measures for Recording Volunteer Service and Issuing "
                "Certificates of the Ministry of Civil Affairs. Verify it at: %(url)s"
            )
            % {"url": verify_url}
        ),
        note_style,
    )
    free_note.wrapOn(pdf, footer_width, 30 * mm)
    free_note.drawOn(pdf, left, 22 * mm)

    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
