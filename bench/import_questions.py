"""Importing 10,000 questions from .xlsx through `manage.py import_questions`: the goal is under 15 seconds.

What it measures:

- `parse_s`: `quizzes.importing.parse_file` on the file, in this process (no database), best of --repeat;
- `sqlite_s`, `postgres_s`: wall time of `python manage.py import_questions FILE` as a subprocess (Django
  start-up, parsing, the duplicate check and the writes: the real path), into a freshly migrated database:
  a SQLite file under the temporary directory, or the PostgreSQL database `qk_bench_import_<pid>`.

The file holds --questions distinct, valid questions (single choice, multiple choice and true/false; Chinese
and English; categories given as paths such as 法律/刑法), made with `export_rows` and `write_xlsx` in the
wide layout the importer reads. After each import the script checks the command's output (exit status 0
and the count: `N questions imported`, or `已导入 N 道题` in the site's default language) and counts the
questions in the database.

When an import takes longer than the goal (or with --profile), the same import runs again into another fresh
database under cProfile, in a child process, and the script prints where the time goes: the heaviest
functions and the number of SQL statements by kind.

Run it from the repository root:

    .venv/bin/python bench/import_questions.py                  # both databases
    .venv/bin/python bench/import_questions.py --db sqlite --profile

The server settings come from the environment as for the site (DEBUG=0 and a random SECRET_KEY here);
PostgreSQL is reached at --pg-url (trust auth). Databases and files it makes are removed at the end, also on
error. The last line printed is one JSON object:
`{"questions": 10000, "sqlite_s": ..., "postgres_s": ..., "parse_s": ...}`.
"""

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GOAL_S = 15.0
COMMAND_LIMIT_S = 900
NUMBER = re.compile(r"\d[\d,]*")

WORDS_ZH = [
    "冰毒", "海洛因", "大麻", "摇头丸", "氯胺酮", "新精神活性物质", "禁毒法", "刑法", "成瘾", "戒断",
    "家长", "学校", "同伴", "好奇心", "拒绝", "举报", "社区戒毒", "6·26", "禁毒志愿者", "网络",
]  # fmt: skip
WORDS_EN = [
    "heroin", "cannabis", "methamphetamine", "ecstasy", "ketamine", "law", "addiction", "withdrawal",
    "parents", "school", "peers", "curiosity", "refusal", "report", "recovery", "volunteer", "online",
]  # fmt: skip
CATEGORIES_ZH = [
    ("法律", "刑法"), ("法律", "禁毒法"), ("法律", "治安管理处罚法"), ("识毒", "传统毒品"),
    ("识毒", "新型毒品"), ("识毒", "新精神活性物质"), ("防毒", "校园"), ("防毒", "家庭"),
    ("拒毒", "拒绝技巧"), ("戒毒", "社区戒毒"),
]  # fmt: skip
CATEGORIES_EN = [
    ("Law", "Criminal law"), ("Law", "Anti-drug law"), ("Recognition", "New psychoactive substances"),
    ("Prevention", "School"), ("Refusal skills",),
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="parse-only runs; the best is reported")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument(
        "--profile", action="store_true", help="profile the import even when within the goal"
    )
    profile.add_argument("--no-profile", action="store_true", help="never profile")
    parser.add_argument("--wait-for-command", type=float, default=600, help="seconds to wait for the command")
    parser.add_argument("--internal-profile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.questions <= 20_000 or not 1 <= args.repeat <= 10:
        parser.error("--questions must be in 1..20000 (the importer's limit) and --repeat in 1..10")

    if args.internal_profile:
        internal_profile(json.loads(Path(args.internal_profile).read_text()))
        return

    wait_for_command(args.wait_for_command)
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_import_"))
    try:
        figures = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


def wait_for_command(limit: float) -> None:
    """The command is being written by someone else: wait (bounded) until its file is there."""
    path = ROOT / "quizzes" / "management" / "commands" / "import_questions.py"
    deadline = time.monotonic() + limit
    while not path.is_file():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} is still missing after {limit:g} s")
        print(f"waiting for {path.relative_to(ROOT)} ...", flush=True)
        time.sleep(min(30, max(1, deadline - time.monotonic())))


def run(args: argparse.Namespace, workdir: Path) -> dict:
    secret_key = secrets.token_urlsafe(50)
    # This process only parses; it never opens this database.
    os.environ.update(base_env(f"sqlite:///{workdir / 'unused.sqlite3'}", secret_key))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from quizzes.importing import export_rows, parse_file, write_xlsx

    started = time.perf_counter()
    header, rows = export_rows(generate(args.questions))
    data = write_xlsx(header, rows, sheet_title="questions")
    bank = workdir / "bank.xlsx"
    bank.write_bytes(data)
    kinds = {kind: sum(1 for row in rows if row[0] == kind) for kind in ("single", "multiple", "true_false")}
    languages = {lang: sum(1 for row in rows if lang in row) for lang in ("zh-hans", "en")}
    print(
        f"file: {args.questions:,} questions, {len(data) / 1e6:.2f} MB, {kinds}, {languages}, "
        f"written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = parse_file(data, bank.name)
        timings.append(time.perf_counter() - started)
    if result.errors or len(result.questions) != args.questions:
        raise SystemExit(
            f"the file does not parse cleanly: {len(result.questions)} questions, {result.errors[:5]}"
        )
    parse_s = min(timings)
    print(f"parse_file: best {parse_s:.2f} s of {args.repeat} ({', '.join(f'{t:.2f}' for t in timings)})")

    figures: dict = {"questions": args.questions}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        seconds = import_into(db, bank, args, workdir, secret_key)
        figures[f"{db}_s"] = round(seconds, 2)
        over = seconds > GOAL_S
        print(
            f"{db}: import {seconds:.2f} s — {'OVER' if over else 'within'} the {GOAL_S:g} s goal", flush=True
        )
        if (over and not args.no_profile) or args.profile:
            profile_import(db, bank, args, workdir, secret_key)
    figures["parse_s"] = round(parse_s, 2)
    return figures


def base_env(db_url: str, secret_key: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "edu.settings",
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def fresh_database(db: str, args: argparse.Namespace, workdir: Path, secret_key: str, label: str):
    """A migrated, empty database and the environment that points at it; removed afterwards."""
    name = f"qk_bench_import_{label}_{os.getpid()}"
    if db == "sqlite":
        path = workdir / f"{name}.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = f"{args.pg_url.rstrip('/')}/{name}"
        pg_admin(args.pg_url, name, create=True)
    env = os.environ.copy()
    env.pop("REDIS_URL", None)
    env.update(base_env(url, secret_key))
    try:
        started = time.perf_counter()
        manage(["migrate", "--noinput"], env)
        print(f"{db}: migrate {time.perf_counter() - started:.1f} s (not counted)", flush=True)
        yield env, (path if db == "sqlite" else name)
    finally:
        if db == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            with contextlib.suppress(Exception):
                pg_admin(args.pg_url, name, create=False)


def import_into(db: str, bank: Path, args: argparse.Namespace, workdir: Path, secret_key: str) -> float:
    with fresh_database(db, args, workdir, secret_key, "run") as (env, where):
        started = time.perf_counter()
        completed = manage(["import_questions", str(bank)], env, check=False)
        seconds = time.perf_counter() - started
        output = (completed.stdout + completed.stderr).strip()
        print(f"{db}: `manage.py import_questions` exit {completed.returncode}: {output[-500:]}", flush=True)
        # "10000 questions imported", or in Chinese, the site's default language: "已导入 10000 道题".
        numbers = {int(number.replace(",", "")) for number in NUMBER.findall(completed.stdout)}
        if completed.returncode != 0 or args.questions not in numbers:
            raise SystemExit(f"{db}: the import did not report {args.questions} questions imported")
        stored = count_questions(db, where, args)
        if stored != args.questions:
            raise SystemExit(f"{db}: the database holds {stored} questions, not {args.questions}")
        print(f"{db}: {stored:,} questions in the database", flush=True)
    return seconds


def manage(argv: list[str], env: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(  # noqa: S603 - fixed argv: manage.py of this repository
        [PYTHON, str(ROOT / "manage.py"), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_LIMIT_S,
    )
    if check and completed.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(argv)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed


def count_questions(db: str, where, args: argparse.Namespace) -> int:
    query = "SELECT count(*) FROM quizzes_question"
    if db == "sqlite":
        with contextlib.closing(sqlite3.connect(where)) as conn:
            return conn.execute(query).fetchone()[0]
    import psycopg

    with psycopg.connect(f"{args.pg_url.rstrip('/')}/{where}", connect_timeout=10) as conn:
        return conn.execute(query).fetchone()[0]


def pg_admin(base_url: str, name: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    if not name.startswith("qk_bench_"):
        raise ValueError("only qk_bench_* databases are made and dropped here")
    with psycopg.connect(f"{base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- the profile -------------------------------------------------------------------------------------------


def profile_import(db: str, bank: Path, args: argparse.Namespace, workdir: Path, secret_key: str) -> None:
    with fresh_database(db, args, workdir, secret_key, "profile") as (env, _):
        spec = workdir / "profile.json"
        spec.write_text(json.dumps({"file": str(bank), "db": db}))
        completed = subprocess.run(  # noqa: S603 - this script, fixed arguments
            [PYTHON, str(Path(__file__).resolve()), "--internal-profile", str(spec)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_LIMIT_S,
        )
        print(f"\n--- {db}: where the import's time goes (cProfile, in one process) ---")
        print(completed.stdout.rstrip())
        if completed.returncode != 0:
            print(completed.stderr[-3000:])


def internal_profile(spec: dict) -> None:
    import cProfile
    import io
    import pstats
    from collections import Counter

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    statements: Counter[str] = Counter()
    seconds_in_db = [0.0]

    def count(execute, sql, params, many, context):
        statements[sql.split(None, 1)[0].upper() + " " + _table(sql)] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds_in_db[0] += time.perf_counter() - started

    out = io.StringIO()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        profiler.enable()
        call_command("import_questions", spec["file"], stdout=out)
        profiler.disable()
    wall = time.perf_counter() - started
    print(f"{out.getvalue().strip()} in {wall:.2f} s under the profiler")
    total = sum(statements.values())
    print(f"{total:,} SQL statements, {seconds_in_db[0]:.2f} s inside cursor.execute (driver and database):")
    for statement, number in statements.most_common(12):
        print(f"  {number:>7,}  {statement}")
    for order, lines in (("cumulative", 40), ("tottime", 20)):
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.strip_dirs().sort_stats(order).print_stats(lines)
        body = text.getvalue()
        print(f"\nby {order}:\n" + body[body.find("   ncalls") :].rstrip())


def _table(sql: str) -> str:
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return match.group(1) if match else ""


# --- the questions -----------------------------------------------------------------------------------------


def generate(count: int):
    """`count` distinct valid questions: a third of each type, one in four in English, categories as paths."""
    from quizzes.importing import AUDIENCES, TRUE_FALSE_OPTIONS, ParsedQuestion

    rng = random.Random(626)  # reproducible data, not security
    for number in range(count):
        kind = ("single", "multiple", "true_false")[number % 3]
        english = number % 4 == 3
        words = WORDS_EN if english else WORDS_ZH
        joiner = " " if english else "、"
        topic = joiner.join(rng.choices(words, k=rng.randint(4, 12)))
        if english:
            stem = f"Question {number}: which of these is true about {topic}?"
            category = rng.choice(CATEGORIES_EN)
        else:
            stem = f"第{number}题：关于{topic}，下列说法正确的是？"
            category = rng.choice(CATEGORIES_ZH)
        if kind == "true_false":
            options = TRUE_FALSE_OPTIONS["en" if english else "zh-hans"]
            correct = (rng.choice("AB"),)
        else:
            size = rng.randint(3, 6)
            options = tuple(f"{letter}. {joiner.join(rng.choices(words, k=3))}" for letter in "ABCDEF"[:size])
            picks = rng.sample("ABCDEF"[:size], 1 if kind == "single" else rng.randint(2, size))
            correct = tuple(sorted(picks))
        yield ParsedQuestion(
            type=kind,
            stem=stem,
            options=options,
            correct=correct,
            explanation=joiner.join(rng.choices(words, k=10)),
            difficulty=rng.randint(1, 5),
            category=category,
            tags=tuple(rng.sample(words, 2)),
            audience=tuple(sorted(rng.sample(AUDIENCES, 2), key=AUDIENCES.index)),
            language="en" if english else "zh-hans",
            source="bench",
        )


if __name__ == "__main__":
    main()
