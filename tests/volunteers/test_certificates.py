"""The certificate PDF: drawn from the snapshot alone, Chinese text embedded, readable by a PDF library."""

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace

import pypdf
import pytest
from django.urls import reverse

from volunteers import certificates
from volunteers.certificates import CID_FALLBACK_FONT, certificate_pdf, hours_text
from volunteers.models import Certificate

VERIFY_URL = "https://qingkong.example/volunteers/verify/abcDEF123_-xyz/"
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def snapshot(**overrides) -> SimpleNamespace:
    fields = {
        "number": "QKC-2026-000042",
        "holder_name": "李晓明",
        "volunteer_number": "V430104000123",
        "minutes": 754,
        "first_service_on": dt.date(2026, 3, 5),
        "last_service_on": dt.date(2026, 11, 1),
        "service_content": "禁毒宣传进社区；校园禁毒知识竞赛",
        "issuer_name": "长沙市岳麓区禁毒委员会办公室",
        "issued_on": dt.date(2026, 11, 22),
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return "".join(reader.pages[0].extract_text().split())


@pytest.mark.parametrize(
    ("minutes", "text"), [(60, "1.0"), (90, "1.5"), (100, "1.7"), (754, "12.6"), (3, "0.1"), (1, "0.0")]
)
def test_hours_text_has_one_decimal(minutes, text):
    assert hours_text(minutes) == text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pdf_contains_holder_number_hours_and_issuer(language):
    data = certificate_pdf(snapshot(), verify_url=VERIFY_URL, language=language)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "李晓明" in text
    assert "V430104000123" in text
    assert "QKC-2026-000042" in text
    assert "12.6" in text
    assert "长沙市岳麓区禁毒委员会办公室" in text
    assert "禁毒宣传进社区" in text
    assert VERIFY_URL in text


def test_pdf_in_english_has_the_english_title():
    text = pdf_text(certificate_pdf(snapshot(), verify_url=VERIFY_URL, language="en"))
    assert "CertificateofVolunteerService" in text
    assert "free" in text


def test_pdf_carries_a_qr_code_image():
    reader = pypdf.PdfReader(io.BytesIO(certificate_pdf(snapshot(), verify_url=VERIFY_URL, language="en")))
    assert len(reader.pages[0].images) == 1


@pytest.mark.skipif(not WQY.is_file(), reason="WenQuanYi Micro Hei is not installed")
def test_pdf_embeds_the_truetype_font_when_found():
    data = certificate_pdf(snapshot(), verify_url=VERIFY_URL, language="zh-hans")
    fonts = {
        str(font["/BaseFont"])
        for font in (
            obj.get_object()
            for obj in pypdf.PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
        )
    }
    assert any("QingkongCertificate" in name or "WenQuanYi" in name for name in fonts), fonts
    assert not any(CID_FALLBACK_FONT in name for name in fonts)


def test_pdf_falls_back_to_the_cid_font(settings, monkeypatch):
    settings.CERTIFICATE_FONT = "/nonexistent/font.ttf"
    monkeypatch.setattr(certificates, "DEFAULT_FONT_PATHS", ("/nonexistent/other.ttc",))
    data = certificate_pdf(snapshot(), verify_url=VERIFY_URL, language="zh-hans")
    assert CID_FALLBACK_FONT.encode() in data
    text = pdf_text(data)
    assert "V430104000123" in text and "QKC-2026-000042" in text


@pytest.mark.skipif(not WQY.is_file(), reason="WenQuanYi Micro Hei is not installed")
def test_pdf_uses_the_configured_font(settings, monkeypatch):
    settings.CERTIFICATE_FONT = str(WQY)
    monkeypatch.setattr(certificates, "DEFAULT_FONT_PATHS", ())
    text = pdf_text(certificate_pdf(snapshot(), verify_url=VERIFY_URL, language="zh-hans"))
    assert "李晓明" in text


def test_pdf_survives_awkward_content():
    long_content = "；".join(f"禁毒宣传活动第{n}场<script>&" for n in range(60))
    data = certificate_pdf(
        snapshot(service_content=long_content, holder_name="O'Brien <Ann> & 张", minutes=1),
        verify_url=VERIFY_URL,
        language="en",
    )
    text = pdf_text(data)
    assert "O'Brien<Ann>&张" in text
    assert "0.0" in text


@pytest.mark.django_db
def test_pdf_is_drawn_from_the_snapshot_not_the_profile(vworld, login):
    """A certificate states what was true on its day: a later change of name or hours does not alter it."""
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    client = login(vworld.world.volunteer)
    client.post(reverse("volunteer_certificate_issue"))
    certificate = Certificate.objects.get()
    vworld.adult.real_name = "张伟伟"
    vworld.adult.save()
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    response = client.get(reverse("volunteer_certificate_pdf", args=[certificate.number]))
    text = pdf_text(response.content)
    assert "张伟" in text and "张伟伟" not in text
    assert "1.5" in text
    # The QR code's address is the public verification page of this certificate.
    assert reverse("volunteer_certificate_verify", args=[certificate.verification_token]) in text
