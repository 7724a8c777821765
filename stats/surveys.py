"""A campaign's knowledge survey before and after it: the SurveyFigures rollup and its refresh, the reads
behind the campaign report (by region, by school, a region's total) and the report's gate.

Definitions (issue #7, "a campaign report"):

- survey — a quiz of the campaign marked as its knowledge survey before or after the campaign
  (`Quiz.survey_phase`). A campaign may have several surveys per phase: the report sums them per phase (a
  person who answered two surveys of one phase counts twice, once for each).
- respondent — a person whose first attempt at the survey (`Attempt.number == 1`) is submitted; a guest
  without an account is one person per `guest_key`, the key kept in their session. Later attempts never
  count: taking the survey again after seeing its answers would otherwise raise the rate.
- awareness rate — Σ score ÷ Σ max_score of the respondents' first attempts, as a percentage with one
  decimal (`campaigns.figures.percentage`), computed from the sums when it is read, never stored.
- change — awareness after − awareness before, in percentage points, when both are known.
- unit — where an attempt is counted: its school (`Attempt.school_id`, else the quiz's owner school) and
  that school's region; an attempt without a school (a guest, a volunteer) is counted in the quiz's owner
  region, else its campaign's region, as that region's "not in a school" unit (`school_id` 0). An attempt
  with none of these is not counted.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns.figures import (
    figures_region_for_user,
    figures_school_for_user,
    parse_order,
    percentage,
    reach_or_school,
)
from campaigns.models import Campaign
from campaigns.selectors import campaign_for_user
from edu.models import Region, School, User
from quizzes.models import Attempt, Quiz
from stats.models import SurveyFigures

PHASES = (Quiz.SurveyPhase.BEFORE, Quiz.SurveyPhase.AFTER)
CENTS = Decimal("0.01")


# --- refreshing the rollup ---------------------------------------------------------------------------------


def _refresh_sql(*, school_ids: list[int] | None) -> str:
    """One INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE for a quiz's units (or those of some schools).

    Runs unchanged on PostgreSQL and SQLite (≥ 3.24). Rows are written in unit order, so that two refreshes
    running at once lock them in the same order; an update never replaces a row refreshed later than the
    one it would write (a refresh whose snapshot predates another's cannot overwrite the newer figures).
    """
    q = connection.ops.quote_name
    figures, attempt, quiz = (
        q(SurveyFigures._meta.db_table),
        q(Attempt._meta.db_table),
        q(Quiz._meta.db_table),
    )
    school, region, campaign = (
        q(School._meta.db_table),
        q(Region._meta.db_table),
        q(Campaign._meta.db_table),
    )
    unit_school = "COALESCE(a.school_id, qz.owner_school_id, 0)"
    first_attempts = f"""
        SELECT {unit_school} AS school_id, a.score, a.max_score
        FROM {attempt} a
        JOIN {quiz} qz ON qz.id = a.quiz_id
        WHERE a.quiz_id = %(quiz)s AND a.number = 1 AND a.submitted_at IS NOT NULL"""  # noqa: S608
    if school_ids is None:
        placed = first_attempts
    else:
        # Two branches, so that each finds its rows through an index: a school's own attempts (by school),
        # and the attempts without a school (guests) counted at the quiz's owner school or its unit 0.
        ids = ", ".join(str(int(pk)) for pk in school_ids) or "-1"
        placed = (
            f"{first_attempts} AND a.school_id IN ({ids})"
            f" UNION ALL {first_attempts} AND a.school_id IS NULL"
            f" AND COALESCE(qz.owner_school_id, 0) IN ({ids})"
        )
    return f"""
        WITH home AS (
            SELECT rg.id, rg.path
            FROM {quiz} qz
            LEFT JOIN {campaign} c ON c.id = qz.campaign_id
            JOIN {region} rg ON rg.id = COALESCE(qz.owner_region_id, c.region_id)
            WHERE qz.id = %(quiz)s
        ),
        placed AS ({placed}),
        units AS (
            SELECT p.school_id,
                CASE WHEN s.id IS NOT NULL THEN s.region_id ELSE home.id END AS region_id,
                CASE WHEN s.id IS NOT NULL THEN s.region_path ELSE home.path END AS region_path,
                COUNT(*) AS respondents,
                COALESCE(SUM(p.score), 0) AS score,
                COALESCE(SUM(p.max_score), 0) AS max_score
            FROM placed p
            LEFT JOIN {school} s ON s.id = p.school_id
            LEFT JOIN home ON p.school_id = 0
            GROUP BY p.school_id, s.id, s.region_id, s.region_path, home.id, home.path
        )
        INSERT INTO {figures}
            (quiz_id, region_id, region_path, school_id, respondents, score, max_score, refreshed_at)
        SELECT %(quiz)s, region_id, region_path, school_id, respondents, score, max_score, %(now)s
        FROM units
        WHERE region_id IS NOT NULL
        ORDER BY school_id, region_id
        ON CONFLICT (quiz_id, region_id, school_id) DO UPDATE SET
            region_path = excluded.region_path, respondents = excluded.respondents, score = excluded.score,
            max_score = excluded.max_score, refreshed_at = excluded.refreshed_at
        WHERE {figures}.refreshed_at <= excluded.refreshed_at
    """  # noqa: S608 - table names from _meta, school ids are ints, values are parameters


def _stale_sql(*, school_ids: list[int] | None) -> str:
    """The rows the upsert did not write: units without respondents any more (their last attempt deleted,
    a school moved to another region, the quiz's owner changed). A row refreshed later than `now` by
    another refresh is kept."""
    figures = connection.ops.quote_name(SurveyFigures._meta.db_table)
    only = (
        f" AND school_id IN ({', '.join(str(int(pk)) for pk in school_ids) or '-1'})"
        if school_ids is not None
        else ""
    )
    return f"DELETE FROM {figures} WHERE quiz_id = %(quiz)s{only} AND refreshed_at < %(now)s"  # noqa: S608


def survey_refresh(
    *, quiz: Quiz, school_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Recompute the quiz's SurveyFigures rows from its attempts: every unit, or only the units of
    `school_ids` (0 is the quiz's "not in a school" unit). One grouped upsert and one delete of the rows it
    did not write, in one transaction; safe from several processes at once (the unique constraint decides,
    never a read first). Returns the quiz's rows refreshed.

    It never reads SurveyFigures, so a lost refresh is repaired by the next one.
    """
    ids = sorted({int(pk) for pk in school_ids}) if school_ids is not None else None
    params = {"quiz": quiz.pk, "now": connection.ops.adapt_datetimefield_value(now or timezone.now())}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_refresh_sql(school_ids=ids), params)
        cursor.execute(_stale_sql(school_ids=ids), params)
    # (A statement opening with WITH has no reliable rowcount on SQLite: count the rows instead.)
    rows = SurveyFigures.objects.filter(quiz=quiz)
    return rows.filter(school_id__in=ids).count() if ids is not None else rows.count()


def surveys_rebuild(*, quizzes: Iterable[Quiz] | None = None, now: datetime | None = None) -> int:
    """Recompute every survey's rows (or those of `quizzes`); rows of quizzes that are no longer surveys are
    dropped. Returns the number of surveys refreshed. For `manage.py refresh_stats` and after a quiz's
    survey phase, campaign or owner changes."""
    now = now or timezone.now()
    if quizzes is None:
        SurveyFigures.objects.exclude(quiz__survey_phase__in=PHASES).delete()
        chosen = list(Quiz.objects.filter(survey_phase__in=PHASES).order_by("pk"))
    else:
        given = list(quizzes)
        SurveyFigures.objects.filter(
            quiz__in=[quiz.pk for quiz in given if quiz.survey_phase not in PHASES]
        ).delete()
        chosen = [quiz for quiz in given if quiz.survey_phase in PHASES]
    for quiz in chosen:
        survey_refresh(quiz=quiz, now=now)
    return len(chosen)


def on_attempt_submitted(attempt: Attempt) -> None:
    """Keep the survey's figures after an attempt was submitted (called on commit, from stats/receivers.py).

    Only a first attempt at a survey changes them, and only its own unit: no query at all for a later
    attempt, nor for a quiz that is not a survey when the attempt's quiz is loaded already (as the
    submitting services load it)."""
    if attempt.number != 1:
        return
    quiz = attempt.quiz
    if quiz.survey_phase not in PHASES:
        return
    survey_refresh(quiz=quiz, school_ids=[attempt.school_id or quiz.owner_school_id or 0])


def on_contest_finished(contest) -> None:
    """A live contest of a survey quiz records its players' attempts all at once: refresh the whole quiz."""
    quiz = contest.quiz
    if quiz.survey_phase in PHASES:
        # Only the units of the contest's players (and the quiz's own units for players outside schools).
        from quizzes.models import LivePlayer

        schools = LivePlayer.objects.filter(contest=contest, kicked=False).values_list("school_id", flat=True)
        survey_refresh(quiz=quiz, school_ids={pk or quiz.owner_school_id or 0 for pk in schools})


# --- reading -----------------------------------------------------------------------------------------------


@dataclass
class SurveyCounts:
    """Respondents and points before and after; the rates are properties computed from them."""

    before_respondents: int = 0
    before_score: Decimal = Decimal(0)
    before_max: Decimal = Decimal(0)
    after_respondents: int = 0
    after_score: Decimal = Decimal(0)
    after_max: Decimal = Decimal(0)

    @property
    def before_rate(self) -> Decimal | None:
        return percentage(self.before_score, self.before_max)

    @property
    def after_rate(self) -> Decimal | None:
        return percentage(self.after_score, self.after_max)

    @property
    def change(self) -> Decimal | None:
        """Percentage points, after − before."""
        before, after = self.before_rate, self.after_rate
        if before is None or after is None:
            return None
        return after - before

    @property
    def respondents(self) -> int:
        return self.before_respondents + self.after_respondents


@dataclass
class RegionSurvey(SurveyCounts):
    region: Region | None = None


@dataclass
class SchoolSurvey(SurveyCounts):
    school: School | None = None  # None: the region's respondents outside any school


@dataclass
class CampaignSurveys:
    """The campaign's survey quizzes by phase."""

    before: list[Quiz] = field(default_factory=list)
    after: list[Quiz] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return bool(self.before or self.after)

    @property
    def before_ids(self) -> list[int]:
        return [quiz.pk for quiz in self.before]

    @property
    def after_ids(self) -> list[int]:
        return [quiz.pk for quiz in self.after]

    @property
    def ids(self) -> list[int]:
        return self.before_ids + self.after_ids


def campaign_surveys(*, campaign: Campaign) -> CampaignSurveys:
    surveys = CampaignSurveys()
    quizzes = Quiz.objects.filter(campaign=campaign, survey_phase__in=PHASES).only(
        "pk", "title", "survey_phase"
    )
    for quiz in quizzes.order_by("created_at", "pk"):
        (surveys.before if quiz.survey_phase == Quiz.SurveyPhase.BEFORE else surveys.after).append(quiz)
    return surveys


def _id_list(ids: list[int]) -> str:
    return ", ".join(str(int(pk)) for pk in ids) or "-1"


def _decimal(value) -> Decimal:
    # SQLite sums decimals as floats: back to cents.
    return Decimal(str(value or 0)).quantize(CENTS)


def _sums_sql(surveys: CampaignSurveys) -> str:
    def pick(ids: list[int], column: str) -> str:
        return f"COALESCE(SUM(CASE WHEN f.quiz_id IN ({_id_list(ids)}) THEN f.{column} ELSE 0 END), 0)"

    return ", ".join(
        pick(ids, column)
        for ids in (surveys.before_ids, surveys.after_ids)
        for column in ("respondents", "score", "max_score")
    )


def _counts(values) -> dict:
    return {
        "before_respondents": int(values[0] or 0),
        "before_score": _decimal(values[1]),
        "before_max": _decimal(values[2]),
        "after_respondents": int(values[3] or 0),
        "after_score": _decimal(values[4]),
        "after_max": _decimal(values[5]),
    }


def surveys_for_regions(*, surveys: CampaignSurveys, parent_region: Region) -> list[RegionSurvey]:
    """Each child region of `parent_region` with its respondents and points before and after, summed over
    SurveyFigures by region-path prefix: one query, whatever the number of schools. Regions without
    respondents come with zeros."""
    q = connection.ops.quote_name
    region, figures = q(Region._meta.db_table), q(SurveyFigures._meta.db_table)
    sql = f"""
        SELECT r.id, r.code, r.name, r.name_en, r.level, r.path, r.parent_id, {_sums_sql(surveys)}
        FROM {region} r
        LEFT JOIN {figures} f ON f.quiz_id IN ({_id_list(surveys.ids)}) AND f.region_path LIKE r.path || '%%'
        WHERE r.parent_id = %s
        GROUP BY r.id, r.code, r.name, r.name_en, r.level, r.path, r.parent_id
        ORDER BY r.path
    """  # noqa: S608 - table names from _meta, quiz ids are ints
    with connection.cursor() as cursor:
        cursor.execute(sql, [parent_region.pk])
        rows = cursor.fetchall()
    result = []
    for row in rows:
        child = Region(
            id=row[0], code=row[1], name=row[2], name_en=row[3], level=row[4], path=row[5], parent_id=row[6]
        )
        result.append(RegionSurvey(region=child, **_counts(row[7:])))
    return result


def _aggregates(surveys: CampaignSurveys, prefix: str = "", only: Q | None = None) -> dict:
    def total(column: str, ids: list[int]):
        # (An empty IN would make Django skip the whole query: -1 is no quiz.)
        return Sum(column, filter=Q(quiz_id__in=ids or [-1]) & (only or Q()))

    return {
        f"{prefix}{phase}_{name}": total(column, ids)
        for phase, ids in (("before", surveys.before_ids), ("after", surveys.after_ids))
        for name, column in (("respondents", "respondents"), ("score", "score"), ("max", "max_score"))
    }


def _from_row(row: dict, prefix: str = "") -> dict:
    return {
        "before_respondents": int(row[f"{prefix}before_respondents"] or 0),
        "before_score": _decimal(row[f"{prefix}before_score"]),
        "before_max": _decimal(row[f"{prefix}before_max"]),
        "after_respondents": int(row[f"{prefix}after_respondents"] or 0),
        "after_score": _decimal(row[f"{prefix}after_score"]),
        "after_max": _decimal(row[f"{prefix}after_max"]),
    }


@dataclass
class RegionTotal:
    total: RegionSurvey
    direct: RegionSurvey  # the units of the region itself: schools and respondents not in a sub-region


def survey_total(*, surveys: CampaignSurveys, region: Region) -> RegionTotal:
    """The totals of one region's subtree (the table's last row) and, in the same query, of the units in the
    region itself (a city's own schools, guests counted at the campaign's region): the part of the total
    that no sub-region's row holds."""
    row = SurveyFigures.objects.filter(
        quiz_id__in=surveys.ids, region_path__startswith=region.path
    ).aggregate(**_aggregates(surveys), **_aggregates(surveys, "direct_", Q(region_path=region.path)))
    return RegionTotal(
        total=RegionSurvey(region=region, **_from_row(row)),
        direct=RegionSurvey(region=region, **_from_row(row, "direct_")),
    )


def surveys_for_schools(*, surveys: CampaignSurveys, region: Region) -> list[SchoolSurvey]:
    """The schools of the region (and its sub-regions) with respondents, and the respondents outside any
    school (`school` None, when there are some): one query, and one for the schools' names."""
    rows = list(
        SurveyFigures.objects.filter(quiz_id__in=surveys.ids, region_path__startswith=region.path)
        .values("school_id")
        .annotate(**_aggregates(surveys))
        .order_by("school_id")
    )
    schools = School.objects.only("pk", "code", "name", "name_en", "region_id", "region_path").in_bulk(
        [row["school_id"] for row in rows if row["school_id"]]
    )
    result = []
    for row in rows:
        school = schools.get(row["school_id"])
        if row["school_id"] and school is None:
            continue  # deleted since the last refresh
        result.append(SchoolSurvey(school=school, **_from_row(row)))
    return result


def survey_for_school(*, surveys: CampaignSurveys, school: School) -> SchoolSurvey:
    row = SurveyFigures.objects.filter(quiz_id__in=surveys.ids, school_id=school.pk).aggregate(
        **_aggregates(surveys)
    )
    return SchoolSurvey(school=school, **_from_row(row))


ORDERS = {
    "name": None,  # the label: set by the caller
    "before_respondents": lambda row: row.before_respondents,
    "before_rate": lambda row: row.before_rate,
    "after_respondents": lambda row: row.after_respondents,
    "after_rate": lambda row: row.after_rate,
    "change": lambda row: row.change,
}


def sort_surveys(rows: list, order: str, *, name) -> list:
    """Sorted by a report column (`name` gives a row's sort key for the name column); rows without a value
    (no respondents) always last; ties by name."""
    key, descending = parse_order(order, ORDERS)
    value = ORDERS[key] or name
    present = [row for row in rows if value(row) is not None]
    missing = [row for row in rows if value(row) is None]
    present.sort(key=name)
    present.sort(key=value, reverse=descending)
    missing.sort(key=name)
    return present + missing


# --- gates -------------------------------------------------------------------------------------------------


@dataclass
class SurveyScope:
    """What one user may read of a campaign's survey report: a region subtree (organisers) or one school
    (teachers)."""

    campaign: Campaign
    reach: str | None = None  # region path: the organiser sees this region and everything under it
    school_id: int | None = None  # a teacher: their school only


def survey_scope_for_user(*, user: User, campaign_pk: int) -> SurveyScope:
    """The gate of every survey report page, with the figures pages' rules: an organiser reads their region's
    part of the campaign (a county organiser only their county, a province organiser all of a county's
    campaign); a teacher only their own school; anyone else is refused (403), and a campaign they may not
    see is not found (404)."""
    campaign = campaign_for_user(user=user, pk=campaign_pk)
    reach, school_id = reach_or_school(user=user, campaign=campaign)
    return SurveyScope(campaign=campaign, reach=reach, school_id=school_id)


# The same lookups as the term figures' (they read only the scope's reach and school).
survey_region_for_user = figures_region_for_user
survey_school_for_user = figures_school_for_user
