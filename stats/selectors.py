"""The organisers' statistics: who may read what (the gate of every page), the periods, and the readers over
the rollups (stats/models.py). Every reader is a fixed number of queries, whatever the size of the region: a
region's figures are sums over RegionDay rows found by region-path prefix, a school's over its SchoolDay rows.

Definitions (docs/statistics.md):

- schools taking part — schools with a submitted attempt or a live-contest player in the period (of all the
  region's schools);
- students registered — roster students who claimed their account: the latest second-classroom term's
  figures when the region has a term (its headcount beside it), else every claim so far;
- quiz attempts, average score (mean of the attempts' percentages), pass rate — submitted attempts of any
  quiz, by the day they were submitted;
- awareness rate — the share of the points scored in the first attempts at a campaign's knowledge survey;
- live contests (counted where the host belongs) and their players (where each belongs), by the day the
  contest finished;
- active volunteers — volunteers with approved service in the period; approved hours — the counting records
  (approved, not superseded), by the day served.

A period is a calendar week or month; "the change against the previous period" compares the same number of
days from the start of the previous one (Monday–Wednesday with Monday–Wednesday), so a period under way is
never compared with a whole one.
"""

# ruff: noqa: S608 - table names from _meta; every value is a parameter.
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Sum

from campaigns import figures as term_figures
from campaigns.figures import ONE_DECIMAL, percentage
from campaigns.models import Campaign, Term
from edu.models import Region, School, User
from edu.selectors import LIKE, ancestor_paths, like_prefix
from stats.models import BUCKETS, SUM_COLUMNS, ActiveMark, RegionDay, SchoolDay
from stats.rollups import month_start, next_month, quoted_table, summed_columns, week_start

PERIODS = ("week", "month")


# --- the gate ----------------------------------------------------------------------------------------------


@dataclass
class StatsScope:
    """What one user may read: a region subtree (an organiser; "" for a superuser: everything), or one school
    (a teacher or a school admin)."""

    reach: str | None = None
    school_id: int | None = None
    region: Region | None = None  # the organiser's own region


def stats_scope_for_user(*, user: User) -> StatsScope:
    """The gate of every statistics page: organisers read their region and everything under it, a teacher or
    school admin their own school, a superuser everything; anyone else is refused (403)."""
    if not user.is_authenticated:
        raise PermissionDenied
    if user.is_superuser:
        return StatsScope(reach="")
    if user.is_organiser and user.region_id:
        return StatsScope(reach=user.region.path, region=user.region)
    if (user.is_teacher or user.is_school_admin) and user.school_id:
        return StatsScope(school_id=user.school_id)
    raise PermissionDenied


def region_for_scope(*, scope: StatsScope, pk: int | None) -> Region | None:
    """A region inside the scope's reach (its own region when none is asked for; None for a superuser's
    whole site); anything else is not found (404)."""
    if scope.reach is None:
        raise PermissionDenied
    if pk is None:
        return scope.region
    return term_figures.figures_region_for_user(scope=scope, region_pk=pk)


def school_for_scope(*, scope: StatsScope, code: str) -> School:
    """A school inside the scope (an organiser's region, a teacher's own school); anything else is 404."""
    return term_figures.figures_school_for_user(scope=scope, code=code)


def region_trail(*, region: Region | None, reach: str | None) -> list[Region]:
    if region is None or reach is None:
        return []
    return term_figures.region_trail(region=region, reach=reach)


# --- periods -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # week or month
    start: dt.date
    end: dt.date  # the last day counted: the period's last day, or today while it is under way
    last: dt.date  # the period's last day
    previous_start: dt.date
    previous_end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def under_way(self) -> bool:
        return self.end < self.last


def period_for(*, kind: str, on: dt.date, today: dt.date) -> Period:
    """The week (Monday to Sunday) or month containing `on` (never after today), and the same number of
    days from the start of the one before."""
    kind = kind if kind in PERIODS else "week"
    on = min(on, today)
    if kind == "week":
        start = week_start(on)
        last = start + dt.timedelta(days=6)
        previous_start = start - dt.timedelta(days=7)
    else:
        start = month_start(on)
        last = next_month(start) - dt.timedelta(days=1)
        previous_start = month_start(start - dt.timedelta(days=1))
    end = min(last, today)
    span = (end - start).days
    previous_last = start - dt.timedelta(days=1)
    previous_end = min(previous_start + dt.timedelta(days=span), previous_last)
    return Period(kind, start, end, last, previous_start, previous_end)


def parse_period(*, kind: str, on: str, today: dt.date) -> Period:
    """?period=week|month&on=YYYY-MM-DD; anything else falls back to this week (never an error)."""
    try:
        day = dt.date.fromisoformat(on) if on else today
    except ValueError:
        day = today
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        day = today
    return period_for(kind=kind, on=day, today=today)


def last_complete_week(*, today: dt.date) -> Period:
    """The weekly report's week: the last Monday-to-Sunday week that has ended."""
    return period_for(kind="week", on=week_start(today) - dt.timedelta(days=1), today=today)


# --- figures -----------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """The sums of one period (or one row of a table) and the rates computed from them."""

    attempts: int = 0
    passed: int = 0
    percent_sum: Decimal = Decimal(0)
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    survey_attempts: int = 0
    survey_score: Decimal = Decimal(0)
    survey_max: Decimal = Decimal(0)
    live_contests: int = 0
    live_players: int = 0
    registrations: int = 0
    volunteer_minutes: int = 0
    volunteer_records: int = 0
    active_schools: int = 0
    active_volunteers: int = 0

    @classmethod
    def from_row(cls, values) -> "Figures":
        """A row of the SUM_COLUMNS sums, in that order."""
        named = dict(zip(SUM_COLUMNS, values, strict=True))
        return cls(
            attempts=int(named["attempts"] or 0),
            passed=int(named["passed"] or 0),
            percent_sum=Decimal(str(named["percent_sum"] or 0)),
            buckets=[int(named[f"b{i}"] or 0) for i in range(BUCKETS)],
            survey_attempts=int(named["survey_attempts"] or 0),
            survey_score=Decimal(str(named["survey_score"] or 0)),
            survey_max=Decimal(str(named["survey_max"] or 0)),
            live_contests=int(named["live_contests"] or 0),
            live_players=int(named["live_players"] or 0),
            registrations=int(named["registrations"] or 0),
            volunteer_minutes=int(named["volunteer_minutes"] or 0),
            volunteer_records=int(named["volunteer_records"] or 0),
        )

    @property
    def average_score(self) -> Decimal | None:
        if not self.attempts:
            return None
        return (self.percent_sum / self.attempts).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)

    @property
    def pass_rate(self) -> Decimal | None:
        return percentage(self.passed, self.attempts)

    @property
    def awareness_rate(self) -> Decimal | None:
        return percentage(self.survey_score, self.survey_max)

    @property
    def hours(self) -> Decimal:
        return minutes_as_hours(self.volunteer_minutes)


def _where_unit(*, path: str | None, school_id: int | None) -> tuple[str, str, list]:
    """The rollup table and the condition for a region's subtree (path; "" is everything) or one school."""
    if school_id is not None:
        return quoted_table(SchoolDay), "d.school_id = %s", [school_id]
    if path:
        return quoted_table(RegionDay), f"d.region_path {LIKE}", [like_prefix(path)]
    return quoted_table(RegionDay), "TRUE", []


def period_figures(
    *, period: Period, path: str | None = None, school_id: int | None = None
) -> tuple[Figures, Figures]:
    """The figures of the period and of the previous one's same days: two queries (the sums, the marks)."""
    table, where, params = _where_unit(path=path, school_id=school_id)
    sql = f"""
        SELECT CASE WHEN d.day >= %s THEN 1 ELSE 0 END AS current_period, {summed_columns("d.")}
        FROM {table} d
        WHERE {where} AND ((d.day >= %s AND d.day <= %s) OR (d.day >= %s AND d.day <= %s))
        GROUP BY CASE WHEN d.day >= %s THEN 1 ELSE 0 END
    """
    args = [
        period.start,
        *params,
        period.start,
        period.end,
        period.previous_start,
        period.previous_end,
        period.start,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = {row[0]: Figures.from_row(row[1:]) for row in cursor.fetchall()}
    current, previous = rows.get(1, Figures()), rows.get(0, Figures())
    marks = active_counts(period=period, path=path, school_id=school_id)
    current.active_schools = marks.get(("school", period.start), 0)
    current.active_volunteers = marks.get(("volunteer", period.start), 0)
    previous.active_schools = marks.get(("school", period.previous_start), 0)
    previous.active_volunteers = marks.get(("volunteer", period.previous_start), 0)
    return current, previous


def active_counts(
    *, period: Period, path: str | None, school_id: int | None
) -> dict[tuple[str, dt.date], int]:
    """Distinct schools and volunteers active in the period's days and in the previous one's: counts of
    activity marks (one per subject and period, holding its first active day)."""
    mark = quoted_table(ActiveMark)
    if school_id is not None:
        where, params = "m.school_id = %s", [school_id]
    elif path:
        where, params = f"m.region_path {LIKE}", [like_prefix(path)]
    else:
        where, params = "TRUE", []
    sql = f"""
        SELECT m.kind, m.starts_on, COUNT(*)
        FROM {mark} m
        WHERE m.kind IN ('school', 'volunteer') AND m.period = %s AND m.starts_on IN (%s, %s) AND {where}
        AND ((m.starts_on = %s AND m.first_day <= %s) OR (m.starts_on = %s AND m.first_day <= %s))
        GROUP BY m.kind, m.starts_on
    """
    # (The IN puts the two periods into the index's range; the OR alone would filter a region's every mark.)
    args = [
        period.kind,
        period.start,
        period.previous_start,
        *params,
        period.start,
        period.end,
        period.previous_start,
        period.previous_end,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return {(kind, _as_date(starts_on)): count for kind, starts_on, count in cursor.fetchall()}


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def daily_series(
    *, start: dt.date, end: dt.date, path: str | None = None, school_id: int | None = None
) -> dict:
    """Per day: attempts, live players and approved minutes (the charts over time): one query."""
    table, where, params = _where_unit(path=path, school_id=school_id)
    sql = f"""
        SELECT d.day, SUM(d.attempts), SUM(d.live_players), SUM(d.volunteer_minutes)
        FROM {table} d
        WHERE {where} AND d.day >= %s AND d.day <= %s
        GROUP BY d.day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, start, end])
        return {_as_date(day): (int(a or 0), int(p or 0), int(m or 0)) for day, a, p, m in cursor.fetchall()}


def weekly_attempts(*, period: Period, series: dict, weeks: int = 12) -> list[tuple[dt.date, int | None]]:
    """Attempts per week for the `weeks` weeks ending with the period's week (None for weeks to come)."""
    last = week_start(period.end)
    result = []
    for back in range(weeks - 1, -1, -1):
        monday = last - dt.timedelta(days=7 * back)
        total = sum(series.get(monday + dt.timedelta(days=i), (0, 0, 0))[0] for i in range(7))
        result.append((monday, total))
    return result


def minutes_as_hours(minutes: int) -> Decimal:
    """Hours with one decimal, rounded half up, as the cards and the monthly chart both show them."""
    return (Decimal(minutes) / 60).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def month_starts(end: dt.date, months: int = 12) -> list[dt.date]:
    """The first days of the `months` months ending with `end`'s month, oldest first."""
    starts = [month_start(end)]
    for _ in range(months - 1):
        starts.insert(0, month_start(starts[0] - dt.timedelta(days=1)))
    return starts


def monthly_hours(*, period: Period, series: dict, months: int = 12) -> list[tuple[dt.date, Decimal]]:
    """Approved hours per month for the `months` months ending with the period's month."""
    totals = {start: 0 for start in month_starts(period.end, months)}
    for day, (_attempts, _players, minutes) in series.items():
        start = month_start(day)
        if start in totals:
            totals[start] += minutes
    return [(start, minutes_as_hours(minutes)) for start, minutes in totals.items()]


def series_start(period: Period) -> dt.date:
    """The first day the charts need: twelve weeks and twelve months back from the period's end."""
    twelve_weeks = week_start(period.end) - dt.timedelta(days=7 * 11)
    return min(twelve_weeks, month_starts(period.end, 12)[0])


# --- the tables: sub-regions and schools -------------------------------------------------------------------


@dataclass
class TableRow:
    figures: Figures
    schools: int = 0
    region: Region | None = None
    school: School | None = None
    directly: bool = False  # what is placed on the region itself, not on one of its sub-regions

    @property
    def school_rate(self) -> Decimal | None:
        return percentage(self.figures.active_schools, self.schools)


def children_of(region: Region | None):
    return (
        Region.objects.filter(parent=region)
        if region is not None
        else Region.objects.filter(parent__isnull=True)
    )


def region_rows(*, period: Period, region: Region | None, children: list[Region]) -> list[TableRow]:
    """One row per child region (the provinces for the whole site), and one for what belongs to the region
    itself rather than to a child (schools placed directly under a city, a city's guests): the period's
    sums, the schools taking part and the schools — three queries, whatever the number of schools."""
    if not children:
        return []
    region_table, school_table, mark = quoted_table(Region), quoted_table(School), quoted_table(ActiveMark)
    if region is None:
        chosen, chosen_args = "r.parent_id IS NULL", []
        matches, match_args = "{column} LIKE r.path || '%%'", []
    else:
        chosen, chosen_args = "(r.parent_id = %s OR r.id = %s)", [region.pk, region.pk]
        # The region's own row holds only what is placed on the region itself. The constant prefix first, so
        # that only the region's rows are read (through the path indexes), not every row of the site.
        matches = (
            f"{{column}} {LIKE} AND "
            "CASE WHEN r.id = %s THEN {column} = r.path ELSE {column} LIKE r.path || '%%' END"
        )
        match_args = [like_prefix(region.path), region.pk]
    sums_sql = f"""
        SELECT r.id, {summed_columns("d.")}
        FROM {region_table} r
        LEFT JOIN {quoted_table(RegionDay)} d
            ON {matches.format(column="d.region_path")} AND d.day >= %s AND d.day <= %s
        WHERE {chosen}
        GROUP BY r.id
    """
    marks_sql = f"""
        SELECT r.id, COUNT(m.id)
        FROM {region_table} r
        JOIN {mark} m ON {matches.format(column="m.region_path")}
        WHERE {chosen} AND m.kind = 'school' AND m.period = %s AND m.starts_on = %s AND m.first_day <= %s
        GROUP BY r.id
    """
    schools_sql = f"""
        SELECT r.id, COUNT(s.id)
        FROM {region_table} r
        JOIN {school_table} s ON {matches.format(column="s.region_path")}
        WHERE {chosen}
        GROUP BY r.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sums_sql, [*match_args, period.start, period.end, *chosen_args])
        sums = {row[0]: Figures.from_row(row[1:]) for row in cursor.fetchall()}
        cursor.execute(marks_sql, [*match_args, *chosen_args, period.kind, period.start, period.end])
        active = dict(cursor.fetchall())
        cursor.execute(schools_sql, [*match_args, *chosen_args])
        schools = dict(cursor.fetchall())
    rows = []
    for child in children:
        figures = sums.get(child.pk, Figures())
        figures.active_schools = active.get(child.pk, 0)
        rows.append(TableRow(figures=figures, schools=schools.get(child.pk, 0), region=child))
    if region is not None:
        own = sums.get(region.pk, Figures())
        own.active_schools = active.get(region.pk, 0)
        if schools.get(region.pk) or own.attempts or own.live_players or own.volunteer_minutes:
            rows.append(
                TableRow(figures=own, schools=schools.get(region.pk, 0), region=region, directly=True)
            )
    return rows


def school_rows(*, period: Period, region: Region, directly: bool = False) -> list[TableRow]:
    """One row per school of the region's subtree (a county's schools, or a leaf region's) — or, `directly`,
    of the schools placed on the region itself: three queries."""
    schools = School.objects.select_related("region")
    if directly:
        schools = list(schools.filter(region=region))
        return _school_rows(period=period, schools=schools, path=region.path, exact=True)
    schools = list(schools.filter(region_path__startswith=region.path))
    return _school_rows(period=period, schools=schools, path=region.path, exact=False)


def _school_rows(*, period: Period, schools: list[School], path: str, exact: bool) -> list[TableRow]:
    school_day, mark = quoted_table(SchoolDay), quoted_table(ActiveMark)
    where, pattern = ("r.path = %s", path) if exact else (f"r.path {LIKE}", like_prefix(path))
    sums_sql = f"""
        SELECT d.school_id, {summed_columns("d.")}
        FROM {school_day} d
        WHERE d.region_id IN (SELECT r.id FROM {quoted_table(Region)} r WHERE {where})
        AND d.school_id > 0 AND d.day >= %s AND d.day <= %s
        GROUP BY d.school_id
    """
    mark_where, mark_pattern = (
        ("m.region_path = %s", path) if exact else (f"m.region_path {LIKE}", like_prefix(path))
    )
    marks_sql = f"""
        SELECT m.school_id FROM {mark} m
        WHERE m.kind = 'school' AND m.period = %s AND m.starts_on = %s AND m.first_day <= %s
        AND {mark_where}
    """
    with connection.cursor() as cursor:
        cursor.execute(sums_sql, [pattern, period.start, period.end])
        sums = {row[0]: Figures.from_row(row[1:]) for row in cursor.fetchall()}
        cursor.execute(marks_sql, [period.kind, period.start, period.end, mark_pattern])
        active = {row[0] for row in cursor.fetchall()}
    rows = []
    for school in schools:
        figures = sums.get(school.pk, Figures())
        figures.active_schools = 1 if school.pk in active else 0
        rows.append(TableRow(figures=figures, schools=1, school=school))
    return rows


ROW_ORDERS = {
    "name": lambda row: (row.directly, row.region.path) if row.region else (False, row.school.name),
    "school_rate": lambda row: row.school_rate,
    "active_schools": lambda row: row.figures.active_schools,
    "schools": lambda row: row.schools,
    "attempts": lambda row: row.figures.attempts,
    "average_score": lambda row: row.figures.average_score,
    "pass_rate": lambda row: row.figures.pass_rate,
    "awareness_rate": lambda row: row.figures.awareness_rate,
    "live_players": lambda row: row.figures.live_players,
    "hours": lambda row: row.figures.volunteer_minutes,
}


def sort_rows(rows: list[TableRow], order: str) -> list[TableRow]:
    """Sorted by a column; rows without a value always last (so "lagging first" lists real figures)."""
    return term_figures.sort_by_column(rows, order, ROW_ORDERS)


# --- students registered -----------------------------------------------------------------------------------


@dataclass
class Registration:
    registered: int
    headcount: int | None
    term: Term | None

    @property
    def rate(self) -> Decimal | None:
        return percentage(self.registered, self.headcount)


def current_term(*, path: str) -> Term | None:
    """The latest second-classroom term of a campaign covering the whole region (its region is the region or
    one above it). A term of a part of the region (a county's, under a province) would count only that
    part: the region then has none."""
    if not path:
        return None
    return (
        Term.objects.select_related("campaign__region")
        .filter(
            campaign__kind=Campaign.Kind.SECOND_CLASSROOM, campaign__region__path__in=ancestor_paths(path)
        )
        .order_by("-campaign__starts_on", "-pk")
        .first()
    )


def registration(*, region: Region | None, school: School | None, headcount: int = 0) -> Registration:
    """Students registered and the headcount, from the latest term's figures (one query) — else every claim
    so far and the schools' typed-in headcounts (`headcount`, which the caller has read already)."""
    path = school.region_path if school is not None else (region.path if region is not None else "")
    term = current_term(path=path)
    if term is not None:
        if school is not None:
            counts = term_figures.figures_for_school(term=term, school=school)
        else:
            counts = term_figures.figures_for_region(term=term, region=region)
        return Registration(registered=counts.registered, headcount=counts.headcount, term=term)
    if school is not None:
        claims = SchoolDay.objects.filter(school_id=school.pk).aggregate(n=Sum("registrations"))["n"]
        return Registration(registered=claims or 0, headcount=school.student_headcount or None, term=None)
    rows = RegionDay.objects.filter(region_path__startswith=path)
    claims = rows.aggregate(n=Sum("registrations"))["n"]
    return Registration(registered=claims or 0, headcount=headcount or None, term=None)


def school_totals(*, path: str) -> tuple[int, int]:
    """The number of schools of a region's subtree and their typed-in headcounts: one query."""
    totals = School.objects.filter(region_path__startswith=path).aggregate(
        n=Count("pk"), headcount=Sum("student_headcount")
    )
    return totals["n"] or 0, totals["headcount"] or 0
