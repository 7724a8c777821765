"""Reads of the core, scoped to what the asking user may see: the one gate per resource.

Views, admin actions and consumers all ask these functions; none decides access on its own. An object the
user may not see is "not found" (404), so that ids and codes reveal nothing; one they may see but not change
is "forbidden" (403).
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from edu.models import Region, School, SchoolClass, User


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


def ancestor_paths(path: str) -> list[str]:
    """ "430000/430100/430104/" → ["430000/", "430000/430100/", "430000/430100/430104/"]."""
    parts = [part for part in path.split("/") if part]
    return ["".join(f"{part}/" for part in parts[: i + 1]) for i in range(len(parts))]


def class_by_join_code(*, code: str) -> SchoolClass | None:
    code = (code or "").strip().upper().replace(" ", "").replace("-", "")
    if not code:
        return None
    return SchoolClass.objects.select_related("school").filter(join_code=code, join_enabled=True).first()
