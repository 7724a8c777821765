"""A term's figures: per-school rollups of StudentProgress (SchoolTermFigures), their refresh, and the reads
behind the organisers' report pages (regions, schools, classes) with their gates.

Definitions (docs/second-classroom.md, "Figures"):

- students (headcount) — the school's roster students of the term's grades, else its classes' typed-in
  headcounts (never fewer than the students who have a progress row);
- participating student — a student who completed every lesson of their grade (`completed_all`);
- total schools — the schools taking part in the term: enrolled, or with students who have progress rows;
- participating school — one of those with at least one participating student;
- pass / full-mark / excellence rates and the average score — over the students who took the final exam.

Rates are computed from the counts when they are read (Decimal percentages, one decimal), never stored.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, When
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from campaigns.models import Campaign, Enrollment, SchoolTermFigures, StudentProgress, Term
from campaigns.selectors import campaign_reach, term_for_user
from edu.models import Region, School, SchoolClass, Student, User
from edu.selectors import ancestor_paths, class_headcount, like_prefix

ONE_DECIMAL = Decimal("0.1")


def percentage(part, whole) -> Decimal | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass
class Counts:
    """Counts of a region, a school or a class; every rate is a property computed from them."""

    schools: int = 0
    participating_schools: int = 0
    headcount: int = 0
    registered: int = 0
    participating: int = 0
    exam_taken: int = 0
    exam_passed: int = 0
    exam_full_marks: int = 0
    exam_excellent: int = 0
    exam_score_sum: Decimal = Decimal(0)

    @property
    def school_participation_rate(self) -> Decimal | None:
        return percentage(self.participating_schools, self.schools)

    @property
    def registration_rate(self) -> Decimal | None:
        return percentage(self.registered, self.headcount)

    @property
    def student_participation_rate(self) -> Decimal | None:
        return percentage(self.participating, self.headcount)

    @property
    def pass_rate(self) -> Decimal | None:
        return percentage(self.exam_passed, self.exam_taken)

    @property
    def full_mark_rate(self) -> Decimal | None:
        return percentage(self.exam_full_marks, self.exam_taken)

    @property
    def excellence_rate(self) -> Decimal | None:
        return percentage(self.exam_excellent, self.exam_taken)

    @property
    def average_score(self) -> Decimal | None:
        if not self.exam_taken:
            return None
        return (Decimal(self.exam_score_sum or 0) / self.exam_taken).quantize(ONE_DECIMAL, ROUND_HALF_UP)


@dataclass
class RegionFigures(Counts):
    region: Region | None = None


@dataclass
class ClassFigures(Counts):
    school_class: SchoolClass | None = None
    lessons_total: int = 0


# --- refreshing the rollups ---------------------------------------------------------------------------------

_COUNT_COLUMNS = (
    "headcount",
    "registered",
    "participating",
    "exam_taken",
    "exam_passed",
    "exam_full_marks",
    "exam_excellent",
    "exam_score_sum",
)


def _refresh_sql(*, grades: list[int], one_school: bool) -> str:
    """One INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE for a term (or one school of it).

    Runs unchanged on PostgreSQL and SQLite (≥ 3.24). Rows are written in school order, so that two refreshes
    running at once lock the rows in the same order; an update never replaces a row refreshed later than the
    one it would write (a refresh whose snapshot predates another's cannot overwrite the newer figures).
    """
    q = connection.ops.quote_name
    figures, progress = q(SchoolTermFigures._meta.db_table), q(StudentProgress._meta.db_table)
    school, student = q(School._meta.db_table), q(Student._meta.db_table)
    user, klass, enrollment = (
        q(User._meta.db_table),
        q(SchoolClass._meta.db_table),
        q(Enrollment._meta.db_table),
    )
    grade_list = ", ".join(str(int(grade)) for grade in grades) or "-1"
    only = " AND {column} = %(school)s" if one_school else ""
    flag = "CASE WHEN {} THEN 1 ELSE 0 END"
    base = "CASE WHEN COALESCE(r.n, 0) > 0 THEN r.n ELSE COALESCE(c.n, 0) END"
    headcount = f"CASE WHEN {base} >= COALESCE(p.n, 0) THEN {base} ELSE p.n END"
    updates = ", ".join(f"{column} = excluded.{column}" for column in ("region_path", *_COUNT_COLUMNS))
    return f"""
        WITH chosen AS (
            SELECT school_id FROM {enrollment}
            WHERE term_id = %(term)s AND status = 'enrolled'{only.format(column="school_id")}
            UNION
            SELECT school_id FROM {progress}
            WHERE term_id = %(term)s{only.format(column="school_id")}
        ),
        p AS (
            SELECT school_id, COUNT(*) AS n,
                SUM({flag.format("registered")}) AS registered,
                SUM({flag.format("completed_all")}) AS participating,
                COUNT(exam_score) AS exam_taken,
                SUM({flag.format("exam_passed")}) AS exam_passed,
                SUM({flag.format("exam_full_marks")}) AS exam_full_marks,
                SUM({flag.format("exam_excellent")}) AS exam_excellent,
                SUM(exam_score) AS exam_score_sum
            FROM {progress}
            WHERE term_id = %(term)s{only.format(column="school_id")}
            GROUP BY school_id
        ),
        r AS (
            SELECT st.school_id, COUNT(*) AS n
            FROM {student} st
            JOIN {user} u ON u.id = st.user_id
            JOIN {klass} k ON k.id = u.school_class_id
            WHERE st.graduated_on IS NULL AND k.grade IN ({grade_list}){only.format(column="st.school_id")}
            {only.format(column="k.school_id")}
            GROUP BY st.school_id
        ),
        c AS (
            SELECT school_id, SUM(headcount) AS n
            FROM {klass}
            WHERE graduated_on IS NULL AND grade IN ({grade_list}){only.format(column="school_id")}
            GROUP BY school_id
        )
        INSERT INTO {figures} (term_id, school_id, region_path, {", ".join(_COUNT_COLUMNS)}, refreshed_at)
        SELECT %(term)s, s.id, s.region_path, {headcount},
            COALESCE(p.registered, 0), COALESCE(p.participating, 0), COALESCE(p.exam_taken, 0),
            COALESCE(p.exam_passed, 0), COALESCE(p.exam_full_marks, 0), COALESCE(p.exam_excellent, 0),
            COALESCE(p.exam_score_sum, 0), %(now)s
        FROM chosen
        JOIN {school} s ON s.id = chosen.school_id
        LEFT JOIN p ON p.school_id = s.id
        LEFT JOIN r ON r.school_id = s.id
        LEFT JOIN c ON c.school_id = s.id
        WHERE TRUE
        ORDER BY s.id
        ON CONFLICT (term_id, school_id) DO UPDATE SET {updates}, refreshed_at = excluded.refreshed_at
        WHERE {figures}.refreshed_at <= excluded.refreshed_at
    """  # noqa: S608 - table names from _meta, grades are ints, values are parameters


def _stale_sql(*, one_school: bool) -> str:
    """Rows of schools no longer in the term (not enrolled, no progress)."""
    q = connection.ops.quote_name
    figures, progress = q(SchoolTermFigures._meta.db_table), q(StudentProgress._meta.db_table)
    enrollment = q(Enrollment._meta.db_table)
    return f"""
        DELETE FROM {figures}
        WHERE term_id = %(term)s{" AND school_id = %(school)s" if one_school else ""}
        AND school_id NOT IN (
            SELECT school_id FROM {enrollment} WHERE term_id = %(term)s AND status = 'enrolled'
        )
        AND NOT EXISTS (
            SELECT 1 FROM {progress} p WHERE p.term_id = %(term)s AND p.school_id = {figures}.school_id
        )
    """  # noqa: S608 - table names from _meta


def _refresh(*, term: Term, school: School | None, now: datetime | None) -> int:
    params = {
        "term": term.pk,
        "school": school.pk if school is not None else None,
        "now": connection.ops.adapt_datetimefield_value(now or timezone.now()),
    }
    one_school = school is not None
    grades = [int(grade) for grade in term.grades]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_stale_sql(one_school=one_school), params)
        cursor.execute(_refresh_sql(grades=grades, one_school=one_school), params)
    # (A statement opening with WITH has no reliable rowcount on SQLite: count the rows instead.)
    rows = SchoolTermFigures.objects.filter(term=term)
    return rows.filter(school=school).count() if one_school else rows.count()


def school_figures_refresh(*, term: Term, school: School, now: datetime | None = None) -> None:
    """Rebuild one school's SchoolTermFigures row from its StudentProgress rows: one grouped upsert.

    Safe from several processes at once (the row's unique constraint decides, never a read first); called
    on commit after each event that changes a student's progress.
    """
    _refresh(term=term, school=school, now=now)


def term_figures_refresh(*, term: Term, now: datetime | None = None) -> int:
    """Rebuild every school's row of the term in one set-based statement; returns the schools refreshed."""
    return _refresh(term=term, school=None, now=now)


# --- reading: regions --------------------------------------------------------------------------------------

_SUMS = """
    COUNT(f.id), COALESCE(SUM(CASE WHEN f.participating > 0 THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(f.headcount), 0), COALESCE(SUM(f.registered), 0), COALESCE(SUM(f.participating), 0),
    COALESCE(SUM(f.exam_taken), 0), COALESCE(SUM(f.exam_passed), 0), COALESCE(SUM(f.exam_full_marks), 0),
    COALESCE(SUM(f.exam_excellent), 0), COALESCE(SUM(f.exam_score_sum), 0)
"""


def _counts(values) -> dict:
    names = [
        "schools",
        "participating_schools",
        "headcount",
        "registered",
        "participating",
        "exam_taken",
        "exam_passed",
        "exam_full_marks",
        "exam_excellent",
    ]
    counts = {name: int(value or 0) for name, value in zip(names, values[:9], strict=True)}
    counts["exam_score_sum"] = Decimal(str(values[9] or 0))
    return counts


def figures_for_regions(*, term: Term, parent_region: Region) -> list[RegionFigures]:
    """The report's columns for each child region of `parent_region`, summed over SchoolTermFigures by
    region-path prefix: one query, whatever the number of schools. Regions without schools come with zeros."""
    q = connection.ops.quote_name
    region, figures = q(Region._meta.db_table), q(SchoolTermFigures._meta.db_table)
    sql = f"""
        SELECT r.id, r.code, r.name, r.name_en, r.level, r.path, r.parent_id, {_SUMS}
        FROM {region} r
        LEFT JOIN {figures} f ON f.term_id = %s AND f.region_path LIKE r.path || '%%'
        WHERE r.parent_id = %s
        GROUP BY r.id, r.code, r.name, r.name_en, r.level, r.path, r.parent_id
        ORDER BY r.path
    """  # noqa: S608 - table names from _meta
    with connection.cursor() as cursor:
        cursor.execute(sql, [term.pk, parent_region.pk])
        rows = cursor.fetchall()
    result = []
    for row in rows:
        child = Region(
            id=row[0], code=row[1], name=row[2], name_en=row[3], level=row[4], path=row[5], parent_id=row[6]
        )
        result.append(RegionFigures(region=child, **_counts(row[7:])))
    return result


def figures_for_region(*, term: Term, region: Region) -> RegionFigures:
    """The totals of one region (its whole subtree): the table's last row."""
    q = connection.ops.quote_name
    figures = q(SchoolTermFigures._meta.db_table)
    sql = f"SELECT {_SUMS} FROM {figures} f WHERE f.term_id = %s AND f.region_path LIKE %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [term.pk, like_prefix(region.path)])
        row = cursor.fetchone()
    return RegionFigures(region=region, **_counts(row))


REGION_ORDERS = {
    "name": lambda f: f.region.path,
    "schools": lambda f: f.schools,
    "participating_schools": lambda f: f.participating_schools,
    "school_rate": lambda f: f.school_participation_rate,
    "participating": lambda f: f.participating,
    "students": lambda f: f.headcount,
    "student_rate": lambda f: f.student_participation_rate,
    "registration_rate": lambda f: f.registration_rate,
    "pass_rate": lambda f: f.pass_rate,
    "full_mark_rate": lambda f: f.full_mark_rate,
    "excellence_rate": lambda f: f.excellence_rate,
    "average_score": lambda f: f.average_score,
}


def parse_order(order: str, allowed, default: str = "name") -> tuple[str, bool]:
    """ "?order=-pass_rate" → ("pass_rate", True); anything unknown → the default, ascending."""
    order = (order or "").strip()
    descending = order.startswith("-")
    key = order.lstrip("-")
    if key not in allowed:
        return default, False
    return key, descending


def sort_by_column(rows: list, order: str, orders: dict, *, tie=None) -> list:
    """The rows sorted by the column "?order=" names (`orders`: column → the row's value), `tie` breaking
    ties; rows without a value (no students) always last, whichever the direction."""
    key, descending = parse_order(order, orders)
    value = orders[key]
    present = [row for row in rows if value(row) is not None]
    missing = [row for row in rows if value(row) is None]
    present.sort(key=(lambda row: (value(row), tie(row))) if tie else value, reverse=descending)
    return present + missing


def sort_region_figures(rows: list[RegionFigures], order: str) -> list[RegionFigures]:
    return sort_by_column(rows, order, REGION_ORDERS, tie=lambda row: row.region.path)


# --- reading: schools --------------------------------------------------------------------------------------


def _permille(part: str, whole: str):
    return Case(
        When(**{f"{whole}__gt": 0}, then=F(part) * 1000 / F(whole)), default=None, output_field=IntegerField()
    )


SCHOOL_ORDERS = {
    "name": ("school__name", "school__pk"),
    "region": ("region_path", "school__name"),
    "students": ("headcount",),
    "registered": ("registered",),
    "registration_rate": ("registration_permille",),
    "participating": ("participating",),
    "student_rate": ("participation_permille",),
    "exam_taken": ("exam_taken",),
    "pass_rate": ("pass_permille",),
    "full_mark_rate": ("full_mark_permille",),
    "excellence_rate": ("excellence_permille",),
    "average_score": ("average_score_hundredths",),
}


def figures_for_schools(
    *, term: Term, region: Region, below_targets: bool = False, order: str = "name"
) -> QuerySet[SchoolTermFigures]:
    """The SchoolTermFigures rows of the region's schools, sortable by any report column (rates as per-mille
    annotations for the database to sort by; the rows' `counts` give the displayed rates).

    `below_targets`: the schools whose registration or participation is under the term's targets (a school
    without students counted yet is among them)."""
    rows = (
        SchoolTermFigures.objects.filter(term=term, region_path__startswith=region.path)
        .select_related("school", "school__region")
        .annotate(
            registration_permille=_permille("registered", "headcount"),
            participation_permille=_permille("participating", "headcount"),
            pass_permille=_permille("exam_passed", "exam_taken"),
            full_mark_permille=_permille("exam_full_marks", "exam_taken"),
            excellence_permille=_permille("exam_excellent", "exam_taken"),
            average_score_hundredths=Case(
                When(
                    exam_taken__gt=0,
                    then=Cast(F("exam_score_sum") * 100, IntegerField()) / F("exam_taken"),
                ),
                default=None,
                output_field=IntegerField(),
            ),
        )
    )
    if below_targets:
        # Integer arithmetic: registered / headcount < target %  ⇔  registered × 100 < headcount × target.
        rows = rows.alias(
            registered_100=F("registered") * 100,
            participating_100=F("participating") * 100,
        ).filter(
            Q(headcount=0)
            | Q(registered_100__lt=F("headcount") * term.target_registration_pct)
            | Q(participating_100__lt=F("headcount") * term.target_participation_pct)
        )
    key, descending = parse_order(order, SCHOOL_ORDERS)
    fields = SCHOOL_ORDERS[key]
    ordering = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True) for name in fields
    ]
    return rows.order_by(*ordering, "school__name", "pk")


def school_counts(figures: SchoolTermFigures) -> Counts:
    """A school's row as Counts (one school; it participates when one of its students does)."""
    return Counts(
        schools=1,
        participating_schools=1 if figures.participating else 0,
        headcount=figures.headcount,
        registered=figures.registered,
        participating=figures.participating,
        exam_taken=figures.exam_taken,
        exam_passed=figures.exam_passed,
        exam_full_marks=figures.exam_full_marks,
        exam_excellent=figures.exam_excellent,
        exam_score_sum=figures.exam_score_sum,
    )


# --- reading: classes --------------------------------------------------------------------------------------

CLASS_ORDERS = {
    "name": lambda f: (f.school_class.grade, f.school_class.name),
    "students": lambda f: f.headcount,
    "registered": lambda f: f.registered,
    "registration_rate": lambda f: f.registration_rate,
    "participating": lambda f: f.participating,
    "student_rate": lambda f: f.student_participation_rate,
    "exam_taken": lambda f: f.exam_taken,
    "pass_rate": lambda f: f.pass_rate,
    "full_mark_rate": lambda f: f.full_mark_rate,
    "excellence_rate": lambda f: f.excellence_rate,
    "average_score": lambda f: f.average_score,
}


def figures_for_classes(*, term: Term, school: School, order: str = "name") -> list[ClassFigures]:
    """Each class of the term's grades (and any other class its students' progress rows name), with the
    report's columns from StudentProgress grouped by class: two queries."""
    grades = [int(grade) for grade in term.grades]
    progress = (
        StudentProgress.objects.filter(term=term, school=school, school_class__isnull=False)
        .values("school_class_id")
        .annotate(
            n=Count("pk"),
            registered_n=Count("pk", filter=Q(registered=True)),
            participating_n=Count("pk", filter=Q(completed_all=True)),
            taken=Count("exam_score"),
            passed=Count("pk", filter=Q(exam_passed=True)),
            full=Count("pk", filter=Q(exam_full_marks=True)),
            excellent=Count("pk", filter=Q(exam_excellent=True)),
            score_sum=Sum("exam_score"),
            lessons=Sum("lessons_total"),
        )
        .order_by()
    )
    by_class = {row["school_class_id"]: row for row in progress}
    current_record = Q(
        students__student_record__isnull=False, students__student_record__graduated_on__isnull=True
    )
    classes = SchoolClass.objects.filter(
        Q(school=school, graduated_on__isnull=True, grade__in=grades) | Q(pk__in=list(by_class))
    ).annotate(roster=Count("students__student_record", filter=current_record, distinct=True))
    result = []
    for school_class in classes.order_by("grade", "name"):
        row = by_class.get(school_class.pk, {})
        rows = row.get("n", 0)
        result.append(
            ClassFigures(
                school_class=school_class,
                schools=1,
                headcount=max(class_headcount(school_class), rows),
                registered=row.get("registered_n", 0),
                participating=row.get("participating_n", 0),
                exam_taken=row.get("taken", 0),
                exam_passed=row.get("passed", 0),
                exam_full_marks=row.get("full", 0),
                exam_excellent=row.get("excellent", 0),
                exam_score_sum=Decimal(str(row.get("score_sum") or 0)),
            )
        )
    return sort_by_column(result, order, CLASS_ORDERS)


# --- gates -------------------------------------------------------------------------------------------------


@dataclass
class FiguresScope:
    """What one user may read of a term's figures: a region subtree (organisers) or one school (teachers)."""

    term: Term
    reach: str | None = None  # region path: the organiser sees this region and everything under it
    school_id: int | None = None  # a teacher: their school only


def figures_scope_for_user(*, user: User, pk: int) -> FiguresScope:
    """The gate of every figures page. Organisers read their region's part of the term (campaign_reach:
    a county organiser only their county); a teacher only their own school's classes; anyone else is
    refused (403), and a term they may not see is not found (404)."""
    term = term_for_user(user=user, pk=pk)
    reach, school_id = reach_or_school(user=user, campaign=term.campaign)
    return FiguresScope(term=term, reach=reach, school_id=school_id)


def reach_or_school(*, user: User, campaign: Campaign) -> tuple[str | None, int | None]:
    """What a user reads of a campaign's figures: their office's region path (campaign_reach), else, for a
    teacher of a school in the campaign's region, that school's id; anyone else is refused (403)."""
    reach = campaign_reach(user=user, campaign=campaign)
    if reach is not None:
        return reach, None
    teacher_here = user.is_authenticated and user.is_teacher and user.school_id
    if teacher_here and user.school.region_path.startswith(campaign.region.path):
        return None, user.school_id
    raise PermissionDenied


def figures_region_for_user(*, scope: FiguresScope, region_pk: int | None) -> Region:
    """A region inside the scope's reach (its top region when none is asked for); anything else is 404.
    (Any scope with `reach` and `school_id` will do: the statistics' pages use it too.)"""
    if scope.reach is None:
        raise PermissionDenied
    regions = Region.objects.filter(path__startswith=scope.reach)
    region = (
        regions.filter(path=scope.reach).first()
        if region_pk is None
        else regions.filter(pk=region_pk).first()
    )
    if region is None:
        raise Http404("No such region.")
    return region


def figures_school_for_user(*, scope: FiguresScope, code: str) -> School:
    schools = School.objects.select_related("region")
    if scope.reach is not None:
        school = schools.filter(code=code, region_path__startswith=scope.reach).first()
    else:
        school = schools.filter(code=code, pk=scope.school_id).first()
    if school is None:
        raise Http404("No such school.")
    return school


def figures_for_school(*, term: Term, school: School) -> Counts:
    figures = SchoolTermFigures.objects.filter(term=term, school=school).first()
    return school_counts(figures) if figures is not None else Counts()


def region_trail(*, region: Region, reach: str) -> list[Region]:
    """The regions from the top of the reach down to `region` (breadcrumbs): one query."""
    paths = [path for path in ancestor_paths(region.path) if path.startswith(reach)]
    return list(Region.objects.filter(path__in=paths).order_by("path"))
