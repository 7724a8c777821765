"""Simplified Chinese first, English complete: the switcher, the default, and no untranslated string."""

import re
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.mark.django_db
def test_chinese_is_the_default(client):
    page = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "晴空" in page


@pytest.mark.django_db
def test_accept_language_english_gets_english(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in page


@pytest.mark.django_db
def test_switcher_sets_the_language_and_returns(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/campaigns/"})
    assert response.status_code == 302 and response["Location"] == "/campaigns/"
    page = client.get("/campaigns/").content.decode()
    assert '<html lang="en">' in page and "Campaigns" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "活动" in client.get("/campaigns/").content.decode()


@pytest.mark.django_db
def test_switcher_refuses_foreign_redirects(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_chinese_catalogue_is_complete(domain):
    """Every msgid of the project (templates and Python; the scripts) has a Chinese translation, and none
    is fuzzy (English is the msgids)."""
    po = LOCALE / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    translated = int(result.stderr.split()[0])
    assert translated > (100 if domain == "django" else 20)


def test_every_template_string_is_translated():
    """Each {% translate "…" %} in a template has a Chinese translation in the compiled catalogue."""
    missing = []
    with translation.override("zh-hans"):
        for template in (LOCALE.parent / "templates").rglob("*.html"):
            for text in re.findall(r'{% translate "([^"]+)"', template.read_text(encoding="utf-8")):
                # As the tag does: a literal's percent signs are doubled in the catalogue (python-format).
                if translation.gettext(text.replace("%", "%%")).replace("%%", "%") == text:
                    missing.append(f"{template.name}: {text}")
    assert missing == []
