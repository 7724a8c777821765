"""Reads of campaigns, scoped to the asking user: the gates `campaign_for_user` and `campaign_for_editor`."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from campaigns.models import Campaign, Enrollment, StudentProgress, Term
from edu.models import School, SchoolClass, Student, User
from edu.selectors import ancestor_paths, can_manage_school, home_region_path, schools_for_user


def campaigns_editable(*, user: User) -> QuerySet[Campaign]:
    """An organiser edits the campaigns of their region and every region under it; a site admin, all."""
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    if user.is_organiser and user.region_id:
        return Campaign.objects.filter(region__path__startswith=user.region.path)
    return Campaign.objects.none()


def can_edit_campaign(*, user: User, campaign: Campaign) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(user.is_organiser and user.region_id and campaign.region.path.startswith(user.region.path))


def campaigns_visible(*, user: User) -> QuerySet[Campaign]:
    """Published campaigns are public outreach; drafts only for those who may edit them."""
    visible = Campaign.objects.filter(is_published=True)
    if user.is_authenticated and (user.is_superuser or user.is_organiser):
        visible = Campaign.objects.filter(
            Q(is_published=True) | Q(pk__in=campaigns_editable(user=user).values("pk"))
        )
    return visible.select_related("region")


def campaigns_for_home(*, user: User, limit: int = 6) -> list[Campaign]:
    """Current and upcoming campaigns that reach the user: their region, the regions above it and,
    for an organiser, the regions below it."""
    today = timezone.localdate()
    campaigns = campaigns_visible(user=user).filter(ends_on__gte=today)
    path = home_region_path(user=user)
    if path:
        reach = Q(region__path__in=ancestor_paths(path))
        if user.is_organiser:
            reach |= Q(region__path__startswith=path)
        campaigns = campaigns.filter(reach)
    return list(campaigns.order_by("starts_on", "title")[:limit])


def campaigns_under_way(*, user: User) -> QuerySet[Campaign]:
    """The campaigns an organiser runs that are under way today."""
    today = timezone.localdate()
    return campaigns_editable(user=user).filter(starts_on__lte=today, ends_on__gte=today)


def campaign_for_user(*, user: User, pk: int) -> Campaign:
    campaign = campaigns_visible(user=user).filter(pk=pk).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def campaign_for_editor(*, user: User, pk: int) -> Campaign:
    campaign = campaign_for_user(user=user, pk=pk)
    if not can_edit_campaign(user=user, campaign=campaign):
        raise PermissionDenied
    return campaign


# --- second-classroom terms and enrollment ----------------------------------------------------------------


def term_of_campaign(*, campaign: Campaign) -> Term | None:
    return Term.objects.filter(campaign=campaign).first()


def term_for_user(*, user: User, pk: int) -> Term:
    """The term of a campaign the user may see; 404 when the campaign has no term. (`campaign__pk`, not
    `campaign_id`: only the primary key's lookup finds nothing for a number beyond 64 bits, where the foreign
    key's makes SQLite raise OverflowError.)"""
    term = (
        Term.objects.select_related("campaign__region")
        .filter(campaign__in=campaigns_visible(user=user).values("pk"), campaign__pk=pk)
        .first()
    )
    if term is None:
        raise Http404("No such term.")
    return term


def enrollment_reach(*, user: User, term: Term) -> str | None:
    """The region path under which the user enrolls schools in the term, or None if they may not.

    A province's term is enrolled in by the province office and, for their own schools, by every city and
    county office under it; a county's term by its county office and the offices above it.
    """
    return campaign_reach(user=user, campaign=term.campaign)


def campaign_reach(*, user: User, campaign: Campaign) -> str | None:
    """The region path of the campaign that the user's office answers for (enrollment_reach's rule, also for
    a campaign without a term), or None."""
    if not user.is_authenticated:
        return None
    term_path = campaign.region.path
    if user.is_superuser:
        return term_path
    if not (user.is_organiser and user.region_id):
        return None
    user_path = user.region.path
    if user_path.startswith(term_path):
        return user_path
    if term_path.startswith(user_path):
        return term_path
    return None


def term_for_enroller(*, user: User, pk: int) -> tuple[Term, str]:
    term = term_for_user(user=user, pk=pk)
    reach = enrollment_reach(user=user, term=term)
    if reach is None:
        raise PermissionDenied
    return term, reach


def enrollable_schools(*, reach: str) -> QuerySet[School]:
    return School.objects.filter(region_path__startswith=reach)


def enrollments_by_school(*, term: Term, schools: list[School]) -> dict[int, Enrollment]:
    return {
        enrollment.school_id: enrollment
        for enrollment in Enrollment.objects.filter(term=term, school__in=[school.pk for school in schools])
    }


def enrollment_for_school_admin(*, user: User, pk: int) -> Enrollment:
    """The gate of an enrollment's answer: the admin of the enrolled school (or a site admin)."""
    enrollment = (
        Enrollment.objects.select_related("school", "term__campaign")
        .filter(pk=pk, school__in=schools_for_user(user=user).values("pk"))
        .first()
    )
    if enrollment is None:
        raise Http404("No such enrollment.")
    if not can_manage_school(user=user, school=enrollment.school):
        raise PermissionDenied
    return enrollment


@dataclass
class Checklist:
    """How far a school is in a term; read from the roster and classes, never stored."""

    grades: list[int]
    roster: int = 0  # current roster students in the term's grades
    registered: int = 0
    classes: int = 0  # current classes of the term's grades
    classes_with_teacher: int = 0
    target_registration_pct: int = 0
    progressing: int = 0  # students with at least one lesson done
    on_platform: int = 0  # students with a progress row who are registered
    exam_taken: int = 0  # of those, who took the final exam

    @property
    def roster_uploaded(self) -> bool:
        return self.roster > 0

    @property
    def teachers_assigned(self) -> bool:
        return self.classes > 0 and self.classes_with_teacher == self.classes

    @property
    def registration_pct(self) -> int:
        return self.registered * 100 // self.roster if self.roster else 0

    @property
    def registration_reached(self) -> bool:
        return self.roster > 0 and self.registered * 100 >= self.target_registration_pct * self.roster

    @property
    def lessons_under_way(self) -> bool:
        return self.progressing > 0

    @property
    def exam_done(self) -> bool:
        """Every registered student has taken the final exam."""
        return self.on_platform > 0 and self.exam_taken == self.on_platform

    @property
    def done(self) -> int:
        return sum(
            [
                self.roster_uploaded,
                self.teachers_assigned,
                self.registration_reached,
                self.lessons_under_way,
                self.exam_done,
            ]
        )


def term_checklists(*, term: Term, school_ids: list[int]) -> dict[int, Checklist]:
    """The checklist of each school, in three queries however many schools."""
    grades = [int(grade) for grade in term.grades]
    lists = {
        school_id: Checklist(grades=grades, target_registration_pct=term.target_registration_pct)
        for school_id in school_ids
    }
    students = (
        Student.objects.filter(
            school_id__in=school_ids, graduated_on__isnull=True, user__school_class__grade__in=grades
        )
        .values("school_id")
        .annotate(roster=Count("pk"), registered=Count("pk", filter=Q(claimed_at__isnull=False)))
    )
    for row in students:
        lists[row["school_id"]].roster = row["roster"]
        lists[row["school_id"]].registered = row["registered"]
    classes = (
        SchoolClass.objects.filter(school_id__in=school_ids, graduated_on__isnull=True, grade__in=grades)
        .values("school_id")
        .annotate(
            classes=Count("pk", distinct=True),
            with_teacher=Count("pk", filter=Q(teachers__isnull=False), distinct=True),
        )
    )
    for row in classes:
        lists[row["school_id"]].classes = row["classes"]
        lists[row["school_id"]].classes_with_teacher = row["with_teacher"]
    progress = (
        StudentProgress.objects.filter(term=term, school_id__in=school_ids)
        .values("school_id")
        .annotate(
            progressing=Count("pk", filter=Q(lessons_done__gt=0)),
            on_platform=Count("pk", filter=Q(registered=True)),
            exam_taken=Count("pk", filter=Q(registered=True, exam_score__isnull=False)),
        )
    )
    for row in progress:
        checklist = lists[row["school_id"]]
        checklist.progressing = row["progressing"]
        checklist.on_platform = row["on_platform"]
        checklist.exam_taken = row["exam_taken"]
    return lists


@dataclass
class SchoolTerm:
    enrollment: Enrollment
    checklist: Checklist


def school_terms(*, school: School) -> list[SchoolTerm]:
    """The school's enrollments in terms that have not ended, each with its checklist."""
    enrollments = list(
        Enrollment.objects.filter(school=school, term__campaign__ends_on__gte=timezone.localdate())
        .select_related("term__campaign")
        .order_by("term__campaign__starts_on", "pk")
    )
    return [
        SchoolTerm(enrollment, term_checklists(term=enrollment.term, school_ids=[school.pk])[school.pk])
        for enrollment in enrollments
    ]


def school_term(*, term: Term, school: School) -> SchoolTerm | None:
    """The school's enrollment in the term with its checklist; None when it is not invited."""
    enrollment = Enrollment.objects.filter(term=term, school=school).select_related("term__campaign").first()
    if enrollment is None:
        return None
    return SchoolTerm(enrollment, term_checklists(term=term, school_ids=[school.pk])[school.pk])
