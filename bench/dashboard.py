"""The organisers' statistics dashboard at the seeds' scale (issue #7): each level's dashboard and drill-down.

Against a PostgreSQL database filled by `generate_scale` (11,186 schools, 5.29 million students, 5.29 million
quiz attempts, 2.53 million volunteers, 5.38 million hour records, and the stats part's survey, practice and
live contests with the rollups rebuilt), signed in as the province's organiser, a city's (the capital), a
county's (the capital's county with the most schools) and a teacher of that county's largest school with a
generated teacher (or one made for the run and deleted afterwards), it requests one at a time over keep-alive,
N times each (--requests), drawing different cities, counties and schools of the user's region:

  province  — /stats/ (week and month), /stats/weekly/, the term figures page (its cities);
  city      — /stats/regions/<city>/ and the term figures of a city, as the province's organiser; /stats/ and
              the term figures page as the city's;
  county    — /stats/regions/<county>/ and the term figures of a county, as the province's and the city's
              organisers; /stats/ and the term figures page as the county's;
  school    — /stats/schools/<code>/ and the term figures of a school (its classes), as each organiser;
              the school's pages as the teacher (a teacher's /stats/ redirects to their school's).

Each page is first requested twice (warm-up, not counted); a page that does not answer 200 then (not built
yet) is left out and listed. p50/p95/max per page; per level the worst p95 of its pages. Goals: 300 ms p95
for every level, 100 ms for a county. For each page over 100 ms at p95, the page is requested once more
in-process with its queries captured, and every query over 100 ms is printed with EXPLAIN (ANALYZE, BUFFERS).

The server is one daphne process with DEBUG=0 (bench.bench_settings: the site's settings and URLs), the
site's PostgreSQL pool and Redis (--redis-url, a database of its own, flushed) for the cache and sessions.

    .venv/bin/python bench/dashboard.py --db qk_bench_stats            # a generated database
    .venv/bin/python bench/dashboard.py --scale 0.01                   # makes qk_bench_dashboard_0_01 first

Without --db the script creates `qk_bench_dashboard` (or `qk_bench_dashboard_0_01` and the like for another
--scale) with `generate_scale --scale S` (every part); it refuses to drop an existing one unless --recreate.
The last line printed is one JSON object: per level {p50_ms, p95_ms} (the worst page's), and rows {students,
attempts, volunteers, hour_records} counted in the database. Exit status 1 when a measured page failed.
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

from bench.enrollment import pages as measure_pages  # noqa: E402 - after the path fix above
from bench.quiz_answers import (  # noqa: E402
    HOST,
    free_port,
    proc_cpu_seconds,
    stop,
)
from bench.scale_harness import (  # noqa: E402
    database_ready,
    default_database,
    finish,
    flush_redis,
    loadavg,
    run_internal,
    server_env,
    start_server,
)
from bench.sessions import signed_in_session  # noqa: E402

SCRIPT = Path(__file__).resolve()
DAPHNE = Path(sys.executable).with_name("daphne")
DEFAULT_DB = "qk_bench_dashboard"
LEVELS = ("province", "city", "county", "school")
GOALS_MS = {"province": 300, "city": 300, "county": 100, "school": 300}
EXPLAIN_MS = 100
WARM_UP = 2
BENCH_TEACHER = "qkgen_bench_dashboard_teacher"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="", help="reuse this generated database (default: create one)")
    parser.add_argument("--scale", type=float, default=1.0, help="generate_scale --scale for a new database")
    parser.add_argument("--recreate", action="store_true", help=f"drop and regenerate {DEFAULT_DB}")
    parser.add_argument("--requests", type=int, default=20, help="requests of each page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="flushed; '' for none")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN of the slow pages' queries")
    parser.add_argument("--internal", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.internal:
        spec = json.loads(Path(args.spec).read_text())
        steps = {
            "setup": internal_setup,
            "cleanup": internal_cleanup,
            "pages": internal_pages,
            "explain": internal_explain,
        }
        steps[args.internal](spec)
        return
    if not 1 <= args.requests <= 1000:
        parser.error("--requests in 1..1000")
    if args.redis_url and args.redis_url.rstrip("/").endswith("/0"):
        parser.error("--redis-url must name a database other than 0 (it is flushed)")

    result = run(args)
    print_report(result)
    print("details: " + json.dumps(result, ensure_ascii=False))
    headline = {level: result["levels"][level] for level in LEVELS} | {"rows": result["data"]["rows"]}
    print(json.dumps(headline, ensure_ascii=False))
    if result["pages"]["errors"]:
        sys.exit(1)


# --- the orchestrator -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    name = args.db or default_database(DEFAULT_DB, args.scale)
    db_url = f"{args.pg_url.rstrip('/')}/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_dashboard_"))
    env = server_env(db_url=db_url, redis_url=args.redis_url)
    result: dict = {"params": vars(args) | {"database": name}, "loadavg_before": loadavg()}
    print(f"load average before: {' '.join(result['loadavg_before'])}", flush=True)
    server = None
    log_path = workdir / "daphne.log"
    setup: dict = {}
    try:
        result["generation"] = database_ready(args, name, env)
        flush_redis(args.redis_url)
        setup = run_internal(SCRIPT, "setup", {"requests": args.requests, "seed": args.seed}, env, workdir)
        result["data"] = setup["data"]
        print_data(result["data"])
        port = args.port or free_port()
        server = start_server(env, log_path, port)
        spec = {"port": port, "cookie_names": setup["cookie_names"], "requests": setup["requests"]}
        cpu_before = proc_cpu_seconds(server.pid)
        result["pages"] = run_internal(SCRIPT, "pages", spec, os.environ.copy(), workdir)
        result["pages"]["server_cpu_s"] = round(proc_cpu_seconds(server.pid) - cpu_before, 2)
        result["levels"] = levels(result["pages"]["pages"], setup["levels"])
        print_pages(result["pages"], setup["levels"])
        stop(server)
        server = None
        slow = [
            {"page": page, "request": setup["examples"][page]}
            for page, figures in result["pages"]["pages"].items()
            if figures["p95_ms"] > EXPLAIN_MS
        ]
        result["explain"] = (
            run_internal(SCRIPT, "explain", {"pages": slow}, env, workdir)["pages"]
            if slow and not args.no_explain
            else []
        )
        print_explain(result["explain"])
        return result
    finally:
        if setup:
            with contextlib.suppress(Exception):
                run_internal(SCRIPT, "cleanup", {"sessions": setup["sessions"]}, env, workdir)
        finish(server=server, redis_url=args.redis_url, log_path=log_path, workdir=workdir)


def levels(pages: dict, page_levels: dict) -> dict:
    """Per level, the worst page: its p95 and its p50 (a level without a measured page gets zeros)."""
    out = {}
    for level in LEVELS:
        measured = [
            (f["p95_ms"], f["p50_ms"], page) for page, f in pages.items() if page_levels[page] == level
        ]
        worst = max(measured, default=(0.0, 0.0, ""))
        out[level] = {"p50_ms": worst[1], "p95_ms": worst[0]}
    return out


# --- report ---------------------------------------------------------------------------------------------


def print_data(data: dict) -> None:
    rows = data["rows"]
    print(
        f"== data: {rows['students']:,} students, {rows['attempts']:,} attempts, {rows['volunteers']:,} "
        f"volunteers, {rows['hour_records']:,} hour records, {data['live_contests']:,} live contests, "
        f"{data['school_days']:,} SchoolDay and {data['region_days']:,} RegionDay rows; "
        f"database {data['database_gib']} GiB\n"
        f"personas: {json.dumps(data['personas'], ensure_ascii=False)}",
        flush=True,
    )


def print_pages(figures: dict, page_levels: dict) -> None:
    print("\n== pages, one request at a time (goals p95: 300 ms, a county 100 ms)")
    print(f"{'page':<44} {'n':>4} {'errors':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for level in LEVELS:
        for name, f in figures["pages"].items():
            if page_levels[name] == level:
                times = f"{f['p50_ms']:>9.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}"
                print(f"{name:<44} {f['n']:>4} {f['errors']:>6} {times}")
    if figures["left_out"]:
        print("left out (no 200 at warm-up, not built yet?):")
        for name, error in figures["left_out"].items():
            print(f"  {name}: {error}")
    if figures["first_errors"]:
        print(f"  first errors: {figures['first_errors']}")
    print(f"server CPU: {figures['server_cpu_s']} s", flush=True)


def print_explain(pages: list[dict]) -> None:
    for page in pages:
        print(f"\n== {page['page']}: {page['url']} in-process {page['ms']} ms, {page['queries']} queries")
        for query in page["slow"]:
            print(f"-- {query['ms']} ms\n{query['sql']}\n{query['explain']}")
        if not page["slow"]:
            print(
                f"   no query over {EXPLAIN_MS} ms; slowest {page['slowest_ms']} ms: "
                f"{page['slowest_sql'][:400]}"
            )


def print_report(result: dict) -> None:
    print(
        f"\nload average before {' '.join(result['loadavg_before'])}, after {' '.join(loadavg())} "
        f"(2 shared cores)"
    )
    if result.get("generation"):
        print(f"generation: {result['generation']['seconds']} s")
    for level in LEVELS:
        figures = result["levels"][level]
        goal = GOALS_MS[level]
        verdict = "met" if figures["p95_ms"] <= goal else "MISSED"
        print(
            f"{level:<9} worst page p95 {figures['p95_ms']:>8.1f} ms (p50 {figures['p50_ms']:.1f}); "
            f"goal {goal} ms {verdict}"
        )


# --- Django steps, in child processes with the server's settings --------------------------------------------


def _django() -> None:
    import django

    django.setup()


def internal_setup(spec: dict) -> None:
    """Sign in the four personas; list the requests each makes and the level of each page; count the rows."""
    _django()

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from campaigns.models import Term
    from edu.models import Region, School, Student, User
    from edu.scale import GENERATED_USERNAME_PREFIX, PROVINCE_PATH
    from edu.scale.stats import TEACHER_PREFIX
    from quizzes.models import Attempt, LiveContest
    from volunteers.models import HourRecord, VolunteerProfile

    rng = random.Random(spec["seed"])
    term = Term.objects.select_related("campaign").get(
        campaign__region__path=PROVINCE_PATH,
        campaign__created_by__username__startswith=GENERATED_USERNAME_PREFIX,
    )
    pk = term.campaign_id
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
    schools_per_county = dict(
        School.objects.filter(region_path__startswith=PROVINCE_PATH)
        .values_list("region_id")
        .annotate(n=Count("pk"))
        .values_list("region_id", "n")
    )
    county = max(
        (c for c in counties if c.path.startswith(city.path)), key=lambda c: schools_per_county.get(c.pk, 0)
    )
    # The teacher: a generated one of the county's largest school that has one (they host its contests).
    teacher = (
        User.objects.filter(username__startswith=TEACHER_PREFIX, school__region=county)
        .select_related("school")
        .order_by("-school__student_headcount", "pk")
        .first()
    )
    if teacher is None:
        school = School.objects.filter(region=county).order_by("-student_headcount").first()
        teacher, _ = User.objects.update_or_create(
            username=BENCH_TEACHER, defaults={"is_teacher": True, "school": school, "password": "!"}
        )
    school = teacher.school

    def url(name: str, *args, query: str = "") -> str | None:
        try:
            return reverse(name, args=args) + (f"?{query}" if query else "")
        except NoReverseMatch:
            return None

    def codes_under(path: str) -> list[str]:
        return list(School.objects.filter(region_path__startswith=path).values_list("code", flat=True))

    n = spec["requests"]
    all_codes, city_codes, county_codes = (
        codes_under(PROVINCE_PATH),
        codes_under(city.path),
        codes_under(county.path),
    )
    city_counties = [c.pk for c in counties if c.path.startswith(city.path)]
    county_pks = [c.pk for c in counties]
    personas = {
        "province": session_for(organiser(province)),
        "city": session_for(organiser(city)),
        "county": session_for(organiser(county)),
        "teacher": session_for(teacher),
    }
    figures_root = url("term_figures", pk)

    def many(make, choices) -> list[str | None]:
        return [make(rng.choice(choices)) for _ in range(n)]

    def stats_region(region_pk: int) -> str | None:
        return url("stats_region", region_pk)

    def stats_school(code: str) -> str | None:
        return url("stats_school", code)

    def figures_region(region_pk: int) -> str | None:
        return url("term_figures_region", pk, region_pk)

    def figures_school(code: str) -> str | None:
        return url("term_figures_school", pk, code)

    # (page, level, persona, urls)
    plan = [
        ("province: dashboard (week)", "province", "province", [url("stats_dashboard")] * n),
        (
            "province: dashboard (month)",
            "province",
            "province",
            [url("stats_dashboard", query="period=month")] * n,
        ),
        ("province: weekly report", "province", "province", [url("stats_weekly")] * n),
        ("province: term figures", "province", "province", [figures_root] * n),
        ("province → a city: dashboard", "city", "province", many(stats_region, [c.pk for c in cities])),
        ("province → a city: term figures", "city", "province", many(figures_region, [c.pk for c in cities])),
        ("city: dashboard", "city", "city", [url("stats_dashboard")] * n),
        ("city: term figures", "city", "city", [figures_root] * n),
        ("province → a county: dashboard", "county", "province", many(stats_region, county_pks)),
        ("province → a county: term figures", "county", "province", many(figures_region, county_pks)),
        ("city → a county: dashboard", "county", "city", many(stats_region, city_counties)),
        ("county: dashboard", "county", "county", [url("stats_dashboard")] * n),
        ("county: weekly report", "county", "county", [url("stats_weekly")] * n),
        ("county: term figures", "county", "county", [figures_root] * n),
        ("province → a school: dashboard", "school", "province", many(stats_school, all_codes)),
        ("province → a school: classes", "school", "province", many(figures_school, all_codes)),
        ("city → a school: dashboard", "school", "city", many(stats_school, city_codes)),
        ("county → a school: dashboard", "school", "county", many(stats_school, county_codes)),
        ("county → a school: classes", "school", "county", many(figures_school, county_codes)),
        ("teacher: school dashboard", "school", "teacher", [stats_school(school.code)] * n),
        ("teacher: classes", "school", "teacher", [figures_school(school.code)] * n),
    ]
    requests, page_levels, examples, not_routed = [], {}, {}, []
    for page, level, who, urls in plan:
        if any(target is None for target in urls):
            not_routed.append(page)  # the URL name does not exist (yet)
            continue
        page_levels[page] = level
        examples[page] = {"url": urls[0], "user": personas[who]["user"]}
        requests += [{"page": page, "persona": personas[who], "url": target} for target in urls]

    from stats.models import RegionDay, SchoolDay

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    data = {
        "rows": {
            "students": Student.objects.count(),
            "attempts": Attempt.objects.count(),
            "volunteers": VolunteerProfile.objects.count(),
            "hour_records": HourRecord.objects.count(),
        },
        "live_contests": LiveContest.objects.count(),
        "school_days": SchoolDay.objects.count(),
        "region_days": RegionDay.objects.count(),
        "database_gib": round(size / 2**30, 2),
        "not_routed": not_routed,
        "personas": {
            "city": city.name,
            "county": county.name,
            "county_schools": len(county_codes),
            "school": school.name,
            "school_headcount": school.student_headcount,
            "teacher": teacher.username,
        },
    }
    Path(spec["out"]).write_text(
        json.dumps(
            {
                "data": data,
                "requests": requests,
                "levels": page_levels,
                "examples": examples,
                "sessions": sessions,
                "cookie_names": {"session": settings.SESSION_COOKIE_NAME},
            },
            ensure_ascii=False,
        )
    )


def internal_cleanup(spec: dict) -> None:
    """Leave the generated set as it was: the sessions and the bench's teacher (if one was made) go."""
    _django()
    from django.contrib.sessions.models import Session

    from edu.models import User

    Session.objects.filter(session_key__in=spec["sessions"]).delete()
    User.objects.filter(username=BENCH_TEACHER).delete()
    Path(spec["out"]).write_text("{}")


# --- the HTTP client, in its own process -------------------------------------------------------------------


def internal_pages(spec: dict) -> None:
    """Warm up each page (and leave out those that do not answer 200), then measure every request."""
    requests = spec["requests"]
    warm_up = []
    for page in dict.fromkeys(planned["page"] for planned in requests):
        warm_up += [planned for planned in requests if planned["page"] == page][:WARM_UP]
    warm = asyncio.run(measure_pages(spec | {"requests": warm_up}))
    failing = {page for page, figures in warm["pages"].items() if figures["errors"]}
    first_url = {planned["page"]: planned["url"] for planned in reversed(warm_up)}
    left_out = {
        page: next((e for e in warm["first_errors"] if f" {first_url[page]}:" in e), "no 200 at warm-up")
        for page in sorted(failing)
    }
    measured = [planned for planned in requests if planned["page"] not in failing]
    figures = (
        asyncio.run(measure_pages(spec | {"requests": measured}))
        if measured
        else {
            "pages": {},
            "errors": 0,
            "first_errors": [],
        }
    )
    figures["left_out"] = left_out
    Path(spec["out"]).write_text(json.dumps(figures, ensure_ascii=False))


# --- EXPLAIN of the slow pages' queries, in-process ---------------------------------------------------------


def internal_explain(spec: dict) -> None:
    """Each slow page once more through the test client, its queries captured; EXPLAIN the slow ones."""
    _django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from edu.models import User

    out = []
    for item in spec["pages"]:
        request = item["request"]
        client = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(User.objects.get(pk=request["user"]))
        client.get(request["url"])  # warm: plans and caches as the server has them
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(request["url"])
            ms = round(1000 * (time.perf_counter() - started), 1)
        queries = [(1000 * float(query["time"]), query["sql"]) for query in captured.captured_queries]
        slow = []
        for query_ms, sql in sorted(queries, reverse=True):
            if query_ms < EXPLAIN_MS:
                break
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                explain = "\n".join(row[0] for row in cursor.fetchall())
            slow.append({"ms": round(query_ms, 1), "sql": sql, "explain": explain})
        slowest = max(queries, default=(0.0, ""))
        out.append(
            {
                "page": item["page"],
                "url": request["url"],
                "status": response.status_code,
                "ms": ms,
                "queries": len(queries),
                "query_ms": round(sum(q for q, _ in queries), 1),
                "slowest_ms": round(slowest[0], 1),
                "slowest_sql": slowest[1][:300],
                "slow": slow,
            }
        )
    Path(spec["out"]).write_text(json.dumps({"pages": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
