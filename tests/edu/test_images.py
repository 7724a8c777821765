"""Uploaded images: checked, bounded, stripped of metadata and re-encoded by Pillow."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from edu.images import reencode_image


def upload(image: Image.Image, fmt: str, name="photo") -> SimpleUploadedFile:
    out = io.BytesIO()
    kwargs = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS latitude: must not survive
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return SimpleUploadedFile(f"{name}.{fmt.lower()}", out.getvalue(), content_type=f"image/{fmt.lower()}")


def test_jpeg_is_resized_and_stripped():
    result = reencode_image(upload(Image.new("RGB", (4000, 1000), "red"), "JPEG"))
    with Image.open(result) as image:
        assert image.format == "JPEG" and image.size == (1600, 400)
        assert not image.getexif()


def test_transparency_is_kept_as_png():
    result = reencode_image(upload(Image.new("RGBA", (100, 100), (0, 0, 0, 0)), "PNG"))
    assert result.name.endswith(".png")


def test_decompression_bomb_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    with pytest.raises(ValidationError):
        reencode_image(upload(Image.new("L", (2000, 2000)), "PNG"))


def test_not_an_image():
    with pytest.raises(ValidationError):
        reencode_image(SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nbroken", content_type="image/png"))


def test_unsupported_format():
    with pytest.raises(ValidationError):
        reencode_image(upload(Image.new("RGB", (10, 10)), "BMP"))


def test_too_many_bytes(settings):
    settings.IMAGE_MAX_BYTES = 100
    with pytest.raises(ValidationError):
        reencode_image(upload(Image.new("RGB", (200, 200)), "PNG"))
