"""A campaign's knowledge-survey report: respondents and awareness before and after the campaign, by region
with drill-down (region → sub-regions → schools → one school), with Excel and CSV exports of each table.
Every page goes through `survey_scope_for_user`: an organiser reads their region's part of the campaign, a
teacher their school. The tables reuse the term figures' headers, cells and Excel export."""

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from campaigns.figures import region_trail
from campaigns.views_figures import EXPORT_FORMATS, Column, Row, _cells, _headers, export_table
from edu.models import Region, School
from quizzes.models import Quiz
from stats import surveys
from stats.surveys import CampaignSurveys, SurveyCounts, SurveyScope


def _columns(first: Column) -> list[Column]:
    return [
        first,
        Column("before_respondents", _("Respondents before"), "int"),
        Column("before_rate", _("Awareness before"), "pct"),
        Column("after_respondents", _("Respondents after"), "int"),
        Column("after_rate", _("Awareness after"), "pct"),
        Column("change", _("Change (points)"), "points"),
    ]


def _values(counts: SurveyCounts) -> list:
    return [
        counts.before_respondents,
        counts.before_rate,
        counts.after_respondents,
        counts.after_rate,
        counts.change,
    ]


def _table_headers(request: HttpRequest, columns: list[Column], order: str) -> list[dict]:
    """The sortable headers, with the short labels the page shows under "before" and "after" (the exports
    keep the full ones)."""
    headers = _headers(request, columns, order, surveys.ORDERS)
    people, rate = pgettext("survey column", "People"), pgettext("survey column", "Rate")
    shorts = [None, people, rate, people, rate, pgettext("survey column", "Change")]
    for header, short in zip(headers, shorts, strict=True):
        header["short"] = short or header["label"]
    return headers


def _row(columns: list[Column], label: str, counts: SurveyCounts, link: str = "", note: str = "") -> Row:
    return Row(label=label, cells=_cells(columns, _values(counts)), link=link, note=note)


def _export(request: HttpRequest, columns, rows, total, name: str) -> HttpResponse | None:
    """The table as a file when ?format= asks for one; None for the page."""
    fmt = request.GET.get("format")
    if fmt not in EXPORT_FORMATS:
        return None
    basename = f"survey-{re.sub(r'[^A-Za-z0-9_-]', '', name) or 'report'}"
    return export_table(columns, rows, total, fmt=fmt, basename=basename)


def _export_urls(request: HttpRequest) -> dict[str, str]:
    urls = {}
    for fmt in ("xlsx", "csv"):
        query = request.GET.copy()
        query["format"] = fmt
        urls[fmt] = f"?{query.urlencode()}"
    return urls


def _context(request: HttpRequest, scope: SurveyScope, found: CampaignSurveys, **extra) -> dict:
    return {
        "campaign": scope.campaign,
        "scope": scope,
        "surveys": found,
        "export_urls": _export_urls(request),
        "how": _how_to_make_a_survey() if not found.exists else None,
        **extra,
    }


def _how_to_make_a_survey() -> dict[str, str]:
    """The quiz form's own labels, so that the instructions name exactly what the organiser will see."""
    return {
        "campaign_field": capfirst(Quiz._meta.get_field("campaign").verbose_name),
        "survey_field": capfirst(Quiz._meta.get_field("survey_phase").verbose_name),
        "before": Quiz.SurveyPhase.BEFORE.label,
        "after": Quiz.SurveyPhase.AFTER.label,
    }


# --- pages -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def survey_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The report of the user's whole reach (an organiser's region), or a teacher's school."""
    scope = surveys.survey_scope_for_user(user=request.user, campaign_pk=pk)
    if scope.reach is None:
        school = School.objects.only("code").get(pk=scope.school_id)
        return redirect("survey_report_school", pk, school.code)
    region = surveys.survey_region_for_user(scope=scope, region_pk=None)
    return _region_page(request, scope, region)


@login_required
@require_GET
def survey_report_region(request: HttpRequest, pk: int, region_pk: int) -> HttpResponse:
    scope = surveys.survey_scope_for_user(user=request.user, campaign_pk=pk)
    region = surveys.survey_region_for_user(scope=scope, region_pk=region_pk)
    return _region_page(request, scope, region)


def _region_page(request: HttpRequest, scope: SurveyScope, region: Region) -> HttpResponse:
    campaign = scope.campaign
    found = surveys.campaign_surveys(campaign=campaign)
    order = request.GET.get("order", "")
    children = surveys.surveys_for_regions(surveys=found, parent_region=region)
    totals = surveys.survey_total(surveys=found, region=region)
    if children:
        columns = _columns(Column("name", _("Region"), "text"))
        rows = [
            _row(
                columns,
                child.region.display_name,
                child,
                link=reverse("survey_report_region", args=[campaign.pk, child.region.pk]),
            )
            for child in surveys.sort_surveys(children, order, name=lambda row: row.region.path)
        ]
        if totals.direct.respondents:
            # Schools of the region itself and respondents counted at it: in the total, in no sub-region.
            rows.append(
                _row(
                    columns,
                    _("Directly under %(region)s") % {"region": region.display_name},
                    totals.direct,
                    note=_("schools of the region itself and respondents outside any school"),
                )
            )
    else:
        # A county (or any region without sub-regions): its schools.
        columns = _columns(Column("name", _("School"), "text"))
        schools = surveys.surveys_for_schools(surveys=found, region=region)

        def by_name(row) -> tuple:
            return (row.school is None, row.school.display_name if row.school else "")

        rows = [
            _row(
                columns,
                row.school.display_name,
                row,
                link=reverse("survey_report_school", args=[campaign.pk, row.school.code]),
            )
            if row.school is not None
            else _row(columns, _("Not in a school"), row, note=_("guests and others without a school"))
            for row in surveys.sort_surveys(schools, order, name=by_name)
        ]
    total = _row(columns, _("Total"), totals.total)
    exported = _export(request, columns, rows, total, f"{campaign.pk}-{region.code}")
    if exported is not None:
        return exported
    return render(
        request,
        "stats/surveys/region.html",
        _context(
            request,
            scope,
            found,
            region=region,
            trail=region_trail(region=region, reach=scope.reach),
            headers=_table_headers(request, columns, order),
            rows=rows,
            total=total,
            counts=totals.total,
            lists_schools=not children,
            sortable=True,
        ),
    )


@login_required
@require_GET
def survey_report_school(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    """One school's row: an organiser of a region containing it, or a teacher of the school."""
    scope = surveys.survey_scope_for_user(user=request.user, campaign_pk=pk)
    school = surveys.survey_school_for_user(scope=scope, code=code)
    found = surveys.campaign_surveys(campaign=scope.campaign)
    counts = surveys.survey_for_school(surveys=found, school=school)
    order = request.GET.get("order", "")
    columns = _columns(Column("name", _("School"), "text"))
    rows = [_row(columns, school.display_name, counts)]
    exported = _export(request, columns, rows, None, f"{scope.campaign.pk}-{school.code}")
    if exported is not None:
        return exported
    trail = region_trail(region=school.region, reach=scope.reach) if scope.reach is not None else []
    return render(
        request,
        "stats/surveys/school.html",
        _context(
            request,
            scope,
            found,
            school=school,
            trail=trail,
            headers=_table_headers(request, columns, order),
            rows=rows,
            total=None,
            counts=counts,
            sortable=False,  # one row
        ),
    )
