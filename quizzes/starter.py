"""The starter bank that ships with Qingkong (quizzes/data/starter_bank.json): categories and questions."""

import json
import uuid
from pathlib import Path

from django.db import transaction

from quizzes.importing import ParsedQuestion
from quizzes.models import Category, Question
from quizzes.services import question_create

BANK_FILE = Path(__file__).resolve().parent / "data" / "starter_bank.json"
# A fixed namespace, so that a question's translations share the same group on every site.
GROUP_NAMESPACE = uuid.UUID("8f6f3f3e-5c1a-4bb6-9d55-2f4f3f0a6a26")

CATEGORIES = [
    ("identification", "毒品识别", "Recognising drugs"),
    ("nps", "新精神活性物质", "New psychoactive substances"),
    ("disguised", "伪装型毒品", "Disguised drugs"),
    ("harms", "毒品危害", "Harms of drugs"),
    ("addiction", "成瘾与戒断", "How addiction works"),
    ("law", "禁毒法律", "Drug law"),
    ("refusal", "拒毒技能", "Refusal skills"),
    ("help", "求助与戒治", "Getting help"),
    ("history", "禁毒历史与6·26", "History and 6·26"),
    ("volunteering", "禁毒志愿服务", "Anti-drug volunteering"),
    ("second-classroom", "“第二课堂”", "The Second Classroom"),
]


def starter_categories() -> dict[str, Category]:
    categories = {}
    for slug, name, name_en in CATEGORIES:
        category, _ = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "name_en": name_en}
        )
        categories[slug] = category
    return categories


def starter_bank_load() -> int:
    """Load the starter bank as ready questions; questions already in the bank are left alone. Returns how
    many were added."""
    items = json.loads(BANK_FILE.read_text(encoding="utf-8"))
    added = 0
    with transaction.atomic():
        categories = starter_categories()
        known = set(Question.objects.values_list("fingerprint", flat=True))
        for item in items:
            group = uuid.uuid5(GROUP_NAMESPACE, item["key"])
            for language, block in (("zh-hans", item["zh_hans"]), ("en", item["en"])):
                parsed = ParsedQuestion(
                    type=item["type"],
                    stem=block["stem"],
                    options=tuple(block["options"]),
                    correct=tuple(item["answer"]),
                    explanation=block["explanation"],
                    difficulty=item["difficulty"],
                    tags=tuple(item["tags"]),
                    audience=tuple(item["audience"]),
                    language=language,
                    source=block["source"],
                )
                if parsed.fingerprint() in known:
                    continue
                question_create(
                    parsed=parsed,
                    category=categories[item["category"]],
                    user=None,
                    status=Question.Status.READY,
                    translation_group=group,
                )
                known.add(parsed.fingerprint())
                added += 1
    return added
