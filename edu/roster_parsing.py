"""Class rosters (.xlsx/.csv) parsed into checked students: name, number, grade, class, gender, birth date."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from django.utils.translation import gettext as _

from edu.tabular import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    ErrorLog,
    InvalidValue,
    Row,
    RowError,
    Table,
    TabularError,
    normalise_key,
    read_table,
)

ROSTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学生姓名", "name", "student name", "full name"),
    "student_number": (
        "学号",
        "学籍号",
        "学生学号",
        "学籍编号",
        "student number",
        "student id",
        "student no",
    ),
    "grade": ("年级", "grade", "year"),
    "class_name": ("班级", "班", "班级名称", "class", "class name"),
    "gender": ("性别", "gender", "sex"),
    "birth_date": (
        "出生日期",
        "生日",
        "出生年月日",
        "出生年月",
        "date of birth",
        "birth date",
        "birthday",
        "dob",
    ),
}
REQUIRED_COLUMNS = ("name", "student_number", "class_name")

MAX_NAME_LENGTH = 50
MAX_CLASS_NAME_LENGTH = 40  # SchoolClass.name
MIN_AGE, MAX_AGE = 3, 30

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
# Stage-relative spellings: 小学三年级 is grade 3, 初二 and 初中二年级 grade 8, 高一 grade 10.
_STAGE_OFFSET = {"": 0, "小学": 0, "初中": 6, "初": 6, "高中": 9, "高": 9}
_STAGE_YEARS = {"": 12, "小学": 6, "初中": 3, "初": 3, "高中": 3, "高": 3}
_WORDED_GRADES = (
    re.compile(rf"(?P<stage>小学|初中|高中|)(?P<number>{_NUMBER})年级"),
    re.compile(r"(?P<stage>[初高])(?P<number>[一二三123])"),
    re.compile(r"(?:grade|year)(?P<number>\d{1,2})"),
)
# A bare "7" is a grade only in a cell of its own: inside "73" or "3班" it is part of a class number.
_NUMERIC_GRADE = re.compile(r"(?:g|y)?(?P<number>\d{1,2})(?:st|nd|rd|th)?(?:grade)?")
# Matched against normalise_key's output, where "（3）班" has become "3班".
_CLASS_NUMBER = re.compile(r"(?:class)?(?P<number>\d{1,3}|[一二三四五六七八九十]{1,3})(?:班|班级)?")
_STUDENT_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_EXCEL_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_NAME_DOT = re.compile(rf"(?<=[{_CJK}])\s*[·•・‧･.．]\s*(?=[{_CJK}])")
_NAME_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_FULL_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_MONTH = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*月?")
# A date cell formatted as a plain number arrives as its serial: 40973 is 2012-03-05. Only five-digit serials
# (1927–2173) are plausible birth dates.
_EXCEL_SERIAL = re.compile(r"\d{5}")
_EXCEL_EPOCH = date(1899, 12, 30)
_GENDERS = {
    **dict.fromkeys(map(normalise_key, ("男", "男性", "男生", "m", "male", "boy")), "M"),
    **dict.fromkeys(map(normalise_key, ("女", "女性", "女生", "f", "female", "girl")), "F"),
}


@dataclass(frozen=True, slots=True)
class ParsedStudent:
    row: int
    name: str
    student_number: str
    grade: int  # 1–12: 一年级 is 1, 初一 is 7, 高一 is 10
    class_name: str  # "3班", or a named class such as "实验班"
    gender: str = ""  # "F", "M" or "" (not given)
    birth_date: date | None = None


@dataclass
class RosterResult:
    """Students that parsed cleanly and every problem found; import only when errors is empty."""

    students: list[ParsedStudent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.students)


def parse_roster(
    data: bytes | BinaryIO,
    filename: str,
    *,
    today: date,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RosterResult:
    """Students from an uploaded roster; today (the school's local date) bounds plausible birth dates."""
    try:
        table = read_table(
            data,
            filename,
            fields=ROSTER_COLUMNS,
            required=REQUIRED_COLUMNS,
            max_rows=max_rows,
            max_bytes=max_bytes,
        )
    except TabularError as exc:
        return RosterResult(errors=exc.errors)
    log = ErrorLog("row")
    students = []
    first_row_of: dict[str, int] = {}
    for row in table.rows:
        student = _row_student(table, row, today=today, log=log)
        if student is None:
            continue
        first = first_row_of.setdefault(student.student_number, row.number)
        if first != row.number:
            log.add(
                row.number,
                _("student number %(number)s already appears in row %(row)s")
                % {"number": student.student_number, "row": first},
            )
        else:
            students.append(student)
    return RosterResult(students, log.errors)


def _row_student(table: Table, row: Row, *, today: date, log: ErrorLog) -> ParsedStudent | None:
    number = row.number
    before = len(log.errors)

    def cell(name: str) -> str:
        return table.value(row, name)

    name = log.check(number, parse_name, cell("name"), "")
    student_number = log.check(number, parse_student_number, cell("student_number"), "")
    grade, class_name = _grade_and_class(cell("grade"), cell("class_name"), row=number, log=log)
    gender = log.check(number, parse_gender, cell("gender"), "")
    birth_date = log.check(number, lambda text: parse_birth_date(text, today=today), cell("birth_date"), None)
    if len(log.errors) > before or grade is None:
        return None
    return ParsedStudent(
        row=number, name=name, student_number=student_number, grade=grade, class_name=class_name,
        gender=gender, birth_date=birth_date,
    )  # fmt: skip


def _grade_and_class(grade_text: str, class_text: str, *, row: int, log: ErrorLog) -> tuple[int | None, str]:
    """The grade and class, which rosters spread over two cells or combine in one ("七年级3班")."""
    before = len(log.errors)
    grade: int | None = None
    class_name = ""
    if grade_text:
        try:
            grade = parse_grade(grade_text)
        except InvalidValue as exc:
            combined = _split_combined(grade_text)
            if combined is None:
                log.add(row, str(exc))
            else:
                grade, class_name = combined
    if class_text:
        class_grade, class_name = log.check(row, parse_class, class_text, (None, ""))
        if class_grade is not None and grade is not None and class_grade != grade:
            log.add(
                row,
                _("the grade “%(grade)s” and the class “%(class)s” disagree")
                % {"grade": grade_text, "class": class_text},
            )
        grade = grade or class_grade
    elif not class_name:
        log.add(row, _("the class is empty"))
    if grade is None and len(log.errors) == before:
        log.add(row, _("the grade is missing: fill in the grade column or write the class as 七年级3班"))
    return grade, class_name


def parse_name(text: str) -> str:
    """A student's name with stray spaces gone: "张 三" -> "张三", "买买提 • 艾力" -> "买买提·艾力"."""
    name = " ".join(text.split())
    name = _NAME_CJK_GAP.sub("", _NAME_DOT.sub("·", name))
    if not name:
        raise InvalidValue(_("the name is empty"))
    if name.isdigit():
        raise InvalidValue(
            _("the name “%(name)s” is a number: are the name and student number columns swapped?")
            % {"name": name}
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue(_("the name is longer than %(limit)s characters") % {"limit": MAX_NAME_LENGTH})
    return name


def parse_student_number(text: str) -> str:
    if not text:
        raise InvalidValue(_("the student number is empty"))
    if _EXCEL_SCIENTIFIC.fullmatch(text):
        raise InvalidValue(
            _(
                "the student number “%(number)s” was shortened by Excel: format the column as text, "
                "type the numbers again and save"
            )
            % {"number": text}
        )
    number = unicodedata.normalize("NFKC", text).upper()
    if not _STUDENT_NUMBER.fullmatch(number):
        raise InvalidValue(
            _(
                "the student number “%(number)s” is not valid: use letters, digits, “-” and “_” only, "
                "at most 32 characters"
            )
            % {"number": text}
        )
    return number


def parse_grade(text: str) -> int:
    """1–12 from "七年级", "初一", "高二", "小学三年级", "7", "Grade 7" and similar."""
    grade = _match_grade(normalise_key(text))
    if grade is None:
        raise InvalidValue(
            _("unknown grade “%(grade)s” (use 一年级…九年级, 初一…初三, 高一…高三 or 1–12)") % {"grade": text}
        )
    return grade


def _match_grade(key: str, *, worded_only: bool = False) -> int | None:
    for pattern in _WORDED_GRADES if worded_only else (*_WORDED_GRADES, _NUMERIC_GRADE):
        match = pattern.fullmatch(key)
        if match:
            stage = match.groupdict().get("stage") or ""
            number = _to_number(match.group("number"))
            if number is not None and 1 <= number <= _STAGE_YEARS[stage]:
                return number + _STAGE_OFFSET[stage]
    return None


def parse_class(text: str) -> tuple[int | None, str]:
    """(grade or None, class name): "3班", "(3)班", "三班", "3", "Class 3" -> (None, "3班");
    "七年级3班", "初一(3)班", "Grade 7 Class 3" -> (7, "3班"); a named class like "实验班" stays as it is."""
    combined = _split_combined(text)
    if combined is not None:
        return combined
    if _match_grade(normalise_key(text), worded_only=True) is not None:
        raise InvalidValue(_("the class “%(class)s” names a grade but no class number") % {"class": text})
    return None, _class_name(text)


def _split_combined(text: str) -> tuple[int, str] | None:
    key = normalise_key(text)
    # Try the longest grade prefix first, so "十二年级1班" is not read as grade 10 and class "二年级1班".
    for end in range(len(key) - 1, 0, -1):
        grade = _match_grade(key[:end], worded_only=True)
        if grade is not None:
            rest = text[_original_length(text, key[:end]) :]
            if not normalise_key(rest):
                return None
            return grade, _class_name(rest)
    return None


def _original_length(text: str, key_prefix: str) -> int:
    """How much of text produced key_prefix under normalise_key (which drops spaces and brackets)."""
    for end in range(len(text) + 1):
        if normalise_key(text[:end]) == key_prefix:
            return end
    return len(text)


def _class_name(text: str) -> str:
    key = normalise_key(text)
    if not key:
        raise InvalidValue(_("the class is empty"))
    match = _CLASS_NUMBER.fullmatch(key)
    if match:
        number = _to_number(match.group("number"))
        if not number:
            raise InvalidValue(_("the class number in “%(class)s” is not valid") % {"class": text})
        return f"{number}班"
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    if len(name) > MAX_CLASS_NAME_LENGTH:
        raise InvalidValue(
            _("the class name is longer than %(limit)s characters") % {"limit": MAX_CLASS_NAME_LENGTH}
        )
    return name


def _to_number(text: str) -> int | None:
    """Arabic or Chinese numerals up to 99: "7", "七", "十", "十二", "二十三"."""
    if text.isdigit():
        return int(text)
    tens, sep, units = text.partition("十")
    if not sep:
        return _DIGITS.get(text)
    high = _DIGITS.get(tens, 0) if tens else 1
    low = _DIGITS.get(units, 0) if units else 0
    if (tens and not high) or (units and not low):
        return None
    return high * 10 + low


def parse_gender(text: str) -> str:
    """The gender code: "M", "F", or "" when not given."""
    if not text:
        return ""
    gender = _GENDERS.get(normalise_key(text))
    if gender is None:
        raise InvalidValue(_("unknown gender “%(gender)s” (use 男/女 or M/F)") % {"gender": text})
    return gender


def parse_birth_date(text: str, *, today: date) -> date | None:
    """A plausible birth date (age 3–30 on today) from 2012-03-05, 2012/3/5, 2012年3月5日, 20120305 or an
    Excel date serial; None when not given."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    match = _FULL_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match:
        try:
            born = date(*(int(part) for part in match.groups()))
        except ValueError:
            raise InvalidValue(_("the date of birth “%(date)s” does not exist") % {"date": text}) from None
    elif _EXCEL_SERIAL.fullmatch(text):
        born = _EXCEL_EPOCH + timedelta(days=int(text))
    elif _YEAR_MONTH.fullmatch(text):
        raise InvalidValue(
            _("the date of birth “%(date)s” has no day: write it as 2012-03-05") % {"date": text}
        )
    else:
        raise InvalidValue(
            _("the date of birth “%(date)s” is not a date: write it as 2012-03-05") % {"date": text}
        )
    if born > today:
        raise InvalidValue(_("the date of birth %(date)s is in the future") % {"date": born.isoformat()})
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if not MIN_AGE <= age <= MAX_AGE:
        raise InvalidValue(
            _("the date of birth %(date)s gives an age of %(age)s: check the year")
            % {"date": born.isoformat(), "age": age}
        )
    return born
