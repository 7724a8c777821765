"""What the benchmarks on a generated database share: making (or reusing) the database with generate_scale,
running manage.py, a child step of the benchmark, the server's environment, starting and finishing the
server, and the figures' summary.

Used by bench/enrollment.py, bench/volunteers.py and bench/dashboard.py (the rest of their plumbing is
bench/quiz_answers.py's).
"""

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.quiz_answers import HOST

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GENERATE_LIMIT_S = 4 * 3600
STEP_LIMIT_S = 3600


def default_database(full_scale_name: str, scale: float) -> str:
    """The full-scale database's name at scale 1; a quick run gets its own (…_0_01), so that it never
    replaces the full one."""
    if scale == 1:
        return full_scale_name
    return f"{full_scale_name}_{scale:g}".replace(".", "_").replace("-", "_")


def generate(args: argparse.Namespace, name: str, env: dict) -> dict:
    import psycopg
    from psycopg import sql

    if not name.startswith("qk_bench_"):
        raise SystemExit("only qk_bench_* databases are created and dropped here")
    with psycopg.connect(f"{args.pg_url.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage(["migrate", "--noinput", "-v", "0"], env)
    print(f"generating {name} at scale {args.scale:g} (progress on stderr) ...", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - manage.py, fixed arguments
        [PYTHON, "manage.py", "generate_scale", "--scale", str(args.scale)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=GENERATE_LIMIT_S,
    )
    print(completed.stdout, flush=True)
    if completed.returncode:
        raise RuntimeError(f"generate_scale failed ({completed.returncode})")
    return {"seconds": round(time.perf_counter() - started, 1), "output": completed.stdout}


def manage(arguments: list[str], env: dict) -> None:
    subprocess.run([PYTHON, "manage.py", *arguments], cwd=ROOT, env=env, check=True, timeout=STEP_LIMIT_S)  # noqa: S603


def database_exists(base_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{base_url.rstrip('/')}/postgres", connect_timeout=10) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def flush_redis(url: str) -> None:
    if not url:
        return
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(url).flushdb()


def server_env(*, db_url: str, redis_url: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def run_internal(script: Path, step: str, spec: dict, env: dict, workdir: Path) -> dict:
    """One step of `script` in a child process of its own (Django on the database, or the HTTP clients)."""
    spec_path = workdir / f"spec-{step}.json"
    out = workdir / f"out-{step}.json"
    spec_path.write_text(json.dumps(spec | {"out": str(out)}))
    completed = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [PYTHON, str(script), "--internal", step, "--spec", str(spec_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_LIMIT_S,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"step {step} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return json.loads(out.read_text())


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def summary(values_ms: list[float]) -> dict:
    values = sorted(values_ms)
    if not values:
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[min(len(values) - 1, int(0.95 * len(values)))], 1),
        "max_ms": round(values[-1], 1),
    }


def database_ready(args: argparse.Namespace, name: str, env: dict) -> dict | None:
    """The run's database: the one --db names (migrated), else a new one generate_scale fills; returns the
    generation's figures, None for a reused database."""
    if args.db:
        if not database_exists(args.pg_url, name):
            raise SystemExit(f"database {name} does not exist")
        manage(["migrate", "--noinput", "-v", "0"], env)
        return None
    if database_exists(args.pg_url, name) and not args.recreate:
        raise SystemExit(
            f"database {name} exists: reuse it with --db {name}, or drop and regenerate it with --recreate"
        )
    return generate(args, name, env)


def start_server(env: dict, log_path: Path, port: int) -> subprocess.Popen:
    """One daphne process of the site on 127.0.0.1:port, its output in log_path; returns once it serves."""
    from bench.quiz_answers import DAPHNE, wait_until_serving

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
    return server


def finish(*, server: subprocess.Popen | None, redis_url: str, log_path: Path, workdir: Path) -> None:
    """The end of every run, after an error too: the server stopped, Redis flushed, the server's traceback
    shown if it had one, the work folder removed."""
    from bench.quiz_answers import stop, tail

    if server is not None:
        stop(server)
    flush_redis(redis_url)
    if log_path.exists() and "Traceback" in log_path.read_text(errors="replace"):
        print(f"server log, last lines:\n{tail(log_path)}", flush=True)
    for path in sorted(workdir.iterdir()) if workdir.exists() else ():
        path.unlink()
    with contextlib.suppress(OSError):
        workdir.rmdir()
