"""Template context shared by every page."""

from django.conf import settings


def site(request):
    # Each language is named in itself (简体中文, English), never translated into the other.
    return {"SITE_NAME": settings.SITE_NAME, "LANGUAGE_CHOICES": settings.LANGUAGES}
