"""The core every app builds on: users and their roles, the region tree, schools and classes."""

import re
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# Join codes avoid letters and digits that look alike on a projector or a printed slip (0/O, 1/I/L).
JOIN_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
JOIN_CODE_LENGTH = 8
CLASS_NUMBER = re.compile(r"(\d+)班")
# A graduated class keeps its name with the year appended: "3班（2026届）", "Class 3 (class of 2026)".
GRADUATED_CLASS = re.compile(r"(?P<name>.*)（(?P<year>\d{4})届）")


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def localized(zh: str, en: str) -> str:
    """A proper noun in the active language: Chinese first, English where it is known."""
    if en and (get_language() or "").startswith("en"):
        return en
    return zh


class Region(models.Model):
    """A node of the administrative tree: province → city → county/district.

    `path` is a materialized path of division codes ("430000/430100/430104/"), so "everything under my
    region" is one indexed prefix query (`path__startswith`), on this table and on the copies kept by
    schools and campaigns.
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("province")
        CITY = 2, _("city")
        COUNTY = 3, _("county / district")

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(_("path"), max_length=255, unique=True, editable=False)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="region_only_provinces_are_roots",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        old_path, self.path = self.path, self.build_path()
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_path and old_path != self.path:
                # A re-coded or re-parented region carries its subtree along, and every copy of a region
                # path kept for prefix queries (schools, volunteers, figures, statistics: any `region_path`).
                rewrite_path_prefix(Region.objects.exclude(pk=self.pk), "path", old=old_path, new=self.path)
                for model in _models_with_region_path():
                    rewrite_path_prefix(model._base_manager.all(), "region_path", old=old_path, new=self.path)

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    def build_path(self) -> str:
        return f"{self.parent.path if self.parent_id else ''}{self.code}/"


def _models_with_region_path() -> list[type[models.Model]]:
    """Every installed model with a `region_path` column (from the app registry: the core imports no app)."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if not model._meta.proxy and any(field.name == "region_path" for field in model._meta.concrete_fields)
    ]


def rewrite_path_prefix(queryset: models.QuerySet, field: str, *, old: str, new: str) -> int:
    """Move every row whose `field` starts with `old` under `new`, in one UPDATE."""
    return queryset.filter(**{f"{field}__startswith": old}).update(
        **{field: Concat(Value(new), Substr(F(field), len(old) + 1))}
    )


class School(models.Model):
    class Level(models.TextChoices):
        PRIMARY = "primary", _("primary school")
        JUNIOR = "junior", _("junior secondary school")
        SENIOR = "senior", _("senior secondary school")
        VOCATIONAL = "vocational", _("vocational school")
        UNIVERSITY = "university", _("university or college")

    class Demonstration(models.TextChoices):
        NONE = "none", _("not a demonstration school")
        DISTRICT = "district", _("district demonstration school")
        CITY = "city", _("city demonstration school")
        PROVINCIAL = "provincial", _("provincial demonstration school")

    code = models.CharField(_("school code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=150)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="schools", verbose_name=_("region")
    )
    # A copy of region.path, so that organiser pages filter schools by prefix without a join.
    region_path = models.CharField(max_length=255, db_index=True, editable=False)
    student_headcount = models.PositiveIntegerField(
        _("student headcount"),
        default=0,
        help_text=_("All students of the school: the denominator of rates."),
    )
    demonstration = models.CharField(
        _("demonstration status"), max_length=12, choices=Demonstration.choices, default=Demonstration.NONE
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    requires_guardian_consent = models.BooleanField(
        _("requires guardian consent"),
        default=False,
        help_text=_(
            "Students get a claim slip and may use their account only after a guardian's consent is recorded."
        ),
    )
    # The last year-end promotion, so that a second click cannot move every class up twice.
    promoted_on = models.DateField(_("last promoted on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["region_path", "name"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)


# The top grade of each kind of school: its students graduate at the year-end promotion.
TOP_GRADES = {
    School.Level.PRIMARY: 6,
    School.Level.JUNIOR: 9,
    School.Level.SENIOR: 12,
    School.Level.VOCATIONAL: 12,
    School.Level.UNIVERSITY: 16,
}


def top_grade(school: School) -> int:
    return TOP_GRADES.get(school.level, 12)


GRADE_NAMES_ZH = {
    1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
    7: "七年级", 8: "八年级", 9: "九年级", 10: "高一", 11: "高二", 12: "高三",
    13: "大一", 14: "大二", 15: "大三", 16: "大四",
}  # fmt: skip


def grade_label(grade: int) -> str:
    """Grades 1–12 are school years; 13–16 are years of university."""
    if (get_language() or "").startswith("en"):
        return f"Grade {grade}" if grade <= 12 else f"University year {grade - 12}"
    return GRADE_NAMES_ZH.get(grade, str(grade))


class SchoolClass(models.Model):
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="classes", verbose_name=_("school")
    )
    grade = models.PositiveSmallIntegerField(_("grade"))
    name = models.CharField(_("class name"), max_length=40, help_text=_("For example “3班”."))
    headcount = models.PositiveIntegerField(_("headcount"), default=0)
    join_code = models.CharField(_("join code"), max_length=12, unique=True, default=new_join_code)
    join_enabled = models.BooleanField(_("students may join with the code"), default=True)
    teachers = models.ManyToManyField(
        "edu.User", blank=True, related_name="taught_classes", verbose_name=_("class teachers")
    )
    # A class whose students graduated at a year-end promotion is kept (its quizzes and results refer to
    # it) under a name marked with the graduation year, and no longer counts as a class of the school.
    graduated_on = models.DateField(_("graduated on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["school", "grade", "name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "grade", "name"], name="class_unique_name_per_grade"),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=16), name="class_grade_1_to_16"),
        ]

    def __str__(self) -> str:
        return f"{self.school.display_name} {self.label}"

    @property
    def label(self) -> str:
        """七年级3班 in Chinese; "Grade 7, Class 3" in English where the name is the usual "3班"."""
        if not (get_language() or "").startswith("en"):
            return f"{grade_label(self.grade)}{self.name}"
        name, year = self.name, None
        graduated = GRADUATED_CLASS.fullmatch(name)
        if graduated:
            name, year = graduated["name"], graduated["year"]
        match = CLASS_NUMBER.fullmatch(name)
        label = f"{grade_label(self.grade)}, " + (f"Class {match.group(1)}" if match else name)
        return f"{label} (class of {year})" if year else label


class Role(models.TextChoices):
    STUDENT = "student", _("student")
    TEACHER = "teacher", _("teacher")
    VOLUNTEER = "volunteer", _("volunteer")
    ORGANISER = "organiser", _("organiser")
    ADMIN = "admin", _("site admin")


class User(AbstractUser):
    """A person; they may hold several roles at once (a teacher who volunteers).

    Most users are minors: a student account needs a username, a nickname for public screens and a class —
    nothing else. The roles carry their scope: a student's class, a teacher's school, an organiser's region.
    """

    nickname = models.CharField(
        _("nickname"), max_length=30, blank=True, help_text=_("Shown on leaderboards and projector screens.")
    )
    is_student = models.BooleanField(_("student"), default=False)
    is_teacher = models.BooleanField(_("teacher"), default=False)
    is_school_admin = models.BooleanField(
        _("school administrator"), default=False, help_text=_("A teacher who manages the whole school.")
    )
    is_volunteer = models.BooleanField(_("volunteer"), default=False)
    is_organiser = models.BooleanField(_("organiser"), default=False)
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="students",
        verbose_name=_("class"),
    )
    school = models.ForeignKey(
        School,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("school (teachers)"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="organisers",
        verbose_name=_("region (organisers)"),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_teacher=False) | Q(school__isnull=False), name="user_teacher_has_school"
            ),
            models.CheckConstraint(
                condition=Q(is_school_admin=False) | Q(is_teacher=True), name="user_school_admin_is_teacher"
            ),
            models.CheckConstraint(
                condition=Q(is_organiser=False) | Q(region__isnull=False), name="user_organiser_has_region"
            ),
        ]

    @property
    def roles(self) -> list[str]:
        flags = [
            (self.is_student, Role.STUDENT),
            (self.is_teacher, Role.TEACHER),
            (self.is_volunteer, Role.VOLUNTEER),
            (self.is_organiser, Role.ORGANISER),
            (self.is_superuser, Role.ADMIN),
        ]
        return [role for held, role in flags if held]

    @property
    def public_name(self) -> str:
        """The only name shown to other users: the nickname, else initials of the username."""
        return self.nickname or f"{self.username[:1].upper()}."


class Student(models.Model):
    """A student on a school's roster: the record the school keeps, apart from the account the student uses.

    The account (`user`) is made at import with an unusable password; the student claims it with a one-time
    code from a printed slip. The class lives on the account (`user.school_class`) and nowhere else; `school`
    is a copy for uniqueness and counts. `real_name` is for the school's staff only: every public screen shows
    the account's nickname.
    """

    class Gender(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="student_record", verbose_name=_("account")
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, related_name="roster", verbose_name=_("school")
    )
    real_name = models.CharField(_("real name"), max_length=50)
    student_number = models.CharField(
        _("student number"),
        max_length=32,
        unique=True,
        help_text=_("Unique across the whole site, as the national student registration number is."),
    )
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    claim_code_hash = models.CharField(_("claim code (hashed)"), max_length=128, blank=True, editable=False)
    claim_code_issued_at = models.DateTimeField(_("claim code issued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(
        _("registered at"), null=True, blank=True, help_text=_("When the student set a password.")
    )
    guardian_consent_at = models.DateTimeField(_("guardian consent recorded at"), null=True, blank=True)
    guardian_consent_recorded_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("guardian consent recorded by"),
    )
    graduated_on = models.DateField(_("graduated on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("student (roster)")
        verbose_name_plural = _("students (roster)")
        ordering = ["school", "student_number"]
        indexes = [
            models.Index(fields=["school", "graduated_on"], name="student_school_current"),
            # The accounts claimed on one day: the statistics rollups (stats/rollups.py).
            models.Index(fields=["claimed_at"], name="student_claimed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.student_number} {self.user.username}"

    @property
    def is_registered(self) -> bool:
        return self.claimed_at is not None

    @property
    def has_guardian_consent(self) -> bool:
        return self.guardian_consent_at is not None
