"""A campaign: the frame every quiz, contest, school term and volunteer activity hangs on."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from edu.models import Region, grade_label


class Campaign(models.Model):
    class Kind(models.TextChoices):
        DAY_626 = "day_626", _("6·26 International Day Against Drug Abuse")
        SEVEN_ENTRIES = "seven_entries", _("“Seven entries” outreach")
        CONTEST_SEASON = "contest_season", _("Knowledge-contest season")
        SECOND_CLASSROOM = "second_classroom", _("Second-classroom term")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("region"),
        help_text=_("The campaign runs in this region and everything under it."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    description = models.TextField(_("description"), blank=True)
    cover = models.ImageField(_("cover image"), upload_to="campaigns/covers/", blank=True)
    organisers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="organised_campaigns", verbose_name=_("organisers")
    )
    is_published = models.BooleanField(
        _("published"),
        default=True,
        help_text=_("Unpublished campaigns are seen only by their region's organisers."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "title"]
        indexes = [models.Index(fields=["ends_on", "starts_on"], name="campaign_dates")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> str:
        today = timezone.localdate()
        if today < self.starts_on:
            return "upcoming"
        if today > self.ends_on:
            return "past"
        return "current"


def _default_term_grades() -> list[int]:
    return list(range(1, 13))


class Term(models.Model):
    """A second-classroom term: a campaign of that kind with the grades it covers and its targets."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="term", verbose_name=_("campaign")
    )
    grades = models.JSONField(_("grades"), default=_default_term_grades, help_text=_("School years 1–12."))
    target_registration_pct = models.PositiveSmallIntegerField(
        _("registration target (%)"),
        default=90,
        help_text=_("Share of the roster students of these grades who have registered."),
    )
    target_participation_pct = models.PositiveSmallIntegerField(
        _("participation target (%)"),
        default=90,
        help_text=_("Share of the students who take part in the lessons and the final exam."),
    )
    pass_mark_pct = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=60, help_text=_("The final exam's pass mark, as a share of full marks.")
    )

    class Meta:
        verbose_name = _("second-classroom term")
        verbose_name_plural = _("second-classroom terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(target_registration_pct__lte=100)
                & Q(target_participation_pct__lte=100)
                & Q(pass_mark_pct__lte=100),
                name="term_percentages_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return self.campaign.title

    @property
    def grades_display(self) -> str:
        """ "七年级–九年级" for a run of grades, else the grades one by one."""
        grades = sorted(int(grade) for grade in self.grades)
        if not grades:
            return ""
        if len(grades) > 2 and grades == list(range(grades[0], grades[-1] + 1)):
            return f"{grade_label(grades[0])}–{grade_label(grades[-1])}"
        return "、".join(grade_label(grade) for grade in grades)


class Enrollment(models.Model):
    """A school taking part in a term: invited by an organiser and accepted, or enrolled directly."""

    class Status(models.TextChoices):
        INVITED = "invited", _("invited")
        ENROLLED = "enrolled", _("enrolled")
        DECLINED = "declined", _("declined")

    term = models.ForeignKey(
        Term, on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("term")
    )
    school = models.ForeignKey(
        "edu.School", on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("school")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited or enrolled by"),
    )
    invited_at = models.DateTimeField(_("invited at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["term", "school"]
        constraints = [
            models.UniqueConstraint(fields=["term", "school"], name="enrollment_one_per_term_and_school"),
        ]

    def __str__(self) -> str:
        return f"{self.term} – {self.school}"


# --- second-classroom part 2: lessons, final exams and per-student progress ---------------------------------


class Lesson(models.Model):
    """One lesson of a grade's path in a term, in the order of `position`."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="lessons", verbose_name=_("term"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    position = models.PositiveSmallIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(
        _("text"),
        blank=True,
        help_text=_("Plain text: a blank line starts a new paragraph. HTML is shown as text."),
    )
    image = models.ImageField(_("image"), upload_to="lessons/", blank=True)
    video_url = models.URLField(
        _("video link"),
        max_length=500,
        blank=True,
        help_text=_("An https link to a video on an allowed site (Tencent Video, Bilibili, Xigua, YouTube)."),
    )
    minutes = models.PositiveSmallIntegerField(_("minutes"), default=10)
    quiz = models.ForeignKey(
        "quizzes.Quiz",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quiz at the end"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        ordering = ["term", "grade", "position"]
        constraints = [
            models.UniqueConstraint(fields=["term", "grade", "position"], name="lesson_unique_position"),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=16), name="lesson_grade_1_to_16"),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="lesson_minutes_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class TermExam(models.Model):
    """The final exam of one grade in a term: a quiz whose pass mark is the term's."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="exams", verbose_name=_("term"))
    grade = models.PositiveSmallIntegerField(_("grade"))
    quiz = models.ForeignKey(
        "quizzes.Quiz", on_delete=models.PROTECT, related_name="term_exams", verbose_name=_("quiz")
    )

    class Meta:
        verbose_name = _("final exam")
        verbose_name_plural = _("final exams")
        ordering = ["term", "grade"]
        constraints = [
            models.UniqueConstraint(fields=["term", "grade"], name="term_exam_one_per_grade"),
        ]

    def __str__(self) -> str:
        return f"{self.term} {grade_label(self.grade)}"


class LessonCompletion(models.Model):
    """A student has done a lesson: read it and, if it has a quiz, submitted an attempt of the quiz."""

    lesson = models.ForeignKey(
        Lesson, on_delete=models.CASCADE, related_name="completions", verbose_name=_("lesson")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lesson_completions",
        verbose_name=_("student"),
    )
    completed_at = models.DateTimeField(_("completed at"))

    class Meta:
        verbose_name = _("lesson completion")
        verbose_name_plural = _("lesson completions")
        constraints = [
            models.UniqueConstraint(fields=["lesson", "user"], name="lesson_completion_once"),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} – {self.user}"


class StudentProgress(models.Model):
    """One student in one term: the row the figures are summed from, kept up to date by the services in the
    same transaction as each event (claim, lesson completion, exam submission, class move)."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="progress", verbose_name=_("term"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="term_progress",
        verbose_name=_("student"),
    )
    school = models.ForeignKey(
        "edu.School", on_delete=models.CASCADE, related_name="+", verbose_name=_("school")
    )
    school_class = models.ForeignKey(
        "edu.SchoolClass",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("class"),
    )
    region_path = models.CharField(max_length=255, editable=False)  # the school's, for prefix sums
    grade = models.PositiveSmallIntegerField(_("grade"))
    registered = models.BooleanField(_("registered"), default=False)
    lessons_done = models.PositiveSmallIntegerField(_("lessons done"), default=0)
    lessons_total = models.PositiveSmallIntegerField(_("lessons"), default=0)
    completed_all = models.BooleanField(_("completed every lesson"), default=False)
    exam_score = models.DecimalField(
        _("final exam score (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    exam_passed = models.BooleanField(_("passed"), default=False)
    exam_full_marks = models.BooleanField(_("full marks"), default=False)
    exam_excellent = models.BooleanField(_("excellent (at least 90%)"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("student progress")
        verbose_name_plural = _("student progress")
        constraints = [
            models.UniqueConstraint(fields=["term", "user"], name="student_progress_one_per_term"),
        ]
        indexes = [
            models.Index(fields=["term", "school"], name="progress_term_school"),
            models.Index(fields=["term", "school_class"], name="progress_term_class"),
        ]

    def __str__(self) -> str:
        return f"{self.term} – {self.user}"


class SchoolTermFigures(models.Model):
    """The rollup of one school's StudentProgress rows in a term; region pages sum these by path prefix.
    Counts only: every rate is computed at read time."""

    term = models.ForeignKey(
        Term, on_delete=models.CASCADE, related_name="school_figures", verbose_name=_("term")
    )
    school = models.ForeignKey(
        "edu.School", on_delete=models.CASCADE, related_name="term_figures", verbose_name=_("school")
    )
    region_path = models.CharField(max_length=255, editable=False)
    headcount = models.PositiveIntegerField(_("students"), default=0)
    registered = models.PositiveIntegerField(_("registered"), default=0)
    participating = models.PositiveIntegerField(_("participating"), default=0)
    exam_taken = models.PositiveIntegerField(_("took the final exam"), default=0)
    exam_passed = models.PositiveIntegerField(_("passed"), default=0)
    exam_full_marks = models.PositiveIntegerField(_("full marks"), default=0)
    exam_excellent = models.PositiveIntegerField(_("excellent"), default=0)
    exam_score_sum = models.DecimalField(
        _("sum of exam scores (%)"), max_digits=14, decimal_places=2, default=0
    )
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("school figures")
        verbose_name_plural = _("school figures")
        constraints = [
            models.UniqueConstraint(fields=["term", "school"], name="school_term_figures_one_per_school"),
        ]
        indexes = [models.Index(fields=["term", "region_path"], name="figures_term_region")]

    def __str__(self) -> str:
        return f"{self.term} – {self.school}"
