"""The organisers' statistics pages: the dashboard of a region (the user's own, or one under it) or of a
school, with the figures of a week or a month beside the previous period's, the charts, the table of the
sub-regions (or the schools) with Excel and CSV exports, and the weekly report for A4. Every page goes
through `stats_scope_for_user`: an organiser reads their region's subtree, a teacher their school."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from campaigns.figures import percentage
from campaigns.views_figures import EXPORT_FORMATS, Column, Row, _cells, _headers, export_table
from edu.models import Region, School
from stats import charts, selectors
from stats.selectors import Figures, Period, StatsScope, TableRow

CHART_SCHOOLS = 20  # a county's chart of schools: the ones with the fewest attempts


# --- the figure cards --------------------------------------------------------------------------------------


@dataclass
class Card:
    key: str
    label: str
    value: str
    change: str = ""  # "+1,204 (+10.8%)", "−2.5 pts", "±0"; "" when there is nothing to compare with
    direction: str = "none"  # up, down, flat, none
    detail: str = ""  # a second line: "of 1,024 schools", "previous period: 812"
    current: int | Decimal | None = None  # the figures themselves, for the export
    previous: int | Decimal | None = None
    change_note: str = ""  # what the change is, when it is not "vs the same days of the previous period"


def _n(value) -> str:
    return number_format(value, force_grouping=True)


def _signed(delta, decimals: int | None = None) -> str:
    text = number_format(abs(delta), decimal_pos=decimals, force_grouping=True)
    if delta > 0:
        return f"+{text}"
    if delta < 0:
        return f"−{text}"
    return f"±{text}"


def _direction(delta) -> str:
    return "up" if delta > 0 else "down" if delta < 0 else "flat"


def _count_card(key: str, label: str, current: int, previous: int, *, detail: str = "") -> Card:
    delta = current - previous
    change = _signed(delta) + _relative(delta, previous)
    return Card(key, label, _n(current), change, _direction(delta), detail, current, previous)


def _relative(delta, base) -> str:
    """ " (+12.5%)": the change as a share of the previous period's figure; "" when that was 0."""
    relative = percentage(delta, base)
    return "" if relative is None else f" ({_signed(relative, 1)}%)"


def _rate_card(
    key: str, label: str, current: Decimal | None, previous: Decimal | None, *, detail: str = ""
) -> Card:
    if current is None:
        return Card(key, label, "—", "", "none", detail, None, previous)
    value = f"{number_format(current, decimal_pos=1)}%"
    if previous is None:
        return Card(key, label, value, "", "none", detail, current, None)
    delta = current - previous
    return Card(
        key,
        label,
        value,
        _("%(change)s points") % {"change": _signed(delta, 1)},
        _direction(delta),
        detail,
        current,
        previous,
    )


def _cards(*, current: Figures, previous: Figures, schools: int | None, registration) -> list[Card]:
    """The dashboard's figures with their change; `schools` None for one school's page (no schools card)."""
    cards = []
    if schools is not None:
        cards.append(
            _count_card(
                "schools",
                _("Schools taking part"),
                current.active_schools,
                previous.active_schools,
                detail=_("of %(schools)s schools") % {"schools": _n(schools)},
            )
        )
    registered = Card(
        "registered",
        _("Students registered"),
        _n(registration.registered),
        _signed(current.registrations),
        _direction(current.registrations),
        (
            _("of %(headcount)s students (%(rate)s%%)")
            % {"headcount": _n(registration.headcount), "rate": number_format(registration.rate, 1)}
            if registration.rate is not None
            else ""
        ),
        registration.registered,
        registration.registered - current.registrations,  # before this period's claims
        change_note=_("accounts claimed in this period"),
    )
    cards += [
        registered,
        _count_card("attempts", _("Quiz attempts"), current.attempts, previous.attempts),
        _rate_card("average_score", _("Average score"), current.average_score, previous.average_score),
        _rate_card("pass_rate", _("Pass rate"), current.pass_rate, previous.pass_rate),
        _rate_card(
            "awareness",
            _("Awareness rate"),
            current.awareness_rate,
            previous.awareness_rate,
            detail=_("%(n)s survey answers") % {"n": _n(current.survey_attempts)},
        ),
        _count_card("live_contests", _("Live contests held"), current.live_contests, previous.live_contests),
        _count_card("live_players", _("Live-contest players"), current.live_players, previous.live_players),
        _count_card(
            "volunteers", _("Active volunteers"), current.active_volunteers, previous.active_volunteers
        ),
        _hours_card(current, previous),
    ]
    return cards


def _hours_card(current: Figures, previous: Figures) -> Card:
    delta = current.hours - previous.hours
    # The share from the minutes: a few minutes round to 0.0 hours.
    minutes_delta = current.volunteer_minutes - previous.volunteer_minutes
    change = _signed(delta, 1) + _relative(minutes_delta, previous.volunteer_minutes)
    return Card(
        "hours",
        _("Approved volunteer hours"),
        number_format(current.hours, decimal_pos=1, force_grouping=True),
        change,
        _direction(delta),
        _("%(n)s records") % {"n": _n(current.volunteer_records)},
        current.hours,
        previous.hours,
    )


def _difference(card: Card):
    if card.current is None or card.previous is None:
        return None
    return card.current - card.previous


# --- the table ---------------------------------------------------------------------------------------------


def _table_columns(*, schools: bool) -> list[Column]:
    """The table's columns: per sub-region, or per school (which takes part or not)."""
    if schools:
        first = [Column("name", _("School"), "text"), Column("active_schools", _("Taking part"), "text")]
    else:
        first = [
            Column("name", _("Region"), "text"),
            Column("active_schools", _("Schools taking part"), "int"),
            Column("schools", _("Schools"), "int"),
            Column("school_rate", _("Share of schools taking part"), "pct"),
        ]
    return [
        *first,
        Column("attempts", _("Quiz attempts"), "int"),
        Column("average_score", _("Average score"), "pct"),
        Column("pass_rate", _("Pass rate"), "pct"),
        Column("awareness_rate", _("Awareness rate"), "pct"),
        Column("live_players", _("Live-contest players"), "int"),
        Column("hours", _("Approved volunteer hours"), "score"),
    ]


def _table_values(row: TableRow) -> list:
    figures = row.figures
    if row.school is not None:
        first = [_("yes") if figures.active_schools else _("no")]
    else:
        first = [figures.active_schools, row.schools, row.school_rate]
    return [
        *first,
        figures.attempts,
        figures.average_score,
        figures.pass_rate,
        figures.awareness_rate,
        figures.live_players,
        figures.hours,
    ]


# --- the pages ---------------------------------------------------------------------------------------------


def _period(request: HttpRequest) -> Period:
    return selectors.parse_period(
        kind=request.GET.get("period", ""), on=request.GET.get("on", ""), today=timezone.localdate()
    )


def _weekly_period(request: HttpRequest) -> Period:
    """The weekly report's week: the week of ?on=, else the last complete week."""
    today = timezone.localdate()
    if request.GET.get("on"):
        return selectors.parse_period(kind="week", on=request.GET["on"], today=today)
    return selectors.last_complete_week(today=today)


def _period_links(request: HttpRequest, period: Period) -> dict:
    """The links to the previous and next period and to the other kind of period, keeping the order."""

    def url(kind: str, on: dt.date) -> str:
        query = request.GET.copy()
        query["period"] = kind
        query["on"] = on.isoformat()
        query.pop("format", None)
        return f"?{query.urlencode()}"

    today = timezone.localdate()
    return {
        "previous": url(period.kind, period.start - dt.timedelta(days=1)),
        "next": url(period.kind, period.last + dt.timedelta(days=1)) if period.last < today else "",
        "week": url("week", period.end),
        "month": url("month", period.end),
    }


def _period_label(period: Period) -> str:
    if period.kind == "month":
        return date_format(period.start, "YEAR_MONTH_FORMAT")
    return _("week of %(start)s to %(end)s") % {
        "start": date_format(period.start, "MONTH_DAY_FORMAT"),
        "end": date_format(period.last, "MONTH_DAY_FORMAT"),
    }


def _charts(*, period: Period, series: dict, current: Figures, rows: list[TableRow]) -> dict:
    weekly = selectors.weekly_attempts(period=period, series=series)
    monthly = selectors.monthly_hours(period=period, series=series)
    bucket_labels = [f"{i * 10}–{i * 10 + 9}%" for i in range(9)] + ["90–100%"]
    result = {
        "participation": charts.column_chart(
            title=_("Quiz attempts per week"),
            points=[(date_format(monday, "m-d"), total) for monday, total in weekly],
            y_label=_("attempts"),
        ),
        "distribution": charts.histogram(
            title=_("Score distribution"), counts=current.buckets, labels=bucket_labels
        ),
        "hours": charts.column_chart(
            title=_("Approved volunteer hours per month"),
            points=[(start.strftime("%Y-%m"), float(hours)) for start, hours in monthly],
            y_label=_("hours"),
        ),
    }
    if rows and rows[0].school is not None:
        # One school takes part or not: its attempts say more. A county's hundreds of schools would make an
        # unreadable chart: the fewest first, as many as a chart holds (the table has them all).
        fewest = sorted(rows, key=lambda row: (row.figures.attempts, _row_label(row)))[:CHART_SCHOOLS]
        result["by_region"] = charts.bar_chart(
            title=_("Quiz attempts by school"),
            rows=[(_row_label(row), row.figures.attempts) for row in fewest],
            max_value=None,
            value_format=charts.format_number,
        )
        result["by_region_fewest"] = len(rows) > CHART_SCHOOLS
    elif rows:
        result["by_region"] = charts.bar_chart(
            title=_("Share of schools taking part"),
            rows=[(_row_label(row), row.school_rate) for row in rows],
        )
    return result


def _row_label(row: TableRow) -> str:
    if row.directly:
        return _("Directly under %(region)s") % {"region": row.region.display_name}
    return row.region.display_name if row.region is not None else row.school.display_name


def _row_link(row: TableRow, query: str, schools_prefix: str) -> str:
    if row.directly:
        # The schools placed on the region itself (no sub-region's page lists them).
        return f"{reverse('stats_region', args=[row.region.pk])}?{query}&directly=1"
    if row.region is not None:
        return f"{reverse('stats_region', args=[row.region.pk])}?{query}"
    # A county lists hundreds of schools: their URLs are built from one reversed prefix.
    return f"{schools_prefix}{quote(row.school.code, safe='')}/?{query}"


def _schools_prefix() -> str:
    return reverse("stats_school", args=["-"])[:-2]


def _base_query(period: Period) -> dict:
    return {"period": period.kind, "on": period.end.isoformat()}


def _render_region(
    request: HttpRequest, scope: StatsScope, region: Region | None, *, weekly: bool = False
) -> HttpResponse:
    period = _weekly_period(request) if weekly else _period(request)
    path = region.path if region is not None else ""
    children = list(selectors.children_of(region).order_by("path"))
    directly = bool(children) and region is not None and request.GET.get("directly") == "1"
    has_children = bool(children) and not directly
    if has_children or region is None:
        rows = selectors.region_rows(period=period, region=region, children=children)
    else:
        rows = selectors.school_rows(period=period, region=region, directly=directly)
    order = request.GET.get("order", "")
    rows = selectors.sort_rows(rows, order)
    columns = _table_columns(schools=not has_children and region is not None)
    query = urlencode(_base_query(period))
    schools_prefix = _schools_prefix()
    table = [
        Row(
            label=_row_label(row),
            cells=_cells(columns, _table_values(row)),
            link=_row_link(row, query, schools_prefix),
            note=(
                ""
                if row.figures.active_schools or row.school is not None
                else _("no school taking part in this period")
            ),
        )
        for row in rows
    ]
    name = region.code if region is not None else "all"
    fmt = request.GET.get("format", "")
    if fmt in EXPORT_FORMATS:
        basename = f"statistics-{name}-{period.kind}-{period.start.isoformat()}"
        return export_table(columns, table, None, fmt=fmt, basename=basename)
    current, previous = selectors.period_figures(period=period, path=path)  # the page's cards, not the export
    series = selectors.daily_series(start=selectors.series_start(period), end=period.end, path=path)
    base = {**_base_query(period), **({"directly": "1"} if directly else {})}
    schools, headcount = selectors.school_totals(path=path)
    registration = selectors.registration(region=region, school=None, headcount=headcount)
    context = {
        "scope": scope,
        "region": region,
        "school": None,
        "trail": selectors.region_trail(region=region, reach=scope.reach),
        "period": period,
        "period_label": _period_label(period),
        "links": _period_links(request, period),
        "cards": _cards(current=current, previous=previous, schools=schools, registration=registration),
        "charts": _charts(period=period, series=series, current=current, rows=rows),
        "headers": _headers(request, columns, order, selectors.ROW_ORDERS),
        "rows": table,
        "lists_schools": not has_children and region is not None,
        "directly": directly,
        "term": registration.term,
        "lagging_url": f"?{urlencode({**base, 'order': 'school_rate'})}",
        "export_query": urlencode({**base, **({"order": order} if order else {})}),
        "weekly": weekly,
        "weekly_url": _weekly_url(region=region, school=None),
        "term_figures_url": _term_figures_url(registration.term, region=region, school=None),
    }
    return render(request, "stats/weekly.html" if weekly else "stats/dashboard.html", context)


def _render_school(
    request: HttpRequest, scope: StatsScope, school: School, *, weekly: bool = False
) -> HttpResponse:
    period = _weekly_period(request) if weekly else _period(request)
    current, previous = selectors.period_figures(period=period, school_id=school.pk)
    registration = selectors.registration(region=None, school=school)
    cards = _cards(current=current, previous=previous, schools=None, registration=registration)
    fmt = request.GET.get("format", "")
    if fmt in EXPORT_FORMATS:
        columns = [
            Column("name", _("Figure"), "text"),
            Column("current", _("This period"), "score"),
            Column("previous", _("The same days of the previous period"), "score"),
            Column("change", pgettext("difference between two periods", "Change"), "score"),
        ]
        rows = [
            Row(
                label=card.label,
                cells=[
                    {"value": card.current, "kind": "score"},
                    {"value": card.previous, "kind": "score"},
                    {"value": _difference(card), "kind": "score"},
                ],
            )
            for card in cards
        ]
        basename = f"statistics-{school.code}-{period.kind}-{period.start.isoformat()}"
        return export_table(columns, rows, None, fmt=fmt, basename=basename)
    series = selectors.daily_series(start=selectors.series_start(period), end=period.end, school_id=school.pk)
    trail = selectors.region_trail(region=school.region, reach=scope.reach) if scope.reach is not None else []
    context = {
        "scope": scope,
        "region": school.region,
        "school": school,
        "trail": trail,
        "period": period,
        "period_label": _period_label(period),
        "links": _period_links(request, period),
        "cards": cards,
        "charts": _charts(period=period, series=series, current=current, rows=[]),
        "rows": [],
        "term": registration.term,
        "export_query": urlencode(_base_query(period)),
        "weekly": weekly,
        "weekly_url": _weekly_url(region=None, school=school),
        "term_figures_url": _term_figures_url(registration.term, region=None, school=school),
    }
    return render(request, "stats/weekly.html" if weekly else "stats/dashboard.html", context)


def _weekly_url(*, region: Region | None, school: School | None) -> str:
    url = reverse("stats_weekly")
    if school is not None:
        return f"{url}?{urlencode({'school': school.code})}"
    if region is not None:
        return f"{url}?{urlencode({'region': region.pk})}"
    return url


def _term_figures_url(term, *, region: Region | None, school: School | None) -> str:
    """The drill-down with the national report's columns (campaigns' term figures), at the same place."""
    if term is None:
        return ""
    campaign_pk = term.campaign_id
    if school is not None:
        return reverse("term_figures_school", args=[campaign_pk, school.code])
    if region is not None and region.path.startswith(term.campaign.region.path):
        return reverse("term_figures_region", args=[campaign_pk, region.pk])
    return reverse("term_figures", args=[campaign_pk])


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The user's own dashboard: their region's (an organiser), their school's (a teacher)."""
    scope = selectors.stats_scope_for_user(user=request.user)
    if scope.reach is None:
        school = School.objects.only("code").get(pk=scope.school_id)
        url = reverse("stats_school", args=[school.code])
        return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
    return _render_region(request, scope, selectors.region_for_scope(scope=scope, pk=None))


@login_required
@require_GET
def region_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    scope = selectors.stats_scope_for_user(user=request.user)
    return _render_region(request, scope, selectors.region_for_scope(scope=scope, pk=pk))


@login_required
@require_GET
def school_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    scope = selectors.stats_scope_for_user(user=request.user)
    return _render_school(request, scope, selectors.school_for_scope(scope=scope, code=code))


@login_required
@require_GET
def weekly_report(request: HttpRequest) -> HttpResponse:
    """The weekly report: the last complete week (or the week of ?on=) against the week before, for the
    user's region, ?region=<pk> under it, or ?school=<code>; laid out for A4."""
    scope = selectors.stats_scope_for_user(user=request.user)
    code = request.GET.get("school", "")
    if code or scope.reach is None:
        if not code:
            code = School.objects.only("code").get(pk=scope.school_id).code
        return _render_school(request, scope, selectors.school_for_scope(scope=scope, code=code), weekly=True)
    region_pk = request.GET.get("region", "")
    region = selectors.region_for_scope(
        scope=scope, pk=int(region_pk) if region_pk.isdigit() and len(region_pk) < 18 else None
    )
    return _render_region(request, scope, region, weekly=True)
