"""`import_questions` and `export_questions`: output, exit status, all or nothing, a lossless round trip."""

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from quizzes.models import Question
from quizzes.services import parsed_from_question
from quizzes.starter import starter_bank_load

BASE_DIR = Path(__file__).resolve().parents[2]
GOOD_CSV = "type,stem,option A,option B,option C,answer,difficulty,category\n" + "\n".join(
    [
        "single,Which day is the International Day against Drugs?,26 June,1 December,3 March,A,2,History",
        "multiple,Which can hide drugs?,milk-tea sachets,sweets,bottled water,AB,3,Disguised drugs/Food",
    ]
)
BAD_CSV = "type,stem,option A,option B,option C,answer\n" + "\n".join(
    [
        "single,A fine question?,yes,no,maybe,A",
        "single,A broken answer?,yes,no,maybe,E",
        "single,,yes,no,maybe,A",
    ]
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args, stdout=out, stderr=err)
    assert exit_info.value.code == 1
    return out.getvalue(), err.getvalue()


# --- import_questions -----------------------------------------------------------------------------------


def test_import_prints_the_count(db, tmp_path):
    out, err = run("import_questions", write(tmp_path, "bank.csv", GOOD_CSV))
    assert out == "2 questions imported\n" and err == ""
    questions = Question.objects.order_by("pk")
    assert [q.status for q in questions] == ["ready", "ready"]
    assert [q.language for q in questions] == ["en", "en"]
    assert questions[1].category.name == "Food" and questions[1].category.parent.name == "Disguised drugs"
    assert all(q.owner_school is None and q.owner_region is None for q in questions)


def test_import_as_drafts(db, tmp_path):
    run("import_questions", write(tmp_path, "bank.csv", GOOD_CSV), "--status", "draft")
    assert set(Question.objects.values_list("status", flat=True)) == {"draft"}


def test_dry_run_checks_without_importing(db, tmp_path):
    out, _err = run("import_questions", write(tmp_path, "bank.csv", GOOD_CSV), "--dry-run")
    assert out == "2 questions valid\n"
    assert not Question.objects.exists()


def test_one_question_is_singular(db, tmp_path):
    out, _err = run("import_questions", write(tmp_path, "one.csv", GOOD_CSV.rsplit("\n", 1)[0]))
    assert out == "1 question imported\n"


def test_bad_rows_print_one_line_each_and_import_nothing(db, tmp_path):
    out, err = run_failing("import_questions", write(tmp_path, "bad.csv", BAD_CSV))
    assert out.splitlines() == [
        "row 3: the answer “E” is not one of the options A–C",
        "row 4: the stem is empty",
    ]
    assert err == ""
    assert not Question.objects.exists()


def test_dry_run_reports_bad_rows_too(db, tmp_path):
    out, _err = run_failing("import_questions", write(tmp_path, "bad.csv", BAD_CSV), "--dry-run")
    assert len(out.splitlines()) == 2


def test_questions_already_in_the_bank_are_reported_by_row(db, tmp_path):
    path = write(tmp_path, "bank.csv", GOOD_CSV)
    run("import_questions", path)
    existing = Question.objects.get(current_version__stem="Which can hide drugs?")
    for extra in ([], ["--dry-run"]):
        out, _err = run_failing("import_questions", path, *extra)
        first = Question.objects.get(current_version__stem__startswith="Which day")
        assert out.splitlines() == [
            f"row 2: this question is already in the bank (question #{first.pk})",
            f"row 3: this question is already in the bank (question #{existing.pk})",
        ]
    assert Question.objects.count() == 2


def test_gift_errors_are_by_line(db, tmp_path):
    gift = "Good question? {=yes ~no}\n\nNo answer marked? {~a ~b}\n"
    out, _err = run_failing("import_questions", write(tmp_path, "bank.gift", gift))
    assert out.splitlines() == [
        "line 3: no answer is marked right: mark it with = or a positive weight such as ~%50%"
    ]


def test_the_default_language_decides_when_the_text_does_not(db, tmp_path):
    csv = "type,stem,option A,option B,answer\nsingle,1 + 1 = ?,2,3,A\n"
    run("import_questions", write(tmp_path, "maths.csv", csv), "--default-language", "en")
    assert Question.objects.get().language == "en"


def test_a_missing_file_is_a_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_questions", str(tmp_path / "nowhere.xlsx"))


# --- exit status as a shell sees it ---------------------------------------------------------------------


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def manage(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_exit_status_in_a_shell(tmp_path):
    bad = manage("import_questions", write(tmp_path, "bad.csv", BAD_CSV))
    assert bad.returncode == 1, bad.stderr
    lines = bad.stdout.splitlines()
    assert len(lines) == 2 and "3" in lines[0] and "4" in lines[1]
    assert bad.stderr == ""
    assert not Question.objects.exists()

    good = manage("import_questions", write(tmp_path, "bank.csv", GOOD_CSV))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("2")
    assert Question.objects.count() == 2

    missing = manage("import_questions", str(tmp_path / "nowhere.csv"))
    assert missing.returncode == 1 and "nowhere.csv" in missing.stderr


# --- export_questions and the round trip ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_gives_back_the_same_questions(db, tmp_path, suffix):
    added = starter_bank_load()
    assert added > 100
    before = sorted((parsed_from_question(q) for q in Question.objects.all()), key=lambda q: q.fingerprint())
    path = str(tmp_path / f"bank{suffix}")
    out, _err = run("export_questions", path)
    assert out == f"{added} questions exported to {path}\n"

    Question.objects.update(current_version=None)
    Question.objects.all().delete()
    out, _err = run("import_questions", path)
    assert out == f"{added} questions imported\n"
    after = sorted((parsed_from_question(q) for q in Question.objects.all()), key=lambda q: q.fingerprint())
    assert after == before


def test_export_writes_a_language_column_and_filters(db, tmp_path):
    starter_bank_load()
    path = tmp_path / "english.xlsx"
    run("export_questions", str(path), "--language", "en", "--status", "ready")
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert "language" in header
    column = header.index("language")
    languages = {row[column] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert languages == {"en"}
    assert sheet.max_row - 1 == Question.objects.filter(language="en").count()


def test_export_needs_a_known_extension(db, tmp_path):
    with pytest.raises(CommandError, match=r"\.xlsx or \.csv"):
        call_command("export_questions", str(tmp_path / "bank.ods"))
