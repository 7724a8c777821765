"""A term's figures pages: the report by region with drill-down (region → sub-regions → schools → classes),
the schools below the targets, and an Excel export of each table. Every page goes through
`figures_scope_for_user`: an organiser reads their region's part of the term, a teacher their school."""

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaigns import figures
from campaigns.figures import Counts, FiguresScope
from edu.models import Region, School

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BELOW_PAGE_SIZE = 50


@dataclass
class Column:
    key: str
    label: str
    kind: str  # text, int, pct, score


def _region_columns() -> list[Column]:
    return [
        Column("name", _("Region"), "text"),
        Column("participating_schools", _("Participating schools"), "int"),
        Column("schools", _("Total schools"), "int"),
        Column("school_rate", _("School participation rate"), "pct"),
        Column("participating", _("Participating students"), "int"),
        Column("students", _("Total students"), "int"),
        Column("student_rate", _("Student participation rate"), "pct"),
        Column("pass_rate", _("Pass rate"), "pct"),
        Column("full_mark_rate", _("Full-mark rate"), "pct"),
        Column("excellence_rate", _("Excellence rate"), "pct"),
        Column("average_score", _("Average score"), "score"),
    ]


def _region_values(counts: Counts) -> list:
    return [
        counts.participating_schools,
        counts.schools,
        counts.school_participation_rate,
        counts.participating,
        counts.headcount,
        counts.student_participation_rate,
        counts.pass_rate,
        counts.full_mark_rate,
        counts.excellence_rate,
        counts.average_score,
    ]


def _student_columns(first: Column) -> list[Column]:
    """The columns of a school's or a class's row: one unit, so students rather than schools."""
    return [
        first,
        Column("students", _("Total students"), "int"),
        Column("registered", _("Registered"), "int"),
        Column("registration_rate", _("Registration rate"), "pct"),
        Column("participating", _("Participating students"), "int"),
        Column("student_rate", _("Student participation rate"), "pct"),
        Column("exam_taken", _("Took the final exam"), "int"),
        Column("pass_rate", _("Pass rate"), "pct"),
        Column("full_mark_rate", _("Full-mark rate"), "pct"),
        Column("excellence_rate", _("Excellence rate"), "pct"),
        Column("average_score", _("Average score"), "score"),
    ]


def _student_values(counts: Counts) -> list:
    return [
        counts.headcount,
        counts.registered,
        counts.registration_rate,
        counts.participating,
        counts.student_participation_rate,
        counts.exam_taken,
        counts.pass_rate,
        counts.full_mark_rate,
        counts.excellence_rate,
        counts.average_score,
    ]


@dataclass
class Row:
    label: str
    cells: list
    link: str = ""
    note: str = ""

    @property
    def cells_html(self) -> SafeString:
        """The row's <td> cells, escaped (built here: a template would pay per cell, per row)."""
        return mark_safe("".join(cell["html"] for cell in self.cells))  # noqa: S308 - each cell is escaped


def _headers(request: HttpRequest, columns: list[Column], order: str, allowed) -> list[dict]:
    """Each column's header with the link that sorts by it (again: the other way round)."""
    key, descending = figures.parse_order(order, allowed)
    headers = []
    for column in columns:
        active = column.key == key
        if active:
            target = column.key if descending else f"-{column.key}"
        else:
            # Rates and counts read best largest first; names A to Z.
            target = column.key if column.kind == "text" else f"-{column.key}"
        query = request.GET.copy()
        query["order"] = target
        query.pop("page", None)
        query.pop("format", None)
        headers.append(
            {
                "label": column.label,
                "url": f"?{query.urlencode()}",
                "active": active,
                "descending": descending,
                "numeric": column.kind != "text",
                "kind": column.kind,
            }
        )
    return headers


def _cells(columns: list[Column], values: list) -> list[dict]:
    """Each cell's value and kind, and its markup (`html`): formatted here rather than by a template
    per cell, which a table of a few hundred rows would pay for in rendering time."""
    return [_cell(value, column.kind) for column, value in zip(columns[1:], values, strict=True)]


def _cell(value, kind: str) -> dict:
    if kind == "text":
        text, css = value, ""
    elif value is None:
        text, css = "—", "num muted"
    else:
        # Integers and decimals read the same in both languages (a point, no grouping): str() is the
        # template's localize without its per-call cost.
        text = str(value) if isinstance(value, int | Decimal) else formats.localize(value)
        text, css = (f"{text}%" if kind == "pct" else text), "num"
        if kind == "points" and value:  # a change in percentage points: signed, coloured by its direction
            text, css = (f"+{text}", "num up") if value > 0 else (text, "num down")
    attribute = f' class="{css}"' if css else ""
    return {"value": value, "kind": kind, "html": f"<td{attribute}>{escape(text)}</td>"}


EXPORT_FORMATS = ("xlsx", "csv")


def export_table(
    columns: list[Column], rows: list[Row], total: Row | None, *, fmt: str, basename: str
) -> HttpResponse:
    """A table as shown (its rows, then the total) in Excel or CSV (UTF-8 with a BOM, for Excel)."""
    from edu.tabular import write_csv, write_xlsx

    def plain(row: Row) -> list:
        return [row.label] + [_xlsx_value(cell["value"]) for cell in row.cells]

    header = [column.label for column in columns]
    data = [plain(row) for row in rows] + ([plain(total)] if total is not None else [])
    if fmt == "csv":
        response = HttpResponse(write_csv(header, data), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(write_xlsx(header, data, sheet_title="figures"), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}.{"csv" if fmt == "csv" else "xlsx"}"'
    return response


def _xlsx_value(value):
    return float(value) if isinstance(value, Decimal) else value


def _figures_url(term_pk: int, name: str, *args, **query) -> str:
    url = reverse(name, args=[term_pk, *args])
    return f"{url}?{urlencode(query)}" if query else url


def _context(request: HttpRequest, scope: FiguresScope, **extra) -> dict:
    return {"term": scope.term, "campaign": scope.term.campaign, "scope": scope, **extra}


# --- pages -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def term_figures(request: HttpRequest, pk: int) -> HttpResponse:
    """The figures of the user's whole reach (an organiser's region), or a teacher's school."""
    scope = figures.figures_scope_for_user(user=request.user, pk=pk)
    if scope.reach is None:
        school = School.objects.only("code").get(pk=scope.school_id)
        return redirect("term_figures_school", pk, school.code)
    region = figures.figures_region_for_user(scope=scope, region_pk=None)
    return _region_page(request, scope, region)


@login_required
@require_GET
def term_figures_region(request: HttpRequest, pk: int, region_pk: int) -> HttpResponse:
    scope = figures.figures_scope_for_user(user=request.user, pk=pk)
    region = figures.figures_region_for_user(scope=scope, region_pk=region_pk)
    return _region_page(request, scope, region)


def _region_page(request: HttpRequest, scope: FiguresScope, region: Region) -> HttpResponse:
    term = scope.term
    order = request.GET.get("order", "")
    children = figures.figures_for_regions(term=term, parent_region=region)
    total_counts = figures.figures_for_region(term=term, region=region)
    if children:
        columns = _region_columns()
        rows = [
            Row(
                label=child.region.display_name,
                cells=_cells(columns, _region_values(child)),
                link=reverse("term_figures_region", args=[term.campaign_id, child.region.pk]),
            )
            for child in figures.sort_region_figures(children, order)
        ]
        total = Row(label=_("Total"), cells=_cells(columns, _region_values(total_counts)))
        allowed = figures.REGION_ORDERS
    else:
        # A county (or any region without sub-regions): its schools.
        columns = _student_columns(Column("name", _("School"), "text"))
        schools = figures.figures_for_schools(term=term, region=region, order=order)
        rows = [
            Row(
                label=row.school.display_name,
                cells=_cells(columns, _student_values(figures.school_counts(row))),
                link=reverse("term_figures_school", args=[term.campaign_id, row.school.code]),
                note="" if row.participating else _("no participating student yet"),
            )
            for row in schools
        ]
        total = Row(label=_("Total"), cells=_cells(columns, _student_values(total_counts)))
        allowed = figures.SCHOOL_ORDERS
    if (fmt := request.GET.get("format")) in EXPORT_FORMATS:
        return export_table(columns, rows, total, fmt=fmt, basename=f"term-{term.campaign_id}-{region.code}")
    return render(
        request,
        "campaigns/figures/region.html",
        _context(
            request,
            scope,
            region=region,
            trail=figures.region_trail(region=region, reach=scope.reach),
            headers=_headers(request, columns, order, allowed),
            rows=rows,
            total=total,
            total_counts=total_counts,
            lists_schools=not children,
            below_url=_figures_url(term.campaign_id, "term_figures_below", region=region.pk),
        ),
    )


@login_required
@require_GET
def term_figures_school(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    """A school's classes: an organiser of a region containing it, or a teacher of the school."""
    scope = figures.figures_scope_for_user(user=request.user, pk=pk)
    school = figures.figures_school_for_user(scope=scope, code=code)
    term = scope.term
    order = request.GET.get("order", "")
    columns = _student_columns(Column("name", _("Class"), "text"))
    classes = figures.figures_for_classes(term=term, school=school, order=order)
    rows = [Row(label=row.school_class.label, cells=_cells(columns, _student_values(row))) for row in classes]
    school_counts = figures.figures_for_school(term=term, school=school)
    total = Row(label=_("Whole school"), cells=_cells(columns, _student_values(school_counts)))
    if (fmt := request.GET.get("format")) in EXPORT_FORMATS:
        return export_table(columns, rows, total, fmt=fmt, basename=f"term-{term.campaign_id}-{school.code}")
    trail = figures.region_trail(region=school.region, reach=scope.reach) if scope.reach is not None else []
    return render(
        request,
        "campaigns/figures/school.html",
        _context(
            request,
            scope,
            school=school,
            trail=trail,
            headers=_headers(request, columns, order, figures.CLASS_ORDERS),
            rows=rows,
            total=total,
            total_counts=school_counts,
        ),
    )


@login_required
@require_GET
def term_figures_below(request: HttpRequest, pk: int) -> HttpResponse:
    """The schools under the organiser's region (or ?region=) below the term's registration or participation
    target, sortable, 50 a page; the export holds all of them."""
    scope = figures.figures_scope_for_user(user=request.user, pk=pk)
    region_pk = request.GET.get("region", "")
    region = figures.figures_region_for_user(
        scope=scope, region_pk=int(region_pk) if region_pk.isdigit() else None
    )
    term = scope.term
    order = request.GET.get("order", "")
    columns = _student_columns(Column("name", _("School"), "text"))
    columns.insert(1, Column("region", _("County / district"), "text"))
    schools = figures.figures_for_schools(term=term, region=region, below_targets=True, order=order)

    def row_of(figure) -> Row:
        cells = [_cell(figure.school.region.display_name, "text")]
        cells += _cells(columns[1:], _student_values(figures.school_counts(figure)))
        return Row(
            label=figure.school.display_name,
            cells=cells,
            link=reverse("term_figures_school", args=[term.campaign_id, figure.school.code]),
        )

    if (fmt := request.GET.get("format")) in EXPORT_FORMATS:
        rows = [row_of(figure) for figure in schools.iterator(chunk_size=2000)]
        basename = f"term-{term.campaign_id}-{region.code}-below-targets"
        return export_table(columns, rows, None, fmt=fmt, basename=basename)
    page = Paginator(schools, BELOW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/figures/below.html",
        _context(
            request,
            scope,
            region=region,
            trail=figures.region_trail(region=region, reach=scope.reach),
            headers=_headers(request, columns, order, figures.SCHOOL_ORDERS),
            rows=[row_of(figure) for figure in page.object_list],
            page=page,
        ),
    )
