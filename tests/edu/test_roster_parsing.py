"""Class roster parsing: spellings of grades, classes, genders and dates, and row-level messages."""

import io
from datetime import date, datetime

import openpyxl
import pytest
from django.utils import translation

from edu.roster_parsing import (
    ParsedStudent,
    RosterResult,
    parse_birth_date,
    parse_class,
    parse_gender,
    parse_grade,
    parse_name,
    parse_roster,
)
from edu.tabular import InvalidValue

TODAY = date(2026, 11, 22)
HEADER = ["姓名", "学号", "年级", "班级", "性别", "出生日期"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def xlsx(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def roster(*rows, header=HEADER, **kwargs) -> RosterResult:
    return parse_roster(xlsx([header, *rows]), "名单.xlsx", today=TODAY, **kwargs)


def errors(result: RosterResult) -> list[str]:
    return [str(error) for error in result.errors]


def test_a_typical_excel_roster():
    result = parse_roster(
        xlsx(
            [
                ["XX市第一中学 七年级学生名单"],
                ["*姓名", "学籍号", "年级", "班级（必填）", "性别", "出生日期"],
                ["  张三 ", 2023001.0, "七年级", "(3)班", "男", datetime(2013, 3, 5)],
                ["买买提 • 艾力", "G4401012013030512", "初一", "3", "女", "2013/3/5"],
                ["Emily Chen", 2023003, "Grade 7", "Class 3", "F", "2013年3月5日"],
                [None, None, None, None, None, None],
                ["李 四", "2023004", 7, "三班", None, None],
            ]
        ),
        "名单.xlsx",
        today=TODAY,
    )
    assert errors(result) == []
    assert result.ok
    assert result.students == [
        ParsedStudent(
            row=3,
            name="张三",
            student_number="2023001",
            grade=7,
            class_name="3班",
            gender="M",
            birth_date=date(2013, 3, 5),
        ),
        ParsedStudent(
            row=4,
            name="买买提·艾力",
            student_number="G4401012013030512",
            grade=7,
            class_name="3班",
            gender="F",
            birth_date=date(2013, 3, 5),
        ),
        ParsedStudent(
            row=5,
            name="Emily Chen",
            student_number="2023003",
            grade=7,
            class_name="3班",
            gender="F",
            birth_date=date(2013, 3, 5),
        ),
        ParsedStudent(row=7, name="李四", student_number="2023004", grade=7, class_name="3班"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_roster_in_excel_encodings(encoding):
    text = "学生姓名,学号,班级,生日\r\n王五,2023005,高二（5）班,20100101\r\n赵六,2023006,初三2班,\r\n"
    result = parse_roster(text.encode(encoding), "名单.csv", today=TODAY)
    assert errors(result) == []
    assert [(s.name, s.grade, s.class_name, s.birth_date) for s in result.students] == [
        ("王五", 11, "5班", date(2010, 1, 1)),
        ("赵六", 9, "2班", None),
    ]


def test_english_headers():
    text = "Name,Student ID,Grade,Class,Gender,Date of Birth\nAnna Li,S-001,10,2,female,2010-05-06\n"
    [student] = parse_roster(text.encode(), "roster.csv", today=TODAY).students
    assert (student.student_number, student.grade, student.class_name, student.gender) == (
        "S-001",
        10,
        "2班",
        "F",
    )


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("一年级", 1),
        ("六年级", 6),
        ("七年级", 7),
        ("九年级", 9),
        ("十年级", 10),
        ("十二年级", 12),
        ("小学一年级", 1),
        ("小学六年级", 6),
        ("初中一年级", 7),
        ("初中三年级", 9),
        ("高中二年级", 11),
        ("初一", 7),
        ("初二", 8),
        ("初三", 9),
        ("高一", 10),
        ("高二", 11),
        ("高三", 12),
        ("初2", 8),
        ("7", 7),
        ("07", 7),
        ("７", 7),
        ("12", 12),
        ("7年级", 7),
        ("Grade 7", 7),
        ("grade7", 7),
        ("G10", 10),
        ("7th grade", 7),
        ("Year 9", 9),
        (" 七 年 级 ", 7),
    ],
)
def test_grade_spellings(text, grade):
    assert parse_grade(text) == grade


@pytest.mark.parametrize(
    "text", ["十三年级", "0", "13", "小学七年级", "初四", "高中四年级", "2023级", "大一", "幼儿园"]
)
def test_unknown_grades(text):
    with pytest.raises(InvalidValue) as exc_info:
        parse_grade(text)
    assert str(exc_info.value) == f"unknown grade “{text}” (use 一年级…九年级, 初一…初三, 高一…高三 or 1–12)"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("3班", (None, "3班")),
        ("(3)班", (None, "3班")),
        ("（3）班", (None, "3班")),
        ("三班", (None, "3班")),
        ("十一班", (None, "11班")),
        ("3", (None, "3班")),
        ("03", (None, "3班")),
        ("12", (None, "12班")),
        ("Class 3", (None, "3班")),
        ("3 班", (None, "3班")),
        ("七年级3班", (7, "3班")),
        ("七年级(3)班", (7, "3班")),
        ("初一(3)班", (7, "3班")),
        ("初一3班", (7, "3班")),
        ("高二（5）班", (11, "5班")),
        ("7年级3班", (7, "3班")),
        ("Grade 7 Class 3", (7, "3班")),
        ("十二年级1班", (12, "1班")),
        ("小学三年级二班", (3, "2班")),
        ("实验班", (None, "实验班")),
        ("高一实验班", (10, "实验班")),
        ("A 班", (None, "A 班")),
    ],
)
def test_class_spellings(text, parsed):
    assert parse_class(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("初一", "the class “初一” names a grade but no class number"),
        ("七年级", "the class “七年级” names a grade but no class number"),
        ("0班", "the class number in “0班” is not valid"),
        ("x" * 41, "the class name is longer than 40 characters"),
    ],
)
def test_bad_classes(text, message):
    with pytest.raises(InvalidValue) as exc_info:
        parse_class(text)
    assert str(exc_info.value) == message


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("", ""),
        ("男", "M"),
        ("女", "F"),
        ("M", "M"),
        ("f", "F"),
        ("Male", "M"),
        ("FEMALE", "F"),
        ("男生", "M"),
    ],
)
def test_gender_spellings(text, gender):
    assert parse_gender(text) == gender


@pytest.mark.parametrize(
    ("text", "born"),
    [
        ("", None),
        ("2012-03-05", date(2012, 3, 5)),
        ("2012/3/5", date(2012, 3, 5)),
        ("2012.3.5", date(2012, 3, 5)),
        ("2012年3月5日", date(2012, 3, 5)),
        ("2012 年 3 月 5 日", date(2012, 3, 5)),
        ("２０１２－０３－０５", date(2012, 3, 5)),
        ("20120305", date(2012, 3, 5)),
        ("2012-03-05 08:30:00", date(2012, 3, 5)),
        ("40973", date(2012, 3, 5)),
    ],
)
def test_birth_date_spellings(text, born):
    assert parse_birth_date(text, today=TODAY) == born


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-01-01", "the date of birth 2027-01-01 is in the future"),
        ("2024-01-01", "the date of birth 2024-01-01 gives an age of 2: check the year"),
        ("1990-01-01", "the date of birth 1990-01-01 gives an age of 36: check the year"),
        ("1013-03-05", "the date of birth 1013-03-05 gives an age of 1013: check the year"),
        ("2012-02-30", "the date of birth “2012-02-30” does not exist"),
        ("20121305", "the date of birth “20121305” does not exist"),
        ("2012-03", "the date of birth “2012-03” has no day: write it as 2012-03-05"),
        ("2012年3月", "the date of birth “2012年3月” has no day: write it as 2012-03-05"),
        ("3/5/2012", "the date of birth “3/5/2012” is not a date: write it as 2012-03-05"),
        ("不详", "the date of birth “不详” is not a date: write it as 2012-03-05"),
    ],
)
def test_bad_birth_dates(text, message):
    with pytest.raises(InvalidValue) as exc_info:
        parse_birth_date(text, today=TODAY)
    assert str(exc_info.value) == message


def test_age_bounds_are_inclusive_and_count_birthdays():
    assert parse_birth_date("2023-11-22", today=TODAY) == date(2023, 11, 22)  # 3 today
    assert parse_birth_date("1995-11-23", today=TODAY) == date(1995, 11, 23)  # 30 until tomorrow
    with pytest.raises(InvalidValue):
        parse_birth_date("2023-11-23", today=TODAY)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("张三", "张三"),
        (" 张  三 ", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提 · 艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),
        ("买买提.艾力", "买买提·艾力"),
        ("Mary  Jane O'Neil", "Mary Jane O'Neil"),
        ("J. Smith", "J. Smith"),
    ],
)
def test_name_spellings(text, name):
    assert parse_name(text) == name


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["", "2023001", "七年级", "3班"], "row 2: the name is empty"),
        (["\u3000", "2023001", "七年级", "3班"], "row 2: the name is empty"),
        (
            ["2023001", "A-1", "七年级", "3班"],
            "row 2: the name “2023001” is a number: are the name and student number columns swapped?",
        ),
        (["张" * 51, "2023001", "七年级", "3班"], "row 2: the name is longer than 50 characters"),
        (["张三", "", "七年级", "3班"], "row 2: the student number is empty"),
        (
            ["张三", "2023 001", "七年级", "3班"],
            "row 2: the student number “2023 001” is not valid: "
            "use letters, digits, “-” and “_” only, at most 32 "
            "characters",
        ),
        (
            ["张三", "学号001", "七年级", "3班"],
            "row 2: the student number “学号001” is not valid: "
            "use letters, digits, “-” and “_” only, at most 32 "
            "characters",
        ),
        (
            ["张三", "4.40101E+17", "七年级", "3班"],
            "row 2: the student number “4.40101E+17” was shortened by Excel: "
            "format the column as text, type the "
            "numbers again and save",
        ),
        (
            ["张三", "2023001", "预备班", "3班"],
            "row 2: unknown grade “预备班” (use 一年级…九年级, 初一…初三, 高一…高三 or 1–12)",
        ),
        (["张三", "2023001", "七年级", ""], "row 2: the class is empty"),
        (
            ["张三", "2023001", "", "3班"],
            "row 2: the grade is missing: fill in the grade column or write the class as 七年级3班",
        ),
        (
            ["张三", "2023001", "七年级", "八年级3班"],
            "row 2: the grade “七年级” and the class “八年级3班” disagree",
        ),
        (["张三", "2023001", "七年级", "初一"], "row 2: the class “初一” names a grade but no class number"),
        (["张三", "2023001", "七年级", "3班", "未知"], "row 2: unknown gender “未知” (use 男/女 or M/F)"),
        (
            ["张三", "2023001", "七年级", "3班", "", "2030-01-01"],
            "row 2: the date of birth 2030-01-01 is in the future",
        ),
        (
            ["张三", "2023001", "七年级", "3班", "", "1980-01-01"],
            "row 2: the date of birth 1980-01-01 gives an age of 46: check the year",
        ),
        (
            ["张三", "2023001", "七年级", "3班", "", "2013-02-29"],
            "row 2: the date of birth “2013-02-29” does not exist",
        ),
    ],
)
def test_row_messages(row, message):
    result = roster(row)
    assert errors(result) == [message]
    assert result.students == []
    assert not result.ok


def test_swapped_name_and_number_columns():
    assert errors(roster(["2023001", "张三", "七年级", "3班"])) == [
        "row 2: the name “2023001” is a number: are the name and student number columns swapped?",
        "row 2: the student number “张三” is not valid: "
        "use letters, digits, “-” and “_” only, at most 32 characters",
    ]


def test_every_problem_of_a_row_is_reported():
    assert errors(roster(["", "", "预备班", "3班", "?", "2030-01-01"])) == [
        "row 2: the name is empty",
        "row 2: the student number is empty",
        "row 2: unknown grade “预备班” (use 一年级…九年级, 初一…初三, 高一…高三 or 1–12)",
        "row 2: unknown gender “?” (use 男/女 or M/F)",
        "row 2: the date of birth 2030-01-01 is in the future",
    ]


def test_duplicate_student_numbers():
    result = roster(
        ["张三", "2023001", "七年级", "3班"],
        ["李四", "2023002", "七年级", "3班"],
        ["王五", "2023003", "七年级", "3班"],
        [],
        ["张三", "2023001", "七年级", "4班"],
        ["赵六", "g2023002", "七年级", "3班"],
        ["钱七", "G2023002", "七年级", "3班"],
    )
    assert errors(result) == [
        "row 6: student number 2023001 already appears in row 2",
        "row 8: student number G2023002 already appears in row 7",
    ]
    assert [student.row for student in result.students] == [2, 3, 4, 7]


def test_combined_grade_and_class_without_a_grade_column():
    header = ["姓名", "学号", "班级"]
    result = roster(["张三", "1", "初二(4)班"], ["李四", "2", "Grade 8 Class 4"], header=header)
    assert [(s.grade, s.class_name) for s in result.students] == [(8, "4班"), (8, "4班")]


def test_combined_grade_and_class_in_the_grade_column():
    result = roster(["张三", "1", "初二(4)班", ""], ["李四", "2", "八年级4班", "4班"])
    assert errors(result) == []
    assert [(s.grade, s.class_name) for s in result.students] == [(8, "4班"), (8, "4班")]


def test_missing_columns():
    result = parse_roster("姓名,年级\n张三,七年级\n".encode(), "名单.csv", today=TODAY)
    assert errors(result) == ["missing column: 学号 (student number)", "missing column: 班级 (class name)"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "roster.xlsx", "the file is empty"),
        (b"name,student number,class\n", "roster.csv", "the file has a header row but no data rows below it"),
        (
            b"garbage",
            "roster.xlsx",
            "the file is not a valid .xlsx workbook (it may be damaged): save it again from Excel",
        ),
        (
            b"PK\x03\x04garbage",
            "roster.xlsx",
            "the Excel file could not be read (it may be damaged or not really an .xlsx workbook)",
        ),
        (
            b"a,b",
            "roster.pdf",
            "unsupported file type “.pdf”: upload an Excel workbook (.xlsx) or a CSV file",
        ),
    ],
)
def test_unusable_files(data, filename, message):
    assert errors(parse_roster(data, filename, today=TODAY)) == [message]


def test_row_limit():
    rows = [[f"学生{n}", str(n), "七年级", "1班"] for n in range(5)]
    assert len(roster(*rows, max_rows=5).students) == 5
    assert errors(roster(*rows, max_rows=4)) == ["the file has more than 4 rows: split it into smaller files"]
