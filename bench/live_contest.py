"""A live contest at scale: W daphne processes, PostgreSQL and Redis, N players on loopback, Q questions.

    .venv/bin/python bench/live_contest.py --players 2000 --workers 2 --questions 3

It makes a fresh PostgreSQL database `qk_bench_live` (migrated; a host, a quiz of Q fixed single-choice
questions, a contest with 30 s per question that allows guests, N players created in bulk with their
tokens, and a signed-in session for the host), flushes Redis database 14, starts W daphne processes (DEBUG
off, production settings, a listen backlog of --backlog instead of Twisted's 50) and a bare `websockets`
broadcast server (bench/live_ceiling.py), and runs the players and the host in one other process
(bench/live_client.py), spread round-robin over the daphne processes:

- every player connects at once, says `hello` with its token and waits for `welcome` (the reconnect storm
  a restart causes: connect time and the kernel's listen-queue overflows are reported);
- the host sends `start`, then for every question: each player answers one option as soon as it has the
  question (`--think-ms` spreads the answers out instead), the question closes, `next` shows the
  leaderboard, `next` opens the next question. The fan-out of a question is, for each player, the time from
  the host's `start`/`next` (taken just before the frame is written) until that player has the question;
- after question 1 the contest stays idle for --idle-gap seconds (nothing is sent; every connection must
  survive it), and after question 2 every player's connection is dropped and all reconnect at once;
- then the same N clients connect to the bare server, which broadcasts a question-sized text
  --ceiling-rounds times: the ceiling of one Python process on this machine.

For each question it prints the fan-out (p50, p95, max, and max per daphne process), the answers sent,
acknowledged, recorded (LiveAnswer rows) and lost, refusals by code, the acknowledgement times, and the CPU
seconds of each process in the question; then connect, idle-gap, reconnect-storm and ceiling figures and CPU
and peak memory (VmHWM) per process. The last line is one JSON object: players, workers, questions,
fanout_ms {p50, p95, max} over every question and player, answers_sent, answers_recorded, answers_lost
(sent - recorded), ceiling_fanout_ms {max, ...}, followed by a few more figures (disconnects, too_late, ...).

By default the servers run exactly as the site deploys them (edu.settings: channels_redis core layer; daphne's
own 5 s --websocket_connect_timeout). Variants, to measure a change before anyone makes it in the app:

- --layer pubsub | core-maxconn | core-timeout5: another channel layer (bench/bench_settings_live.py);
- --connect-timeout S: daphne's --websocket_connect_timeout;
- --direct-dispatch, --db-threads N: the live consumers without Channels' per-message
  close_old_connections hop, or with their database calls on N threads (bench/live_asgi.py);
- --db-pool N: Django's PostgreSQL connection pool; --think-ms LOW-HIGH: answers spread out.

--profile DIR writes a cProfile of every daphne process (slow: for finding where the time goes, not for
figures). --wait-quiet waits (up to --quiet-limit s, 20 minutes) until the 1-minute load average is under
0.7 before starting. The ceiling's first broadcast is a warm-up and not measured. Traffic stays on
127.0.0.1; everything started is stopped, and the database and Redis database flushed, at the end, also on
error. Exit status 1 when not every player was welcomed, an answer was lost or refused as too late, or a
player was disconnected.
"""

import argparse
import contextlib
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, where bench/volunteers.py would shadow the volunteers app.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.sessions import signed_in_session  # noqa: E402 - after the path fix above

PYTHON = sys.executable
DAPHNE = Path(sys.executable).with_name("daphne")
HOST = "127.0.0.1"
DB_NAME = "qk_bench_live"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_START_LIMIT_S = 60
SETUP_LIMIT_S = 600
QUIET_LOAD = 0.7
QUIET_POLL_S = 30
QUIET_LIMIT_S = 20 * 60


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="daphne processes")
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument(
        "--layer",
        choices=["site", "pubsub", "core-maxconn", "core-timeout5"],
        default="site",
        help="channel layer",
    )
    parser.add_argument("--db-pool", type=int, default=0, help="experiments: Django's PostgreSQL pool size")
    parser.add_argument(
        "--db-threads", type=int, default=0, help="experiments: consumers' database calls on N threads"
    )
    parser.add_argument(
        "--direct-dispatch",
        action="store_true",
        help="experiments: consumers skip Channels' close_old_connections hop before every message",
    )
    parser.add_argument("--backlog", type=int, default=2048, help="daphne's listen backlog (Twisted's is 50)")
    parser.add_argument(
        "--connect-timeout",
        type=int,
        default=None,
        help="daphne's --websocket_connect_timeout (default: daphne's, 5 s)",
    )
    parser.add_argument("--idle-gap", type=float, default=8.0, help="seconds idle after question 1 (0: none)")
    parser.add_argument("--no-storm", action="store_true", help="no reconnect storm after question 2")
    parser.add_argument("--think-ms", default="0", help="answer delay: 0, or LOW-HIGH drawn uniformly")
    parser.add_argument("--ceiling-rounds", type=int, default=3)
    parser.add_argument("--base-port", type=int, default=0, help="first port (default: free ports)")
    parser.add_argument("--conn-max-age", type=int, default=None, help="experiments: DB_CONN_MAX_AGE")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of every daphne process here")
    parser.add_argument("--wait-quiet", action="store_true", help="wait until the load average is low")
    parser.add_argument("--quiet-limit", type=float, default=QUIET_LIMIT_S, help="seconds --wait-quiet waits")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--logs", metavar="DIR", help="copy the servers' logs here")
    parser.add_argument("--out", metavar="FILE", help="write every figure (JSON) here")
    parser.add_argument("--internal", choices=["setup"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.internal:
        internal_setup(json.loads(Path(args.spec).read_text()))
        return
    if not 1 <= args.players <= 20000 or not 1 <= args.workers <= 16 or not 1 <= args.questions <= 50:
        parser.error("--players 1..20000, --workers 1..16, --questions 1..50")
    redis_db = urlparse(args.redis_url).path.strip("/")
    if not redis_db.isdigit() or redis_db == "0":
        parser.error("--redis-url must name a database other than 0 (it is flushed): redis://host:port/14")
    low, _, high = args.think_ms.partition("-")
    think = (float(low), float(high or low))
    if not 0 <= think[0] <= think[1] <= 20000:
        parser.error("--think-ms: 0, or LOW-HIGH milliseconds with LOW <= HIGH <= 20000")

    raise_nofile()
    if args.wait_quiet:
        wait_until_quiet(args.quiet_limit)
    result = run(args, think)
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print_report(result)
    figures = result["summary"]
    print(json.dumps(figures, ensure_ascii=False))
    if figures["aborted"] or figures["answers_lost"] or figures["answers_too_late"] or figures["disconnects"]:
        sys.exit(1)


# --- the orchestrator -------------------------------------------------------------------------------------


def run(args: argparse.Namespace, think: tuple[float, float]) -> dict:
    ports = pick_ports(args.base_port, args.workers + 1)
    worker_ports, ceiling_port = ports[:-1], ports[-1]
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_live_"))
    env = server_env(args)
    servers: list[subprocess.Popen] = []
    ceiling = None
    logs: list[Path] = []
    try:
        loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
        print(f"load average before: {' '.join(loadavg_before)}", flush=True)
        pg_admin(args.pg_url, create=True)
        flush_redis(args.redis_url)
        started = time.perf_counter()
        spec_path = workdir / "setup.json"
        setup_out = workdir / "setup-out.json"
        spec_path.write_text(
            json.dumps({"players": args.players, "questions": args.questions, "out": str(setup_out)})
        )
        subprocess.run(  # noqa: S603 - this script, fixed arguments
            [PYTHON, str(Path(__file__).resolve()), "--internal", "setup", "--spec", str(spec_path)],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=SETUP_LIMIT_S,
        )
        setup = json.loads(setup_out.read_text())
        print(
            f"set-up: migrate, host, quiz of {args.questions} questions, contest {setup['contest_id']}, "
            f"{args.players} players: {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        for number, port in enumerate(worker_ports, start=1):
            log = workdir / f"daphne-{number}.log"
            logs.append(log)
            endpoint = f"tcp:port={port}:interface={HOST}:backlog={args.backlog}"
            patched = args.db_threads or args.direct_dispatch
            app = "bench.live_asgi:application" if patched else "edu.asgi:application"
            argv = [str(DAPHNE), "-e", endpoint, app]
            if args.connect_timeout is not None:
                argv[1:1] = ["--websocket_connect_timeout", str(args.connect_timeout)]
            if args.profile:
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                out = Path(args.profile).resolve() / f"daphne-{number}.prof"
                argv = [PYTHON, str(ROOT / "bench" / "live_profile.py"), str(out), *argv[1:]]
            with log.open("wb") as handle:
                servers.append(
                    subprocess.Popen(  # noqa: S603 - fixed argv, our own daphne
                        argv,
                        cwd=ROOT,
                        env=env,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for server, port, log in zip(servers, worker_ports, logs, strict=True):
            wait_until_serving(server, port, log)
        ceiling_log = workdir / "ceiling.log"
        with ceiling_log.open("wb") as handle:
            ceiling = subprocess.Popen(  # noqa: S603 - fixed argv, our own script
                [PYTHON, str(ROOT / "bench" / "live_ceiling.py"), str(ceiling_port), str(args.backlog)],
                cwd=ROOT,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(ceiling, ceiling_port, ceiling_log)
        pids = {f"daphne-{n}": server.pid for n, server in enumerate(servers, start=1)}
        redis_pid = find_redis_pid()
        if redis_pid:
            pids["redis"] = redis_pid
        client_spec = {
            "ports": worker_ports,
            "contest_id": setup["contest_id"],
            "tokens": setup["tokens"],
            "host_cookie": setup["host_cookie"],
            "questions": args.questions,
            "idle_gap": args.idle_gap,
            "idle_after": 0 if args.questions >= 2 else -1,
            "storm_after": 1 if args.questions >= 3 and not args.no_storm else -1,
            "think_ms": think,
            "ceiling_port": ceiling_port,
            "ceiling_rounds": args.ceiling_rounds,
            "pids": pids,
            "ceiling_pids": {"ceiling": ceiling.pid},
            "limits": {"connect": 120, "fanout": 60, "answers": 90, "phase": 60},
            "out": str(workdir / "client-out.json"),
        }
        (workdir / "client.json").write_text(json.dumps(client_spec))
        limit = 2 * 120 + args.questions * (60 + 2 * 90 + 3 * 60) + args.idle_gap + 3 * 120
        print(f"playing: {args.players} players over {args.workers} daphne processes ...", flush=True)
        client = subprocess.run(  # noqa: S603 - our own script
            [PYTHON, str(ROOT / "bench" / "live_client.py"), str(workdir / "client.json")],
            cwd=ROOT,
            timeout=limit,
            check=False,
        )
        if client.returncode != 0:
            raise RuntimeError(f"the client failed ({client.returncode}); server logs:\n{server_logs(logs)}")
        figures = json.loads(Path(client_spec["out"]).read_text())
        processes = {}
        for name, server in zip(pids, servers, strict=False):
            processes[name] = process_figures(server.pid)
        processes["ceiling"] = process_figures(ceiling.pid)
        processes["client"] = {"cpu_s": figures["client_cpu_s"], "peak_rss_mb": figures["client_peak_rss_mb"]}
        for server in servers:
            stop(server)
        servers = []
        recorded = recorded_answers(args.pg_url, setup["tokens"])
        return assemble(args, figures, recorded, processes, loadavg_before, logs)
    finally:
        for server in servers:
            stop(server)
        if ceiling is not None:
            stop(ceiling)
        if not args.keep_db:
            with contextlib.suppress(Exception):
                pg_admin(args.pg_url, create=False)
        with contextlib.suppress(Exception):
            flush_redis(args.redis_url)
        for path in sorted(workdir.iterdir()) if workdir.exists() else ():
            if args.logs and path.suffix == ".log":
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, Path(args.logs) / path.name)
            if path.suffix == ".log" and _errors_in_log(path):
                print(f"{path.name} (errors), last lines:\n{tail(path)}", flush=True)
            path.unlink()
        with contextlib.suppress(OSError):
            workdir.rmdir()


def assemble(args, figures: dict, recorded: dict, processes: dict, loadavg_before, logs) -> dict:
    questions = figures["questions"]
    every = [t for q in questions for t in q.pop("_fanout")]
    for q in questions:
        index = str(q["index"])
        q["answers_recorded"] = recorded["per_question"].get(index, 0)
        acked = set(figures["acked"].get(index, []))
        q["acked_not_recorded"] = len(acked - set(recorded["players"].get(index, [])))
        q["answers_lost"] = q["answers_sent"] - q["answers_recorded"]
    sent = sum(figures["sent"].values())
    total_recorded = sum(recorded["per_question"].values())
    idle = figures.get("idle") or {}
    storm = figures.get("storm") or {}
    ceiling = figures["ceiling"]
    summary = {
        "players": args.players,
        "workers": args.workers,
        "questions": args.questions,
        "fanout_ms": {
            "p50": round(1000 * percentile(every, 0.5), 1) if every else None,
            "p95": round(1000 * percentile(every, 0.95), 1) if every else None,
            "max": round(1000 * max(every), 1) if every else None,
        },
        "answers_sent": sent,
        "answers_recorded": total_recorded,
        "answers_lost": sent - total_recorded,
        "ceiling_fanout_ms": {
            "max": ceiling["fanout_ms"]["max"],
            "p50": ceiling["fanout_ms"]["p50"],
            "p95": ceiling["fanout_ms"]["p95"],
        },
        "answers_acked": sum(q["answers_acked"] for q in questions),
        "answers_too_late": figures["too_late"],
        "answers_acked_not_recorded": sum(q["acked_not_recorded"] for q in questions),
        "players_missing_a_question": sum(args.players - q["received"] for q in questions),
        "disconnects": len(figures["disconnects"]),
        "idle_gap_s": idle.get("gap_s", 0),
        "idle_disconnects": idle.get("disconnects"),
        "connect_all_welcomed_s": figures["connect"]["all_welcomed_s"],
        "storm_all_welcomed_s": storm.get("all_welcomed_s"),
        "listen_overflows": figures["connect"]["listen_overflows"] + storm.get("listen_overflows", 0),
        "layer": args.layer,
        "db_pool": args.db_pool,
        "db_threads": args.db_threads,
        "direct_dispatch": args.direct_dispatch,
        "backlog": args.backlog,
        "websocket_connect_timeout": args.connect_timeout if args.connect_timeout is not None else 5,
        "aborted": figures.get("aborted"),
        "think_ms": args.think_ms,
        "loadavg_before": " ".join(loadavg_before),
    }
    return {
        "summary": summary,
        "figures": figures,
        "processes": processes,
        "recorded": recorded,
        "server_errors": [log.name for log in logs if _errors_in_log(log)],
    }


def print_report(result: dict) -> None:
    s, f = result["summary"], result["figures"]
    print(
        f"\n== live contest: {s['players']} players, {s['workers']} daphne processes, "
        f"{s['questions']} questions; layer {s['layer']}, db pool {s['db_pool'] or 'off'}, "
        f"db threads {s['db_threads'] or 1}, direct dispatch {'on' if s['direct_dispatch'] else 'off'}, "
        f"backlog {s['backlog']}, websocket_connect_timeout {s['websocket_connect_timeout']} s, "
        f"think {s['think_ms']} ms; load before {s['loadavg_before']}"
    )
    print_connect(f["connect"])
    if f.get("aborted"):
        print(f"ABORTED: {f['aborted']}")
    for q in f["questions"]:
        fan = q["fanout_ms"]
        by_port = ", ".join(
            f"daphne-{n}: {ms}" for n, ms in enumerate(q["fanout_max_ms_by_port"].values(), start=1)
        )
        print(
            f"question {q['index'] + 1}: fan-out p50 {fan['p50']} ms, p95 {fan['p95']} ms, "
            f"max {fan['max']} ms ({q['received']}/{s['players']} have it; max by process {by_port}); "
            f"leaderboard fan-out max {q['leaderboard_fanout_ms']['max']} ms"
        )
        ack = q["ack_ms"]
        print(
            f"  answers sent {q['answers_sent']}, acknowledged {q['answers_acked']}, recorded "
            f"{q['answers_recorded']}, lost {q['answers_lost']} (acknowledged but not recorded "
            f"{q['acked_not_recorded']}), refused {q['answer_errors'] or 0}; answer→ack p50 {ack['p50']} ms, "
            f"p95 {ack['p95']} ms, max {ack['max']} ms; last ack {q['all_acked_after_next_s']} s after next"
        )
        cpu = q["cpu_s"]
        parts = ", ".join(
            f"{name} {value}" for name, value in cpu.items() if name not in ("machine_busy_pct", "wall_s")
        )
        print(
            f"  CPU s in the question ({cpu['wall_s']} s wall): {parts}; "
            f"machine busy {cpu['machine_busy_pct']}%"
        )
    idle = f.get("idle")
    if idle:
        print(
            f"idle gap: {idle['gap_s']:g} s after question {idle['after_question'] + 1}: "
            f"{idle['disconnects']} disconnected, {idle['connected_after']}/{s['players']} connected after"
        )
    if f.get("storm"):
        print_connect(f["storm"])
    print(f"podium fan-out: {f['podium_fanout_ms']}")
    c = f["ceiling"]
    print(
        f"ceiling (bare websockets, {c['payload_bytes']} B, question was {f['question_bytes']} B): "
        f"{c['opened']}/{c['clients']} connected in {c['all_open_s']} s; "
        + "; ".join(
            f"round {r['round'] + 1}: p50 {r['fanout_ms']['p50']} ms, p95 {r['fanout_ms']['p95']} ms, "
            f"max {r['fanout_ms']['max']} ms ({r['fanout_ms']['n']})"
            for r in c["rounds"]
        )
        + f"; CPU s {c['cpu_s']}"
    )
    print(
        "processes (whole run): " + "; ".join(f"{name}: {fig}" for name, fig in result["processes"].items())
    )
    print(
        f"disconnects {s['disconnects']} (close codes {f['disconnect_codes']}); host errors "
        f"{f['host_errors']}; connect errors {f['connect_errors']} {f['connect_error_samples'][:2]}; "
        f"too late {s['answers_too_late']}; "
        f"server logs with errors: {result['server_errors'] or 'none'}",
        flush=True,
    )


def print_connect(c: dict) -> None:
    print(
        f"{c['label']}: {c['welcomed']}/{c['players']} welcomed; all open after {c['all_open_s']} s, all "
        f"welcomed after {c['all_welcomed_s']} s (welcome p50 {c['welcome_ms']['p50']} ms, p95 "
        f"{c['welcome_ms']['p95']} ms); connect errors {c['connect_errors']}; listen overflows "
        f"{c['listen_overflows']}, drops {c['listen_drops']}; phases {c['welcome_phases']}"
    )
    print(f"  opened per second {c['opened_per_second']}; welcomed per second {c['welcomed_per_second']}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- processes, ports, services ---------------------------------------------------------------------------


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_until_quiet(limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        load = float(Path("/proc/loadavg").read_text().split()[0])
        if load < QUIET_LOAD:
            print(f"machine quiet: 1-minute load {load}", flush=True)
            return
        if time.monotonic() >= deadline:
            print(
                f"WARNING: the machine never got quiet in {limit:g} s (load {load}); running anyway",
                flush=True,
            )
            return
        print(f"waiting for a quiet machine: 1-minute load {load}", flush=True)
        time.sleep(QUIET_POLL_S)


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="edu.settings"
        if args.layer == "site" and not args.db_pool
        else "bench.bench_settings_live",
        QK_BENCH_LIVE_LAYER=args.layer,
        QK_BENCH_LIVE_DB_POOL=str(args.db_pool),
        QK_BENCH_LIVE_DB_THREADS=str(args.db_threads),
        QK_BENCH_LIVE_DIRECT_DISPATCH="1" if args.direct_dispatch else "0",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"{args.pg_url.rstrip('/')}/{DB_NAME}",
        REDIS_URL=args.redis_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    if args.conn_max_age is None:
        env.pop("DB_CONN_MAX_AGE", None)
    else:
        env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    return env


def pick_ports(base: int, count: int) -> list[int]:
    ports: list[int] = []
    candidates = range(base, base + count) if base else iter(int, 1)
    for candidate in candidates:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, candidate))
            except OSError as exc:
                raise SystemExit(f"port {candidate} is in use: {exc}") from None
            port = sock.getsockname()[1]
        if port != 8000 and port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise SystemExit("no free ports")


def pg_admin(base_url: str, *, create: bool) -> None:
    """Drop qk_bench_live if it is there, and create it afresh when asked to."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{base_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()


def recorded_answers(base_url: str, tokens: list[str]) -> dict:
    """LiveAnswer rows per question position, and which players (by their index) each question has."""
    import psycopg

    index_of = {token: n for n, token in enumerate(tokens)}
    per_question: dict[str, int] = {}
    players: dict[str, list[int]] = {}
    with psycopg.connect(f"{base_url.rstrip('/')}/{DB_NAME}", connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT q.position, p.token FROM quizzes_liveanswer a "
            "JOIN quizzes_livequestion q ON q.id = a.question_id "
            "JOIN quizzes_liveplayer p ON p.id = a.player_id"
        ).fetchall()
    for position, token in rows:
        per_question[str(position)] = per_question.get(str(position), 0) + 1
        players.setdefault(str(position), []).append(index_of.get(token, -1))
    return {"per_question": per_question, "players": players}


def find_redis_pid() -> int | None:
    """The local redis-server's pid, to read its CPU time (read only)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "redis-server":
                    return int(entry.name)
    return None


def wait_until_serving(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"daphne exited with {server.returncode}:\n{tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(
                f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
            )
            if sock.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer /healthz within {SERVER_START_LIMIT_S} s:\n{tail(log_path)}")


def wait_for_port(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the ceiling server exited with {server.returncode}:\n{tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the ceiling server did not listen within {SERVER_START_LIMIT_S} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def process_figures(pid: int) -> dict:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = stat[stat.rindex(")") + 2 :].split()
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return {
        "cpu_s": round((int(fields[11]) + int(fields[12])) / CLK_TCK, 2),
        "peak_rss_mb": round(hwm / 1024, 1),
    }


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def server_logs(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{tail(log)}" for log in logs)


def _errors_in_log(path: Path) -> bool:
    if not path.exists():
        return False
    text = path.read_text(errors="replace")
    return "Traceback" in text or "ERROR" in text


# --- set-up, in a child process with the servers' settings ------------------------------------------------


def internal_setup(spec: dict) -> None:
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from edu.models import Region, School, User
    from quizzes.importing import ParsedQuestion
    from quizzes.live.services import contest_create
    from quizzes.models import LivePlayer, Question, Quiz, QuizQuestion
    from quizzes.services import category_for_path, question_create

    call_command("migrate", verbosity=0, interactive=False)
    players = spec["players"]
    with transaction.atomic():
        province = Region.objects.create(code="990000", name="基准省", name_en="Bench Province", level=1)
        school = School.objects.create(
            code="BENCH00001", name="基准第一中学", level=School.Level.JUNIOR, region=province
        )
        host = User.objects.create(
            username="bench_live_host",
            nickname="主持人",
            is_teacher=True,
            school=school,
            password=make_password(secrets.token_urlsafe(16)),
        )
        category = category_for_path(names=["法律", "刑法"])
        questions = [
            question_create(
                parsed=ParsedQuestion(
                    type="single",
                    stem=f"第{n + 1}题：下列关于未成年人保护的说法，哪一项是正确的？",
                    options=tuple(
                        f"第{n + 1}题的选项{letter}，一段与真实题目差不多长的文字" for letter in "ABCD"
                    ),
                    correct=("B",),
                    explanation=f"解析{n + 1}：乙项正确。",
                    category=("法律", "刑法"),
                ),
                category=category,
                user=None,
                status=Question.Status.READY,
            )
            for n in range(spec["questions"])
        ]
        quiz = Quiz.objects.create(
            title="直播竞赛基准",
            access=Quiz.Access.LINK,
            selection=Quiz.Selection.FIXED,
            is_published=True,
            created_by=host,
        )
        QuizQuestion.objects.bulk_create(
            QuizQuestion(quiz=quiz, question=question, position=position)
            for position, question in enumerate(questions)
        )
    contest = contest_create(
        quiz=quiz, host=host, seconds_per_question=30, allow_guests=True, max_players=players + 10
    )
    tokens = [secrets.token_urlsafe(32) for _ in range(players)]
    LivePlayer.objects.bulk_create(
        (LivePlayer(contest=contest, nickname=f"玩家{n:05d}", token=token) for n, token in enumerate(tokens)),
        batch_size=1000,
    )
    Path(spec["out"]).write_text(
        json.dumps(
            {
                "contest_id": contest.pk,
                "tokens": tokens,
                "host_cookie": f"{settings.SESSION_COOKIE_NAME}={signed_in_session(host)}",
            }
        )
    )


if __name__ == "__main__":
    main()
