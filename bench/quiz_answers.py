"""Saving answers and submitting attempts under concurrent load, beside a bare Django view as the ceiling.

What it measures, per database (the embedded SQLite default and PostgreSQL):

- `bare`: `GET /bench/bare/`, a view that answers "ok" through the whole middleware stack and touches no
  database: the ceiling of one daphne process on this machine;
- `bare_post`: `POST /bench/bare-post/` with the same form body as an answer (CSRF-exempt, no database);
- `bare_auth`: `POST /bench/bare-auth/`, a signed-in POST that does nothing of its own (session, user, CSRF);
- `answer`: `POST /attempts/<uuid>/answer/` (JSON) as the quiz page's script sends it, with the attempt's
  answer token (quizzes/access.py), each client a signed-in student saving answers to their own attempt of
  a 20-question quiz, positions cycling 0..19;
- `answer_session`: the same without the token, as without the script: the session, the user and the CSRF
  check, then the same save;
- `submit`: `POST /attempts/<uuid>/submit/` as the quiz page's script sends it (the answer token, no body),
  once for each attempt of the round's students; without the script it is a form post through the
  session, whose cost the `answer_session` and `bare_auth` phases show.

The phases run in turn, and the whole sequence is repeated --rounds times (3 by default) against the same
server: on a shared machine the speed of the CPU drifts by tens of percent within minutes, and a rate
measured minutes away from its ceiling would compare two different machines. Each round's answer and
submit rates are divided by the same round's bare rate, and the median of the rounds is the share
reported. Each round's submit phase hands in its own slice of the students (not the ones the answer
phases use).

For each phase: requests, errors (anything but 2xx/3xx), requests per second (the median of the rounds),
p50/p95 (medians of the rounds) and max latency; the answer and submit rates as shares of the bare ceiling,
per round and their median; the server's CPU time (per phase and in all), its threads' context switches per
request ("cs/req") and peak RSS, from /proc; and the whole machine's busy CPU per request ("all ms/req": the
server, the database server, the load generator).
The last line printed is one JSON object with every figure.

How: the script makes a fresh database (a SQLite file under the temporary directory, or a PostgreSQL
database `qk_bench_quiz_<pid>`), migrates it and creates a school, a class, N students, a published class
quiz of 20 ready questions (no time limit, unlimited attempts), an attempt in progress and a signed-in
session with a CSRF token for each student, all in a subprocess. It then starts one daphne process with
DEBUG=0 (`DJANGO_SETTINGS_MODULE=bench.bench_settings`: the site's settings and URLs plus the bare
views) on a free port of 127.0.0.1, and drives it from a second process: asyncio and raw keep-alive
HTTP/1.1 connections, standard library only, C concurrent clients. Everything it started is stopped and
the PostgreSQL database dropped at the end, also on error.

Run it from the repository root:

    .venv/bin/python bench/quiz_answers.py                       # both databases, 1000 students, 32 clients
    .venv/bin/python bench/quiz_answers.py --db sqlite --duration 5
    .venv/bin/python bench/quiz_answers.py --db sqlite --conn-max-age 600   # DB_CONN_MAX_AGE, SQLite only

PostgreSQL is reached at --pg-url (trust auth), and Redis (the production channel layer and cache) at
--redis-url for the PostgreSQL run; the SQLite run is the embedded default, without Redis. The server runs
with the site's DB_CONN_MAX_AGE (0) unless --conn-max-age says otherwise; above 0 it is refused for
PostgreSQL, whose connections come from the site's pool: a "persistent" connection per request thread would
grow with the number of threads, which follows the number of requests at once. (edu/settings.py does not read
DB_CONN_MAX_AGE today, so the flag changes nothing; connections are reused across requests all the same:
PostgreSQL's through its pool, SQLite's through the site's backend, edu/sqlite/base.py.)

On a shared machine the rates follow whatever CPU the server is given; its CPU time per request (the
"cpu ms/req" column) is the steadier figure, and the share of the ceiling is best read from it too.

The answer phases must have no errors: the script exits with status 1 if they had any.
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, where bench/volunteers.py would shadow the volunteers app.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.sessions import signed_in_session  # noqa: E402 - after the path fix above

PYTHON = sys.executable
DAPHNE = Path(sys.executable).with_name("daphne")
HOST = "127.0.0.1"
QUESTIONS = 20
PHASES = ("bare", "bare_post", "bare_auth", "answer", "answer_session", "submit")
ANSWER_PHASES = ("answer", "answer_session")
SERVER_START_LIMIT_S = 60
SETUP_LIMIT_S = 1200
REQUEST_TIMEOUT_S = 30
MAX_REQUESTS_PER_CLIENT = 1_000_000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per phase and round")
    parser.add_argument("--rounds", type=int, default=3, help="times the sequence of phases runs")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each phase")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="DB_CONN_MAX_AGE for the server (default: the site's, 0)",
    )
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="for the PostgreSQL run; '' for none"
    )
    parser.add_argument(
        "--drop-middleware",
        default="",
        help="experiments only: comma-separated middleware the server leaves out",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases to run, in the fixed order (default: all; the answer shares need bare)",
    )
    parser.add_argument("--internal", choices=["setup", "load", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.internal:
        spec = json.loads(Path(args.spec).read_text())
        {"setup": internal_setup, "load": internal_load, "verify": internal_verify}[args.internal](spec)
        return
    args.phases = [phase for phase in PHASES if phase in args.phases.split(",")]
    if not args.phases:
        parser.error(f"--phases: choose among {', '.join(PHASES)}")
    if not 1 <= args.concurrency <= args.students:
        parser.error("--concurrency must be between 1 and --students (each client is one student)")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if "submit" in args.phases and len(submit_slices(args, list(range(args.students)))[-1]) == 0:
        parser.error("--students: too few for a slice of submissions in every round")
    if args.port == 8000:
        parser.error("port 8000 is taken by the development server; choose another")
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 600] and --warmup in [0, 60]")
    if args.conn_max_age and args.db != "sqlite":
        # Django's connections are per thread, and a process keeps a thread for each request it serves at
        # once (edu/handlers.py): persistent connections would grow with them. Tried once, when every request
        # had a new thread: 60-70 open connections within seconds and "too many clients" for everyone.
        parser.error("--conn-max-age above 0: PostgreSQL connections come from the pool; sqlite only")

    figures = {}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        figures[db] = run_database(db, args)
        print_database(db, figures[db])
    print(json.dumps(figures, ensure_ascii=False))
    if any(result.get(phase, {}).get("errors") for result in figures.values() for phase in ANSWER_PHASES):
        sys.exit(1)


# --- the orchestrator -------------------------------------------------------------------------------------


def run_database(db: str, args: argparse.Namespace) -> dict:
    """Set up, serve, load, verify and clean up one database; returns its figures."""
    secret_key = secrets.token_urlsafe(50)
    port = args.port or free_port()
    with socket.socket() as sock:  # a server already there would answer our readiness check
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise SystemExit(f"port {port} is in use: {exc}") from None
    workdir = Path(tempfile.mkdtemp(prefix=f"qk_bench_quiz_{db}_"))
    pg_name = f"qk_bench_quiz_{os.getpid()}"
    if db == "sqlite":
        db_url = f"sqlite:///{workdir / 'db.sqlite3'}"
        redis_url = ""
    else:
        db_url = f"{args.pg_url.rstrip('/')}/{pg_name}"
        redis_url = args.redis_url
    env = server_env(
        db_url=db_url, redis_url=redis_url, secret_key=secret_key, conn_max_age=args.conn_max_age
    )
    if args.drop_middleware:
        env["QK_BENCH_DROP_MIDDLEWARE"] = args.drop_middleware
    server = None
    log_path = workdir / "daphne.log"
    try:
        if db == "postgres":
            pg_admin(args.pg_url, pg_name, create=True)
        print(f"[{db}] load average before: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
        started = time.perf_counter()
        setup = run_internal(
            "setup", {"students": args.students, "out": str(workdir / "clients.json")}, env, workdir
        )
        clients = json.loads((workdir / "clients.json").read_text())
        print(
            f"[{db}] set-up (migrate, {args.students} students, attempts, sessions): "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )

        with log_path.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - fixed argv, our own daphne
                [str(DAPHNE), "-b", HOST, "-p", str(port), "edu.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_serving(server, port, log_path)
        result: dict = {
            "params": {
                "students": args.students,
                "concurrency": args.concurrency,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "port": port,
                "redis": bool(redis_url),
                "conn_max_age": args.conn_max_age if args.conn_max_age is not None else 0,
                "drop_middleware": args.drop_middleware,
                "phases": args.phases,
                "rounds": args.rounds,
                "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
            }
        }
        rounds: dict[str, list[dict]] = {phase: [] for phase in args.phases}
        slices = submit_slices(args, clients["clients"])
        for number in range(args.rounds):
            for phase in args.phases:
                spec = {
                    "port": port,
                    "phase": phase,
                    "clients": slices[number] if phase == "submit" else clients["clients"],
                    "concurrency": args.concurrency,
                    "duration": args.duration,
                    "warmup": 0 if phase == "submit" else args.warmup,
                    "questions": QUESTIONS,
                    "cookie_names": clients["cookie_names"],
                    "out": str(workdir / f"load-{phase}.json"),
                }
                cpu_before, wall_before = proc_cpu_seconds(server.pid), time.perf_counter()
                switches_before = proc_context_switches(server.pid)
                machine_before = machine_busy_seconds()
                limit = args.warmup + args.duration + 120
                run_internal("load", spec, os.environ.copy(), workdir, limit=limit)
                cpu = proc_cpu_seconds(server.pid) - cpu_before
                switches = proc_context_switches(server.pid) - switches_before
                machine = machine_busy_seconds() - machine_before
                wall = time.perf_counter() - wall_before
                figures = json.loads(Path(spec["out"]).read_text())
                figures["server_cpu_s"] = round(cpu, 2)
                figures["server_cpu_pct"] = round(100 * cpu / figures.pop("phase_wall_s", wall), 1)
                # CPU per request, over every request of the phase (warm-up included): steadier than the
                # rate on a machine whose other core is busy with the load generator and other work.
                figures["server_cpu_ms_per_request"] = round(1000 * cpu / max(1, figures["sent"]), 2)
                # Context switches of the server's threads per request: on this kind of machine a switch is
                # dear, and their count hardly depends on how fast the machine happens to be.
                figures["server_switches"] = switches
                figures["server_switches_per_request"] = round(switches / max(1, figures["sent"]), 1)
                # Everything the machine did meanwhile (the database server, the load generator, …).
                figures["machine_cpu_s"] = round(machine, 2)
                rounds[phase].append(figures)
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited during {phase}: {tail(log_path)}")
        for phase, figures in rounds.items():
            result[phase] = merge_rounds(figures)
        for phase in ("answer", "submit"):
            for ceiling in ("bare", "bare_post", "bare_auth"):
                if phase in result and ceiling in result:
                    shares = [
                        round(100 * mine["rps"] / theirs["rps"], 1) if theirs["rps"] else 0.0
                        for mine, theirs in zip(rounds[phase], rounds[ceiling], strict=True)
                    ]
                    result[f"{phase}_pct_of_{ceiling}"] = round(statistics.median(shares), 1)
                    result[f"{phase}_pct_of_{ceiling}_rounds"] = shares
        result["server"] = {
            "cpu_s": round(proc_cpu_seconds(server.pid), 2),
            "peak_rss_mb": round(proc_status_kb(server.pid, "VmHWM") / 1024, 1),
        }
        stop(server)
        server = None
        verify_out = workdir / "verify.json"
        run_internal("verify", {"out": str(verify_out)}, env, workdir)
        result["check"] = json.loads(verify_out.read_text())
        result["setup"] = setup["timings"]
        return result
    finally:
        if server is not None:
            stop(server)
        if db == "postgres":
            with contextlib.suppress(Exception):
                pg_admin(args.pg_url, pg_name, create=False)
        for path in sorted(workdir.iterdir()) if workdir.exists() else ():
            if path.name == "daphne.log" and path.stat().st_size and _errors_in_log(path):
                print(f"[{db}] server log ({path}), last lines:\n{tail(path)}", flush=True)
            path.unlink()
        with contextlib.suppress(OSError):
            workdir.rmdir()


def submit_slices(args: argparse.Namespace, clients: list) -> list[list]:
    """The students each round's submit phase hands in: slices of those the answer phases leave alone."""
    answering = args.concurrency if set(ANSWER_PHASES) & set(args.phases) else 0
    rest = clients[answering:]
    size = len(rest) // args.rounds
    return [rest[number * size : (number + 1) * size] for number in range(args.rounds)]


def merge_rounds(rounds: list[dict]) -> dict:
    """One phase's figures over its rounds: counts and CPU summed, rates and quantiles their medians."""
    statuses: Counter[str] = Counter()
    for figures in rounds:
        statuses.update(figures["statuses"])
    cpu = sum(figures["server_cpu_s"] for figures in rounds)
    sent = sum(figures["sent"] for figures in rounds)
    return {
        "requests": sum(figures["requests"] for figures in rounds),
        "errors": sum(figures["errors"] for figures in rounds),
        "rps": statistics.median(figures["rps"] for figures in rounds),
        "p50_ms": statistics.median(figures["p50_ms"] for figures in rounds),
        "p95_ms": statistics.median(figures["p95_ms"] for figures in rounds),
        "max_ms": max(figures["max_ms"] for figures in rounds),
        "statuses": dict(statuses),
        "first_errors": [error for figures in rounds for error in figures["first_errors"]][:5],
        "sent": sent,
        "generator_cpu_pct": statistics.median(figures["generator_cpu_pct"] for figures in rounds),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_pct": statistics.median(figures["server_cpu_pct"] for figures in rounds),
        "server_cpu_ms_per_request": round(1000 * cpu / max(1, sent), 2),
        "server_switches_per_request": round(
            sum(figures["server_switches"] for figures in rounds) / max(1, sent), 1
        ),
        "machine_cpu_ms_per_request": round(
            1000 * sum(figures["machine_cpu_s"] for figures in rounds) / max(1, sent), 2
        ),
        "rounds": rounds,
    }


def _errors_in_log(path: Path) -> bool:
    text = path.read_text(errors="replace")
    return "Traceback" in text or "ERROR" in text


def server_env(*, db_url: str, redis_url: str, secret_key: str, conn_max_age: int | None) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db_url,
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    for name, value in (("REDIS_URL", redis_url), ("DB_CONN_MAX_AGE", conn_max_age)):
        if value in ("", None):
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def run_internal(step: str, spec: dict, env: dict, workdir: Path, *, limit: float = SETUP_LIMIT_S) -> dict:
    """Run one step of this script in a child process (its own Django, or the load generator)."""
    spec_path = workdir / f"spec-{step}.json"
    spec_path.write_text(json.dumps(spec))
    completed = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [PYTHON, str(Path(__file__).resolve()), "--internal", step, "--spec", str(spec_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"step {step} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    out = Path(spec.get("out", ""))
    return json.loads(out.read_text()) if step == "setup" and out.is_file() else {}


def pg_admin(base_url: str, name: str, *, create: bool) -> None:
    """Drop the database `name` if it is there, and create it afresh when asked to."""
    import psycopg
    from psycopg import sql

    if not name.startswith("qk_bench_"):
        raise ValueError("only qk_bench_* databases are made and dropped here")
    with psycopg.connect(f"{base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    for _ in range(20):
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port != 8000:
            return port
    raise RuntimeError("no free port")


def wait_until_serving(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"daphne exited with {server.returncode}:\n{tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=2) as sock:
            sock.sendall(
                f"GET /bench/bare/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            if sock.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer within {SERVER_START_LIMIT_S} s:\n{tail(log_path)}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc/<pid>/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of a process's live threads, from /proc. Request threads
    are kept between requests (edu/handlers.py), so few counts leave with a thread that ended."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            lines = status.read_text().splitlines()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        total += sum(int(line.split()[1]) for line in lines if "ctxt_switches:" in line)
    return total


def machine_busy_seconds() -> float:
    """CPU time of the whole machine that was not idle or waiting for I/O, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK


def proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def print_database(db: str, result: dict) -> None:
    params = result["params"]
    print(
        f"\n== {db}: {params['students']} students, {params['concurrency']} clients, "
        f"{params['rounds']} rounds of {params['duration_s']:g} s per phase "
        f"after {params['warmup_s']:g} s warm-up, "
        f"DB_CONN_MAX_AGE={params['conn_max_age']}, redis={'on' if params['redis'] else 'off'}"
        + (f", without middleware {params['drop_middleware']}" if params["drop_middleware"] else "")
        + f"; load average before {' '.join(params['loadavg_before'])}"
    )
    print(
        f"{'phase':<14} {'requests':>8} {'errors':>6} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'srv cpu s':>9} {'srv cpu%':>8} {'cpu ms/req':>10} {'all ms/req':>10} {'gen cpu%':>8} "
        f"{'cs/req':>6}"
    )
    for phase in PHASES:
        if phase not in result:
            continue
        f = result[phase]
        print(
            f"{phase:<14} {f['requests']:>8} {f['errors']:>6} {f['rps']:>8.1f} {f['p50_ms']:>8.1f} "
            f"{f['p95_ms']:>8.1f} {f['max_ms']:>8.1f} {f['server_cpu_s']:>9.2f} {f['server_cpu_pct']:>8.1f} "
            f"{f['server_cpu_ms_per_request']:>10.2f} {f['machine_cpu_ms_per_request']:>10.2f} "
            f"{f['generator_cpu_pct']:>8.1f} {f['server_switches_per_request']:>6.1f}"
        )
        for status, count in f["statuses"].items():
            if not status.startswith(("2", "3")):
                print(f"    {phase}: {count} × {status}; first: {f['first_errors']}")
    print("round by round, rps (server CPU ms per request):")
    for phase in PHASES:
        if phase in result:
            rounds = "  ".join(
                f"{figures['rps']:>7.1f} ({figures['server_cpu_ms_per_request']:.2f})"
                for figures in result[phase]["rounds"]
            )
            print(f"    {phase:<14} {rounds}")
    for phase in ("answer", "submit"):
        if f"{phase}_pct_of_bare" in result:
            shares = [
                f"{result[key]}% of {name}"
                for key, name in (
                    (f"{phase}_pct_of_bare", "bare GET"),
                    (f"{phase}_pct_of_bare_post", "bare POST"),
                    (f"{phase}_pct_of_bare_auth", "a signed-in bare POST"),
                )
                if key in result
            ]
            print(f"{phase} rps = {', '.join(shares)} (medians of the rounds; goal: at least 50% of bare)")
            rounds = ", ".join(f"{share}%" for share in result[f"{phase}_pct_of_bare_rounds"])
            print(f"    {phase} rps / bare GET rps, round by round: {rounds}")
    print(f"server: {result['server']['cpu_s']} s CPU in all, peak RSS {result['server']['peak_rss_mb']} MB")
    print(f"check: {result['check']}", flush=True)
    check = result["check"]
    ran = result["params"]["phases"]
    slices = submit_slices(argparse.Namespace(**params), list(range(params["students"])))
    handed_in = sum(len(part) for part in slices)
    if ("submit" in ran and check["attempts_submitted"] != handed_in) or (
        set(ANSWER_PHASES) & set(ran) and not check["items_answered"]
    ):
        print(f"WARNING: expected {handed_in} attempts submitted and answers saved: {check}")
    for phase in ANSWER_PHASES:
        if result.get(phase, {}).get("errors"):
            errors = result[phase]["errors"]
            print(f"FAILED: the {phase} phase had {errors} errors (it must have none)", flush=True)


# --- set-up and verification, in a child process with the server's settings -------------------------------


def internal_setup(spec: dict) -> None:
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from django.middleware.csrf import _get_new_csrf_string
    from django.utils import timezone

    from edu.models import Region, School, SchoolClass, User
    from quizzes.access import sign_answer_token
    from quizzes.importing import TRUE_FALSE_OPTIONS, ParsedQuestion
    from quizzes.models import Question, Quiz, QuizQuestion
    from quizzes.services import attempt_start, category_for_path, question_create

    timings = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    count = spec["students"]
    with transaction.atomic():
        province = Region.objects.create(code="990000", name="基准省", name_en="Bench Province", level=1)
        school = School.objects.create(
            code="BENCH00001",
            name="基准第一中学",
            level=School.Level.JUNIOR,
            region=province,
            student_headcount=count,
        )
        school_class = SchoolClass.objects.create(school=school, grade=7, name="1班", headcount=count)
        category = category_for_path(names=["法律", "刑法"])
        questions = []
        for number in range(QUESTIONS):
            kind = ("single", "multiple", "true_false")[number % 3]
            if kind == "true_false":
                options, correct = TRUE_FALSE_OPTIONS["zh-hans"], ("A",)
            else:
                options = tuple(f"第{number}题选项{letter}" for letter in "ABCD")
                correct = ("A", "C") if kind == "multiple" else ("B",)
            parsed = ParsedQuestion(
                type=kind,
                stem=f"基准题{number}：下列说法正确的是？",
                options=options,
                correct=correct,
                category=("法律", "刑法"),
            )
            questions.append(
                question_create(parsed=parsed, category=category, user=None, status=Question.Status.READY)
            )
        quiz = Quiz.objects.create(
            title="基准测验",
            access=Quiz.Access.CLASS,
            target_class=school_class,
            selection=Quiz.Selection.FIXED,
            time_limit_minutes=None,
            max_attempts=0,
            is_published=True,
            owner_school=school,
            review=Quiz.Review.AFTER_SUBMIT,
        )
        QuizQuestion.objects.bulk_create(
            QuizQuestion(quiz=quiz, question=question, position=position)
            for position, question in enumerate(questions)
        )
        # One hash for everyone: a hash costs ~0.5 s, and the sessions are made here, not by signing in.
        password = make_password(secrets.token_urlsafe(16))
        User.objects.bulk_create(
            User(
                username=f"bench{n:05d}",
                nickname=f"S{n}",
                is_student=True,
                school_class=school_class,
                password=password,
            )
            for n in range(count)
        )
    clients = []
    now = timezone.now()
    for user in User.objects.filter(school_class=school_class).order_by("username"):
        attempt = attempt_start(quiz=quiz, user=user, now=now)
        session_key = signed_in_session(user)
        clients.append(
            {
                "attempt": str(attempt.pk),
                "session": session_key,
                "csrf": _get_new_csrf_string(),
                "token": sign_answer_token(session_key=session_key, attempt_id=attempt.pk),
            }
        )
    timings["data_s"] = round(time.perf_counter() - started, 2)
    out = {
        "clients": clients,
        "cookie_names": {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME},
    }
    Path(spec["out"]).write_text(json.dumps(out | {"timings": timings}))


def internal_verify(spec: dict) -> None:
    """What the database holds after the run: every attempt submitted, the answers saved."""
    import django

    django.setup()
    from quizzes.models import Attempt, AttemptItem

    figures = {
        "attempts": Attempt.objects.count(),
        "attempts_submitted": Attempt.objects.filter(submitted_at__isnull=False).count(),
        "items_answered": AttemptItem.objects.filter(answered_at__isnull=False).count(),
        "items": AttemptItem.objects.count(),
    }
    Path(spec["out"]).write_text(json.dumps(figures))


# --- the load generator, in its own process -----------------------------------------------------------------


def internal_load(spec: dict) -> None:
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    figures = asyncio.run(load_phase(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - started_cpu.ru_utime - started_cpu.ru_stime
    figures["generator_cpu_pct"] = round(100 * cpu / figures["phase_wall_s"], 1)
    Path(spec["out"]).write_text(json.dumps(figures))


def build_request(spec: dict, client: dict, *, phase: str, number: int) -> bytes:
    port, names = spec["port"], spec["cookie_names"]
    origin = f"http://{HOST}:{port}"
    attempt = client["attempt"]
    headers = [
        f"Host: {HOST}:{port}",
        f"Cookie: {names['session']}={client['session']}; {names['csrf']}={client['csrf']}",
        f"Origin: {origin}",
        f"Referer: {origin}/attempts/{attempt}/",
        "Accept: application/json" if phase != "bare" else "Accept: text/html",
        "User-Agent: qingkong-bench",
    ]
    if phase in ("answer", "submit"):
        headers.append(f"X-Answer-Token: {client['token']}")  # as the quiz page's script sends it
    if phase == "bare":
        return ("GET /bench/bare/ HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode()
    if phase == "submit":  # the script's submission has no body
        target = f"/attempts/{attempt}/submit/"
        return (
            f"POST {target} HTTP/1.1\r\n" + "\r\n".join([*headers, "Content-Length: 0"]) + "\r\n\r\n"
        ).encode()
    else:
        position = number % spec["questions"]
        fields = {"csrfmiddlewaretoken": client["csrf"], "position": position, "choice": number % 2}
        target = {"bare_post": "/bench/bare-post/", "bare_auth": "/bench/bare-auth/"}.get(
            phase, f"/attempts/{attempt}/answer/"
        )
    body = urlencode(fields).encode()
    headers += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return f"POST {target} HTTP/1.1\r\n".encode() + "\r\n".join(headers).encode() + b"\r\n\r\n" + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes):
    """Send one request on a keep-alive connection; return (status, body, server closes the connection)."""
    writer.write(request)
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    closes = headers.get("connection", "").lower() == "close"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        for _ in range(100_000):
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(chunk[:-2] for chunk in chunks)
    else:
        body, closes = await reader.read(10_000_000), True
    return status, body, closes


async def load_phase(spec: dict) -> dict:
    phase, clients = spec["phase"], spec["clients"]
    concurrency = min(spec["concurrency"], len(clients))
    start = time.perf_counter()
    window_start = start + spec["warmup"]
    stop_at = window_start + spec["duration"]
    hard_stop = stop_at + 60 if phase != "submit" else start + max(120, spec["duration"] * 10)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    first_errors: list[str] = []
    done_at: list[float] = []
    submit_queue = list(reversed(clients)) if phase == "submit" else []
    sent_count = 0

    async def client_loop(index: int) -> None:
        nonlocal sent_count
        reader = writer = None
        for number in range(MAX_REQUESTS_PER_CLIENT):
            now = time.perf_counter()
            if now >= hard_stop:
                break
            if phase == "submit":
                if not submit_queue:
                    break
                client = submit_queue.pop()
            elif now >= stop_at:
                break
            else:
                client = clients[index]
            request = build_request(spec, client, phase=phase, number=number + index)
            sent = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, spec["port"]), 10)
                status, body, closes = await asyncio.wait_for(
                    exchange(reader, writer, request), REQUEST_TIMEOUT_S
                )
                label = str(status)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                status, body, closes, label = 0, repr(exc).encode(), True, type(exc).__name__
            received = time.perf_counter()
            sent_count += 1
            if closes and writer is not None:
                writer.close()
                reader = writer = None
            measured = phase == "submit" or window_start <= received <= stop_at
            if not 200 <= status < 400 and len(first_errors) < 5:
                first_errors.append(f"{label}: {body[:200].decode(errors='replace')}")
            if measured or not 200 <= status < 400:
                statuses[label] += 1
            if measured:
                latencies.append(received - sent)
                done_at.append(received)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client_loop(index) for index in range(concurrency)))
    end = time.perf_counter()
    window = spec["duration"]
    if phase == "submit":
        window = (max(done_at) - start) if done_at else end - start
    latencies.sort()
    errors = sum(count for label, count in statuses.items() if not label.startswith(("2", "3")))

    def ms(quantile: float) -> float:
        if not latencies:
            return 0.0
        return round(1000 * latencies[min(len(latencies) - 1, int(quantile * len(latencies)))], 1)

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / window, 1) if window else 0.0,
        "p50_ms": ms(0.50),
        "p95_ms": ms(0.95),
        "max_ms": round(1000 * latencies[-1], 1) if latencies else 0.0,
        "window_s": round(window, 2),
        "statuses": dict(statuses),
        "first_errors": first_errors,
        "phase_wall_s": round(end - start, 3),
        "sent": sent_count,
    }


if __name__ == "__main__":
    main()
