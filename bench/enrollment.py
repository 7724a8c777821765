"""The second classroom at the seeds' scale: the term's figures pages, signed in as each kind of office.

Against a PostgreSQL database filled by `generate_scale` (11,186 schools, 5.29 million students with their
StudentProgress rows and SchoolTermFigures at --scale 1.0), it measures:

- the rollups: `term_figures_refresh` for the whole province (the `refresh_term_figures` command's work) once,
  and `school_figures_refresh` for the largest schools, R times (the refresh after each event);
- the figures pages, one request at a time over keep-alive, signed in as the province's organiser, a city's,
  a county's and a school administrator (a teacher made for the run, deleted afterwards):
  province  — the province page (its cities), a city page, a county page (its schools), a school page
              (its classes), the schools below the targets (first page, 50 of thousands);
  city      — the city page (its counties), a county page, a school page;
  county    — the county page (its schools), a school page, the schools below the targets;
  school    — the school page;
  each N times (--samples), drilling into different cities, counties and schools of the user's region,
  so that no two requests read the same rows; p50/p95/max per page; the goal is 500 ms at p95.

The server is one daphne process with DEBUG=0 (bench.bench_settings: the site's settings and URLs), the
site's PostgreSQL pool and Redis (--redis-url, a database of its own, flushed) for the cache and sessions.

    .venv/bin/python bench/enrollment.py                             # create qk_bench_enrollment (scale 1.0)
    .venv/bin/python bench/enrollment.py --db qk_bench_enrollment    # reuse a generated database
    .venv/bin/python bench/enrollment.py --scale 0.02                # a quick run: qk_bench_enrollment_0_02

Without --db the script creates `qk_bench_enrollment` (or `qk_bench_enrollment_0_02` and the like for another
--scale) with `generate_scale --scale S` (all parts: the classroom part builds on the volunteers'); it refuses
to drop an existing one unless --recreate. The last
line printed is one JSON object: students, schools, pages_p95_ms {page: ms}, worst_p95_ms, goal_ms, met, then
the details. Exit status 1 when a page answered with an error.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.quiz_answers import (  # noqa: E402 - after the path fix above
    HOST,
    exchange,
    free_port,
    proc_cpu_seconds,
)
from bench.scale_harness import (  # noqa: E402 - after the path fix above
    database_ready,
    default_database,
    finish,
    flush_redis,
    loadavg,
    run_internal,
    server_env,
    start_server,
    summary,
)
from bench.sessions import signed_in_session  # noqa: E402

SCRIPT = Path(__file__).resolve()
DAPHNE = Path(sys.executable).with_name("daphne")
DEFAULT_DB = "qk_bench_enrollment"
GOAL_MS = 500
REQUEST_TIMEOUT_S = 120
BENCH_ADMIN = "qkgen_bench_school_admin"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="", help="reuse this generated database (default: create one)")
    parser.add_argument("--scale", type=float, default=1.0, help="generate_scale --scale for a new database")
    parser.add_argument("--recreate", action="store_true", help=f"drop and regenerate {DEFAULT_DB}")
    parser.add_argument("--samples", type=int, default=20, help="requests of each page")
    parser.add_argument("--refreshes", type=int, default=20, help="single-school refreshes timed")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="flushed; '' for none")
    parser.add_argument("--internal", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.internal:
        spec = json.loads(Path(args.spec).read_text())
        {"setup": internal_setup, "cleanup": internal_cleanup, "pages": internal_pages}[args.internal](spec)
        return
    if not 1 <= args.samples <= 1000 or not 1 <= args.refreshes <= 1000:
        parser.error("--samples and --refreshes in 1..1000")
    if args.redis_url and args.redis_url.rstrip("/").endswith("/0"):
        parser.error("--redis-url must name a database other than 0 (it is flushed)")

    result = run(args)
    print_report(result)
    pages = result["pages"]["pages"]
    worst = max(page["p95_ms"] for page in pages.values())
    headline = {
        "students": result["data"]["students"],
        "schools": result["data"]["schools"],
        "pages_p95_ms": {name: page["p95_ms"] for name, page in pages.items()},
        "worst_p95_ms": worst,
        "goal_ms": GOAL_MS,
        "met": worst <= GOAL_MS and not result["pages"]["errors"],
        "term_refresh_s": result["data"]["term_refresh_s"],
        "school_refresh_p95_ms": result["data"]["school_refresh"]["p95_ms"],
    }
    print(json.dumps(headline | {"details": result}, ensure_ascii=False))
    if result["pages"]["errors"]:
        sys.exit(1)


# --- the orchestrator -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    name = args.db or default_database(DEFAULT_DB, args.scale)
    db_url = f"{args.pg_url.rstrip('/')}/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_enrollment_"))
    env = server_env(db_url=db_url, redis_url=args.redis_url)
    result: dict = {"params": vars(args) | {"database": name}, "loadavg_before": loadavg()}
    print(f"load average before: {' '.join(result['loadavg_before'])}", flush=True)
    server = None
    log_path = workdir / "daphne.log"
    setup: dict = {}
    try:
        result["generation"] = database_ready(args, name, env)
        flush_redis(args.redis_url)
        setup = run_internal(
            SCRIPT,
            "setup",
            {"samples": args.samples, "refreshes": args.refreshes, "seed": args.seed},
            env,
            workdir,
        )
        result["data"] = setup["data"]
        print_data(result["data"])
        port = args.port or free_port()
        server = start_server(env, log_path, port)
        cpu_before = proc_cpu_seconds(server.pid)
        spec = {"port": port, "cookie_names": setup["cookie_names"], "requests": setup["requests"]}
        result["pages"] = run_internal(SCRIPT, "pages", spec, os.environ.copy(), workdir)
        result["pages"]["server_cpu_s"] = round(proc_cpu_seconds(server.pid) - cpu_before, 2)
        print_pages(result["pages"])
        return result
    finally:
        if setup:
            with contextlib.suppress(Exception):
                run_internal(SCRIPT, "cleanup", {"sessions": setup["sessions"]}, env, workdir)
        finish(server=server, redis_url=args.redis_url, log_path=log_path, workdir=workdir)


# --- report ---------------------------------------------------------------------------------------------


def print_data(data: dict) -> None:
    print(
        f"== data: {data['students']:,} students, {data['schools']:,} schools, "
        f"{data['progress_rows']:,} progress rows; database {data['database_gib']} GiB\n"
        f"term_figures_refresh (whole province): {data['term_refresh_s']} s; "
        f"school_figures_refresh (largest schools, {data['school_refresh']['n']}×): "
        f"p50 {data['school_refresh']['p50_ms']} ms, p95 {data['school_refresh']['p95_ms']} ms",
        flush=True,
    )


def print_pages(figures: dict) -> None:
    print(f"\n== figures pages, one request at a time (goal p95 ≤ {GOAL_MS} ms)")
    print(f"{'page':<28} {'n':>4} {'errors':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for name, f in figures["pages"].items():
        times = f"{f['p50_ms']:>9.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}"
        print(f"{name:<28} {f['n']:>4} {f['errors']:>6} {times}")
    if figures["first_errors"]:
        print(f"  first errors: {figures['first_errors']}")
    print(f"server CPU: {figures['server_cpu_s']} s", flush=True)


def print_report(result: dict) -> None:
    print(
        f"\nload average before {' '.join(result['loadavg_before'])}, after {' '.join(loadavg())} "
        f"(2 shared cores)"
    )
    if result.get("generation"):
        print(f"generation: {result['generation']['seconds']} s")


# --- Django steps, in child processes with the server's settings --------------------------------------------


def _django() -> None:
    import django

    django.setup()


def internal_setup(spec: dict) -> None:
    """Time the refreshes; sign in the four personas; list the requests each makes."""
    _django()

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.urls import reverse
    from django.utils import timezone

    from campaigns.figures import school_figures_refresh, term_figures_refresh
    from campaigns.models import SchoolTermFigures, StudentProgress, Term
    from edu.models import Region, School, User
    from edu.scale import GENERATED_USERNAME_PREFIX, PROVINCE_PATH

    rng = random.Random(spec["seed"])
    term = Term.objects.select_related("campaign").get(campaign__region__path=PROVINCE_PATH)
    pk = term.campaign_id

    started = time.perf_counter()
    term_figures_refresh(term=term, now=timezone.now())
    term_refresh_s = round(time.perf_counter() - started, 2)
    largest = list(SchoolTermFigures.objects.filter(term=term).order_by("-headcount")[: spec["refreshes"]])
    timings = []
    for figures in largest:
        started = time.perf_counter()
        school_figures_refresh(term=term, school=figures.school)
        timings.append(1000 * (time.perf_counter() - started))

    sessions = []

    def session_for(user: User) -> dict:
        sessions.append(signed_in_session(user))
        return {"session": sessions[-1], "user": user.pk}

    def organiser(region: Region) -> User:
        return User.objects.get(username=f"{GENERATED_USERNAME_PREFIX}org_{region.code}_1")

    province = Region.objects.get(path=PROVINCE_PATH)
    cities = list(Region.objects.filter(parent=province).annotate(n=Count("children")).order_by("-n", "path"))
    city = cities[0]  # the capital: the most districts
    counties = list(Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY))
    county = max(
        (c for c in counties if c.path.startswith(city.path)),
        key=lambda c: School.objects.filter(region=c).count(),
    )
    school = School.objects.filter(region=county).order_by("-student_headcount").first()
    admin, _ = User.objects.update_or_create(
        username=BENCH_ADMIN,
        defaults={"is_teacher": True, "is_school_admin": True, "school": school, "password": "!"},
    )

    def region_url(region_pk: int) -> str:
        return reverse("term_figures_region", args=[pk, region_pk])

    def school_url(code: str) -> str:
        return reverse("term_figures_school", args=[pk, code])

    def schools_under(path: str) -> list[str]:
        return list(School.objects.filter(region_path__startswith=path).values_list("code", flat=True))

    n = spec["samples"]
    county_pks = [c.pk for c in counties]
    city_counties = [c.pk for c in counties if c.path.startswith(city.path)]
    all_schools, city_schools, county_schools = (
        schools_under(PROVINCE_PATH),
        schools_under(city.path),
        schools_under(county.path),
    )
    root = reverse("term_figures", args=[pk])
    below = reverse("term_figures_below", args=[pk])
    personas = {
        "province": session_for(organiser(province)),
        "city": session_for(organiser(city)),
        "county": session_for(organiser(county)),
        "school": session_for(admin),
    }
    plan = {
        "province: province page": ("province", [root] * n),
        "province: a city": ("province", [region_url(rng.choice(cities).pk) for _ in range(n)]),
        "province: a county": ("province", [region_url(rng.choice(county_pks)) for _ in range(n)]),
        "province: a school": ("province", [school_url(rng.choice(all_schools)) for _ in range(n)]),
        "province: below targets": ("province", [below] * n),
        "city: city page": ("city", [root] * n),
        "city: a county": ("city", [region_url(rng.choice(city_counties)) for _ in range(n)]),
        "city: a school": ("city", [school_url(rng.choice(city_schools)) for _ in range(n)]),
        "county: county page": ("county", [root] * n),
        "county: a school": ("county", [school_url(rng.choice(county_schools)) for _ in range(n)]),
        "county: below targets": ("county", [below] * n),
        "school: school page": ("school", [school_url(school.code)] * n),
    }
    requests = [
        {"page": page, "persona": personas[who], "url": url}
        for page, (who, urls) in plan.items()
        for url in urls
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    data = {
        "students": StudentProgress.objects.filter(term=term).count(),
        "progress_rows": StudentProgress.objects.count(),
        "schools": SchoolTermFigures.objects.filter(term=term).count(),
        "database_gib": round(size / 2**30, 2),
        "term_refresh_s": term_refresh_s,
        "school_refresh": summary(timings) | {"largest_headcount": largest[0].headcount if largest else 0},
        "personas": {
            "city": city.name,
            "county": county.name,
            "county_schools": len(county_schools),
            "school": school.name,
        },
    }
    Path(spec["out"]).write_text(
        json.dumps(
            {
                "data": data,
                "requests": requests,
                "sessions": sessions,
                "cookie_names": {"session": settings.SESSION_COOKIE_NAME},
            },
            ensure_ascii=False,
        )
    )


def internal_cleanup(spec: dict) -> None:
    """Leave the generated set as it was: the sessions and the bench's school admin go."""
    _django()
    from django.contrib.sessions.models import Session

    from edu.models import User

    Session.objects.filter(session_key__in=spec["sessions"]).delete()
    User.objects.filter(username=BENCH_ADMIN).delete()
    Path(spec["out"]).write_text("{}")


# --- the HTTP client, in its own process -------------------------------------------------------------------


def internal_pages(spec: dict) -> None:
    figures = asyncio.run(pages(spec))
    Path(spec["out"]).write_text(json.dumps(figures, ensure_ascii=False))


async def pages(spec: dict) -> dict:
    """Every planned request, one at a time on one keep-alive connection, in a shuffled order."""
    port, cookie = spec["port"], spec["cookie_names"]["session"]
    requests = list(spec["requests"])
    random.Random(1).shuffle(requests)
    reader = writer = None
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    first_errors: list[str] = []
    for planned in requests:
        target = planned["url"]
        head = [
            f"GET {target} HTTP/1.1",
            f"Host: {HOST}:{port}",
            f"Cookie: {cookie}={planned['persona']['session']}",
            "Accept-Language: zh-hans",
            "User-Agent: qingkong-bench",
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            status, body, closes = await asyncio.wait_for(
                exchange(reader, writer, request), REQUEST_TIMEOUT_S
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            status, body, closes = 0, repr(exc).encode(), True
        elapsed = 1000 * (time.perf_counter() - started)
        if closes and writer is not None:
            writer.close()
            reader = writer = None
        page = planned["page"]
        # The root page of a school admin redirects; every page measured here answers 200.
        if status == 200:
            latencies.setdefault(page, []).append(elapsed)
        else:
            errors[page] = errors.get(page, 0) + 1
            if len(first_errors) < 3:
                first_errors.append(f"{status} {target}: {body[:200].decode(errors='replace')}")
    if writer is not None:
        writer.close()
    names = list(dict.fromkeys(planned["page"] for planned in spec["requests"]))
    return {
        "pages": {name: summary(latencies.get(name, [])) | {"errors": errors.get(name, 0)} for name in names},
        "errors": sum(errors.values()),
        "first_errors": first_errors,
    }


if __name__ == "__main__":
    main()
