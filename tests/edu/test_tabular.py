"""Reading uploaded .xlsx/.csv files into numbered rows, matching headers, and writing them back."""

import io
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from edu import tabular
from edu.tabular import (
    RowError,
    TabularError,
    cell_text,
    clean_text,
    decode_text,
    match_columns,
    normalise_key,
    read_rows,
    read_table,
    sniff_delimiter,
    split_list,
    write_csv,
    write_xlsx,
)

FIELDS = {
    "stem": ("题干", "题目", "stem", "question"),
    "answer": ("答案", "正确答案", "answer"),
    "option_a": ("选项A", "A", "option a"),
    "notes": ("备注", "notes"),
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def xlsx(rows, *, sheet_title="Sheet"):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def messages(exc_info):
    return exc_info.value.messages


def cells(rows):
    return [(row.number, row.cells) for row in rows]


# --- xlsx -----------------------------------------------------------------------------------------------


def test_xlsx_values_become_the_text_a_person_typed():
    data = xlsx(
        [
            ["学号", "姓名", "出生日期", "分数", "是否", "时间"],
            [2023001.0, "  张三\u3000", datetime(2012, 3, 5), 0.5, True, time(8, 30)],
            [2023002, "\u200b李四 ", date(2013, 1, 2), 1e-05, False, datetime(2012, 3, 5, 14, 30)],
        ]
    )
    assert cells(read_rows(data, "roster.xlsx")) == [
        (1, ("学号", "姓名", "出生日期", "分数", "是否", "时间")),
        (2, ("2023001", "张三", "2012-03-05", "0.5", "TRUE", "08:30:00")),
        (3, ("2023002", "李四", "2013-01-02", "1e-05", "FALSE", "2012-03-05 14:30:00")),
    ]


def test_xlsx_empty_rows_are_skipped_but_row_numbers_are_kept():
    data = xlsx([["题干", "答案"], [None, None], ["  ", "\u3000"], ["q", "A", None, None], [], ["r", "B"]])
    assert cells(read_rows(data, "q.xlsx")) == [(1, ("题干", "答案")), (4, ("q", "A")), (6, ("r", "B"))]


def test_xlsx_whose_stored_dimensions_lie_is_read_completely():
    data = xlsx([["题干", "答案"], ["q1", "A"], ["q2", "B"], ["q3", "C"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', content)
            target.writestr(info, content)
    assert [row.cells[0] for row in read_rows(buffer.getvalue(), "q.xlsx")] == ["题干", "q1", "q2", "q3"]


def test_only_the_first_worksheet_is_read():
    workbook = openpyxl.Workbook()
    workbook.active.append(["题干"])
    workbook.active.append(["first"])
    workbook.create_sheet("说明").append(["ignored"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert cells(read_rows(buffer.getvalue(), "a.xlsx")) == [(1, ("题干",)), (2, ("first",))]


def test_a_workbook_renamed_to_csv_is_still_read():
    assert cells(read_rows(xlsx([["题干"], ["q"]]), "export.csv")) == [(1, ("题干",)), (2, ("q",))]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (2023001.0, "2023001"),
        (3, "3"),
        (0.1 + 0.2, "0.3"),
        (-2.5, "-2.5"),
        (float("inf"), "inf"),
        (True, "TRUE"),
        (datetime(2012, 3, 5), "2012-03-05"),
        (date(2012, 3, 5), "2012-03-05"),
        (" a\r\nb\r ", "a\nb"),
        ("\ufeff\u3000x\x07\u00a0", "x"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


# --- csv ------------------------------------------------------------------------------------------------

CSV_TEXT = '题干,答案,备注\r\n"毒品，是指……","A","含,逗号"\r\n"多行\n题干",B,"带""引号"""\r\n'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_csv_encodings(encoding):
    rows = read_rows(CSV_TEXT.encode(encoding), "questions.csv")
    assert cells(rows) == [
        (1, ("题干", "答案", "备注")),
        (2, ("毒品，是指……", "A", "含,逗号")),
        (3, ("多行\n题干", "B", '带"引号"')),
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters_are_sniffed(delimiter):
    text = delimiter.join(["题干", "答案", "备注"]) + "\n" + delimiter.join(["a,b", "A", "x;y"]) + "\n"
    text = text.replace("a,b", '"a,b"').replace("x;y", '"x;y"')
    assert read_rows(text.encode(), "a.csv")[1].cells == ("a,b", "A", "x;y")


def test_tsv_is_always_tab_separated():
    assert read_rows(b"a,b\tc\n1,2\t3\n", "a.tsv")[0].cells == ("a,b", "c")


def test_sniff_ignores_delimiters_inside_quotes():
    assert sniff_delimiter('"a;b;c;d",x,y\n') == ","
    assert sniff_delimiter("single column\nnext,row\n") == ","
    assert sniff_delimiter("") == ","


def test_csv_rows_keep_record_numbers_across_quoted_newlines_and_blank_lines():
    text = '题干,答案\n"第一\n行",A\n,\n\n"q",B\n'
    assert cells(read_rows(text.encode(), "a.csv")) == [
        (1, ("题干", "答案")),
        (2, ("第一\n行", "A")),
        (5, ("q", "B")),
    ]


def test_undecodable_text_is_refused_cleanly():
    with pytest.raises(TabularError) as exc_info:
        decode_text("题干\n".encode() + b"\x80\xff\xfe\x81")
    assert messages(exc_info) == [
        "the file's text could not be read: save it as UTF-8 (in Excel: “CSV UTF-8”)"
    ]


def test_csv_field_beyond_the_csv_module_limit_is_a_clean_error():
    data = ("题干\n" + '"' + "x" * 200_000 + '"\n').encode()
    with pytest.raises(TabularError) as exc_info:
        read_rows(data, "a.csv")
    assert messages(exc_info)[0].startswith("the CSV file is malformed near row 2")


# --- whole-file problems --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "the file is empty"),
        (b"  \r\n\n", "a.xlsx", "the file is empty"),
        (b"a,b\n", "a.docx", "unsupported file type “.docx”: upload an Excel workbook (.xlsx) or a CSV file"),
        (
            b"a,b\n",
            "noextension",
            "unsupported file type “noextension”: upload an Excel workbook (.xlsx) or a CSV file",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "old.xls",
            "this is an old-style .xls or a password-protected workbook: "
            "open it in Excel or WPS and save it as .xlsx without a password",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "locked.xlsx",
            "this is an old-style .xls or a password-protected workbook: "
            "open it in Excel or WPS and save it as .xlsx without a password",
        ),
        (
            b"<html><table></table></html>",
            "web-export.xls",
            "this is an old-style .xls or a password-protected workbook: "
            "open it in Excel or WPS and save it as .xlsx without a password",
        ),
        (
            b"just some text",
            "a.xlsx",
            "the file is not a valid .xlsx workbook (it may be damaged): save it again from Excel",
        ),
    ],
)
def test_unusable_files(data, filename, message):
    with pytest.raises(TabularError) as exc_info:
        read_rows(data, filename)
    assert messages(exc_info) == [message]


DAMAGED = "the Excel file could not be read (it may be damaged or not really an .xlsx workbook)"


def test_truncated_xlsx():
    with pytest.raises(TabularError) as exc_info:
        read_rows(xlsx([["题干"], ["q"]])[:300], "a.xlsx")
    assert messages(exc_info) == [DAMAGED]


def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(TabularError) as exc_info:
        read_rows(buffer.getvalue(), "a.xlsx")
    assert messages(exc_info) == [DAMAGED]


def test_workbook_with_a_broken_sheet():
    data = xlsx([["题干"], ["q"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            target.writestr(info, content)
    with pytest.raises(TabularError) as exc_info:
        read_rows(buffer.getvalue(), "a.xlsx")
    assert messages(exc_info) == [DAMAGED]


def test_workbook_that_inflates_too_far_is_refused(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_XLSX_INFLATION", 0)
    with pytest.raises(TabularError) as exc_info:
        read_rows(xlsx([["题干"], ["q"]]), "a.xlsx")
    assert messages(exc_info) == ["the Excel file unpacks to an implausible size and was refused"]


def test_size_limit():
    with pytest.raises(TabularError) as exc_info:
        read_rows(b"x" * 2_000_000, "a.csv", max_bytes=1024 * 1024)
    assert messages(exc_info) == ["the file is larger than 1 MB: split it into smaller files"]


def test_size_limit_reads_no_more_than_needed_from_a_file_object():
    upload = io.BytesIO(b"x" * 5000)
    with pytest.raises(TabularError):
        read_rows(upload, "a.csv", max_bytes=1000)
    assert upload.tell() == 1001


def test_row_limit():
    data = ("题干\n" + "q\n" * 11).encode()
    assert len(read_rows(data, "a.csv", max_rows=12)) == 12
    with pytest.raises(TabularError) as exc_info:
        read_rows(data, "a.csv", max_rows=11)
    assert messages(exc_info) == ["the file has more than 11 rows: split it into smaller files"]


def test_uploaded_file_objects_are_read_from_the_start():
    upload = SimpleUploadedFile("名单.csv", "题干\nq\n".encode("gb18030"))
    upload.read()
    assert cells(read_rows(upload, upload.name)) == [(1, ("题干",)), (2, ("q",))]


# --- headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("题干", "题干"),
        ("  *题干 ", "题干"),
        ("题干*", "题干"),
        ("题干（必填）", "题干"),
        ("题干(必填)*", "题干"),
        ("【必填】题干【必填】", "必填题干"),
        ("出生日期(yyyy-mm-dd)", "出生日期"),
        ("选项（A）", "选项a"),
        ("选项 Ａ", "选项a"),
        ("Option_A", "optiona"),
        ("Student-Number", "studentnumber"),
        ("STUDENT\u3000NUMBER：", "studentnumber"),
        ("(必填)", "必填"),
    ],
)
def test_normalise_key(header, key):
    assert normalise_key(header) == key


def test_match_columns():
    match = match_columns(
        ["*题目（必填）", "", "Option A", "正确答案*", "其他", "ANSWER"],
        FIELDS,
        required=("stem", "answer", "notes"),
    )
    assert match.columns == {"stem": 0, "option_a": 2, "answer": 3}
    assert match.missing == ("notes",)
    assert match.repeated == {"answer": (3, 5)}
    assert match.unrecognised == (4,)


def test_match_columns_refuses_an_alias_shared_by_two_fields():
    with pytest.raises(ValueError, match="names both"):
        match_columns(["x"], {"a": ("同",), "b": ("同",)})


def test_read_table_finds_the_header_below_title_rows():
    data = xlsx(
        [["2026 年禁毒知识题库"], ["说明：带 * 的列必填"], [], ["*题干", "*答案", "选项A"], ["q", "A", "x"]]
    )
    table = read_table(data, "bank.xlsx", fields=FIELDS, required=("stem", "answer"))
    assert table.header_row == 4
    assert table.columns == {"stem": 0, "answer": 1, "option_a": 2}
    assert [(row.number, table.value(row, "stem"), table.value(row, "notes")) for row in table.rows] == [
        (5, "q", "")
    ]
    assert table.has("option_a") and not table.has("notes")


def test_read_table_keeps_unrecognised_headers_for_the_caller():
    table = read_table("题干,答案,备注2\nq,A,x\n".encode(), "a.csv", fields=FIELDS, required=("stem",))
    assert table.unrecognised == ("备注2",)


def test_read_table_reports_every_missing_column_with_its_label():
    data = "选项A,备注\nx,y\n".encode()
    with pytest.raises(TabularError) as exc_info:
        read_table(data, "a.csv", fields=FIELDS, required=("stem", "answer"))
    assert messages(exc_info) == ["missing column: 题干 (stem)", "missing column: 答案 (answer)"]
    assert [str(error) for error in exc_info.value.errors] == messages(exc_info)


def test_read_table_reports_columns_that_mean_the_same_field():
    with pytest.raises(TabularError) as exc_info:
        read_table("题干,题目,答案\nq,q,A\n".encode(), "a.csv", fields=FIELDS, required=("stem",))
    assert messages(exc_info) == ["columns A, B all mean 题干 (stem): keep only one of them"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("题干,答案\n".encode(), "the file has a header row but no data rows below it"),
        (b",,,\n,,\n", "the file contains no data"),
        ("\ufeff".encode(), "the file contains no data"),
    ],
)
def test_read_table_without_data(data, message):
    with pytest.raises(TabularError) as exc_info:
        read_table(data, "a.csv", fields=FIELDS, required=("stem",))
    assert messages(exc_info) == [message]


def test_read_table_row_limit_counts_data_rows_only():
    data = ("标题\n题干\n" + "q\n" * 5).encode()
    assert len(read_table(data, "a.csv", fields=FIELDS, max_rows=5).rows) == 5
    with pytest.raises(TabularError) as exc_info:
        read_table(data, "a.csv", fields=FIELDS, max_rows=4)
    assert messages(exc_info) == ["the file has more than 4 rows: split it into smaller files"]


# --- helpers and errors ---------------------------------------------------------------------------------


def test_split_list():
    assert split_list(" 毒品、法律; law ,毒品，|\n") == ["毒品", "法律", "law"]
    assert split_list("小学/初中", "/") == ["小学", "初中"]


def test_clean_text_is_idempotent():
    text = "\u3000 a\r\nb\u200b \t"
    assert clean_text(text) == "a\nb" == clean_text(clean_text(text))


def test_row_error_text():
    assert str(RowError(14, "the stem is empty")) == "row 14: the stem is empty"
    assert str(RowError(23, "bad", "line")) == "line 23: bad"
    assert str(RowError(None, "missing column: 题干 (stem)")) == "missing column: 题干 (stem)"


# --- writing --------------------------------------------------------------------------------------------

TRICKY = [
    ["=1+1", "+86 138", "-", "@SUM(A1)", "'quoted", "''=x"],
    ["中文，逗号", 'say "hi"', "two\nlines", "tab\there", 3, None],
]


def test_write_csv_has_a_bom_and_defuses_formulas():
    data = write_csv(["a", "b", "c", "d", "e", "f"], TRICKY)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines()[1] == "'=1+1,'+86 138,'-,'@SUM(A1),''quoted,'''=x"


@pytest.mark.parametrize("write, filename", [(write_csv, "a.csv"), (write_xlsx, "a.xlsx")])
def test_written_files_read_back_unchanged(write, filename):
    rows = read_rows(write(["a", "b", "c", "d", "e", "f"], TRICKY), filename)
    assert [row.cells for row in rows[1:]] == [
        ("=1+1", "+86 138", "-", "@SUM(A1)", "'quoted", "''=x"),
        ("中文，逗号", 'say "hi"', "two\nlines", "tab\there", "3"),
    ]


def test_write_xlsx_stores_formula_like_text_as_text():
    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(["题干"], [['=HYPERLINK("x")'], ["a\x01b"]])))
    sheet = workbook.active
    assert sheet["A2"].data_type == "s"
    assert sheet["A2"].value == '=HYPERLINK("x")'
    assert sheet["A3"].value == "ab"
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"


def test_write_csv_keeps_a_numbers_sign():
    """A negative change is a number, not a formula: written as it is (text starting with "-" is defused)."""
    data = write_csv(["a", "b", "c", "d"], [[-20, Decimal("-3.5"), -0.25, "-x"]])
    assert data.decode("utf-8-sig").splitlines()[1] == "-20,-3.5,-0.25,'-x"
