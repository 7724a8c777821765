"""Volunteers at the seeds' scale: totals and leaderboards, and 200 volunteers checking in within one minute.

Against a PostgreSQL database filled by `generate_scale` (2.53 million volunteers, 5.38 million hour records
at --scale 1.0), it measures:

- the selectors behind every totals screen, signed-in user aside: for S different teams, schools and regions
  (counties, cities and the province, drawn with --seed), `totals_for_<scope>` (for regions also
  `top_totals` of schools, teams, activities and campaigns, the "top" rows) followed by
  `leaderboard(scope=..., limit=10)`, as a page showing both would call them; p50/p95/max per scope, for
  the pair and for each call. For the slowest call of each scope the slowest query's EXPLAIN
  (ANALYZE, BUFFERS) is kept, and printed when the scope misses the goal (500 ms at p95);
- the organisers' totals page, GET /volunteers/manage/totals/?region=<id>, signed in as the province's
  organiser, for S different regions of each level, one request at a time over keep-alive: p50/p95/max;
- check-in: a new activity of a county's current campaign with one shift under way and C places, C of the
  county's volunteers signed up for it (services.shift_signup) with a signed-in session each; C clients in
  another process connect, wait for each other and POST /volunteers/checkin/<activity>/<token>/ at the same
  moment with the current rotating token (asyncio, raw HTTP/1.1, standard library). The view answers every
  POST with a redirect, so success is read from the database afterwards: every sign-up must be checked in.
  The activity, its sign-ups and the sessions are deleted at the end, leaving the generated set as it was.

The server is one daphne process with DEBUG=0 (bench.bench_settings: the site's settings and URLs), the
site's PostgreSQL pool and Redis (--redis-url, a database of its own, flushed) for the cache and sessions.

    .venv/bin/python bench/volunteers.py                            # create qk_bench_volunteers (scale 1.0)
    .venv/bin/python bench/volunteers.py --db qk_bench_volunteers   # reuse a generated database
    .venv/bin/python bench/volunteers.py --scale 0.01 --recreate    # a quick run on a small fresh database

Without --db the script creates `qk_bench_volunteers` with `generate_scale --scale 1.0` (9 minutes, 6 GiB
on this machine), or `qk_bench_volunteers_0_01` and the like for another --scale; it refuses to drop an
existing one unless --recreate. The database is kept, to be reused with --db.

The last line printed is one JSON object: volunteers, hour_records, totals_p95_ms {team, school, region,
top} (the selectors, totals + leaderboard; "top" is the totals page's four top-20 breakdowns under a region,
from the rollups, + the region's leaderboard), checkins, checkin_errors, then totals_page_p95_ms {county,
city, province}, checkin_p95_ms and every other figure under "details". Exit status 1 when a check-in failed.
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
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's directory comes first on the path, and its name would hide the volunteers app.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.quiz_answers import (  # noqa: E402 - after the path fix above
    HOST,
    exchange,
    free_port,
    proc_cpu_seconds,
    stop,
    tail,
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
DEFAULT_DB = "qk_bench_volunteers"
GOAL_MS = 500
SCOPES = ("team", "school", "region", "top")
REQUEST_TIMEOUT_S = 120


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="", help="reuse this generated database (default: create one)")
    parser.add_argument("--scale", type=float, default=1.0, help="generate_scale --scale for a new database")
    parser.add_argument(
        "--recreate", action="store_true", help=f"drop and regenerate {DEFAULT_DB} (or the --scale one)"
    )
    parser.add_argument("--samples", type=int, default=40, help="teams, schools and regions measured each")
    parser.add_argument("--page-samples", type=int, default=12, help="totals pages per region level")
    parser.add_argument("--checkins", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="flushed; '' for none")
    parser.add_argument("--internal", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.internal:
        spec = json.loads(Path(args.spec).read_text())
        steps = {
            "selectors": internal_selectors,
            "setup": internal_setup,
            "verify": internal_verify,
            "pages": internal_pages,
            "checkin": internal_checkin,
        }
        steps[args.internal](spec)
        return
    if not 1 <= args.checkins <= 2000 or not 3 <= args.samples <= 1000 or not 1 <= args.page_samples <= 200:
        parser.error("--checkins in 1..2000, --samples in 3..1000, --page-samples in 1..200")
    if args.redis_url and args.redis_url.rstrip("/").endswith("/0"):
        parser.error("--redis-url must name a database other than 0 (it is flushed)")

    result = run(args)
    print_report(result)
    headline = {
        "volunteers": result["data"]["volunteers"],
        "hour_records": result["data"]["hour_records"],
        "totals_p95_ms": {scope: result["selectors"][scope]["both"]["p95_ms"] for scope in SCOPES},
        "checkins": result["checkin"]["checked_in"],
        "checkin_errors": result["checkin"]["errors"],
        "totals_page_p95_ms": {level: f["p95_ms"] for level, f in result["pages"]["levels"].items()},
        "checkin_p95_ms": result["checkin"]["p95_ms"],
    }
    print(json.dumps(headline | {"details": result}, ensure_ascii=False))
    if result["checkin"]["errors"]:
        sys.exit(1)


# --- the orchestrator -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    name = args.db or default_database(DEFAULT_DB, args.scale)
    db_url = f"{args.pg_url.rstrip('/')}/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="qk_bench_volunteers_"))
    env = server_env(db_url=db_url, redis_url=args.redis_url)
    result: dict = {"params": vars(args) | {"database": name}, "loadavg_before": loadavg()}
    print(f"load average before: {' '.join(result['loadavg_before'])}", flush=True)
    server = None
    log_path = workdir / "daphne.log"
    setup: dict = {}
    try:
        result["generation"] = database_ready(args, name, env)
        flush_redis(args.redis_url)

        result["selectors"] = run_internal(
            SCRIPT, "selectors", {"samples": args.samples, "seed": args.seed}, env, workdir
        )
        result["data"] = result["selectors"].pop("data")
        print_selectors(result["selectors"])

        setup = run_internal(SCRIPT, "setup", {"checkins": args.checkins, "seed": args.seed}, env, workdir)
        port = args.port or free_port()
        server = start_server(env, log_path, port)
        common = {"port": port, "cookie_names": setup["cookie_names"]}
        pages_spec = common | {
            "organiser": setup["organiser"],
            "regions": pick_page_regions(setup["page_regions"], args),
        }
        cpu_before = proc_cpu_seconds(server.pid)
        result["pages"] = run_internal(SCRIPT, "pages", pages_spec, os.environ.copy(), workdir)
        result["pages"]["server_cpu_s"] = round(proc_cpu_seconds(server.pid) - cpu_before, 2)
        print_pages(result["pages"])

        cpu_before = proc_cpu_seconds(server.pid)
        load = run_internal(
            SCRIPT,
            "checkin",
            common | {"clients": setup["clients"], "activity": setup["activity"], "secret": setup["secret"]},
            os.environ.copy(),
            workdir,
        )
        load["server_cpu_s"] = round(proc_cpu_seconds(server.pid) - cpu_before, 2)
        if server.poll() is not None:
            raise RuntimeError(f"the server exited during the check-in: {tail(log_path)}")
        stop(server)
        server = None
        verified = run_internal(SCRIPT, "verify", cleanup_spec(setup), env, workdir)
        setup = {}
        load["checked_in"] = verified["checked_in"]
        load["errors"] = load["http_errors"] + (load["clients"] - verified["checked_in"])
        result["checkin"] = load
        print_checkin(load)
        return result
    finally:
        if setup.get("activity"):
            # Something failed between the set-up and the check: still leave the generated set as it was.
            with contextlib.suppress(Exception):
                run_internal(SCRIPT, "verify", cleanup_spec(setup), env, workdir)
        finish(server=server, redis_url=args.redis_url, log_path=log_path, workdir=workdir)


def cleanup_spec(setup: dict) -> dict:
    sessions = [client["session"] for client in setup["clients"]] + [setup["organiser"]["session"]]
    return {"activity": setup["activity"], "sessions": sessions}


def pick_page_regions(regions: dict, args: argparse.Namespace) -> list[list]:
    rng = random.Random(args.seed)
    chosen = []
    for level in ("county", "city", "province"):
        pool = regions[level]
        chosen += [[level, pk] for pk in rng.sample(pool, min(len(pool), args.page_samples))]
        if level == "province":
            chosen += [[level, pool[0]]] * (args.page_samples - len(pool))
    return chosen


# --- report ---------------------------------------------------------------------------------------------


def print_selectors(figures: dict) -> None:
    print(f"\n== selectors ({figures['samples']} per scope; goal p95 ≤ {GOAL_MS} ms)")
    print(f"{'scope':<16} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}   (totals + leaderboard)")
    for scope in SCOPES:
        for part in ("both", "totals", "leaderboard"):
            f = figures[scope][part]
            label = scope if part == "both" else f"  {part}"
            print(f"{label:<16} {f['n']:>4} {f['p50_ms']:>9.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}")
        for level, f in figures[scope].get("by_level", {}).items():
            label = f"  at {level}"
            print(f"{label:<16} {f['n']:>4} {f['p50_ms']:>9.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}")
    for scope in SCOPES:
        slowest = figures[scope]["slowest_query"]
        print(f"slowest {scope} query: {slowest['ms']} ms ({slowest['call']}): {slowest['sql'][:300]}")
        if figures[scope]["both"]["p95_ms"] > GOAL_MS:
            print(f"  over the goal; EXPLAIN (ANALYZE, BUFFERS):\n{slowest['explain']}")
    print(flush=True)


def print_pages(figures: dict) -> None:
    print("== organiser's totals page /volunteers/manage/totals/?region=… (one request at a time)")
    print(f"{'level':<10} {'n':>4} {'errors':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for level, f in figures["levels"].items():
        times = f"{f['p50_ms']:>9.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}"
        print(f"{level:<10} {f['n']:>4} {f['errors']:>6} {times}")
    if figures["first_errors"]:
        print(f"  first errors: {figures['first_errors']}")
    print(f"server CPU: {figures['server_cpu_s']} s\n", flush=True)


def print_checkin(f: dict) -> None:
    print(
        f"== check-in: {f['clients']} volunteers POST the current token at once\n"
        f"checked in {f['checked_in']}/{f['clients']}, HTTP errors {f['http_errors']} "
        f"(statuses {f['statuses']}), all answered within {f['wall_ms']:.0f} ms; "
        f"latency p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, max {f['max_ms']} ms; "
        f"server CPU {f['server_cpu_s']} s"
    )
    if f["first_errors"]:
        print(f"  first errors: {f['first_errors']}")
    print(flush=True)


def print_report(result: dict) -> None:
    data = result["data"]
    print(
        f"== data: {data['volunteers']:,} volunteers, {data['hour_records']:,} hour records, "
        f"{data['teams']:,} teams, {data['schools']:,} schools; database {data['database_gib']} GiB; "
        f"load average before {' '.join(result['loadavg_before'])}, after {' '.join(loadavg())} "
        f"(2 shared cores)"
    )
    if result.get("generation"):
        print(f"generation: {result['generation']['seconds']} s")
    status = "FAILED" if result["checkin"]["errors"] else "ok"
    print(f"check-in: {status}", flush=True)


# --- Django steps, in child processes with the server's settings --------------------------------------------


def _django() -> None:
    import django

    django.setup()


def internal_selectors(spec: dict) -> None:
    """Time totals_for_<scope> + leaderboard for distinct teams, schools and regions, in random order."""
    _django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from edu.models import Region, School
    from edu.scale import PROVINCE_PATH
    from volunteers import selectors
    from volunteers.models import HourRecord, Team, VolunteerProfile

    rng = random.Random(spec["seed"])
    samples = spec["samples"]
    teams = list(Team.objects.filter(region_path__startswith=PROVINCE_PATH).values_list("pk", flat=True))
    schools = list(
        VolunteerProfile.objects.filter(region_path__startswith=PROVINCE_PATH, school__isnull=False)
        .values_list("school", flat=True)
        .distinct()
    )
    regions = {
        level: list(
            Region.objects.filter(path__startswith=PROVINCE_PATH, level=level).values_list("pk", flat=True)
        )
        for level in (Region.Level.COUNTY, Region.Level.CITY, Region.Level.PROVINCE)
    }
    if not teams or not schools or not regions[Region.Level.PROVINCE]:
        raise SystemExit("no generated set in this database: run generate_scale first")
    # Regions: a third counties, a third cities, the rest the province (the one region every organiser above
    # the counties opens), all in random order.
    region_plan = [("county", pk) for pk in rng.sample(regions[3], min(len(regions[3]), samples // 3))] + [
        ("city", pk) for pk in rng.sample(regions[2], min(len(regions[2]), samples // 3))
    ]
    region_plan += [("province", regions[1][0])] * (samples - len(region_plan))
    rng.shuffle(region_plan)
    plans = {
        "team": [("", pk) for pk in rng.sample(teams, min(len(teams), samples + 3))],
        "school": [("", pk) for pk in rng.sample(schools, min(len(schools), samples + 3))],
        "region": region_plan[:3] + region_plan,
        "top": region_plan[:3] + region_plan,
    }
    models = {"team": Team, "school": School, "region": Region, "top": Region}

    def top_totals(*, region: Region) -> None:
        # The totals page's breakdowns: the top 20 schools, teams, activities and campaigns under the region.
        for kind in ("school", "team", "activity", "campaign"):
            selectors.top_totals(scope=kind, region=region, limit=20)

    calls = {
        "team": (selectors.totals_for_team, "team"),
        "school": (selectors.totals_for_school, "school"),
        "region": (selectors.totals_for_region, "region"),
        "top": (top_totals, "region"),
    }
    figures: dict = {"samples": samples}
    for scope in SCOPES:
        totals_call, keyword = calls[scope]
        timings = {"both": [], "totals": [], "leaderboard": []}
        by_level: dict[str, list[float]] = {}
        slowest = {"ms": -1.0, "sql": "", "call": ""}
        for index, (level, pk) in enumerate(plans[scope]):
            scope_object = models[scope].objects.get(pk=pk)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                totals_call(**{keyword: scope_object})
                middle = time.perf_counter()
                selectors.leaderboard(scope=scope_object, limit=10)
                ended = time.perf_counter()
            if index < 3:
                continue  # warm-up: plans, catalogue and the first pages of each index
            timings["totals"].append(1000 * (middle - started))
            timings["leaderboard"].append(1000 * (ended - middle))
            timings["both"].append(1000 * (ended - started))
            if level:
                by_level.setdefault(level, []).append(1000 * (ended - started))
            for query in captured.captured_queries:
                ms = 1000 * float(query["time"])
                if ms > slowest["ms"]:
                    slowest = {"ms": round(ms, 1), "sql": query["sql"], "call": f"{scope} {pk}"}
        explain = ""
        if slowest["sql"]:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
                explain = "\n".join(row[0] for row in cursor.fetchall())
        figures[scope] = {part: summary(values) for part, values in timings.items()}
        figures[scope]["by_level"] = {level: summary(values) for level, values in by_level.items()}
        figures[scope]["slowest_query"] = slowest | {"explain": explain}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    figures["data"] = {
        "volunteers": VolunteerProfile.objects.count(),
        "hour_records": HourRecord.objects.count(),
        "teams": len(teams),
        "schools": School.objects.filter(region_path__startswith=PROVINCE_PATH).count(),
        "database_gib": round(size / 2**30, 2),
    }
    Path(spec["out"]).write_text(json.dumps(figures))


def internal_setup(spec: dict) -> None:
    """An activity under way in the busiest county, C volunteers signed up, a session for each; the
    province's organiser's session; the regions for the totals pages."""
    _django()

    from django.conf import settings
    from django.db.models import Count, Exists, OuterRef
    from django.middleware.csrf import _get_new_csrf_string
    from django.utils import timezone

    from campaigns.models import Campaign
    from edu.models import Region, User
    from edu.scale import GENERATED_USERNAME_PREFIX, PROVINCE_PATH
    from volunteers import services
    from volunteers.models import Signup, VolunteerProfile
    from volunteers.services import VolunteerError

    rng = random.Random(spec["seed"])
    now = timezone.now()

    def session_for(user: User) -> dict:
        return {"session": signed_in_session(user), "csrf": _get_new_csrf_string(), "user": user.pk}

    county = (
        Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY)
        .annotate(n=Count("volunteers"))
        .order_by("-n")
        .first()
    )
    today = timezone.localdate()
    campaign = Campaign.objects.filter(region=county, starts_on__lte=today, ends_on__gte=today).first()
    organiser = User.objects.filter(is_organiser=True, region=county).order_by("username").first()
    starts_at, ends_at = now - dt_minutes(10), now + dt_minutes(120)
    activity = services.activity_create(
        campaign=campaign,
        created_by=organiser,
        title=f"基准测试：集中签到 {now:%H%M%S}",
        description="bench/volunteers.py: deleted after the run.",
        address=f"{county.name}基准测试点",
        region=county,
        shifts=[{"role": "签到", "starts_at": starts_at, "ends_at": ends_at, "capacity": spec["checkins"]}],
        signup_opens_at=now - dt_minutes(24 * 60),
        signup_closes_at=ends_at,
    )
    shift = activity.shifts.get()
    busy = Signup.objects.filter(
        volunteer=OuterRef("pk"),
        shift__starts_at__lt=ends_at,
        shift__ends_at__gt=starts_at,
    ).exclude(status=Signup.Status.CANCELLED)
    candidates = list(
        VolunteerProfile.objects.filter(region=county)
        .exclude(Exists(busy))
        .select_related("user")
        .order_by("?")[: spec["checkins"] * 2]
    )
    rng.shuffle(candidates)
    clients, refused = [], 0
    for volunteer in candidates:
        if len(clients) == spec["checkins"]:
            break
        try:
            # Signed up in the morning, before the shift began (sign-up closes when a shift starts).
            signup = services.shift_signup(shift=shift, volunteer=volunteer, now=starts_at - dt_minutes(60))
        except VolunteerError:
            refused += 1
            continue
        if signup.status == Signup.Status.CONFIRMED:
            clients.append(session_for(volunteer.user))
    if len(clients) < spec["checkins"]:
        raise SystemExit(f"only {len(clients)} volunteers could sign up ({refused} refused)")
    province_organiser = User.objects.get(username=f"{GENERATED_USERNAME_PREFIX}org_{PROVINCE_PATH[:6]}_1")
    page_regions = {
        name: list(
            Region.objects.filter(path__startswith=PROVINCE_PATH, level=level).values_list("pk", flat=True)
        )
        for name, level in (("county", 3), ("city", 2), ("province", 1))
    }
    Path(spec["out"]).write_text(
        json.dumps(
            {
                "clients": clients,
                "organiser": session_for(province_organiser),
                "activity": activity.pk,
                "secret": activity.checkin_secret,
                "page_regions": page_regions,
                "refused": refused,
                "cookie_names": {"session": settings.SESSION_COOKIE_NAME, "csrf": settings.CSRF_COOKIE_NAME},
            }
        )
    )


def dt_minutes(minutes: int):
    import datetime as dt

    return dt.timedelta(minutes=minutes)


def internal_verify(spec: dict) -> None:
    """How many of the activity's sign-ups are checked in; then delete the activity and the sessions."""
    _django()
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from volunteers.models import Activity, HourRecord, Signup

    signups = Signup.objects.filter(shift__activity_id=spec["activity"])
    figures = {
        "signups": signups.count(),
        "checked_in": signups.filter(checked_in_at__isnull=False).count(),
        "records": HourRecord.objects.filter(activity_id=spec["activity"]).count(),
    }
    # Leave the generated set as it was: the activity (check-in makes no hour record) and the sessions go.
    with transaction.atomic():
        HourRecord.objects.filter(activity_id=spec["activity"]).exclude(status="approved").delete()
        signups.delete()
        Activity.objects.filter(pk=spec["activity"]).delete()
        Session.objects.filter(session_key__in=spec["sessions"]).delete()
    Path(spec["out"]).write_text(json.dumps(figures))


# --- HTTP clients, in their own process ---------------------------------------------------------------------


def _headers(spec: dict, client: dict, referer: str) -> list[str]:
    port, names = spec["port"], spec["cookie_names"]
    origin = f"http://{HOST}:{port}"
    return [
        f"Host: {HOST}:{port}",
        f"Cookie: {names['session']}={client['session']}; {names['csrf']}={client['csrf']}",
        f"Origin: {origin}",
        f"Referer: {origin}{referer}",
        "User-Agent: qingkong-bench",
    ]


def internal_pages(spec: dict) -> None:
    figures = asyncio.run(pages(spec))
    Path(spec["out"]).write_text(json.dumps(figures))


async def pages(spec: dict) -> dict:
    """The totals page for each chosen region, one request at a time on one keep-alive connection."""
    reader = writer = None
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    first_errors: list[str] = []
    for level, pk in spec["regions"]:
        target = f"/volunteers/manage/totals/?region={pk}"
        request = (
            f"GET {target} HTTP/1.1\r\n" + "\r\n".join(_headers(spec, spec["organiser"], target)) + "\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, spec["port"])
            status, body, closes = await asyncio.wait_for(
                exchange(reader, writer, request), REQUEST_TIMEOUT_S
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            status, body, closes = 0, repr(exc).encode(), True
        elapsed = 1000 * (time.perf_counter() - started)
        if closes and writer is not None:
            writer.close()
            reader = writer = None
        if status == 200:
            latencies.setdefault(level, []).append(elapsed)
        else:
            errors[level] = errors.get(level, 0) + 1
            if len(first_errors) < 3:
                first_errors.append(f"{status} {target}: {body[:200].decode(errors='replace')}")
    if writer is not None:
        writer.close()
    levels = {
        level: summary(latencies.get(level, [])) | {"errors": errors.get(level, 0)}
        for level in ("county", "city", "province")
    }
    return {"levels": levels, "first_errors": first_errors}


def internal_checkin(spec: dict) -> None:
    figures = asyncio.run(checkin(spec))
    Path(spec["out"]).write_text(json.dumps(figures))


async def checkin(spec: dict) -> dict:
    """Every client connects first, then all POST the current token at the same moment."""
    from datetime import UTC, datetime

    from volunteers.checkin_codes import current_token  # pure: no Django needed

    clients = spec["clients"]
    connections = await asyncio.gather(
        *(asyncio.open_connection(HOST, spec["port"]) for _ in clients), return_exceptions=True
    )
    go = asyncio.Event()
    token = current_token(spec["secret"], spec["activity"], datetime.now(UTC))
    target = f"/volunteers/checkin/{spec['activity']}/{token}/"
    results: list[tuple[int, float, str]] = []

    async def one(client: dict, opened) -> None:
        body = urlencode({"csrfmiddlewaretoken": client["csrf"]}).encode()
        headers = _headers(spec, client, target) + [
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        request = f"POST {target} HTTP/1.1\r\n".encode() + "\r\n".join(headers).encode() + b"\r\n\r\n" + body
        await go.wait()
        started = time.perf_counter()
        try:
            if isinstance(opened, BaseException):
                raise opened
            reader, writer = opened
            status, response, _ = await asyncio.wait_for(exchange(reader, writer, request), REQUEST_TIMEOUT_S)
            writer.close()
            detail = "" if 200 <= status < 400 else response[:200].decode(errors="replace")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            status, detail = 0, repr(exc)
        results.append((status, 1000 * (time.perf_counter() - started), detail))

    tasks = [
        asyncio.create_task(one(client, opened)) for client, opened in zip(clients, connections, strict=True)
    ]
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = 1000 * (time.perf_counter() - started)
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    http_errors = sum(1 for status, _, _ in results if not 200 <= status < 400)
    return {
        "clients": len(clients),
        "http_errors": http_errors,
        "statuses": statuses,
        "wall_ms": round(wall, 1),
        "first_errors": [detail for status, _, detail in results if detail][:3],
    } | summary([elapsed for _, elapsed, _ in results])


if __name__ == "__main__":
    main()
