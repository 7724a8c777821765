"""Checks the starter question bank in quizzes/data/starter_bank.json (pure: no database, no settings)."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

BANK_PATH = Path(__file__).resolve().parents[2] / "quizzes" / "data" / "starter_bank.json"

CATEGORIES = {
    "identification",
    "disguised",
    "harms",
    "addiction",
    "law",
    "refusal",
    "help",
    "history",
    "volunteering",
    "second-classroom",
    "nps",
}
AUDIENCES = {"primary", "junior", "senior", "university", "public"}
TYPES = {"single", "multiple", "true_false"}
LANGUAGES = ("zh_hans", "en")
TOP_LEVEL_FIELDS = {"key", "type", "category", "difficulty", "audience", "tags", "answer", *LANGUAGES}
TEXT_FIELDS = {"stem", "options", "explanation", "source"}
TRUE_FALSE_OPTIONS = {"zh_hans": ["正确", "错误"], "en": ["True", "False"]}
LETTERS = "ABCDEFGH"

MIN_QUESTIONS = 150
MIN_PER_CATEGORY = 8

KEY_RE = re.compile(r"^(?P<category>[a-z]+(?:-[a-z]+)*)-(?P<number>\d{3})$")
TAG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")
LATIN_RE = re.compile(r"[A-Za-z]")
# Options like these stop making sense once the product shuffles the options.
POSITIONAL_OPTION_RE = re.compile(
    r"以上(都|均|皆|全)|都不对|都对|all of the above|none of the above|both [a-h] and [a-h]",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def bank():
    with BANK_PATH.open(encoding="utf-8") as handle:
        data = json.load(handle)
    assert isinstance(data, list), "the bank must be a JSON list of question objects"
    return data


def _label(question):
    return question.get("key", "<no key>") if isinstance(question, dict) else "<not an object>"


def _normalise(text):
    return " ".join(text.split()).casefold()


def _assert_no_problems(problems):
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_bank_has_enough_questions(bank):
    assert len(bank) >= MIN_QUESTIONS, f"only {len(bank)} questions, need at least {MIN_QUESTIONS}"


def test_keys_are_unique_and_name_their_category(bank):
    problems = []
    counts = Counter(q.get("key") for q in bank)
    problems += [f"key {key!r} is used {n} times" for key, n in counts.items() if n > 1]
    for question in bank:
        key = question.get("key")
        match = KEY_RE.match(key) if isinstance(key, str) else None
        if not match:
            problems.append(f"{_label(question)}: key must look like '<category>-<nnn>'")
        elif match["category"] != question.get("category"):
            problems.append(f"{key}: key prefix does not match category {question.get('category')!r}")
    _assert_no_problems(problems)


def test_fields_are_present_and_typed(bank):
    problems = []
    for question in bank:
        label = _label(question)
        if not isinstance(question, dict):
            problems.append(f"{label}: not a JSON object")
            continue
        missing = TOP_LEVEL_FIELDS - question.keys()
        unknown = question.keys() - TOP_LEVEL_FIELDS
        if missing:
            problems.append(f"{label}: missing field(s) {sorted(missing)}")
        if unknown:
            problems.append(f"{label}: unknown field(s) {sorted(unknown)}")
        for field in ("key", "type", "category"):
            if not isinstance(question.get(field), str):
                problems.append(f"{label}: {field} must be a string")
        difficulty = question.get("difficulty")
        if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
            problems.append(f"{label}: difficulty must be an integer from 1 to 5, got {difficulty!r}")
        for field in ("audience", "tags", "answer"):
            value = question.get(field)
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                problems.append(f"{label}: {field} must be a list of strings")
        for lang in LANGUAGES:
            block = question.get(lang)
            if not isinstance(block, dict):
                problems.append(f"{label}: {lang} must be an object")
                continue
            if block.keys() != TEXT_FIELDS:
                problems.append(f"{label}: {lang} must have exactly the fields {sorted(TEXT_FIELDS)}")
            for field in ("stem", "explanation", "source"):
                value = block.get(field)
                if not isinstance(value, str) or not value.strip():
                    problems.append(f"{label}: {lang}.{field} must be a non-empty string")
            options = block.get("options")
            if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
                problems.append(f"{label}: {lang}.options must be a list of non-empty strings")
    _assert_no_problems(problems)


def test_values_come_from_the_allowed_sets(bank):
    problems = []
    for question in bank:
        label = _label(question)
        if question.get("category") not in CATEGORIES:
            problems.append(f"{label}: unknown category {question.get('category')!r}")
        if question.get("type") not in TYPES:
            problems.append(f"{label}: unknown type {question.get('type')!r}")
        audience = question.get("audience") or []
        if not audience:
            problems.append(f"{label}: audience must name at least one group")
        if set(audience) - AUDIENCES:
            problems.append(f"{label}: unknown audience {sorted(set(audience) - AUDIENCES)}")
        if len(set(audience)) != len(audience):
            problems.append(f"{label}: audience repeats a group")
        for tag in question.get("tags") or []:
            if not TAG_RE.match(tag):
                problems.append(f"{label}: tag {tag!r} is not a short ascii slug")
    _assert_no_problems(problems)


def test_options_are_well_formed(bank):
    problems = []
    for question in bank:
        label = _label(question)
        counts = {}
        for lang in LANGUAGES:
            options = question[lang]["options"]
            counts[lang] = len(options)
            if not 2 <= len(options) <= 8:
                problems.append(f"{label}: {lang} has {len(options)} options, need 2-8")
            normalised = [_normalise(option) for option in options]
            if len(set(normalised)) != len(normalised):
                problems.append(f"{label}: {lang} options repeat")
            for option in options:
                if POSITIONAL_OPTION_RE.search(option):
                    problems.append(f"{label}: {lang} option {option!r} breaks when options are shuffled")
        if counts["zh_hans"] != counts["en"]:
            problems.append(f"{label}: zh_hans has {counts['zh_hans']} options but en has {counts['en']}")
    _assert_no_problems(problems)


def test_true_false_options_are_exact(bank):
    problems = []
    for question in bank:
        if question["type"] != "true_false":
            continue
        for lang, expected in TRUE_FALSE_OPTIONS.items():
            if question[lang]["options"] != expected:
                problems.append(f"{_label(question)}: {lang} true/false options must be exactly {expected}")
    _assert_no_problems(problems)


def test_answers_are_valid_letters(bank):
    problems = []
    for question in bank:
        label = _label(question)
        answer = question["answer"]
        option_count = len(question["zh_hans"]["options"])
        allowed = LETTERS[:option_count]
        for letter in answer:
            if letter not in allowed:
                problems.append(f"{label}: the answer {letter!r} is not one of the options A-{allowed[-1]}")
        if len(set(answer)) != len(answer):
            problems.append(f"{label}: the answer repeats a letter")
        if question["type"] in ("single", "true_false") and len(answer) != 1:
            problems.append(f"{label}: a {question['type']} question needs exactly one answer, got {answer}")
        if question["type"] == "multiple":
            if len(answer) < 2:
                problems.append(f"{label}: a multiple question needs at least two answers, got {answer}")
            if len(set(answer)) >= option_count:
                problems.append(f"{label}: every option is correct, leave at least one wrong option")
    _assert_no_problems(problems)


def test_no_duplicate_stems_within_a_language(bank):
    problems = []
    for lang in LANGUAGES:
        seen = {}
        for question in bank:
            stem = _normalise(question[lang]["stem"])
            if stem in seen:
                problems.append(f"{_label(question)}: {lang} stem duplicates {seen[stem]}")
            else:
                seen[stem] = _label(question)
    _assert_no_problems(problems)


def test_every_category_has_enough_questions(bank):
    counts = Counter(question["category"] for question in bank)
    thin = {
        category: counts.get(category, 0)
        for category in CATEGORIES
        if counts.get(category, 0) < MIN_PER_CATEGORY
    }
    assert not thin, f"categories with fewer than {MIN_PER_CATEGORY} questions: {thin}"


def test_text_is_in_the_right_language(bank):
    problems = []
    for question in bank:
        label = _label(question)
        for field in ("stem", "explanation", "source"):
            if not CJK_RE.search(question["zh_hans"][field]):
                problems.append(f"{label}: zh_hans.{field} contains no Chinese characters")
        for field in ("stem", "explanation", "source"):
            if not LATIN_RE.search(question["en"][field]):
                problems.append(f"{label}: en.{field} contains no Latin letters")
    _assert_no_problems(problems)


def test_seed_question_is_present(bank):
    seeds = [
        question
        for question in bank
        if "新型毒品" in question["zh_hans"]["stem"]
        and all(name in question["zh_hans"]["stem"] for name in ("大麻", "鸦片", "冰毒", "海洛因"))
    ]
    assert seeds, "the seed question (cannabis, opium, meth, heroin: which is new-type?) is missing"
    seed = seeds[0]
    assert seed["type"] == "single"
    correct = [seed["zh_hans"]["options"][LETTERS.index(letter)] for letter in seed["answer"]]
    assert correct == ["冰毒"], f"the seed question must be answered by 冰毒, got {correct}"
