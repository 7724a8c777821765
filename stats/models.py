"""The organisers' statistics: additive rollups by day, so that any region and any period is a sum.

- `SchoolDay`: one row per (day, unit) where the unit is a school, or a region's events outside any school
  (school_id 0: guests at a street event, a contest host without a school, volunteers without a school).
- `RegionDay`: the same columns summed per (day, region of the units): what every page above one school
  reads — a province's month is a few thousand rows however many schools it has.
- `ActiveMark`: "who was active in a period" (a school with attempts or players, a volunteer with approved
  service), one row per subject and calendar week or month, holding the first day of activity in it: the
  number of distinct schools or volunteers active in the first N days of a period is a count of rows.
- `SurveyFigures`: a campaign knowledge survey's respondents and points per (quiz, unit), for the before /
  after report.

All of them are recomputed from the source rows by stats/rollups.py: on commit after each event (attempt
submitted, contest finished, account claimed, hours approved) and by `manage.py refresh_stats` (every minute
in production); a unit's recompute never reads the rollup it writes, so a lost refresh is repaired by the
next.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from edu.models import Region

BUCKETS = 10  # the score distribution: 0–9 %, 10–19 %, …, 90–100 %


class DayColumns(models.Model):
    day = models.DateField(_("day"))
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    # Submitted quiz attempts (exams, lessons, practice, surveys), by the day they were submitted.
    attempts = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    percent_sum = models.DecimalField(max_digits=16, decimal_places=2, default=0)  # Σ score ÷ max × 100
    b0 = models.PositiveIntegerField(default=0)
    b1 = models.PositiveIntegerField(default=0)
    b2 = models.PositiveIntegerField(default=0)
    b3 = models.PositiveIntegerField(default=0)
    b4 = models.PositiveIntegerField(default=0)
    b5 = models.PositiveIntegerField(default=0)
    b6 = models.PositiveIntegerField(default=0)
    b7 = models.PositiveIntegerField(default=0)
    b8 = models.PositiveIntegerField(default=0)
    b9 = models.PositiveIntegerField(default=0)
    # Attempts at a campaign's knowledge survey (before or after) and their points: the awareness rate.
    survey_attempts = models.PositiveIntegerField(default=0)
    survey_score = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    survey_max = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # Live contests finished that day (counted where the host belongs) and their players (where each belongs).
    live_contests = models.PositiveIntegerField(default=0)
    live_players = models.PositiveIntegerField(default=0)
    # Student accounts claimed that day (the roster's students registering).
    registrations = models.PositiveIntegerField(default=0)
    # Approved volunteer service (counting records: not superseded by a correction), by the day it was served.
    volunteer_minutes = models.PositiveBigIntegerField(default=0)
    volunteer_records = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        abstract = True


SUM_COLUMNS = [
    "attempts",
    "passed",
    "percent_sum",
    *(f"b{i}" for i in range(BUCKETS)),
    "survey_attempts",
    "survey_score",
    "survey_max",
    "live_contests",
    "live_players",
    "registrations",
    "volunteer_minutes",
    "volunteer_records",
]


class SchoolDay(DayColumns):
    school_id = models.PositiveIntegerField(default=0)  # 0: the region's events outside any school

    class Meta:
        verbose_name = _("school's day")
        verbose_name_plural = _("schools' days")
        constraints = [
            models.UniqueConstraint(fields=["day", "region", "school_id"], name="school_day_unit"),
        ]
        indexes = [
            models.Index(fields=["school_id", "day"], name="school_day_school"),
            models.Index(fields=["region", "day"], name="school_day_region"),
        ]

    def __str__(self) -> str:
        return f"{self.day} school {self.school_id} region {self.region_id}"


class RegionDay(DayColumns):
    class Meta:
        verbose_name = _("region's day")
        verbose_name_plural = _("regions' days")
        constraints = [models.UniqueConstraint(fields=["day", "region"], name="region_day_unit")]
        indexes = [
            models.Index(
                fields=["region_path", "day"],
                name="region_day_path",
                opclasses=["varchar_pattern_ops", "date_ops"],
            ),
            models.Index(fields=["day"], name="region_day_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.region_path}"


class ActiveMark(models.Model):
    class Kind(models.TextChoices):
        SCHOOL = "school", _("school")
        VOLUNTEER = "volunteer", _("volunteer")

    class Period(models.TextChoices):
        WEEK = "week", _("week")
        MONTH = "month", _("month")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject_id = models.PositiveBigIntegerField()  # the school's or the volunteer profile's id
    period = models.CharField(max_length=5, choices=Period.choices)
    starts_on = models.DateField()  # Monday of the week, first of the month
    first_day = models.DateField()  # the subject's first day of activity in the period
    region_path = models.CharField(max_length=255)
    school_id = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("activity mark")
        verbose_name_plural = _("activity marks")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_id", "period", "starts_on"], name="active_mark_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "period", "starts_on", "region_path", "first_day"],
                name="active_mark_count",
                opclasses=[
                    "varchar_pattern_ops",
                    "varchar_pattern_ops",
                    "date_ops",
                    "varchar_pattern_ops",
                    "date_ops",
                ],
            ),
            models.Index(fields=["kind", "period", "starts_on", "school_id"], name="active_mark_school"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} {self.period} {self.starts_on}"


class SurveyFigures(models.Model):
    """A knowledge survey's respondents (first attempts submitted) and their points, per unit."""

    quiz = models.ForeignKey("quizzes.Quiz", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    school_id = models.PositiveIntegerField(default=0)
    respondents = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    max_score = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("survey's figures")
        verbose_name_plural = _("surveys' figures")
        constraints = [
            models.UniqueConstraint(fields=["quiz", "region", "school_id"], name="survey_figures_unit"),
        ]
        indexes = [
            models.Index(
                fields=["quiz", "region_path"],
                name="survey_figures_path",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"quiz {self.quiz_id} school {self.school_id}"
