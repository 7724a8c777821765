"""Question-bank files (wide .xlsx/.csv, GIFT, Aiken) parsed into checked questions, and the wide export."""

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import BinaryIO, Literal, TypeVar

from django.utils.translation import gettext as _

from edu.tabular import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    SPREADSHEET_SUFFIXES,
    CellValue,
    ErrorLog,
    InvalidValue,
    Row,
    RowError,
    Table,
    TabularError,
    normalise_key,
    read_bytes,
    read_table,
    split_list,
    text_lines,
    write_csv,
    write_xlsx,
)

__all__ = [
    "AUDIENCES",
    "LANGUAGES",
    "QUESTION_TYPES",
    "ImportResult",
    "ParsedQuestion",
    "RowError",
    "detect_language",
    "export_rows",
    "parse_aiken",
    "parse_file",
    "parse_gift",
    "parse_table",
    "template_rows",
    "write_csv",
    "write_xlsx",
]

K = TypeVar("K")
QuestionType = Literal["single", "multiple", "true_false"]
SINGLE: QuestionType = "single"
MULTIPLE: QuestionType = "multiple"
TRUE_FALSE: QuestionType = "true_false"
QUESTION_TYPES: tuple[QuestionType, ...] = (SINGLE, MULTIPLE, TRUE_FALSE)
AUDIENCES = ("primary", "junior", "senior", "university", "public")
LANGUAGES = ("zh-hans", "en")
LETTERS = "ABCDEFGH"
MIN_OPTIONS = 2
MAX_OPTIONS = len(LETTERS)
DEFAULT_DIFFICULTY = 3
TRUE_FALSE_OPTIONS = {"zh-hans": ("正确", "错误"), "en": ("True", "False")}

# Generous bounds that keep a pasted essay or a whole chapter out of one cell; the model's fields must be at
# least this long.
MAX_STEM_LENGTH = 2000
MAX_OPTION_LENGTH = 500
MAX_EXPLANATION_LENGTH = 4000
MAX_SOURCE_LENGTH = 500
MAX_CATEGORY_LENGTH = 100
MAX_TAG_LENGTH = 50

CATEGORY_SEPARATORS = re.compile("[/／>＞]")
TAG_SEPARATORS = ",，、;；|\n"
AUDIENCE_SEPARATORS = ",，、;；/／|\n"
TEXT_SUFFIXES = frozenset({".gift", ".aiken", ".txt"})

_TYPE_WORDS = {
    SINGLE: ("单选", "单选题", "单项选择", "单项选择题", "单选择题", "single", "single choice", "sc",
             "radio"),
    MULTIPLE: (
        "多选", "多选题", "多项选择", "多项选择题", "multiple", "multiple choice", "multi", "mc", "checkbox",
    ),
    TRUE_FALSE: ("判断", "判断题", "是非题", "对错题", "true_false", "true/false", "tf", "truefalse", "t/f"),
}  # fmt: skip
_TRUE_WORDS = ("正确", "对", "是", "√", "✓", "✔", "t", "true", "yes", "y")
_FALSE_WORDS = ("错误", "错", "否", "×", "✗", "✘", "x", "f", "false", "no", "n")
_DIFFICULTY_WORDS = {
    1: ("易", "容易", "简单", "easy", "very easy"),
    2: ("较易", "较容易", "较简单", "偏易", "fairly easy"),
    3: ("中", "中等", "适中", "一般", "medium", "moderate", "normal"),
    4: ("较难", "偏难", "fairly hard", "fairly difficult"),
    5: ("难", "困难", "hard", "difficult", "very hard"),
}
_AUDIENCE_WORDS = {
    ("primary",): ("小学", "小学生", "小学段", "primary", "primary school", "elementary"),
    ("junior",): ("初中", "初中生", "初级中学", "junior", "junior high", "junior secondary", "middle school"),
    ("senior",): (
        "高中",
        "高中生",
        "中职",
        "职高",
        "senior",
        "senior high",
        "senior secondary",
        "high school",
    ),
    ("university",): ("大学", "大学生", "高校", "大专", "university", "college"),
    ("public",): ("社会公众", "社会", "公众", "社区", "public", "general public", "community"),
    ("junior", "senior"): ("中学", "中学生", "secondary", "secondary school"),
    ("primary", "junior", "senior"): ("中小学", "中小学生", "k12"),
    AUDIENCES: ("全部", "所有", "所有人", "all", "everyone"),
}
_LANGUAGE_WORDS = {
    "zh-hans": ("zh-hans", "zh", "zh-cn", "cn", "中文", "简体中文", "汉语", "chinese"),
    "en": ("en", "en-us", "en-gb", "english", "英文", "英语"),
}


def _lookup(table: Mapping[K, Sequence[str]]) -> dict[str, K]:
    return {normalise_key(word): key for key, words in table.items() for word in words}


_TYPE_BY_WORD = _lookup(_TYPE_WORDS)
_TRUTH_BY_WORD = _lookup({True: _TRUE_WORDS, False: _FALSE_WORDS})
_DIFFICULTY_BY_WORD = _lookup(_DIFFICULTY_WORDS)
_AUDIENCE_BY_WORD = _lookup(_AUDIENCE_WORDS)
_LANGUAGE_BY_WORD = _lookup(_LANGUAGE_WORDS)
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile("[A-Za-z]")


@dataclass(frozen=True, slots=True)
class ParsedQuestion:
    type: QuestionType
    stem: str
    options: tuple[str, ...]
    correct: tuple[str, ...]  # option letters, in order: ("A", "C")
    explanation: str = ""
    difficulty: int = DEFAULT_DIFFICULTY  # 1 (easy) to 5 (hard)
    category: tuple[str, ...] = ()  # path from the root: ("法律", "刑法")
    tags: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()  # codes from AUDIENCES; empty means everyone
    language: str = "zh-hans"
    source: str = ""
    row: int | None = field(default=None, compare=False)  # row or line it came from

    def fingerprint(self) -> str:
        """A stable hash of language, stem and options (in any order), for finding the same question again."""
        payload = [self.language, _fold(self.stem), sorted(_fold(option) for option in self.options)]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


@dataclass
class ImportResult:
    """Questions that parsed cleanly and every problem found; import only when errors is empty."""

    questions: list[ParsedQuestion] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.questions)


# --- entry point ----------------------------------------------------------------------------------------


def parse_file(
    data: bytes | BinaryIO,
    filename: str,
    *,
    default_language: str = "zh-hans",
    max_questions: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportResult:
    """Parse an uploaded question file, choosing the format by extension (.txt: GIFT or Aiken by content).

    A question's language comes from its language column, else from its stem (Chinese characters: zh-hans;
    Latin letters only: en), else default_language.
    """
    suffix = PurePath(filename or "").suffix.lower()
    try:
        if suffix in SPREADSHEET_SUFFIXES:
            table = read_table(
                data, filename, fields=WIDE_COLUMNS, required=("stem", "answer"),
                max_rows=max_questions, max_bytes=max_bytes,
            )  # fmt: skip
            return parse_table(table, default_language=default_language)
        if suffix not in TEXT_SUFFIXES:
            raise TabularError(
                _(
                    "unsupported file type “%(suffix)s”: "
                    "upload .xlsx, .csv, .gift, .aiken or .txt (GIFT or Aiken)"
                )
                % {"suffix": suffix or filename}
            )
        lines = text_lines(read_bytes(data, max_bytes=max_bytes))
    except TabularError as exc:
        return ImportResult(errors=exc.errors)
    if suffix == ".txt":
        suffix = _sniff_text_format(lines)
        if suffix is None:
            message = _(
                "the text file is neither GIFT nor Aiken: "
                "Aiken needs “ANSWER:” lines, GIFT puts answers in { }"
            )
            return ImportResult(errors=[RowError(None, message)])
    parse = parse_gift if suffix == ".gift" else parse_aiken
    return parse(lines, default_language=default_language, max_questions=max_questions)


def _sniff_text_format(lines: list[str]) -> str | None:
    if any(_AIKEN_ANSWER.match(line.strip()) for line in lines):
        return ".aiken"
    if any(_find_unescaped(line, "{") >= 0 for line in lines if not line.lstrip().startswith("//")):
        return ".gift"
    return None


# --- the wide spreadsheet layout ------------------------------------------------------------------------

WIDE_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("题型", "题目类型", "试题类型", "类型", "type", "question type"),
    "stem": ("题干", "题目", "试题", "题目内容", "试题内容", "stem", "question"),
    **{
        f"option_{letter.lower()}": (f"选项{letter}", letter, f"option {letter}", f"{letter}选项")
        for letter in LETTERS
    },
    "answer": ("答案", "正确答案", "标准答案", "answer", "correct answer"),
    "explanation": ("解析", "答案解析", "试题解析", "explanation", "feedback"),
    "difficulty": ("难度", "难易度", "难度等级", "difficulty"),
    "category": ("分类", "知识点", "题目分类", "试题分类", "category"),
    "audience": ("适用对象", "学段", "适用学段", "audience"),
    "language": ("语言", "language", "lang"),
    "tags": ("标签", "tags", "tag"),
    "source": ("来源", "出处", "source"),
}
OPTION_FIELDS = tuple(f"option_{letter.lower()}" for letter in LETTERS)
# Export headers are the English field names, which WIDE_COLUMNS accepts too: "option A", "stem", ...
EXPORT_HEADER = {name: name for name in WIDE_COLUMNS} | {
    name: f"option {name[-1].upper()}" for name in OPTION_FIELDS
}


def parse_table(table: Table, *, default_language: str = "zh-hans") -> ImportResult:
    """Questions from a table read with WIDE_COLUMNS, one per row."""
    log = ErrorLog("row")
    questions: list[ParsedQuestion] = []
    first_seen: dict[str, int] = {}
    for row in table.rows:
        question = _row_question(table, row, default_language=default_language, log=log)
        if question is not None:
            _keep_unique(question, log=log, questions=questions, first_seen=first_seen)
    return ImportResult(questions, log.errors)


def _row_question(table: Table, row: Row, *, default_language: str, log: ErrorLog) -> ParsedQuestion | None:
    number = row.number
    before = len(log.errors)

    def cell(name: str) -> str:
        return table.value(row, name)

    stem = cell("stem")
    language = log.check(number, _parse_language, cell("language"), None)
    language = language or detect_language(stem, default=default_language)
    kind = log.check(number, _parse_type, cell("type"), "")  # None: left blank, "": unreadable
    options = log.check(number, consecutive_options, [cell(name) for name in OPTION_FIELDS], None)
    shape_known = kind != "" and options is not None
    correct = None
    if shape_known:
        kind = kind or _infer_type(cell("answer"), options)
        if kind == TRUE_FALSE and not options:
            options = TRUE_FALSE_OPTIONS[language]
        # Too few options is reported on its own; judging the answer against them would only add noise.
        if kind == TRUE_FALSE or len(options) >= MIN_OPTIONS:
            correct = log.check(
                number, partial(_parse_answer, kind=kind, options=options), cell("answer"), None
            )
    question = ParsedQuestion(
        type=kind or SINGLE,
        stem=stem,
        options=options or (),
        correct=correct or (),
        explanation=cell("explanation"),
        difficulty=log.check(number, _parse_difficulty, cell("difficulty"), DEFAULT_DIFFICULTY),
        category=log.check(number, _parse_category, cell("category"), ()),
        tags=log.check(number, _parse_tags, cell("tags"), ()),
        audience=log.check(number, _parse_audience, cell("audience"), ()),
        language=language,
        source=cell("source"),
        row=number,
    )
    for message in question_problems(question, check_shape=shape_known, check_answers=correct is not None):
        log.add(number, message)
    return question if len(log.errors) == before else None


def consecutive_options(cells: list[str]) -> tuple[str, ...]:
    filled = [index for index, text in enumerate(cells) if text]
    if not filled:
        return ()
    for index in range(filled[-1]):
        if not cells[index]:
            raise InvalidValue(
                _("options must be consecutive: %(empty)s is empty but %(filled)s is filled")
                % {"empty": LETTERS[index], "filled": LETTERS[filled[-1]]}
            )
    return tuple(cells[: filled[-1] + 1])


def _parse_type(text: str) -> QuestionType | None:
    if not text:
        return None
    kind = _TYPE_BY_WORD.get(normalise_key(text))
    if kind is None:
        raise InvalidValue(
            _("unknown question type “%(type)s” (use single choice, multiple choice or true/false)")
            % {"type": text}
        )
    return kind


def _infer_type(answer: str, options: tuple[str, ...]) -> QuestionType:
    """A blank type cell: judge from the options and the answer, as a person reading the row would."""
    if not options or (_truth(answer) is not None and not _ANSWER_LETTERS.fullmatch(_letters_key(answer))):
        return TRUE_FALSE
    return MULTIPLE if len(set(_letters_key(answer))) > 1 else SINGLE


_ANSWER_SEPARATORS = re.compile(r"[\s,、;/|]+")
_ANSWER_LETTERS = re.compile("[A-Z]+")


def _letters_key(text: str) -> str:
    return _ANSWER_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def _truth(text: str) -> bool | None:
    return _TRUTH_BY_WORD.get(normalise_key(text))


def _parse_answer(text: str, *, kind: QuestionType, options: tuple[str, ...]) -> tuple[str, ...]:
    """Correct letters from "C", "A,B、D", "ab", or for true/false "正确", "×", "T", "false", "A"."""
    if not text:
        raise InvalidValue(_("the answer is empty"))
    if kind == TRUE_FALSE:
        truth = _truth(text)
        if truth is not None:
            # An option spelled like the answer ("错误" among 正确/错误) decides; otherwise A is the true one.
            folded = [_fold(option) for option in options]
            spelled = _fold(text)
            if spelled in folded:
                return (LETTERS[folded.index(spelled)],)
            return ("A",) if truth else ("B",)
    letters = _letters_key(text)
    if not _ANSWER_LETTERS.fullmatch(letters) or any(letter not in LETTERS for letter in letters):
        if kind == TRUE_FALSE:
            raise InvalidValue(
                _("the answer “%(answer)s” is not valid: write 正确/错误, T/F or the option letter")
                % {"answer": text}
            )
        raise InvalidValue(
            _("the answer “%(answer)s” is not valid: write option letters such as C or ABD")
            % {"answer": text}
        )
    if any(letter not in LETTERS[: len(options)] for letter in letters):
        raise InvalidValue(
            _("the answer “%(answer)s” is not one of the options %(range)s")
            % {"answer": text, "range": _letter_range(len(options))}
        )
    return tuple(sorted(set(letters)))


def _letter_range(count: int) -> str:
    return f"A–{LETTERS[count - 1]}" if count > 1 else "A"


def _parse_difficulty(text: str) -> int:
    if not text:
        return DEFAULT_DIFFICULTY
    key = normalise_key(text)
    if key.isdecimal() and 1 <= int(key) <= 5:
        return int(key)
    level = _DIFFICULTY_BY_WORD.get(key)
    if level is None:
        raise InvalidValue(
            _("the difficulty “%(difficulty)s” is not 1–5 or 易/中/难 (easy/medium/hard)")
            % {"difficulty": text}
        )
    return level


def _parse_category(text: str) -> tuple[str, ...]:
    """The path in "法律/刑法" or "法律 > 刑法"; empty segments are dropped."""
    return tuple(part.strip() for part in CATEGORY_SEPARATORS.split(text) if part.strip())


def _parse_tags(text: str) -> tuple[str, ...]:
    return tuple(split_list(text, TAG_SEPARATORS))


def _parse_audience(text: str) -> tuple[str, ...]:
    codes: set[str] = set()
    for word in split_list(text, AUDIENCE_SEPARATORS):
        found = _AUDIENCE_BY_WORD.get(normalise_key(word))
        if found is None:
            raise InvalidValue(
                _("unknown audience “%(audience)s” (use 小学, 初中, 高中, 大学 or 社会公众)")
                % {"audience": word}
            )
        codes.update(found)
    return tuple(code for code in AUDIENCES if code in codes)


def _parse_language(text: str) -> str | None:
    if not text:
        return None
    language = _LANGUAGE_BY_WORD.get(normalise_key(text))
    if language is None:
        raise InvalidValue(_("unknown language “%(language)s” (use zh-hans or en)") % {"language": text})
    return language


def detect_language(text: str, *, default: str = "zh-hans") -> str:
    """zh-hans for text with Chinese characters, en for Latin letters without them, default otherwise."""
    if _CJK.search(text):
        return "zh-hans"
    if _LATIN.search(text):
        return "en"
    return default


def _fold(text: str) -> str:
    """Text compared the way a reader would: width, case and runs of spaces do not matter."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def question_problems(
    question: ParsedQuestion, *, check_shape: bool = True, check_answers: bool = True
) -> list[str]:
    """The rules every format shares, as messages without a row or line prefix.

    check_shape and check_answers are off when the type, the options or the answer were unreadable and
    already reported: counting options of a question whose type is unknown would only add noise.
    """
    problems = []
    options = question.options
    if not question.stem:
        problems.append(_("the stem is empty"))
    # Labels are translated only for a problem found: gettext on every cell would double the parse time.
    if len(question.stem) > MAX_STEM_LENGTH:
        problems.append(_too_long(_("the stem"), MAX_STEM_LENGTH))
    for letter, option in zip(LETTERS, options, strict=False):
        if len(option) > MAX_OPTION_LENGTH:
            problems.append(_too_long(_("option %(letter)s") % {"letter": letter}, MAX_OPTION_LENGTH))
    if len(question.explanation) > MAX_EXPLANATION_LENGTH:
        problems.append(_too_long(_("the explanation"), MAX_EXPLANATION_LENGTH))
    if len(question.source) > MAX_SOURCE_LENGTH:
        problems.append(_too_long(_("the source"), MAX_SOURCE_LENGTH))
    if any(len(segment) > MAX_CATEGORY_LENGTH for segment in question.category):
        problems.append(_too_long(_("a category name"), MAX_CATEGORY_LENGTH))
    if any(len(tag) > MAX_TAG_LENGTH for tag in question.tags):
        problems.append(_too_long(_("a tag"), MAX_TAG_LENGTH))
    if check_shape:
        if question.type == TRUE_FALSE and len(options) != 2:
            problems.append(_("a true/false question has exactly two options (or none, for 正确/错误)"))
        elif question.type == SINGLE and len(options) < MIN_OPTIONS:
            problems.append(
                _("a single-choice question needs at least two options (found %(count)s)")
                % {"count": len(options)}
            )
        elif question.type == MULTIPLE and len(options) < MIN_OPTIONS:
            problems.append(
                _("a multiple-choice question needs at least two options (found %(count)s)")
                % {"count": len(options)}
            )
        elif len(options) > MAX_OPTIONS:
            problems.append(_too_many_options(len(options)))
    seen: dict[str, str] = {}
    for letter, option in zip(LETTERS, options, strict=False):
        first = seen.setdefault(_fold(option), letter)
        if first != letter:
            problems.append(
                _("options %(first)s and %(second)s are the same (“%(text)s”)")
                % {"first": first, "second": letter, "text": option}
            )
    correct = question.correct
    if not (check_shape and check_answers):
        pass
    elif question.type == MULTIPLE and len(correct) < 2:
        problems.append(_("a multiple-choice question needs at least two correct answers"))
    elif question.type == SINGLE and len(correct) != 1:
        problems.append(
            _(
                "a single-choice question has exactly one correct answer, not “%(answer)s” "
                "(use type multiple choice)"
            )
            % {"answer": "".join(correct)}
        )
    elif question.type == TRUE_FALSE and len(correct) != 1:
        problems.append(
            _("a true/false question has exactly one correct answer, not “%(answer)s”")
            % {"answer": "".join(correct)}
        )
    return problems


def _too_long(what: str, limit: int) -> str:
    return _("%(what)s is longer than %(limit)s characters") % {"what": what, "limit": f"{limit:,}"}


def _too_many_options(count: int) -> str:
    return _("a question has at most %(max)s options (found %(count)s)") % {
        "max": MAX_OPTIONS,
        "count": count,
    }


# --- GIFT -----------------------------------------------------------------------------------------------

_GIFT_ESCAPES = {"~": "~", "=": "=", "#": "#", "{": "{", "}": "}", ":": ":", "\\": "\\", "n": "\n"}
_GIFT_FORMAT = re.compile(r"^\s*\[(?:html|moodle|plain|markdown)\]", re.IGNORECASE)
_GIFT_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_GIFT_CATEGORY = re.compile(r"^\$CATEGORY\s*:(.*)$", re.IGNORECASE)
_GIFT_TRUTH = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_BLANK = "_____"


def parse_gift(
    lines: Sequence[str], *, default_language: str = "zh-hans", max_questions: int = DEFAULT_MAX_ROWS
) -> ImportResult:
    """Questions from Moodle GIFT text: single and multiple choice, true/false, $CATEGORY, feedback."""
    log = ErrorLog("line")
    questions: list[ParsedQuestion] = []
    category: tuple[str, ...] = ()
    first_seen: dict[str, int] = {}
    count = 0
    for block in _gift_blocks(lines):
        heading = _GIFT_CATEGORY.match(block[0][1].strip())
        if heading:
            category = _parse_gift_category(heading.group(1))
            block = block[1:]
            if not block:
                continue
        start = block[0][0]
        text = "\n".join(line for _number, line in block).strip()
        count += 1
        if count > max_questions:
            log.add(None, _too_many_questions(max_questions))
            break
        try:
            question = _parse_gift_question(
                text, start=start, category=category, default_language=default_language
            )
        except InvalidValue as exc:
            log.add(start, str(exc))
            continue
        _check_and_keep(question, log=log, questions=questions, first_seen=first_seen)
    return _finish(questions, log)


def _gift_blocks(lines: Sequence[str]) -> Iterable[list[tuple[int, str]]]:
    """The numbered lines of each question: blank lines separate questions and // lines are comments."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.lstrip().startswith("//"):
            continue
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []


def _parse_gift_category(path: str) -> tuple[str, ...]:
    # Moodle writes "$course$/top/法律/刑法": the context and its invisible "top" are not part of the path.
    parts = [part.strip() for part in path.split("/")]
    parts = [part for part in parts if part and not (part.startswith("$") and part.endswith("$"))]
    if parts and parts[0].casefold() == "top":
        parts = parts[1:]
    return _parse_category("/".join(parts))


def _parse_gift_question(
    text: str, *, start: int, category: tuple[str, ...], default_language: str
) -> ParsedQuestion:
    if text.startswith("::"):
        end = _find_unescaped(text, "::", 2)
        if end < 0:
            raise InvalidValue(_("the title opened with :: is not closed with ::"))
        text = text[end + 2 :].lstrip()  # Titles are Moodle's labels; the bank has none.
    opening = _find_unescaped(text, "{")
    if opening < 0:
        raise InvalidValue(_("no answer block { … } found: descriptions without answers cannot be imported"))
    closing = _find_unescaped(text, "}", opening + 1)
    if closing < 0:
        raise InvalidValue(_("the answer block opened with { is not closed with }"))
    after = text[closing + 1 :].strip()
    if _find_unescaped(after, "{") >= 0:
        raise InvalidValue(_("only one answer block { … } per question can be imported"))
    stem = _GIFT_FORMAT.sub("", text[:opening]).strip()
    if after:
        stem = f"{stem} {_BLANK} {after}"  # A "missing word" question: the block stood in the sentence.
    stem = _gift_unescape(stem).strip()
    body, _sep, general = _partition_unescaped(text[opening + 1 : closing], "####")
    body = body.strip()
    language = detect_language(stem, default=default_language)
    common = {"stem": stem, "category": category, "language": language, "row": start}
    value, _sep, _feedback = _partition_unescaped(body, "#")
    truth = _GIFT_TRUTH.get(value.strip().upper())
    if truth is not None:
        return ParsedQuestion(
            type=TRUE_FALSE, options=TRUE_FALSE_OPTIONS[language], correct=("A",) if truth else ("B",),
            explanation=_gift_unescape(general).strip(), **common,
        )  # fmt: skip
    if not body:
        raise InvalidValue(
            _("essay questions ({}) are not supported: use single choice, multiple choice or true/false")
        )
    if body.startswith("#"):
        raise InvalidValue(_("numerical questions ({#…}) are not supported: use single or multiple choice"))
    answers = _gift_answers(body)
    if any(_find_unescaped(answer_text, "->") >= 0 for _marker, answer_text in answers):
        raise InvalidValue(_("matching questions (->) are not supported: use single or multiple choice"))
    if all(marker == "=" for marker, _text in answers):
        raise InvalidValue(
            _("short-answer questions (only = answers) are not supported: add wrong answers with ~")
        )
    options, correct, feedback = [], [], []
    for index, (marker, raw) in enumerate(answers):
        weight_match = _GIFT_WEIGHT.match(raw.strip())
        raw = raw.strip()[weight_match.end() :] if weight_match else raw
        if raw.strip().startswith("%"):
            raise InvalidValue(
                _("a weight must look like %(example)s: “%(answer)s”")
                % {"example": "~%50% ~%-100%", "answer": raw.strip()}
            )
        answer_text, _sep, answer_feedback = _partition_unescaped(raw, "#")
        option = _gift_unescape(answer_text).strip()
        if not option:
            raise InvalidValue(_("answer %(number)s is empty") % {"number": index + 1})
        options.append(option)
        if marker == "=" or (weight_match and float(weight_match.group(1)) > 0):
            correct.append(LETTERS[index] if index < len(LETTERS) else "")
            if answer_feedback.strip():
                feedback.append(_gift_unescape(answer_feedback).strip())
    if len(options) > MAX_OPTIONS:
        raise InvalidValue(_too_many_options(len(options)))
    if not correct:
        raise InvalidValue(
            _("no answer is marked right: mark it with = or a positive weight such as %(example)s")
            % {"example": "~%50%"}
        )
    # Authors often explain on the right answer instead of in ####: keep that as the explanation.
    explanation = _gift_unescape(general).strip() or "\n".join(dict.fromkeys(feedback))
    return ParsedQuestion(
        type=MULTIPLE if len(correct) > 1 else SINGLE, options=tuple(options), correct=tuple(correct),
        explanation=explanation, **common,
    )  # fmt: skip


def _gift_answers(body: str) -> list[tuple[str, str]]:
    """Split "=right#fb ~wrong ~%50%half" into (marker, text) pairs, honouring backslash escapes."""
    answers: list[tuple[str, str]] = []
    current: list[str] = []
    marker = ""
    index = 0
    while index < len(body):
        ch = body[index]
        if ch == "\\" and index + 1 < len(body):
            current.append(body[index : index + 2])
            index += 2
            continue
        if ch in "~=":
            if marker:
                answers.append((marker, "".join(current)))
            elif "".join(current).strip():
                raise InvalidValue(
                    _("answers must start with = (right) or ~ (wrong): “%(text)s”")
                    % {"text": "".join(current).strip()}
                )
            marker, current = ch, []
        else:
            current.append(ch)
        index += 1
    if marker:
        answers.append((marker, "".join(current)))
    return answers


def _find_unescaped(text: str, target: str, start: int = 0) -> int:
    index = start
    while index <= len(text) - len(target):
        if text[index] == "\\":
            index += 2
            continue
        if text.startswith(target, index):
            return index
        index += 1
    return -1


def _partition_unescaped(text: str, separator: str) -> tuple[str, str, str]:
    index = _find_unescaped(text, separator)
    if index < 0:
        return text, "", ""
    return text[:index], separator, text[index + len(separator) :]


def _gift_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: _GIFT_ESCAPES.get(match.group(1), match.group(0)), text)


# --- Aiken ----------------------------------------------------------------------------------------------

_AIKEN_OPTION = re.compile(r"^([A-H])\s*[.)．）]\s*(.*)$")
_AIKEN_ANSWER = re.compile(r"^ANSWER\s*[:：]\s*(.*)$", re.IGNORECASE)


@dataclass
class _AikenDraft:
    start: int
    stem: list[str]
    options: list[str] = field(default_factory=list)
    broken: bool = False


def parse_aiken(
    lines: Sequence[str], *, default_language: str = "zh-hans", max_questions: int = DEFAULT_MAX_ROWS
) -> ImportResult:
    """Questions from Aiken text: stem lines, options "A. …" or "A) …", then "ANSWER: B" (or "ANSWER: AC")."""
    log = ErrorLog("line")
    questions: list[ParsedQuestion] = []
    first_seen: dict[str, int] = {}
    draft: _AikenDraft | None = None
    count = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _AIKEN_ANSWER.match(line)
        option = _AIKEN_OPTION.match(line) if draft is not None and not answer else None
        if answer:
            if draft is None or not draft.options:
                log.add(number, _("“ANSWER:” comes before any options"))
            elif not draft.broken:
                count += 1
                if count > max_questions:
                    log.add(None, _too_many_questions(max_questions))
                    draft = None
                    break
                question = _aiken_question(
                    draft, answer=answer.group(1).strip(), default_language=default_language, log=log
                )
                if question is not None:
                    _check_and_keep(question, log=log, questions=questions, first_seen=first_seen)
            draft = None
        elif option:
            if len(draft.options) == MAX_OPTIONS:
                log.add(number, _too_many_options(MAX_OPTIONS + 1))
                draft.broken = True
            elif option.group(1) != LETTERS[len(draft.options)] and not draft.broken:
                log.add(
                    number,
                    _("expected option %(expected)s but found %(found)s")
                    % {"expected": LETTERS[len(draft.options)], "found": option.group(1)},
                )
                draft.broken = True
            draft.options.append(option.group(2).strip())
        elif draft is None:
            draft = _AikenDraft(start=number, stem=[line])
        elif not draft.options:
            draft.stem.append(line)
        else:
            log.add(draft.start, _("the question has no “ANSWER:” line after its options"))
            draft = _AikenDraft(start=number, stem=[line])
    if draft is not None:
        log.add(draft.start, _("the question has no “ANSWER:” line after its options"))
    return _finish(questions, log)


def _aiken_question(
    draft: _AikenDraft, *, answer: str, default_language: str, log: ErrorLog
) -> ParsedQuestion | None:
    options = tuple(draft.options)
    try:
        correct = _parse_answer(answer, kind=MULTIPLE, options=options)
    except InvalidValue as exc:
        log.add(draft.start, str(exc))
        return None
    stem = "\n".join(draft.stem)
    return ParsedQuestion(
        type=MULTIPLE if len(correct) > 1 else SINGLE, stem=stem, options=options, correct=correct,
        language=detect_language(stem, default=default_language), row=draft.start,
    )  # fmt: skip


# --- shared by the text formats -------------------------------------------------------------------------


def _check_and_keep(
    question: ParsedQuestion, *, log: ErrorLog, questions: list[ParsedQuestion], first_seen: dict[str, int]
) -> None:
    problems = question_problems(question)
    for message in problems:
        log.add(question.row, message)
    if not problems:
        _keep_unique(question, log=log, questions=questions, first_seen=first_seen)


def _keep_unique(
    question: ParsedQuestion, *, log: ErrorLog, questions: list[ParsedQuestion], first_seen: dict[str, int]
) -> None:
    """Keep a checked question unless the file already had it (same language, stem and options)."""
    where = question.row or 0
    first = first_seen.setdefault(question.fingerprint(), where)
    if first == where:
        questions.append(question)
    elif log.unit == "line":
        log.add(
            where, _("duplicate of the question on line %(line)s (same stem and options)") % {"line": first}
        )
    else:
        log.add(where, _("duplicate of row %(row)s (same stem and options)") % {"row": first})


def _finish(questions: list[ParsedQuestion], log: ErrorLog) -> ImportResult:
    if not questions and not log.errors:
        log.add(None, _("the file contains no questions"))
    return ImportResult(questions, log.errors)


def _too_many_questions(limit: int) -> str:
    return _("the file has more than %(count)s questions: split it into smaller files") % {
        "count": f"{limit:,}"
    }


# --- export and template --------------------------------------------------------------------------------


def export_rows(questions: Iterable[ParsedQuestion]) -> tuple[list[str], list[list[CellValue]]]:
    """The wide layout with English headers, which parse_file reads back to equal questions."""
    names, rows = _wide_rows(questions)
    return [EXPORT_HEADER[name] for name in names], rows


def _wide_rows(questions: Iterable[ParsedQuestion]) -> tuple[list[str], list[list[CellValue]]]:
    questions = list(questions)
    option_count = max([4, *(len(question.options) for question in questions)])
    names = ["type", "stem", *OPTION_FIELDS[:option_count], "answer", "explanation", "difficulty", "category",
             "audience", "language", "tags", "source"]  # fmt: skip
    return names, [_wide_row(question, names) for question in questions]


def _wide_row(question: ParsedQuestion, names: list[str]) -> list[CellValue]:
    values: dict[str, CellValue] = {
        "type": question.type,
        "stem": question.stem,
        "answer": "".join(question.correct),
        "explanation": question.explanation,
        "difficulty": question.difficulty,
        "category": "/".join(question.category),
        "audience": ", ".join(question.audience),
        "language": question.language,
        "tags": ", ".join(question.tags),
        "source": question.source,
        **dict(zip(OPTION_FIELDS, question.options, strict=False)),
    }
    return [values.get(name, "") for name in names]


def template_rows(*, language: str = "zh-hans") -> tuple[list[str], list[list[CellValue]]]:
    """The downloadable template: headers in the uploader's language and examples of each type in both."""
    examples = [
        ParsedQuestion(
            type=SINGLE, stem="下列哪一种属于新型毒品？", options=("冰毒", "鸦片", "海洛因", "吗啡"),
            correct=("A",),
            explanation="冰毒（甲基苯丙胺）是人工合成的新型毒品；鸦片、海洛因、吗啡属于传统毒品。",
            difficulty=2, category=("毒品常识", "毒品分类"), tags=("新型毒品",),
            audience=("junior", "senior"),
            language="zh-hans", source="示例",
        ),
        ParsedQuestion(
            type=MULTIPLE, stem="陌生人递来的哪些东西可能是伪装的毒品？",
            options=("“奶茶”冲剂", "“跳跳糖”", "包装完好的矿泉水", "“邮票”贴纸"),
            correct=("A", "B", "D"),
            category=("识毒防毒",), audience=("primary", "junior"), language="zh-hans", source="示例",
        ),
        ParsedQuestion(
            type=TRUE_FALSE, stem="吸毒一次不会成瘾，所以尝试一次没关系。",
            options=TRUE_FALSE_OPTIONS["zh-hans"], correct=("B",),
            explanation="毒品极易成瘾，一次尝试就可能造成依赖。", difficulty=1, language="zh-hans",
        ),
        ParsedQuestion(
            type=SINGLE, stem="On which date is the International Day against Drug Abuse?",
            options=("1 December", "26 June", "3 June", "12 March"), correct=("B",),
            explanation="The UN General Assembly chose 26 June in resolution 42/112 (1987).",
            category=("History",), audience=("senior", "university", "public"), language="en",
        ),
        ParsedQuestion(
            type=TRUE_FALSE, stem="New psychoactive substances can be as harmful as controlled drugs.",
            options=TRUE_FALSE_OPTIONS["en"], correct=("A",), tags=("NPS",), language="en",
        ),
    ]  # fmt: skip
    names, rows = _wide_rows(examples)
    if language.startswith("zh"):
        return [WIDE_COLUMNS[name][0] for name in names], rows
    return [EXPORT_HEADER[name] for name in names], rows
