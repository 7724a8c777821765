"""Keeping the statistics rollups (stats/models.py): every row is recomputed from the source rows, never
incremented, so a refresh that is lost or runs twice leaves nothing wrong behind.

- `units_refresh(day, units)` recomputes the SchoolDay rows of a few units for one day, then their regions'
  RegionDay rows and the schools' activity marks: what the signal receivers run after each event's commit
  (an attempt submitted, a contest finished, an account claimed, hours approved).
- `rebuild(start, end)` recomputes every row of those days, set-based, one day at a time: `manage.py
  refresh_stats` runs it for the last two days every minute in production (the issue allows the figures to
  trail the live data by a minute; the receivers usually make it zero), and for any range as a repair tool.

Concurrency: each statement is an upsert guarded by `refreshed_at` — a row is only replaced by a recompute
that started later — and the RegionDay sum runs after its SchoolDay rows commit, so the last recompute to
start sees every committed event (docs/statistics.md, "Keeping the rollups"). The SQL runs unchanged on
PostgreSQL and SQLite (≥ 3.24, for the upsert).

Days are local days (settings.TIME_ZONE): a day's events are those whose time falls in [midnight, midnight).
"""

# ruff: noqa: S608 - the SQL names only our own tables (from _meta) and ids the code computed; values are params.
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign
from edu.models import Region, School, Student, User
from quizzes.models import Attempt, LiveContest, LivePlayer, Quiz
from stats.models import BUCKETS, SUM_COLUMNS, ActiveMark, RegionDay, SchoolDay
from volunteers.models import HourRecord, VolunteerProfile
from volunteers.rollups import counting_condition


@dataclass(frozen=True)
class Unit:
    """Where an event counts: a school (and its region), or a region's events outside schools (school 0)."""

    school_id: int
    region_id: int


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def quoted_table(model) -> str:
    """The model's table name, quoted for raw SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def _ids(values: Iterable[int]) -> str:
    """An IN list of integers the code computed (never user input); "-1" when empty, which matches nothing."""
    return ", ".join(str(int(value)) for value in sorted(set(values))) or "-1"


# --- the events of one day, per unit ----------------------------------------------------------------------

_EVENT_COLUMNS = (
    "attempts",
    "passed",
    "pct",
    "survey_attempts",
    "survey_score",
    "survey_max",
    "live_contests",
    "live_players",
    "registrations",
    "volunteer_minutes",
    "volunteer_records",
)


def _event(school: str, region: str, **values: str) -> str:
    columns = [values.get(name, "NULL" if name == "pct" else "0") for name in _EVENT_COLUMNS]
    return f"{school} AS school_id, {region} AS region_id, " + ", ".join(
        f"{value} AS {name}" for value, name in zip(columns, _EVENT_COLUMNS, strict=True)
    )


def _attempt_source(where: str) -> str:
    attempt, quiz, campaign, school = (
        quoted_table(Attempt),
        quoted_table(Quiz),
        quoted_table(Campaign),
        quoted_table(School),
    )
    survey = "q.survey_phase <> '' AND a.number = 1"
    select = _event(
        "COALESCE(s.id, 0)",
        "COALESCE(s.region_id, q.owner_region_id, c.region_id)",
        attempts="1",
        passed="CASE WHEN a.passed THEN 1 ELSE 0 END",
        pct="CASE WHEN a.max_score > 0 THEN a.score * 100.0 / a.max_score ELSE 0 END",
        survey_attempts=f"CASE WHEN {survey} THEN 1 ELSE 0 END",
        survey_score=f"CASE WHEN {survey} THEN a.score ELSE 0 END",
        survey_max=f"CASE WHEN {survey} THEN a.max_score ELSE 0 END",
    )
    return f"""
        SELECT {select}
        FROM {attempt} a
        JOIN {quiz} q ON q.id = a.quiz_id
        LEFT JOIN {campaign} c ON c.id = q.campaign_id
        LEFT JOIN {school} s ON s.id = COALESCE(a.school_id, q.owner_school_id)
        WHERE a.submitted_at >= %(start)s AND a.submitted_at < %(end)s AND a.score IS NOT NULL AND {where}
    """


def _sources(*, school_ids: str | None, region_ids: str | None) -> str:
    """Every event of the day as (unit, values) rows; with ids, only the events of those units (schools, and
    the school-0 units of those regions), filtered where the source's indexes can use it."""
    contest, player, user, school, campaign = (
        quoted_table(LiveContest),
        quoted_table(LivePlayer),
        quoted_table(User),
        quoted_table(School),
        quoted_table(Campaign),
    )
    student, record, profile = quoted_table(Student), quoted_table(HourRecord), quoted_table(VolunteerProfile)
    every = school_ids is None
    volunteer_unit = ("COALESCE(v.school_id, 0)", "v.region_id")
    # Sargable (no COALESCE), so that the volunteers are found through their school or region index.
    volunteers = (
        ""
        if every
        else f"AND (v.school_id IN ({school_ids}) OR (v.school_id IS NULL AND v.region_id IN ({region_ids})))"
    )
    if every:
        attempts = _attempt_source("TRUE")
    else:
        # Split so that each branch can use an index: the school's attempts, guests at a school's quiz, and
        # the attempts outside schools of a region.
        attempts = " UNION ALL ".join(
            [
                _attempt_source(f"a.school_id IN ({school_ids})"),
                _attempt_source(f"a.school_id IS NULL AND q.owner_school_id IN ({school_ids})"),
                _attempt_source(
                    "a.school_id IS NULL AND q.owner_school_id IS NULL "
                    f"AND COALESCE(q.owner_region_id, c.region_id) IN ({region_ids})"
                ),
            ]
        )
    host_unit = ("COALESCE(hs.id, 0)", "COALESCE(hs.region_id, h.region_id, c.region_id)")
    player_unit = (
        "COALESCE(ps.id, hs.id, 0)",
        "COALESCE(ps.region_id, hs.region_id, h.region_id, c.region_id)",
    )
    contests = f"""
        SELECT {_event(*host_unit, live_contests="1")}
        FROM {contest} lc
        JOIN {user} h ON h.id = lc.host_id
        LEFT JOIN {school} hs ON hs.id = h.school_id
        LEFT JOIN {campaign} c ON c.id = lc.campaign_id
        WHERE lc.finished_at >= %(start)s AND lc.finished_at < %(end)s
    """
    players = f"""
        SELECT {_event(*player_unit, live_players="1")}
        FROM {player} p
        JOIN {contest} lc ON lc.id = p.contest_id
        JOIN {user} h ON h.id = lc.host_id
        LEFT JOIN {school} ps ON ps.id = p.school_id
        LEFT JOIN {school} hs ON hs.id = h.school_id
        LEFT JOIN {campaign} c ON c.id = lc.campaign_id
        WHERE lc.finished_at >= %(start)s AND lc.finished_at < %(end)s AND NOT p.kicked
    """
    claims = f"""
        SELECT {_event("st.school_id", "s.region_id", registrations="1")}
        FROM {student} st
        JOIN {school} s ON s.id = st.school_id
        WHERE st.claimed_at >= %(start)s AND st.claimed_at < %(end)s
        {"" if every else f"AND st.school_id IN ({school_ids})"}
    """
    hours = f"""
        SELECT {_event(*volunteer_unit, volunteer_minutes="r.minutes", volunteer_records="1")}
        FROM {record} r
        JOIN {profile} v ON v.id = r.volunteer_id
        WHERE r.started_at >= %(start)s AND r.started_at < %(end)s AND {counting_condition("r")}
        {volunteers}
    """
    union = " UNION ALL ".join([attempts, contests, players, claims, hours])
    if every:
        return union
    return f"""
        SELECT * FROM ({union}) e
        WHERE e.school_id IN ({school_ids}) OR (e.school_id = 0 AND e.region_id IN ({region_ids}))
    """


def summed_columns(alias: str = "") -> str:
    """The SELECT list that sums every SUM_COLUMNS column of a rollup (`alias` with its dot, if any)."""
    return ", ".join(f"COALESCE(SUM({alias}{column}), 0)" for column in SUM_COLUMNS)


def _school_day_sql(*, school_ids: str | None, region_ids: str | None) -> str:
    school_day, region = quoted_table(SchoolDay), quoted_table(Region)
    buckets = ", ".join(f"SUM(CASE WHEN bucket = {i} THEN 1 ELSE 0 END)" for i in range(BUCKETS))
    bucket = (
        "CASE "
        + " ".join(f"WHEN pct >= {i * 10} THEN {i}" for i in range(BUCKETS - 1, 0, -1))
        + " ELSE 0 END"
    )
    columns = ", ".join(SUM_COLUMNS)
    updates = ", ".join(f"{column} = excluded.{column}" for column in ("region_path", *SUM_COLUMNS))
    return f"""
        WITH events AS ({_sources(school_ids=school_ids, region_ids=region_ids)}),
        bucketed AS (
            SELECT events.*, CASE WHEN pct IS NULL THEN NULL ELSE {bucket} END AS bucket FROM events
        )
        INSERT INTO {school_day} (day, school_id, region_id, region_path, {columns}, refreshed_at)
        SELECT %(day)s, b.school_id, b.region_id, r.path,
            SUM(b.attempts), SUM(b.passed), COALESCE(SUM(b.pct), 0), {buckets},
            SUM(b.survey_attempts), SUM(b.survey_score), SUM(b.survey_max), SUM(b.live_contests),
            SUM(b.live_players), SUM(b.registrations), SUM(b.volunteer_minutes), SUM(b.volunteer_records),
            %(now)s
        FROM bucketed b
        JOIN {region} r ON r.id = b.region_id
        WHERE TRUE
        GROUP BY b.school_id, b.region_id, r.path
        ORDER BY b.region_id, b.school_id
        ON CONFLICT (day, region_id, school_id) DO UPDATE SET {updates}, refreshed_at = excluded.refreshed_at
        WHERE {school_day}.refreshed_at <= excluded.refreshed_at
    """


def _region_day_sql(*, region_ids: str | None) -> str:
    school_day, region_day = quoted_table(SchoolDay), quoted_table(RegionDay)
    columns = ", ".join(SUM_COLUMNS)
    updates = ", ".join(f"{column} = excluded.{column}" for column in ("region_path", *SUM_COLUMNS))
    only = "" if region_ids is None else f"AND d.region_id IN ({region_ids})"
    return f"""
        INSERT INTO {region_day} (day, region_id, region_path, {columns}, refreshed_at)
        SELECT %(day)s, d.region_id, MAX(d.region_path), {summed_columns("d.")}, %(now)s
        FROM {school_day} d
        WHERE d.day = %(day)s {only}
        GROUP BY d.region_id
        ORDER BY d.region_id
        ON CONFLICT (day, region_id) DO UPDATE SET {updates}, refreshed_at = excluded.refreshed_at
        WHERE {region_day}.refreshed_at <= excluded.refreshed_at
    """


def _school_marks_sql(*, school_ids: str | None) -> str:
    """The schools' activity marks of the week and the month containing the day, from their SchoolDay rows."""
    mark, school_day, school = quoted_table(ActiveMark), quoted_table(SchoolDay), quoted_table(School)
    only = "" if school_ids is None else f"AND d.school_id IN ({school_ids})"
    # The school's region now: a school moved during the period counts where it is.
    return f"""
        INSERT INTO {mark} (kind, subject_id, period, starts_on, first_day, region_path, school_id)
        SELECT 'school', d.school_id, %(period)s, %(starts_on)s, MIN(d.day), s.region_path, d.school_id
        FROM {school_day} d
        JOIN {school} s ON s.id = d.school_id
        WHERE d.day >= %(starts_on)s AND d.day < %(ends_before)s AND d.school_id > 0
        AND (d.attempts > 0 OR d.live_players > 0) {only}
        GROUP BY d.school_id, s.region_path
        ORDER BY d.school_id
        ON CONFLICT (kind, subject_id, period, starts_on) DO UPDATE
        SET first_day = excluded.first_day, region_path = excluded.region_path
    """


def _volunteer_marks_sql(*, volunteer_ids: str | None) -> str:
    """The volunteers with counting service on the day: their marks of the week and the month keep the
    earliest day."""
    mark, record, profile = quoted_table(ActiveMark), quoted_table(HourRecord), quoted_table(VolunteerProfile)
    only = "" if volunteer_ids is None else f"AND r.volunteer_id IN ({volunteer_ids})"
    return f"""
        INSERT INTO {mark} (kind, subject_id, period, starts_on, first_day, region_path, school_id)
        SELECT 'volunteer', r.volunteer_id, %(period)s, %(starts_on)s, %(day)s, v.region_path,
            COALESCE(v.school_id, 0)
        FROM {record} r
        JOIN {profile} v ON v.id = r.volunteer_id
        WHERE r.started_at >= %(start)s AND r.started_at < %(end)s AND {counting_condition("r")} {only}
        GROUP BY r.volunteer_id, v.region_path, v.school_id
        ORDER BY r.volunteer_id
        ON CONFLICT (kind, subject_id, period, starts_on) DO UPDATE
        SET first_day = CASE WHEN excluded.first_day < {mark}.first_day THEN excluded.first_day
            ELSE {mark}.first_day END
    """


def _date(day: dt.date):
    return connection.ops.adapt_datefield_value(day)


def _periods(day: dt.date) -> list[dict]:
    week, month = week_start(day), month_start(day)
    return [
        {"period": "week", "starts_on": _date(week), "ends_before": _date(week + dt.timedelta(days=7))},
        {"period": "month", "starts_on": _date(month), "ends_before": _date(next_month(month))},
    ]


def _params(day: dt.date) -> dict:
    start, end = day_bounds(day)
    adapt = connection.ops.adapt_datetimefield_value
    return {"day": _date(day), "start": adapt(start), "end": adapt(end)}


def _now() -> str:
    return connection.ops.adapt_datetimefield_value(timezone.now())


# --- refreshing a few units (after an event) ---------------------------------------------------------------


def units_refresh(*, day: dt.date, units: Iterable[Unit]) -> None:
    """Recompute the day's rows of these units, then their regions' RegionDay rows and the schools' marks."""
    units = [unit for unit in set(units) if unit.region_id]
    if not units:
        return
    school_ids = _ids(unit.school_id for unit in units if unit.school_id)
    # Only the units outside schools are recomputed by region: a school's event leaves its region's
    # school-0 row (the street events, the volunteers without a school) alone.
    zero_region_ids = _ids(unit.region_id for unit in units if not unit.school_id)
    params = _params(day)
    unit_rows = f"(school_id IN ({school_ids}) OR (school_id = 0 AND region_id IN ({zero_region_ids})))"
    with connection.cursor() as cursor:
        # The regions the units' rows are in: a school moved since keeps a row in its old region.
        cursor.execute(
            f"SELECT DISTINCT region_id FROM {quoted_table(SchoolDay)} WHERE day = %(day)s AND {unit_rows}",
            params,
        )
        region_ids = _ids([*(unit.region_id for unit in units), *(row[0] for row in cursor.fetchall())])
        _refresh_day(
            cursor,
            params,
            school_ids=school_ids,
            zero_region_ids=zero_region_ids,
            school_rows=unit_rows,
            region_ids=region_ids,
        )
        for period in _periods(day):
            cursor.execute(_school_marks_sql(school_ids=school_ids), {**params, **period})


def _refresh_day(
    cursor,
    params: dict,
    *,
    school_ids: str | None = None,
    zero_region_ids: str | None = None,
    school_rows: str | None = None,
    region_ids: str | None = None,
) -> None:
    """The day's SchoolDay rows of these schools (and school-0 rows of these regions), then the RegionDay rows
    of these regions, recomputed from the source rows; None is every one of them. `school_rows` is the
    condition on SchoolDay that names the same rows.

    Each statement its own transaction (autocommit): the RegionDay sum must start after the SchoolDay rows it
    sums have committed. A row the upsert did not write has no event left that day (a record corrected to
    another day, a claim made again, a school moved): it goes, unless a later refresh wrote it (the
    refreshed_at guard)."""
    school_day, region_day = quoted_table(SchoolDay), quoted_table(RegionDay)
    school_filter = f" AND {school_rows}" if school_rows is not None else ""
    region_filter = f" AND region_id IN ({region_ids})" if region_ids is not None else ""
    now = _now()
    cursor.execute(_school_day_sql(school_ids=school_ids, region_ids=zero_region_ids), {**params, "now": now})
    cursor.execute(
        f"DELETE FROM {school_day} WHERE day = %(day)s{school_filter} AND refreshed_at < %(now)s",
        {**params, "now": now},
    )
    now = _now()
    cursor.execute(_region_day_sql(region_ids=region_ids), {**params, "now": now})
    cursor.execute(
        f"DELETE FROM {region_day} WHERE day = %(day)s{region_filter} AND refreshed_at < %(now)s",
        {**params, "now": now},
    )


def volunteer_marks_recompute(*, day: dt.date, volunteer_id: int) -> None:
    """The volunteer's marks of the week and the month containing the day, recomputed whole from the counting
    records: after a correction, which may move the service out of a period or later in it (the per-day
    upsert only ever moves a mark earlier)."""
    profile = VolunteerProfile.objects.only("region_path", "school_id").get(pk=volunteer_id)
    for period in ("week", "month"):
        starts_on = week_start(day) if period == "week" else month_start(day)
        ends_before = starts_on + dt.timedelta(days=7) if period == "week" else next_month(starts_on)
        first = (
            HourRecord.objects.counting()
            .filter(
                volunteer_id=volunteer_id,
                started_at__gte=day_bounds(starts_on)[0],
                started_at__lt=day_bounds(ends_before)[0],
            )
            .order_by("started_at")
            .values_list("started_at", flat=True)
            .first()
        )
        marks = ActiveMark.objects.filter(
            kind="volunteer", subject_id=volunteer_id, period=period, starts_on=starts_on
        )
        if first is None:
            marks.delete()
        else:
            marks.update_or_create(
                kind="volunteer",
                subject_id=volunteer_id,
                period=period,
                starts_on=starts_on,
                defaults={
                    "first_day": local_day(first),
                    "region_path": profile.region_path,
                    "school_id": profile.school_id or 0,
                },
            )


def volunteer_marks_refresh(*, day: dt.date, volunteer_ids: Iterable[int]) -> None:
    params = _params(day)
    with connection.cursor() as cursor:
        for period in _periods(day):
            cursor.execute(_volunteer_marks_sql(volunteer_ids=_ids(volunteer_ids)), {**params, **period})


# --- rebuilding whole days ----------------------------------------------------------------------------------


def recent_refresh(*, today: dt.date, days: int = 2) -> None:
    """The minute's repair in production (`refresh_stats`): the last `days` days' SchoolDay and RegionDay
    rows recomputed whole, and their activity marks upserted (a mark only ever moves to an earlier day here;
    `rebuild` recomputes the marks of whole periods).

    No enclosing transaction: each statement commits on its own, as in `units_refresh`, so the receivers
    running meanwhile never wait for a whole day's recompute (nor deadlock with it). The guarded upsert
    replaces every row that has events; the rows it did not write have none left and are deleted."""
    for offset in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=offset)
        params = _params(day)
        with connection.cursor() as cursor:
            _refresh_day(cursor, params)
            for period in _periods(day):
                cursor.execute(_school_marks_sql(school_ids=None), {**params, **period})
                cursor.execute(_volunteer_marks_sql(volunteer_ids=None), {**params, **period})


def rebuild(*, start: dt.date, end: dt.date, progress=None) -> Counter:
    """Recompute every rollup row of the days start..end (inclusive) from the source rows: SchoolDay and
    RegionDay rows of those days, and the activity marks of every week and month that overlaps them (so a
    period's marks are recomputed whole). Returns the rows written per table."""
    if end < start:
        return Counter()
    first = min(week_start(start), month_start(start))
    last_week = week_start(end) + dt.timedelta(days=6)
    last = max(last_week, next_month(month_start(end)) - dt.timedelta(days=1))
    written: Counter = Counter()
    mark = ActiveMark.objects
    with transaction.atomic():
        SchoolDay.objects.filter(day__gte=start, day__lte=end).delete()
        RegionDay.objects.filter(day__gte=start, day__lte=end).delete()
        mark.filter(period="week", starts_on__gte=week_start(start), starts_on__lte=end).delete()
        mark.filter(period="month", starts_on__gte=month_start(start), starts_on__lte=end).delete()
        day = start
        with connection.cursor() as cursor:
            while day <= end:
                params = _params(day)
                cursor.execute(_school_day_sql(school_ids=None, region_ids=None), {**params, "now": _now()})
                cursor.execute(_region_day_sql(region_ids=None), {**params, "now": _now()})
                if progress is not None:
                    progress(day)
                day += dt.timedelta(days=1)
            # Marks: every day of the periods overlapping the range, so that each period is complete.
            day = first
            while day <= last:
                params = _params(day)
                for period in _periods(day):
                    if period["starts_on"] == _date(day):
                        cursor.execute(_school_marks_sql(school_ids=None), {**params, **period})
                    cursor.execute(_volunteer_marks_sql(volunteer_ids=None), {**params, **period})
                day += dt.timedelta(days=1)
    written["schoolday"] = SchoolDay.objects.filter(day__gte=start, day__lte=end).count()
    written["regionday"] = RegionDay.objects.filter(day__gte=start, day__lte=end).count()
    written["activemark"] = mark.filter(starts_on__gte=first, starts_on__lte=last).count()
    return written
