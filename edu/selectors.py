"""Reads of the core, scoped to what the asking user may see: the one gate per resource.

Views, admin actions and consumers all ask these functions; none decides access on its own. An object the
user may not see is "not found" (404), so that ids and codes reveal nothing; one they may see but not change
is "forbidden" (403).
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from edu.models import Region, School, SchoolClass, Student, User, grade_label, top_grade


def regions_for_user(*, user: User) -> QuerySet[Region]:
    if user.is_authenticated and user.is_superuser:
        return Region.objects.all()
    if user.is_authenticated and user.is_organiser and user.region_id:
        return Region.objects.filter(path__startswith=user.region.path)
    return Region.objects.none()


def schools_for_user(*, user: User) -> QuerySet[School]:
    """Every school the user may look at: an organiser's region, a teacher's or a student's own school."""
    if not user.is_authenticated:
        return School.objects.none()
    if user.is_superuser:
        return School.objects.all()
    if user.is_organiser and user.region_id:
        return School.objects.filter(region_path__startswith=user.region.path)
    school_id = user_school_id(user=user)
    if school_id:
        return School.objects.filter(pk=school_id)
    return School.objects.none()


def user_school_id(*, user: User) -> int | None:
    """The school a teacher works at or a student studies at."""
    if user.is_teacher and user.school_id:
        return user.school_id
    if user.is_student and user.school_class_id:
        return user.school_class.school_id
    return None


def can_manage_school(*, user: User, school: School) -> bool:
    return user.is_superuser or (user.is_school_admin and user.school_id == school.pk)


def school_for_user(*, user: User, code: str, manage: bool = False) -> School:
    school = schools_for_user(user=user).select_related("region").filter(code=code).first()
    if school is None:
        raise Http404("No such school.")
    if manage and not can_manage_school(user=user, school=school):
        raise PermissionDenied
    return school


def classes_for_user(*, user: User) -> QuerySet[SchoolClass]:
    if not user.is_authenticated:
        return SchoolClass.objects.none()
    if user.is_superuser:
        return SchoolClass.objects.all()
    if user.is_organiser and user.region_id:
        return SchoolClass.objects.filter(school__region_path__startswith=user.region.path)
    if user.is_teacher and user.school_id:
        return SchoolClass.objects.filter(school_id=user.school_id)
    if user.is_student and user.school_class_id:
        return SchoolClass.objects.filter(pk=user.school_class_id)
    return SchoolClass.objects.none()


def teaches_at(*, user: User, school_id: int) -> bool:
    """Teachers of a school manage its classes' rosters and join codes; organisers only look."""
    return user.is_superuser or (user.is_teacher and user.school_id == school_id)


def can_manage_class(*, user: User, school_class: SchoolClass) -> bool:
    return teaches_at(user=user, school_id=school_class.school_id)


def class_for_user(*, user: User, pk: int, manage: bool = False) -> SchoolClass:
    school_class = (
        classes_for_user(user=user).select_related("school", "school__region").filter(pk=pk).first()
    )
    if school_class is None:
        raise Http404("No such class.")
    if manage and not can_manage_class(user=user, school_class=school_class):
        raise PermissionDenied
    if not manage and user.is_student and not (user.is_teacher or user.is_organiser or user.is_superuser):
        # A student belongs to the class but the class page (the roster) is for staff.
        raise PermissionDenied
    return school_class


def home_region_path(*, user: User) -> str | None:
    """Where a user's work is: an organiser's region, else their school's region."""
    if not user.is_authenticated:
        return None
    if user.is_organiser and user.region_id:
        return user.region.path
    if user.is_teacher and user.school_id:
        return user.school.region_path
    if user.is_student and user.school_class_id:
        return user.school_class.school.region_path
    return None


# "Starts with" in raw SQL: f"{column} {LIKE}" with like_prefix(prefix) as its parameter.
LIKE = "LIKE %s ESCAPE '\\'"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for "starts with `prefix`", its wildcards escaped."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ancestor_paths(path: str) -> list[str]:
    """ "430000/430100/430104/" → ["430000/", "430000/430100/", "430000/430100/430104/"]."""
    parts = [part for part in path.split("/") if part]
    return ["".join(f"{part}/" for part in parts[: i + 1]) for i in range(len(parts))]


def class_by_join_code(*, code: str) -> SchoolClass | None:
    code = (code or "").strip().upper().replace(" ", "").replace("-", "")
    if not code:
        return None
    return SchoolClass.objects.select_related("school").filter(join_code=code, join_enabled=True).first()


# --- rosters -----------------------------------------------------------------------------------------------


def students_for_user(*, user: User) -> QuerySet[Student]:
    """Roster records, with the real names in them, are for the staff of the student's own school only:
    organisers see counts, never names."""
    if not user.is_authenticated:
        return Student.objects.none()
    if user.is_superuser:
        return Student.objects.all()
    if user.is_teacher and user.school_id:
        return Student.objects.filter(school_id=user.school_id)
    return Student.objects.none()


def student_for_user(*, user: User, pk: int, manage: bool = False) -> Student:
    """The gate of a roster record: teachers of the school record consent and reissue slips; moving,
    exporting and deleting are for the school's admin (manage=True)."""
    student = (
        students_for_user(user=user)
        .select_related("user__school_class", "school", "guardian_consent_recorded_by")
        .filter(pk=pk)
        .first()
    )
    if student is None:
        raise Http404("No such student.")
    if manage and not can_manage_school(user=user, school=student.school):
        raise PermissionDenied
    return student


def current_classes(*, school: School) -> QuerySet[SchoolClass]:
    """The school's classes this year: graduated classes are kept for their history but are not among them."""
    return SchoolClass.objects.filter(school=school, graduated_on__isnull=True)


_CURRENT_RECORD = Q(
    students__student_record__isnull=False, students__student_record__graduated_on__isnull=True
)


def classes_with_roster_counts(*, school: School) -> QuerySet[SchoolClass]:
    """Current classes with `roster` (students on the roster), `registered` (who set a password), `joined`
    (students who joined with the class code and are not on the roster) and `teacher_count`."""
    return (
        current_classes(school=school)
        .annotate(
            roster=Count("students__student_record", filter=_CURRENT_RECORD, distinct=True),
            registered=Count(
                "students__student_record",
                filter=_CURRENT_RECORD & Q(students__student_record__claimed_at__isnull=False),
                distinct=True,
            ),
            joined=Count(
                "students",
                filter=Q(students__is_student=True, students__student_record__isnull=True),
                distinct=True,
            ),
            teacher_count=Count("teachers", distinct=True),
        )
        .order_by("grade", "name")
    )


def class_headcount(school_class: SchoolClass) -> int:
    """The class's size for rates: its roster when it has one, else the headcount typed in."""
    return school_class.roster or school_class.headcount


def class_roster(*, school_class: SchoolClass) -> QuerySet[Student]:
    return (
        Student.objects.filter(user__school_class=school_class)
        .select_related("user", "guardian_consent_recorded_by")
        .order_by("graduated_on", "student_number")
    )


def class_accounts_without_roster(*, school_class: SchoolClass) -> QuerySet[User]:
    """Students who joined the class with its code and have no roster record."""
    return school_class.students.filter(is_student=True, student_record__isnull=True).order_by(
        "nickname", "username"
    )


def school_roster_counts(*, school: School) -> dict[str, int]:
    current = Student.objects.filter(school=school, graduated_on__isnull=True)
    return current.aggregate(
        roster=Count("pk"),
        registered=Count("pk", filter=Q(claimed_at__isnull=False)),
        consented=Count("pk", filter=Q(guardian_consent_at__isnull=False)),
    )


def claim_slip_students(*, school_class: SchoolClass, only: list[int] | None = None) -> list[Student]:
    """The students who get a new code when the class's slips are printed: the unclaimed ones, or the chosen
    ones (a lost slip, a forgotten password); never graduates, and with the school's consent rule, only those
    whose guardian consented."""
    students = Student.objects.filter(user__school_class=school_class, graduated_on__isnull=True)
    students = students.filter(claimed_at__isnull=True) if only is None else students.filter(pk__in=only)
    if school_class.school.requires_guardian_consent:
        students = students.filter(guardian_consent_at__isnull=False)
    return list(students.select_related("user").order_by("student_number"))


@dataclass
class PromotionPlan:
    """What a year-end promotion would do, for its confirmation page."""

    moves: list[tuple[str, str, int]] = field(default_factory=list)  # from grade, to grade, classes
    graduating: list[SchoolClass] = field(default_factory=list)
    graduating_students: int = 0
    last_promoted_on: date | None = None


def school_promotion_plan(*, school: School) -> PromotionPlan:
    top = top_grade(school)
    classes = list(classes_with_roster_counts(school=school))
    plan = PromotionPlan(last_promoted_on=school.promoted_on)
    per_grade: dict[int, int] = {}
    for klass in classes:
        if klass.grade >= top:
            plan.graduating.append(klass)
            plan.graduating_students += klass.roster
        else:
            per_grade[klass.grade] = per_grade.get(klass.grade, 0) + 1
    plan.moves = [
        (grade_label(grade), grade_label(grade + 1), count) for grade, count in sorted(per_grade.items())
    ]
    return plan


def school_teachers(*, school: School) -> QuerySet[User]:
    return User.objects.filter(is_teacher=True, school=school).order_by("first_name", "username")
