"""Uploaded images are never stored as sent: Pillow checks, bounds, strips and re-encodes them."""

import io
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def reencode_image(upload, *, max_side: int = 1600) -> ContentFile:
    """Return a fresh JPEG (or PNG, where the image has transparency) of at most max_side pixels a side.

    Decompression bombs, files that are not images, and formats outside ALLOWED_FORMATS are refused with a
    ValidationError the form shows next to the field. EXIF and every other chunk are dropped, so a phone
    photo's location never reaches the site.
    """
    if upload.size and upload.size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(
            _("The image is too large: at most %(mb)s MB."),
            params={"mb": settings.IMAGE_MAX_BYTES // (1024 * 1024)},
        )
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise ValidationError(_("Upload a JPEG, PNG, WebP or GIF image."))
            if probe.width * probe.height > settings.IMAGE_MAX_PIXELS:
                raise ValidationError(_("The image has too many pixels."))
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if has_alpha:
                image.save(out, format="PNG", optimize=True)
                suffix = ".png"
            else:
                image.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
                suffix = ".jpg"
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("This file is not an image we can read.")) from exc
    # The sender's file name says nothing we need and may say something personal.
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}{suffix}")
