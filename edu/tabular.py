"""Uploaded spreadsheets (.xlsx, .csv) and text files as numbered rows with matched headers, for importers."""

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import BinaryIO, Literal, TypeVar

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

T = TypeVar("T")

DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# openpyxl holds the shared-string table in memory, so a small .xlsx that inflates to gigabytes (a zip
# bomb) must be refused from the sizes its directory declares, before anything is decompressed.
MAX_XLSX_INFLATION = 20
# Headers sit on the first non-empty row, or below a few title and instruction rows.
HEADER_SEARCH_ROWS = 10
# Columns past this are ignored: no layout of ours needs them, and a stray cell in column XFD must not
# make every row a 16,384-cell tuple.
MAX_COLUMNS = 100

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
SPREADSHEET_SUFFIXES = XLSX_SUFFIXES | CSV_SUFFIXES | {".xls"}

_ZIP_MAGIC = b"PK\x03\x04"
# Old .xls workbooks and password-protected .xlsx files are both OLE compound documents.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Excel runs a CSV cell that starts with one of these as a formula (CSV injection); write_csv prefixes
# such cells with an apostrophe and the CSV reader takes it off again, so a round trip is lossless.
_FORMULA_START = ("=", "+", "-", "@", "'")
_HEADER_NOTE = re.compile(r"\s*(?:\*|\([^()]{2,}\)|\[[^\[\]]{2,}\]|【[^【】]{2,}】)\s*$")


class TabularError(Exception):
    """The file as a whole cannot be used; each message is translated and needs no row number."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)

    @property
    def errors(self) -> list["RowError"]:
        return [RowError(None, message) for message in self.messages]


class InvalidValue(ValueError):
    """One cell's value is unusable; the message is translated and has no row prefix."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem the uploader can fix, at a 1-based spreadsheet row or text line (None: the whole file)."""

    row: int | None
    message: str
    unit: Literal["row", "line"] = "row"

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.unit == "line":
            return _("line %(line)s: %(message)s") % {"line": self.row, "message": self.message}
        return _("row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class ErrorLog:
    """Collects every problem of a file, so the uploader can fix them all in one pass."""

    unit: Literal["row", "line"] = "row"
    errors: list[RowError] = field(default_factory=list)

    def add(self, row: int | None, message: str) -> None:
        self.errors.append(RowError(row, message, self.unit))

    def check(self, row: int, parse: Callable[[str], T], text: str, default: T) -> T:
        """parse(text), or default after logging its InvalidValue."""
        try:
            return parse(text)
        except InvalidValue as exc:
            self.add(row, str(exc))
            return default


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # as the spreadsheet program shows it, for messages
    cells: tuple[str, ...]

    def cell(self, index: int | None) -> str:
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]


@dataclass(frozen=True)
class ColumnMatch:
    columns: dict[str, int]  # canonical field -> 0-based column index
    missing: tuple[str, ...]  # required fields without a column
    repeated: dict[str, tuple[int, ...]]  # fields that several columns claim
    unrecognised: tuple[int, ...]  # non-empty header cells that name no field


@dataclass(frozen=True)
class Table:
    header_row: int
    header: tuple[str, ...]
    columns: dict[str, int]
    rows: list[Row]
    unrecognised: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        return name in self.columns

    def value(self, row: Row, name: str) -> str:
        return row.cell(self.columns.get(name))


# --- text -----------------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Trim a cell or line the way users expect: ends stripped (full-width spaces too), one newline style."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    return text.strip()


def normalise_key(text: str) -> str:
    """A header or keyword reduced to what matters: width, case, spaces, punctuation and "*"/"（必填）" go."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    while (trimmed := _HEADER_NOTE.sub("", text)) != text and trimmed:
        text = trimmed
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def split_list(text: str, separators: str = ",，、;；|\n") -> list[str]:
    """Split a multi-value cell ("毒品、法律; law"), dropping blanks and repeats but keeping order."""
    parts = re.split("[" + re.escape(separators) + "]", text)
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def decode_text(data: bytes) -> str:
    """Bytes of a CSV or text upload as text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030.

    Chinese Excel and WPS save "CSV" in the ANSI code page, which is GBK; GB18030 is its superset.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise TabularError(_("the file's text could not be read: save it as UTF-8 (in Excel: “CSV UTF-8”)"))


def text_lines(data: bytes) -> list[str]:
    """Lines numbered as a text editor numbers them (str.splitlines also splits on \\f, \\x1c and others)."""
    return decode_text(data).replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --- reading --------------------------------------------------------------------------------------------


def read_bytes(
    source: bytes | bytearray | memoryview | BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> bytes:
    """The upload's bytes, refusing more than max_bytes without reading them all."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TabularError(
            _("the file is larger than %(size)s MB: split it into smaller files")
            % {"size": f"{max_bytes / (1024 * 1024):g}"}
        )
    if not data.strip():
        raise TabularError(_("the file is empty"))
    return data


def read_rows(
    source: bytes | BinaryIO,
    filename: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Row]:
    """Every non-empty row of a .xlsx (first sheet) or .csv upload; at most max_rows of them."""
    rows = []
    for row in _iter_rows(read_bytes(source, max_bytes=max_bytes), filename):
        if len(rows) == max_rows:
            raise _too_many_rows(max_rows)
        rows.append(row)
    return rows


def read_table(
    source: bytes | BinaryIO,
    filename: str,
    *,
    fields: Mapping[str, Sequence[str]],
    required: Collection[str] = (),
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Table:
    """Read an upload and find its header row; TabularError for anything that stops the whole file.

    fields maps each canonical field to its header aliases, the first being the label shown in messages
    (for example "stem": ["题干", "题目", "question"]); max_rows counts data rows below the header.
    """
    data = read_bytes(source, max_bytes=max_bytes)
    rows: list[Row] = []
    for row in _iter_rows(data, filename):
        if len(rows) == max_rows + HEADER_SEARCH_ROWS:
            raise _too_many_rows(max_rows)
        rows.append(row)
    if not rows:
        raise TabularError(_("the file contains no data"))
    position, match = _locate_header(rows, fields, required)
    problems = [
        _("missing column: %(column)s") % {"column": field_label(name, fields)} for name in match.missing
    ]
    header = rows[position]
    for name, indexes in match.repeated.items():
        problems.append(
            _("columns %(columns)s all mean %(column)s: keep only one of them")
            % {
                "columns": ", ".join(get_column_letter(index + 1) for index in indexes),
                "column": field_label(name, fields),
            }
        )
    if problems:
        raise TabularError(*problems)
    data_rows = rows[position + 1 :]
    if not data_rows:
        raise TabularError(_("the file has a header row but no data rows below it"))
    if len(data_rows) > max_rows:
        raise _too_many_rows(max_rows)
    return Table(
        header_row=header.number,
        header=header.cells,
        columns=match.columns,
        rows=data_rows,
        unrecognised=tuple(header.cells[index] for index in match.unrecognised),
    )


def match_columns(
    header: Sequence[str], fields: Mapping[str, Sequence[str]], *, required: Collection[str] = ()
) -> ColumnMatch:
    """Which column holds which field, matching headers to aliases with normalise_key."""
    alias_to_field: dict[str, str] = {}
    for name, aliases in fields.items():
        for alias in (name, *aliases):
            key = normalise_key(alias)
            if alias_to_field.setdefault(key, name) != name:
                raise ValueError(f"header alias {alias!r} names both {alias_to_field[key]!r} and {name!r}")
    found: dict[str, list[int]] = {}
    unrecognised = []
    for index, text in enumerate(header):
        name = alias_to_field.get(normalise_key(text))
        if name is not None:
            found.setdefault(name, []).append(index)
        elif text:
            unrecognised.append(index)
    return ColumnMatch(
        columns={name: indexes[0] for name, indexes in found.items()},
        missing=tuple(name for name in fields if name in required and name not in found),
        repeated={name: tuple(indexes) for name, indexes in found.items() if len(indexes) > 1},
        unrecognised=tuple(unrecognised),
    )


def field_label(name: str, fields: Mapping[str, Sequence[str]]) -> str:
    """A label like "题干 (stem)": the first alias, as the template shows it, and the English field name."""
    english = name.replace("_", " ")
    aliases = fields.get(name) or ()
    return f"{aliases[0]} ({english})" if aliases and aliases[0] != english else english


def _locate_header(
    rows: list[Row], fields: Mapping[str, Sequence[str]], required: Collection[str]
) -> tuple[int, ColumnMatch]:
    candidates = [
        (position, match_columns(row.cells, fields, required=required))
        for position, row in enumerate(rows[:HEADER_SEARCH_ROWS])
    ]
    for position, match in candidates:
        if not match.missing and match.columns:
            return position, match
    # No row has every required column: report against the row that looks most like a header.
    return max(candidates, key=lambda candidate: (len(candidate[1].columns), -candidate[0]))


def _too_many_rows(max_rows: int) -> TabularError:
    return TabularError(
        _("the file has more than %(count)s rows: split it into smaller files") % {"count": f"{max_rows:,}"}
    )


def _iter_rows(data: bytes, filename: str) -> Iterator[Row]:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        raise TabularError(
            _("unsupported file type “%(suffix)s”: upload an Excel workbook (.xlsx) or a CSV file")
            % {"suffix": suffix or filename}
        )
    if data.startswith(_ZIP_MAGIC):
        # Trust the content over the name: a workbook renamed to .csv still reads.
        return _xlsx_rows(data)
    if data.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise TabularError(
            _(
                "this is an old-style .xls or a password-protected workbook: open it in Excel or WPS and "
                "save it as .xlsx without a password"
            )
        )
    if suffix in XLSX_SUFFIXES:
        raise TabularError(
            _("the file is not a valid .xlsx workbook (it may be damaged): save it again from Excel")
        )
    return _csv_rows(data, delimiter="\t" if suffix == ".tsv" else None)


def _csv_rows(data: bytes, *, delimiter: str | None) -> Iterator[Row]:
    text = decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or sniff_delimiter(text))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            cells = _trim_trailing([_unescape_formula(clean_text(value)) for value in record[:MAX_COLUMNS]])
            if cells:
                yield Row(number, cells)
    except csv.Error as exc:
        raise TabularError(
            _("the CSV file is malformed near row %(row)s (%(detail)s)") % {"row": number + 1, "detail": exc}
        ) from exc


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab, whichever splits the first record most often."""
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for ch in text[:65536]:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            if any(counts.values()):
                break
        elif ch in counts and not quoted:
            counts[ch] += 1
    best = max(counts, key=lambda ch: counts[ch])
    return best if counts[best] else ","


def _xlsx_rows(data: bytes) -> Iterator[Row]:
    damaged = _("the Excel file could not be read (it may be damaged or not really an .xlsx workbook)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > max(len(data), DEFAULT_MAX_BYTES) * MAX_XLSX_INFLATION:
            raise TabularError(_("the Excel file unpacks to an implausible size and was refused"))
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except TabularError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise a dozen unrelated types for a bad file
        raise TabularError(damaged) from exc
    try:
        if not workbook.worksheets:
            raise TabularError(_("the Excel file has no worksheet"))
        sheet = workbook.worksheets[0]
        # The stored dimensions are often wrong in files written by other programs; without a reset,
        # read-only mode would stop at the row they claim is the last.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            cells = _trim_trailing([cell_text(value) for value in values])
            if cells:
                yield Row(number, cells)
    except TabularError:
        raise
    except Exception as exc:  # a damaged sheet surfaces only while streaming it
        raise TabularError(damaged) from exc
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A cell value as the text a person typed: 2023001.0 -> "2023001", a date cell -> "2012-03-05"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        # Excel keeps 15 significant digits; more would show binary noise such as 0.30000000000000004.
        return f"{number:.15g}"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return clean_text(str(value))


def _trim_trailing(cells: list[str]) -> tuple[str, ...]:
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


def _unescape_formula(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_START:
        return value[1:]
    return value


# --- writing --------------------------------------------------------------------------------------------

CellValue = str | int | float | None


def write_xlsx(
    header: Sequence[str], rows: Iterable[Sequence[CellValue]], *, sheet_title: str = "Sheet1"
) -> bytes:
    """An .xlsx with a bold, frozen header; text is always stored as text, never run as a formula."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.freeze_panes = "A2"
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(60, len(title) * 2 + 4))
    bold = Font(bold=True)
    header_cells = []
    for title in header:
        cell = _xlsx_cell(sheet, title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet: object, value: CellValue) -> WriteOnlyCell:
    if not isinstance(value, str):
        return WriteOnlyCell(sheet, value)
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    return cell


def write_csv(header: Sequence[str], rows: Iterable[Sequence[CellValue]]) -> bytes:
    """UTF-8 with a BOM, which Excel needs to show Chinese; formula-like cells are defused."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_escape_formula(title) for title in header])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value: object) -> str:
    """Text is defused ("=…", "-…" would run as a formula); a number is written as it is, sign included."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return _escape_formula(str(value))


def _escape_formula(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
