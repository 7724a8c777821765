"""Guests' nicknames on a public screen: short, printable, and nothing offensive. No Django model access."""

import unicodedata

from django.utils.translation import gettext as _

MAX_LENGTH = 20
# Kept short on purpose: words no school would want projected. Matching ignores case, spaces and symbols.
BLOCKED = (
    "fuck",
    "shit",
    "bitch",
    "cunt",
    "dick",
    "nigger",
    "nigga",
    "whore",
    "slut",
    "porn",
    "sex",
    "nazi",
    "hitler",
    "cocaine",
    "heroin",
    "meth",
    "傻逼",
    "煞笔",
    "沙比",
    "操你",
    "草泥马",
    "艹",
    "妈的",
    "尼玛",
    "你妈",
    "鸡巴",
    "婊子",
    "贱人",
    "去死",
    "毒品",
    "冰毒",
    "海洛因",
    "吸毒",
    "色情",
    "法西斯",
)


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def nickname_problem(nickname: str) -> str | None:
    """Why this nickname cannot be shown, in the user's language; None when it is fine."""
    if not nickname or not nickname.strip():
        return _("Choose a nickname.")
    if len(nickname) > MAX_LENGTH:
        return _("A nickname has at most %(count)s characters.") % {"count": MAX_LENGTH}
    if any(unicodedata.category(ch).startswith("C") for ch in nickname):
        return _("A nickname cannot contain control characters.")
    folded = _folded(nickname)
    if not folded:
        return _("A nickname needs at least one letter or digit.")
    if any(word in folded for word in BLOCKED):
        return _("Please choose another nickname.")
    return None
