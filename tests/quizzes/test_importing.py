"""Question-bank import parsers (wide .xlsx/.csv, GIFT, Aiken), their row-level messages, and the export."""

import io
import unicodedata

import openpyxl
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edu.tabular import clean_text, read_rows
from quizzes import importing
from quizzes.importing import (
    AUDIENCES,
    ImportResult,
    ParsedQuestion,
    detect_language,
    export_rows,
    parse_file,
    template_rows,
    write_csv,
    write_xlsx,
)

ZH_HEADER = [
    "题型",
    "题干",
    "选项A",
    "选项B",
    "选项C",
    "选项D",
    "答案",
    "解析",
    "难度",
    "分类",
    "适用对象",
    "标签",
]
EN_HEADER = ["type", "stem", "option a", "option b", "option c", "option d", "answer"]


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


def errors(result: ImportResult) -> list[str]:
    return [str(error) for error in result.errors]


def parse_rows(*rows, header=EN_HEADER, **kwargs) -> ImportResult:
    return parse_file(xlsx([header, *rows]), "bank.xlsx", **kwargs)


def only_question(result: ImportResult) -> ParsedQuestion:
    assert errors(result) == []
    [question] = result.questions
    return question


# --- the wide layout: what parses -----------------------------------------------------------------------


def test_chinese_headers_and_every_column():
    result = parse_file(
        xlsx(
            [
                ["2026 年禁毒知识竞赛题库（示例）"],
                [*ZH_HEADER, "语言", "来源"],
                [
                    "单选题",
                    "下列属于毒品的是？",
                    "冰毒",
                    "面粉",
                    "白糖",
                    "食盐",
                    "A",
                    "冰毒是合成毒品。",
                    "易",
                    "法律 > 刑法",
                    "初中、高中",
                    "新型毒品，冰毒",
                    "中文",
                    "《禁毒法》第二条",
                ],
            ]
        ),
        "题库.xlsx",
    )
    assert only_question(result) == ParsedQuestion(
        type="single",
        stem="下列属于毒品的是？",
        options=("冰毒", "面粉", "白糖", "食盐"),
        correct=("A",),
        explanation="冰毒是合成毒品。",
        difficulty=1,
        category=("法律", "刑法"),
        tags=("新型毒品", "冰毒"),
        audience=("junior", "senior"),
        language="zh-hans",
        source="《禁毒法》第二条",
    )
    assert result.questions[0].row == 3
    assert result.ok


def test_english_headers_in_a_csv():
    text = (
        "Type,Question,Option A,Option B,Option C,Correct Answer,Explanation,"
        "Difficulty,Category,Audience,Tags\n"
        'multiple,"Which are drugs, by law?",heroin,ice,"sugar, refined",A B,See Article 2.,hard,'
        "Law/Criminal law,primary; public,law\n"
    )
    question = only_question(parse_file(text.encode(), "bank.csv"))
    assert question == ParsedQuestion(
        type="multiple",
        stem="Which are drugs, by law?",
        options=("heroin", "ice", "sugar, refined"),
        correct=("A", "B"),
        explanation="See Article 2.",
        difficulty=5,
        category=("Law", "Criminal law"),
        tags=("law",),
        audience=("primary", "public"),
        language="en",
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_csv_in_every_encoding_excel_writes(encoding):
    text = "题型,题干,选项A,选项B,答案\n判断,吸毒一次不会成瘾。,,,错\n单选,毒品是？,冰毒,面粉,A\n"
    result = parse_file(text.encode(encoding), "题库.csv")
    assert errors(result) == []
    assert [(q.type, q.options, q.correct) for q in result.questions] == [
        ("true_false", ("正确", "错误"), ("B",)),
        ("single", ("冰毒", "面粉"), ("A",)),
    ]


@pytest.mark.parametrize(
    "header",
    [
        ["题目", "A", "B", "C", "正确答案"],
        ["试题*", "选项 A", "选项 B", "选项 C", "答案（必填）"],
        ["STEM", "Option_A", "OPTION B", "option c", "ANSWER"],
        ["question", "A选项", "B选项", "C选项", "answer*"],
        ["题干", "选项Ａ", "选项Ｂ", "选项Ｃ", "答案"],
    ],
)
def test_header_spellings(header):
    question = only_question(parse_rows(["Which is a drug?", "ice", "flour", "salt", "a"], header=header))
    assert question.options == ("ice", "flour", "salt")
    assert question.correct == ("A",)
    assert question.type == "single"


@pytest.mark.parametrize(
    ("type_text", "answer", "correct"),
    [
        ("单选", "C", ("C",)),
        ("单选题", "c", ("C",)),
        ("单项选择题", " C ", ("C",)),
        ("Single", "Ｃ", ("C",)),
        ("多选", "ABD", ("A", "B", "D")),
        ("多选题", "A,B,D", ("A", "B", "D")),
        ("多项选择题", "A、B、D", ("A", "B", "D")),
        ("multiple", "A，B", ("A", "B")),
        ("MULTIPLE", "A B", ("A", "B")),
        ("multiple", "d;b", ("B", "D")),
        ("multiple", "BAA", ("A", "B")),
    ],
)
def test_choice_answer_spellings(type_text, answer, correct):
    question = only_question(
        parse_rows([type_text, "毒品的特征有？", "依赖性", "危害性", "非法性", "营养性", answer])
    )
    assert question.correct == correct


@pytest.mark.parametrize(
    ("type_text", "answer", "correct"),
    [
        ("判断", "正确", ("A",)),
        ("判断题", "错误", ("B",)),
        ("true_false", "对", ("A",)),
        ("tf", "错", ("B",)),
        ("TrueFalse", "√", ("A",)),
        ("true/false", "×", ("B",)),
        ("判断", "T", ("A",)),
        ("判断", "f", ("B",)),
        ("判断", "true", ("A",)),
        ("判断", "FALSE", ("B",)),
        ("判断", "是", ("A",)),
        ("判断", "否", ("B",)),
        ("判断", "A", ("A",)),
        ("判断", "b", ("B",)),
    ],
)
def test_true_false_answer_spellings(type_text, answer, correct):
    question = only_question(parse_rows([type_text, "大麻是毒品。", "", "", "", "", answer]))
    assert question.type == "true_false"
    assert question.options == ("正确", "错误")
    assert question.correct == correct


def test_true_false_from_an_excel_boolean_cell():
    assert only_question(parse_rows(["判断", "大麻是毒品。", None, None, None, None, True])).correct == ("A",)


def test_true_false_options_follow_the_language():
    question = only_question(parse_rows(["tf", "Cannabis is a drug.", "", "", "", "", "T"]))
    assert question.language == "en"
    assert question.options == ("True", "False")


def test_true_false_answer_spelled_like_an_option_picks_that_option():
    question = only_question(parse_rows(["判断", "吸毒一次不会成瘾。", "错误", "正确", "", "", "错误"]))
    assert question.options == ("错误", "正确")
    assert question.correct == ("A",)


@pytest.mark.parametrize(
    ("options", "answer", "expected_type"),
    [
        (("", "", ""), "正确", "true_false"),
        (("正确", "错误", ""), "×", "true_false"),
        (("a", "b", "c"), "B", "single"),
        (("a", "b", "c"), "A,C", "multiple"),
    ],
)
def test_blank_type_is_inferred(options, answer, expected_type):
    question = only_question(parse_rows(["", "题目", *options, "", answer]))
    assert question.type == expected_type


def test_rows_without_a_type_column():
    header = ["题干", "选项A", "选项B", "答案"]
    question = only_question(parse_rows(["题目", "x", "y", "B"], header=header))
    assert (question.type, question.correct) == ("single", ("B",))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("", 3),
        ("1", 1),
        ("5", 5),
        ("３", 3),
        ("易", 1),
        ("较易", 2),
        ("中", 3),
        ("中等", 3),
        ("较难", 4),
        ("难", 5),
        ("Easy", 1),
        ("medium", 3),
        ("HARD", 5),
    ],
)
def test_difficulty(text, level):
    header = [*EN_HEADER, "difficulty"]
    assert (
        only_question(parse_rows(["single", "q", "a", "b", "", "", "A", text], header=header)).difficulty
        == level
    )


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("", ()),
        ("小学", ("primary",)),
        ("高中、初中", ("junior", "senior")),
        ("大学;社会公众", ("university", "public")),
        ("初中/高中/初中", ("junior", "senior")),
        ("Primary, Junior High, public", ("primary", "junior", "public")),
        ("中学", ("junior", "senior")),
        ("全部", AUDIENCES),
    ],
)
def test_audience(text, codes):
    header = [*EN_HEADER, "学段"]
    assert (
        only_question(parse_rows(["single", "q", "a", "b", "", "", "A", text], header=header)).audience
        == codes
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("法律/刑法", ("法律", "刑法")),
        ("法律 > 刑法 > 357条", ("法律", "刑法", "357条")),
        ("法律／／刑法", ("法律", "刑法")),
        ("毒品常识", ("毒品常识",)),
        ("", ()),
    ],
)
def test_category_path(text, path):
    header = [*EN_HEADER, "知识点"]
    assert (
        only_question(parse_rows(["single", "q", "a", "b", "", "", "A", text], header=header)).category
        == path
    )


@pytest.mark.parametrize(
    ("stem", "language_cell", "default", "language"),
    [
        ("什么是毒品？", "", "en", "zh-hans"),
        ("What is MDMA？", "", "zh-hans", "en"),
        ("MDMA 是什么？", "", "en", "zh-hans"),
        ("1 + 1 = ?", "", "en", "en"),
        ("1 + 1 = ?", "", "zh-hans", "zh-hans"),
        ("What is MDMA?", "中文", "en", "zh-hans"),
        ("什么是毒品？", "English", "zh-hans", "en"),
        ("什么是毒品？", "zh-CN", "en", "zh-hans"),
    ],
)
def test_language(stem, language_cell, default, language):
    header = [*EN_HEADER, "language"]
    result = parse_rows(
        ["single", stem, "a", "b", "", "", "A", language_cell], header=header, default_language=default
    )
    assert only_question(result).language == language


def test_all_eight_options():
    header = ["题干", *(f"选项{letter}" for letter in "ABCDEFGH"), "答案"]
    question = only_question(parse_rows(["q", *"12345678", "H"], header=header))
    assert question.options == tuple("12345678")
    assert question.correct == ("H",)


def test_numeric_cells_are_text_in_questions():
    question = only_question(parse_rows(["single", "How many days in a week?", 5, 6.0, 7, 8.5, "C"]))
    assert question.options == ("5", "6", "7", "8.5")


def test_multiline_stem_is_kept():
    question = only_question(parse_rows(["single", "第一行\r\n第二行", "a", "b", "", "", "A"]))
    assert question.stem == "第一行\n第二行"


# --- the wide layout: row-level messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["single", "q", "a", "b", "c", "d", "E"], "row 2: the answer “E” is not one of the options A–D"),
        (["single", "q", "a", "b", "", "", "C"], "row 2: the answer “C” is not one of the options A–B"),
        (
            ["multiple", "q", "a", "b", "c", "d", "A、X"],
            "row 2: the answer “A、X” is not valid: write option letters such as C or ABD",
        ),
        (
            ["single", "q", "a", "b", "c", "d", "正确"],
            "row 2: the answer “正确” is not valid: write option letters such as C or ABD",
        ),
        (
            ["判断", "q", "", "", "", "", "也许"],
            "row 2: the answer “也许” is not valid: write 正确/错误, T/F or the option letter",
        ),
        (["判断", "q", "", "", "", "", "C"], "row 2: the answer “C” is not one of the options A–B"),
        (["single", "q", "a", "b", "c", "d", ""], "row 2: the answer is empty"),
        (
            ["multiple", "q", "a", "b", "c", "d", "B"],
            "row 2: a multiple-choice question needs at least two correct answers",
        ),
        (
            ["single", "q", "a", "b", "c", "d", "AB"],
            "row 2: a single-choice question has exactly one correct answer, not “AB” "
            "(use type multiple choice)",
        ),
        (["single", "", "a", "b", "c", "d", "A"], "row 2: the stem is empty"),
        (["single", " \u3000 ", "a", "b", "c", "d", "A"], "row 2: the stem is empty"),
        (
            ["填空题", "q", "a", "b", "c", "d", "A"],
            "row 2: unknown question type “填空题” (use single choice, multiple choice or true/false)",
        ),
        (
            ["single", "q", "a", "", "c", "", "A"],
            "row 2: options must be consecutive: B is empty but C is filled",
        ),
        (
            ["single", "q", "", "b", "", "", "B"],
            "row 2: options must be consecutive: A is empty but B is filled",
        ),
        (
            ["single", "q", "a", "", "", "", "A"],
            "row 2: a single-choice question needs at least two options (found 1)",
        ),
        (
            ["multiple", "q", "", "", "", "", "AB"],
            "row 2: a multiple-choice question needs at least two options (found 0)",
        ),
        (
            ["判断", "q", "对", "错", "不知道", "", "A"],
            "row 2: a true/false question has exactly two options (or none, for 正确/错误)",
        ),
        (["single", "q", "冰毒", "面粉", " 冰毒 ", "", "A"], "row 2: options A and C are the same (“冰毒”)"),
        (["single", "q", "Ice", "ice", "", "", "A"], "row 2: options A and B are the same (“ice”)"),
        (["single", "x" * 2001, "a", "b", "", "", "A"], "row 2: the stem is longer than 2,000 characters"),
        (["single", "q", "a", "b" * 501, "", "", "A"], "row 2: option B is longer than 500 characters"),
    ],
)
def test_row_messages(row, message):
    result = parse_rows(row)
    assert errors(result) == [message]
    assert result.questions == []
    assert not result.ok


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("难度", "7", "row 2: the difficulty “7” is not 1–5 or 易/中/难 (easy/medium/hard)"),
        ("难度", "很难", "row 2: the difficulty “很难” is not 1–5 or 易/中/难 (easy/medium/hard)"),
        ("学段", "幼儿园", "row 2: unknown audience “幼儿园” (use 小学, 初中, 高中, 大学 or 社会公众)"),
        ("语言", "fr", "row 2: unknown language “fr” (use zh-hans or en)"),
        ("解析", "x" * 4001, "row 2: the explanation is longer than 4,000 characters"),
        ("来源", "x" * 501, "row 2: the source is longer than 500 characters"),
        ("分类", "法律/" + "x" * 101, "row 2: a category name is longer than 100 characters"),
        ("标签", "ok, " + "x" * 51, "row 2: a tag is longer than 50 characters"),
    ],
)
def test_optional_column_messages(column, value, message):
    assert errors(parse_rows(["single", "q", "a", "b", "", "", "A", value], header=[*EN_HEADER, column])) == [
        message
    ]


def test_every_problem_of_a_row_is_reported_at_once():
    header = [*EN_HEADER, "difficulty", "audience"]
    result = parse_rows(["填空题", "", "a", "", "c", "", "A", "9", "kindergarten"], header=header)
    assert errors(result) == [
        "row 2: unknown question type “填空题” (use single choice, multiple choice or true/false)",
        "row 2: options must be consecutive: B is empty but C is filled",
        "row 2: the difficulty “9” is not 1–5 or 易/中/难 (easy/medium/hard)",
        "row 2: unknown audience “kindergarten” (use 小学, 初中, 高中, 大学 or 社会公众)",
        "row 2: the stem is empty",
    ]


def test_duplicates_within_the_file():
    result = parse_rows(
        ["single", "什么是毒品？", "a", "b", "c", "", "A"],
        ["single", "其他问题", "a", "b", "c", "", "A"],
        ["multiple", " 什么是毒品？ ", "C", "B", "A", "", "AB"],
        ["single", "什么是毒品？", "a", "b", "d", "", "A"],
    )
    assert errors(result) == ["row 4: duplicate of row 2 (same stem and options)"]
    assert [question.row for question in result.questions] == [2, 3, 5]


def test_same_question_in_two_languages_is_not_a_duplicate():
    header = [*EN_HEADER, "language"]
    result = parse_rows(
        ["single", "MDMA?", "a", "b", "", "", "A", "en"],
        ["single", "MDMA?", "a", "b", "", "", "A", "zh"],
        header=header,
    )
    assert errors(result) == []
    assert len(result.questions) == 2


def test_row_numbers_count_title_and_blank_rows():
    data = xlsx(
        [["题库"], [], ["题干", "选项A", "选项B", "答案"], ["q1", "a", "b", "A"], [], ["q2", "a", "b", "E"]]
    )
    assert errors(parse_file(data, "bank.xlsx")) == ["row 6: the answer “E” is not one of the options A–B"]


def test_errors_in_many_rows_are_all_reported():
    result = parse_rows(*[["single", f"q{n}", "a", "b", "", "", "C" if n % 2 else "A"] for n in range(10)])
    assert errors(result) == [
        f"row {n + 2}: the answer “C” is not one of the options A–B" for n in range(1, 10, 2)
    ]
    assert len(result.questions) == 5


# --- whole-file messages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "bank.xlsx", "the file is empty"),
        (b"", "bank.gift", "the file is empty"),
        (b"\n\n", "bank.csv", "the file is empty"),
        (b"stem,answer\n", "bank.csv", "the file has a header row but no data rows below it"),
        (
            b"PK\x03\x04garbage",
            "bank.xlsx",
            "the Excel file could not be read (it may be damaged or not really an .xlsx workbook)",
        ),
        (
            b"not a workbook",
            "bank.xlsx",
            "the file is not a valid .xlsx workbook (it may be damaged): save it again from Excel",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
            "bank.xls",
            "this is an old-style .xls or a password-protected workbook: "
            "open it in Excel or WPS and save it as .xlsx "
            "without a password",
        ),
        (
            b"x",
            "bank.docx",
            "unsupported file type “.docx”: upload .xlsx, .csv, .gift, .aiken or .txt (GIFT or Aiken)",
        ),
        (
            b"x",
            "bank",
            "unsupported file type “bank”: upload .xlsx, .csv, .gift, .aiken or .txt (GIFT or Aiken)",
        ),
        ("题型,选项A,解析\n单选,x,y\n".encode(), "bank.csv", "missing column: 题干 (stem)"),
        (
            b"just some notes",
            "bank.txt",
            "the text file is neither GIFT nor Aiken: Aiken needs “ANSWER:” lines, GIFT puts answers in { }",
        ),
        (b"// only a comment\n", "bank.gift", "the file contains no questions"),
    ],
)
def test_file_messages(data, filename, message):
    result = parse_file(data, filename)
    assert errors(result)[:1] == [message]
    assert result.questions == []


def test_every_missing_column_is_reported():
    result = parse_file("题型,选项A\n单选,x\n".encode(), "bank.csv")
    assert errors(result) == ["missing column: 题干 (stem)", "missing column: 答案 (answer)"]


def test_question_limit():
    rows = [["single", f"q{n}", "a", "b", "", "", "A"] for n in range(6)]
    assert len(parse_rows(*rows, max_questions=6).questions) == 6
    assert errors(parse_rows(*rows, max_questions=5)) == [
        "the file has more than 5 rows: split it into smaller files"
    ]


def test_byte_limit():
    result = parse_file(b"x" * 3000, "bank.gift", max_bytes=2048)
    assert errors(result) == ["the file is larger than 0.00195312 MB: split it into smaller files"]


def test_file_object_upload():
    result = parse_file(io.BytesIO("题干,选项A,选项B,答案\nq,a,b,B\n".encode()), "bank.csv")
    assert only_question(result).correct == ("B",)


# --- GIFT -----------------------------------------------------------------------------------------------

GIFT = r"""// 晴空题库示例
$CATEGORY: $course$/top/法律/刑法

::Q1:: 贩卖毒品，无论数量多少，都应当追究刑事责任。{T ####《刑法》第三百四十七条}

::Q2::[html]下列属于毒品的是？{
  =海洛因#对，海洛因是传统毒品。
  ~面粉
  ~白糖
}

// Moodle's multiple-answer form: positive weights are right.
$CATEGORY: 识毒防毒
Which of these can be disguised drugs? {
  ~%50%"milk tea" powder
  ~%50%"stamps"
  ~%-100%bottled water
  #### Disguised drugs look like snacks or drinks.
}

The {=second ~third} sentence has a blank.

Escapes\: 1\=1, \{braces\}, \~tilde, \#hash and a\nnew line? {
  =yes\~really
  ~no
}

Is ice a drug? {TRUE}

::Trap::Flour is a drug.{F#No.#Yes.}
"""


def test_gift():
    result = parse_file(GIFT.encode(), "bank.gift")
    assert errors(result) == []
    by_line = {question.row: question for question in result.questions}
    assert by_line[4] == ParsedQuestion(
        type="true_false",
        stem="贩卖毒品，无论数量多少，都应当追究刑事责任。",
        options=("正确", "错误"),
        correct=("A",),
        explanation="《刑法》第三百四十七条",
        category=("法律", "刑法"),
        language="zh-hans",
    )
    assert by_line[6] == ParsedQuestion(
        type="single",
        stem="下列属于毒品的是？",
        options=("海洛因", "面粉", "白糖"),
        correct=("A",),
        explanation="对，海洛因是传统毒品。",
        category=("法律", "刑法"),
        language="zh-hans",
    )
    assert by_line[14] == ParsedQuestion(
        type="multiple",
        stem="Which of these can be disguised drugs?",
        options=('"milk tea" powder', '"stamps"', "bottled water"),
        correct=("A", "B"),
        explanation="Disguised drugs look like snacks or drinks.",
        category=("识毒防毒",),
        language="en",
    )
    assert by_line[21].stem == "The _____ sentence has a blank."
    assert by_line[21].options == ("second", "third")
    assert by_line[23].stem == "Escapes: 1=1, {braces}, ~tilde, #hash and a\nnew line?"
    assert by_line[23].options == ("yes~really", "no")
    assert by_line[28].type == "true_false"
    assert by_line[28].options == ("True", "False")
    assert by_line[28].correct == ("A",)
    assert by_line[30].correct == ("B",)
    assert [question.row for question in result.questions] == [4, 6, 14, 21, 23, 28, 30]


def test_gift_consecutive_lines_without_a_blank_line_are_one_question():
    result = parse_file(b"Is ice a drug? {TRUE}\nIs flour a drug? {F}\n", "bank.gift")
    assert errors(result) == ["line 1: only one answer block { … } per question can be imported"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Unclosed {=a ~b", "line 3: the answer block opened with { is not closed with }"),
        (
            "No answers here.",
            "line 3: no answer block { … } found: descriptions without answers cannot be imported",
        ),
        ("::Title without end { =a ~b }", "line 3: the title opened with :: is not closed with ::"),
        (
            "Write an essay. {}",
            "line 3: essay questions ({}) are not supported: use single choice, multiple choice or "
            "true/false",
        ),
        (
            "How many? {#5:1}",
            "line 3: numerical questions ({#…}) are not supported: use single or multiple choice",
        ),
        (
            "Match. { =a -> 1 =b -> 2 =c -> 3 }",
            "line 3: matching questions (->) are not supported: use single or multiple choice",
        ),
        (
            "Capital of France? {=Paris =paris}",
            "line 3: short-answer questions (only = answers) are not supported: add wrong answers with ~",
        ),
        (
            "Nothing right? {~a ~b ~c}",
            "line 3: no answer is marked right: mark it with = or a positive weight such as ~%50%",
        ),
        (
            "Negative only? {~%-50%a ~%-50%b}",
            "line 3: no answer is marked right: mark it with = or a positive weight such as ~%50%",
        ),
        ("Empty answer? {=a ~ ~c}", "line 3: answer 2 is empty"),
        ("Bad weight? {~%half%a =b}", "line 3: a weight must look like ~%50% ~%-100%: “%half%a”"),
        ("Stray text? {oops =a ~b}", "line 3: answers must start with = (right) or ~ (wrong): “oops”"),
        (
            "Two blocks {=a ~b} and {=c ~d}",
            "line 3: only one answer block { … } per question can be imported",
        ),
        ("{=a ~b}", "line 3: the stem is empty"),
        ("Same twice? {=a ~A}", "line 3: options A and B are the same (“A”)"),
        ("Nine? {=1 ~2 ~3 ~4 ~5 ~6 ~7 ~8 ~9}", "line 3: a question has at most 8 options (found 9)"),
        (
            "One option? {=only}",
            "line 3: short-answer questions (only = answers) are not supported: add wrong answers with ~",
        ),
        (
            "Lonely right? {=yes}",
            "line 3: short-answer questions (only = answers) are not supported: add wrong answers with ~",
        ),
        ("Just one? {~%100%yes}", "line 3: a single-choice question needs at least two options (found 1)"),
    ],
)
def test_gift_errors_name_the_question_line(text, message):
    result = parse_file(f"// header\n\n{text}\n\nFine? {{=a ~b}}\n".encode(), "bank.gift")
    assert errors(result) == [message]
    assert [question.stem for question in result.questions] == ["Fine?"]


def test_gift_multiline_question_reports_its_first_line():
    text = "Fine? {=a ~b}\n\n\n::T::\nA question that\nspans lines {\n=a\n~b\n"
    assert errors(parse_file(text.encode(), "bank.gift")) == [
        "line 4: the answer block opened with { is not closed with }"
    ]


def test_gift_duplicates():
    text = "Is ice a drug? {T}\n\n// again\nis ice a  DRUG? {F}\n"
    assert errors(parse_file(text.encode(), "bank.gift")) == [
        "line 4: duplicate of the question on line 1 (same stem and options)"
    ]


def test_gift_category_can_be_reset_and_uses_the_last_heading():
    text = "$CATEGORY: a/b\n\nQ1 {T}\n\n$CATEGORY:\n\nQ2 {T}\n\n$CATEGORY: top/c > d\nQ3 {F}\n"
    result = parse_file(text.encode(), "bank.gift")
    assert [question.category for question in result.questions] == [("a", "b"), (), ("c", "d")]


def test_gift_in_gb18030_with_crlf_line_ends():
    text = "// 注释\r\n\r\n冰毒是毒品吗？{T}\r\n"
    question = only_question(parse_file(text.encode("gb18030"), "题库.gift"))
    assert (question.stem, question.row) == ("冰毒是毒品吗？", 3)


def test_gift_question_limit():
    text = "\n\n".join(f"Q{n}? {{T}}" for n in range(4))
    result = parse_file(text.encode(), "bank.gift", max_questions=3)
    assert errors(result) == ["the file has more than 3 questions: split it into smaller files"]


# --- Aiken ----------------------------------------------------------------------------------------------

AIKEN = """下列哪一种是新型毒品？
A. 冰毒
B. 鸦片
C. 海洛因
ANSWER: A

What is the date of the
International Day against Drug Abuse?
A) 26 June
B) 1 December
ANSWER: a
Which are drugs?
A. heroin
B. flour
C. ice
ANSWER: A, C
"""


def test_aiken():
    result = parse_file(AIKEN.encode(), "bank.aiken")
    assert errors(result) == []
    assert result.questions == [
        ParsedQuestion(
            type="single", stem="下列哪一种是新型毒品？", options=("冰毒", "鸦片", "海洛因"), correct=("A",)
        ),
        ParsedQuestion(
            type="single",
            stem="What is the date of the\nInternational Day against Drug Abuse?",
            options=("26 June", "1 December"),
            correct=("A",),
            language="en",
        ),
        ParsedQuestion(
            type="multiple",
            stem="Which are drugs?",
            options=("heroin", "flour", "ice"),
            correct=("A", "C"),
            language="en",
        ),
    ]
    assert [question.row for question in result.questions] == [1, 7, 12]


def test_txt_is_sniffed_as_aiken_or_gift():
    assert len(parse_file(AIKEN.encode("gb18030"), "bank.txt").questions) == 3
    assert len(parse_file(GIFT.encode(), "bank.txt").questions) == 7


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        ("Q?\nA. a\nC. c\nANSWER: A\n", ["line 3: expected option B but found C"]),
        ("Q?\nB. a\nC. c\nANSWER: B\n", ["line 2: expected option A but found B"]),
        ("Q?\nA. a\nB. b\nANSWER: C\n", ["line 1: the answer “C” is not one of the options A–B"]),
        ("Q?\nA. a\nB. b\nANSWER:\n", ["line 1: the answer is empty"]),
        (
            "Q?\nA. a\nB. b\nANSWER: maybe\n",
            ["line 1: the answer “maybe” is not valid: write option letters such as C or ABD"],
        ),
        ("Q?\nA. a\nB. b\n", ["line 1: the question has no “ANSWER:” line after its options"]),
        (
            "Q?\nA. a\nB. b\nNext question?\nA. x\nB. y\nANSWER: B\n",
            ["line 1: the question has no “ANSWER:” line after its options"],
        ),
        ("ANSWER: A\n", ["line 1: “ANSWER:” comes before any options"]),
        ("Q?\nANSWER: A\n", ["line 2: “ANSWER:” comes before any options"]),
        ("Q?\nA. a\nANSWER: A\n", ["line 1: a single-choice question needs at least two options (found 1)"]),
        ("Q?\nA. a\nB. A\nANSWER: A\n", ["line 1: options A and B are the same (“A”)"]),
        (
            "Q?\nA. a\nB. b\nANSWER: A\n\nq?\nA. A\nB. B\nANSWER: B\n",
            ["line 6: duplicate of the question on line 1 (same stem and options)"],
        ),
        (
            "Q?\n" + "".join(f"{letter}. {letter}\n" for letter in "ABCDEFGH") + "A. again\nANSWER: A\n",
            ["line 10: a question has at most 8 options (found 9)"],
        ),
    ],
)
def test_aiken_errors(text, messages):
    assert errors(parse_file(text.encode(), "bank.aiken")) == messages


def test_aiken_question_limit():
    text = "".join(f"Q{n}?\nA. a\nB. b\nANSWER: A\n\n" for n in range(4))
    result = parse_file(text.encode(), "bank.aiken", max_questions=3)
    assert len(result.questions) == 3
    assert errors(result) == ["the file has more than 3 questions: split it into smaller files"]


# --- fingerprint ----------------------------------------------------------------------------------------


def test_fingerprint_ignores_option_order_case_width_and_spacing():
    first = ParsedQuestion(type="single", stem="什么是 MDMA？", options=("摇头丸", "K粉"), correct=("A",))
    same = ParsedQuestion(
        type="multiple",
        stem=" 什么是  mdma? ",
        options=("Ｋ粉", "摇头丸"),
        correct=("A", "B"),
        explanation="different",
        difficulty=5,
        tags=("x",),
    )
    assert first.fingerprint() == same.fingerprint()
    assert len(first.fingerprint()) == 64
    assert first.fingerprint() != ParsedQuestion(**{**_fields(first), "language": "en"}).fingerprint()
    assert (
        first.fingerprint() != ParsedQuestion(**{**_fields(first), "options": ("摇头丸", "K")}).fingerprint()
    )


def test_fingerprint_is_stable_across_releases():
    question = ParsedQuestion(
        type="true_false", stem="大麻是毒品。", options=("正确", "错误"), correct=("A",)
    )
    assert question.fingerprint() == "f57caa88b36598131b02b0db2c99f44ef1e313a7866bce2ec8891cb5dc2e767e"


def _fields(question: ParsedQuestion) -> dict:
    return {name: getattr(question, name) for name in ParsedQuestion.__dataclass_fields__}


def test_detect_language():
    assert detect_language("毒品") == "zh-hans"
    assert detect_language("drugs") == "en"
    assert detect_language("123", default="en") == "en"


# --- export, template and round trip --------------------------------------------------------------------


def test_export_rows_layout():
    question = ParsedQuestion(
        type="multiple",
        stem="q",
        options=("a", "b", "c", "d", "e"),
        correct=("A", "E"),
        explanation="why",
        difficulty=4,
        category=("法律", "刑法"),
        tags=("t1", "t2"),
        audience=("junior", "public"),
        language="zh-hans",
        source="src",
    )
    header, rows = export_rows([question])
    assert header == [
        "type",
        "stem",
        "option A",
        "option B",
        "option C",
        "option D",
        "option E",
        "answer",
        "explanation",
        "difficulty",
        "category",
        "audience",
        "language",
        "tags",
        "source",
    ]
    assert rows == [
        [
            "multiple",
            "q",
            "a",
            "b",
            "c",
            "d",
            "e",
            "AE",
            "why",
            4,
            "法律/刑法",
            "junior, public",
            "zh-hans",
            "t1, t2",
            "src",
        ]
    ]


def test_export_of_nothing_still_has_a_header():
    header, rows = export_rows([])
    assert header[:6] == ["type", "stem", "option A", "option B", "option C", "option D"]
    assert rows == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_template_parses_cleanly(language):
    header, rows = template_rows(language=language)
    assert header[1] == ("题干" if language == "zh-hans" else "stem")
    for data, filename in (
        (write_xlsx(header, rows), "template.xlsx"),
        (write_csv(header, rows), "template.csv"),
    ):
        result = parse_file(data, filename)
        assert errors(result) == []
        assert {question.type for question in result.questions} == {"single", "multiple", "true_false"}
        assert {question.language for question in result.questions} == {"zh-hans", "en"}


def _clean(strategy):
    return strategy.map(clean_text)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


TRICKY_CHARACTERS = list(",;\"'\n\t=+-@#{}~:/>、，；|　 中文毒品ＡＢ")
any_text = st.text(
    st.one_of(st.characters(exclude_categories=("Cs", "Cc", "Co", "Cn")), st.sampled_from(TRICKY_CHARACTERS)),
    max_size=30,
)
some_text = _clean(any_text).filter(bool)


def _without(characters: str):
    return some_text.filter(lambda text: not any(ch in characters for ch in text))


@st.composite
def questions(draw) -> ParsedQuestion:
    kind = draw(st.sampled_from(importing.QUESTION_TYPES))
    count = 2 if kind == "true_false" else draw(st.integers(2, 8))
    options = tuple(draw(st.lists(some_text, min_size=count, max_size=count, unique_by=_fold)))
    letters = importing.LETTERS[:count]
    if kind == "multiple":
        correct = tuple(sorted(draw(st.sets(st.sampled_from(letters), min_size=2))))
    else:
        correct = (draw(st.sampled_from(letters)),)
    return ParsedQuestion(
        type=kind,
        stem=draw(some_text),
        options=options,
        correct=correct,
        explanation=draw(_clean(any_text)),
        difficulty=draw(st.integers(1, 5)),
        category=tuple(draw(st.lists(_without("/／>＞"), max_size=3))),
        tags=tuple(draw(st.lists(_without(importing.TAG_SEPARATORS), max_size=3, unique=True))),
        audience=tuple(code for code in AUDIENCES if code in draw(st.sets(st.sampled_from(AUDIENCES)))),
        language=draw(st.sampled_from(importing.LANGUAGES)),
        source=draw(_clean(any_text)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(questions(), min_size=1, max_size=6, unique_by=lambda question: question.fingerprint()))
def test_export_then_import_is_lossless(bank):
    header, rows = export_rows(bank)
    for data, filename in ((write_xlsx(header, rows), "bank.xlsx"), (write_csv(header, rows), "bank.csv")):
        result = parse_file(data, filename)
        assert errors(result) == []
        assert result.questions == bank


def test_export_csv_opens_in_excel_with_chinese_and_reads_back_as_text():
    header, rows = export_rows(
        [ParsedQuestion(type="single", stem="=1+1 是多少？", options=("2", "-2"), correct=("A",))]
    )
    data = write_csv(header, rows)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "'=1+1 是多少？" in data.decode("utf-8-sig")
    assert read_rows(data, "bank.csv")[1].cells[1:4] == ("=1+1 是多少？", "2", "-2")
