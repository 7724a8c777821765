"""Importing a 2,000-student roster from .xlsx through `manage.py import_roster`: the goal is under 10 s.

What it measures:

- `parse_s`: `edu.roster_parsing.parse_roster` on the file, in this process (no database), best of --repeat;
- `sqlite_s`, `postgres_s`: wall time of `python manage.py import_roster --school CODE FILE` as a subprocess
  (Django start-up, parsing, the checks against the database and the writes: the real path), into a freshly
  migrated database holding one school: a SQLite file under the temporary directory, or the PostgreSQL
  database `qk_bench_roster_<pid>`;
- `reimport_s`: the same command again on the same database, which must change nothing (SQLite).

The file holds --students students of grades 7–9 in classes of 45 (Chinese names, genders, dates of birth,
numbers as text), in the layout of the roster template. After each import the script checks the command's
output (exit status 0 and `N students imported`) and counts the roster records and accounts in the database.

Run it from the repository root:

    .venv/bin/python bench/import_roster.py                  # both databases
    .venv/bin/python bench/import_roster.py --db sqlite --students 5000

The server settings come from the environment as for the site (DEBUG=0 and a random SECRET_KEY here);
PostgreSQL is reached at --pg-url (trust auth). Databases and files it makes are removed at the end, also on
error. The last line printed is one JSON object:
`{"students": 2000, "sqlite_s": ..., "postgres_s": ..., "reimport_s": ..., "parse_s": ...}`.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's directory comes first on the path; the project's root must be there instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.import_questions import base_env, manage, pg_admin  # noqa: E402 - after the path fix above

PYTHON = sys.executable
GOAL_S = 10.0
SCHOOL_CODE = "BENCH0001"
CLASS_SIZE = 45
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "子涵欣怡梓轩浩然雨桐一诺宇轩思琪俊熙可馨博文诗涵明轩佳怡天佑若曦嘉懿晨阳语桐皓轩紫萱泽宇梦瑶睿思"
SETUP = """
from edu.models import Region, School
region, _ = Region.objects.get_or_create(code="439999", defaults={"name": "基准区", "level": 1})
School.objects.get_or_create(code="%s", defaults={"name": "基准中学", "level": "junior", "region": region})
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3, help="parse-only runs; the best is reported")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    if not 1 <= args.students <= 10_000 or not 1 <= args.repeat <= 10:
        parser.error("--students must be in 1..10000 (the roster's limit) and --repeat in 1..10")
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_roster_"))
    try:
        figures = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False))


def run(args: argparse.Namespace, workdir: Path) -> dict:
    secret_key = secrets.token_urlsafe(50)
    os.environ.update(base_env(f"sqlite:///{workdir / 'unused.sqlite3'}", secret_key))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from edu.roster_parsing import parse_roster
    from edu.tabular import write_xlsx

    started = time.perf_counter()
    header, rows = roster_rows(args.students)
    data = write_xlsx(header, rows, sheet_title="roster")
    roster = workdir / "roster.xlsx"
    roster.write_bytes(data)
    print(
        f"file: {args.students:,} students, {len(data) / 1e6:.2f} MB, "
        f"written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = parse_roster(data, roster.name, today=dt.date.today(), max_rows=10_000)
        timings.append(time.perf_counter() - started)
    if result.errors or len(result.students) != args.students:
        raise SystemExit(
            f"the file does not parse cleanly: {len(result.students)} students, {result.errors[:5]}"
        )
    parse_s = min(timings)
    print(f"parse_roster: best {parse_s:.2f} s of {args.repeat} ({', '.join(f'{t:.2f}' for t in timings)})")

    figures: dict = {"students": args.students}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        with fresh_database(db, args, workdir, secret_key) as (env, where):
            seconds = import_once(db, roster, args, env, where)
            figures[f"{db}_s"] = round(seconds, 2)
            over = seconds > GOAL_S
            print(
                f"{db}: import {seconds:.2f} s — {'OVER' if over else 'within'} the {GOAL_S:g} s goal",
                flush=True,
            )
            if db == "sqlite":
                figures["reimport_s"] = round(import_once(db, roster, args, env, where, again=True), 2)
    figures["parse_s"] = round(parse_s, 2)
    return figures


def roster_rows(count: int) -> tuple[list[str], list[list[str]]]:
    """`count` students of grades 7–9 in classes of 45: 姓名, 学号, 年级, 班级, 性别, 出生日期."""
    rng = random.Random(626)  # reproducible data, not security
    header = ["姓名", "学号", "年级", "班级", "性别", "出生日期"]
    grades = ["七年级", "八年级", "九年级"]
    this_year = dt.date.today().year
    rows = []
    for number in range(count):
        klass = number // CLASS_SIZE
        grade = klass % 3
        given = "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        born = dt.date(this_year - 13 - grade, rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            [
                rng.choice(SURNAMES) + given,
                f"2025{number:06d}",
                grades[grade],
                f"{klass // 3 + 1}班",
                rng.choice("男女"),
                born.isoformat(),
            ]
        )
    return header, rows


@contextlib.contextmanager
def fresh_database(db: str, args: argparse.Namespace, workdir: Path, secret_key: str):
    """A migrated database with the one school; removed afterwards."""
    name = f"qk_bench_roster_{os.getpid()}"
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
        manage(["shell", "-c", SETUP % SCHOOL_CODE], env)
        print(f"{db}: migrate and one school {time.perf_counter() - started:.1f} s (not counted)", flush=True)
        yield env, (path if db == "sqlite" else name)
    finally:
        if db == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            with contextlib.suppress(Exception):
                pg_admin(args.pg_url, name, create=False)


def import_once(db: str, roster: Path, args: argparse.Namespace, env: dict, where, *, again=False) -> float:
    started = time.perf_counter()
    completed = manage(["import_roster", "--school", SCHOOL_CODE, str(roster)], env, check=False)
    seconds = time.perf_counter() - started
    output = (completed.stdout + completed.stderr).strip()
    label = f"{db}{' (again)' if again else ''}"
    print(
        f"{label}: `manage.py import_roster` exit {completed.returncode} in {seconds:.2f} s: {output[-300:]}"
    )
    if completed.returncode != 0 or f"{args.students} students imported" not in completed.stdout:
        raise SystemExit(f"{label}: the import did not report {args.students} students imported")
    if again and f"unchanged: {args.students}" not in completed.stdout:
        raise SystemExit(f"{label}: importing the same file again changed something")
    records, accounts = count_rows(db, where, args)
    if records != args.students or accounts != args.students:
        raise SystemExit(f"{label}: {records} roster records and {accounts} accounts, not {args.students}")
    return seconds


def count_rows(db: str, where, args: argparse.Namespace) -> tuple[int, int]:
    queries = (
        "SELECT count(*) FROM edu_student",
        "SELECT count(*) FROM edu_user WHERE is_student AND username LIKE 's2025%'",
    )
    if db == "sqlite":
        with contextlib.closing(sqlite3.connect(where)) as conn:
            return tuple(conn.execute(query).fetchone()[0] for query in queries)
    import psycopg

    with psycopg.connect(f"{args.pg_url.rstrip('/')}/{where}", connect_timeout=10) as conn:
        return tuple(conn.execute(query).fetchone()[0] for query in queries)


if __name__ == "__main__":
    main()
