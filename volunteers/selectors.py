"""Reads of the volunteers app, scoped to the asking user: the gates, and the hour totals.

As in edu.selectors, an object the user may not see is "not found" (Http404) and one they may see but not
change is "forbidden" (PermissionDenied). Services ask the same predicates (`can_…`), so a view and a
service never disagree about who may do what.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404

from campaigns.models import Campaign
from edu.models import Region, School, User
from edu.selectors import user_school_id
from volunteers.hour_rules import next_star, star_level
from volunteers.models import (
    Activity,
    ActivityHourTotal,
    CampaignHourTotal,
    Certificate,
    HourRecord,
    RegionHourTotal,
    SchoolHourTotal,
    Signup,
    Team,
    TeamHourTotal,
    TeamMembership,
    VolunteerProfile,
    hour_rules,
)

# --- who is who --------------------------------------------------------------------------------------------


def volunteer_profile_for_user(*, user: User) -> VolunteerProfile | None:
    """The user's own volunteer profile, or None when they have not registered as a volunteer."""
    if not user.is_authenticated:
        return None
    return VolunteerProfile.objects.select_related("region", "school", "user").filter(user=user).first()


def _region_organiser_path(user: User) -> str | None:
    if user.is_authenticated and user.is_organiser and user.region_id:
        return user.region.path
    return None


def _campaign_ids_organised(user: User) -> QuerySet:
    return Campaign.organisers.through.objects.filter(user_id=user.pk).values("campaign_id")


def activities_organised(*, user: User) -> QuerySet[Activity]:
    """Activities the user organises: their own, their campaigns', their region's subtree; all for admins."""
    if not user.is_authenticated:
        return Activity.objects.none()
    if user.is_superuser:
        return Activity.objects.all()
    reach = Q(pk__in=Activity.organisers.through.objects.filter(user_id=user.pk).values("activity_id")) | Q(
        campaign_id__in=_campaign_ids_organised(user)
    )
    path = _region_organiser_path(user)
    if path:
        reach |= Q(region_path__startswith=path)
    return Activity.objects.filter(reach)


def can_organise_activity(*, user: User, activity: Activity) -> bool:
    """The activity's organisers, its campaign's organisers, organisers whose region holds it, site admins."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    path = _region_organiser_path(user)
    if path and activity.region_path.startswith(path):
        return True
    return (
        activity.organisers.filter(pk=user.pk).exists()
        or activity.campaign.organisers.filter(pk=user.pk).exists()
    )


def can_approve_campaign_level(*, user: User, activity: Activity) -> bool:
    """Days above the activity organiser's limit: the campaign's organisers, organisers whose region holds the
    campaign's region, site admins."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    campaign = activity.campaign
    path = _region_organiser_path(user)
    if path and campaign.region.path.startswith(path):
        return True
    return campaign.organisers.filter(pk=user.pk).exists()


def can_create_activity(*, user: User, campaign: Campaign) -> bool:
    """Activities hang on a campaign: its organisers and the organisers whose region holds it add them."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    path = _region_organiser_path(user)
    if path and campaign.region.path.startswith(path):
        return True
    return campaign.organisers.filter(pk=user.pk).exists()


def can_lead_team(*, user: User, team: Team) -> bool:
    """Its leaders, organisers whose region holds the team's, site admins."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    path = _region_organiser_path(user)
    if path and team.region_path.startswith(path):
        return True
    return TeamMembership.objects.filter(team=team, volunteer__user_id=user.pk, is_leader=True).exists()


def can_manage_volunteer(*, user: User, volunteer: VolunteerProfile) -> bool:
    """Who may vouch for a volunteer (record their guardian's consent): a leader of one of their teams, the
    school administrator of their school, an organiser whose region holds theirs, a site admin."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    path = _region_organiser_path(user)
    if path and volunteer.region_path.startswith(path):
        return True
    if user.is_school_admin and volunteer.school_id and user.school_id == volunteer.school_id:
        return True
    return TeamMembership.objects.filter(
        is_leader=True,
        volunteer__user_id=user.pk,
        team_id__in=TeamMembership.objects.filter(volunteer=volunteer).values("team_id"),
    ).exists()


# --- activities --------------------------------------------------------------------------------------------


def activities_visible(*, user: User) -> QuerySet[Activity]:
    """Published activities open to the user (anyone, their team, their school), and those they organise."""
    reach = Q(open_to=Activity.OpenTo.ANYONE)
    profile = volunteer_profile_for_user(user=user) if user.is_authenticated else None
    if profile is not None:
        reach |= Q(
            open_to=Activity.OpenTo.TEAM,
            team_id__in=TeamMembership.objects.filter(volunteer=profile).values("team_id"),
        )
        if profile.school_id:
            reach |= Q(open_to=Activity.OpenTo.SCHOOL, school_id=profile.school_id)
    if user.is_authenticated:
        school_id = user_school_id(user=user)
        if school_id:
            reach |= Q(open_to=Activity.OpenTo.SCHOOL, school_id=school_id)
    visible = Q(reach, is_published=True, campaign__is_published=True)
    if user.is_authenticated:
        visible |= Q(pk__in=activities_organised(user=user).values("pk"))
    return Activity.objects.filter(visible).select_related("campaign", "region")


def activity_for_user(*, user: User, pk: int) -> Activity:
    activity = activities_visible(user=user).filter(pk=pk).first()
    if activity is None:
        raise Http404("No such activity.")
    return activity


def activity_for_organiser(*, user: User, pk: int) -> Activity:
    activity = activities_visible(user=user).select_related("campaign__region").filter(pk=pk).first()
    if activity is None:
        raise Http404("No such activity.")
    if not can_organise_activity(user=user, activity=activity):
        raise PermissionDenied
    return activity


# --- sign-ups ----------------------------------------------------------------------------------------------


def signups_for_volunteer(*, volunteer: VolunteerProfile) -> QuerySet[Signup]:
    return Signup.objects.filter(volunteer=volunteer).select_related("shift__activity")


def signup_for_owner(*, user: User, pk: int) -> Signup:
    """One of the user's own sign-ups (to cancel, to check out)."""
    if not user.is_authenticated:
        raise Http404("No such sign-up.")
    signup = (
        Signup.objects.select_related("shift__activity__campaign", "volunteer__user")
        .filter(pk=pk, volunteer__user_id=user.pk)
        .first()
    )
    if signup is None:
        raise Http404("No such sign-up.")
    return signup


def signup_for_organiser(*, user: User, pk: int) -> Signup:
    """A sign-up to one of the user's activities (to check in, check out, cancel on a volunteer's behalf)."""
    signup = (
        Signup.objects.select_related("shift__activity__campaign__region", "volunteer__user")
        .filter(pk=pk, shift__activity__in=activities_organised(user=user))
        .first()
    )
    if signup is None:
        raise Http404("No such sign-up.")
    return signup


# --- hour records ------------------------------------------------------------------------------------------


def _superseded() -> Exists:
    return Exists(HourRecord.objects.filter(corrects=OuterRef("pk"), status=HourRecord.Status.APPROVED))


def hour_records_for_volunteer(*, volunteer: VolunteerProfile) -> QuerySet[HourRecord]:
    """All of a volunteer's records, newest first, each with `superseded` (an approved correction exists)."""
    return (
        HourRecord.objects.filter(volunteer=volunteer)
        .annotate(superseded=_superseded())
        .select_related("activity", "corrects")
    )


def hour_record_for_owner(*, user: User, pk: int) -> HourRecord:
    """One of the user's own records (to read, or to ask for a correction)."""
    if not user.is_authenticated:
        raise Http404("No such record.")
    record = (
        HourRecord.objects.annotate(superseded=_superseded())
        .select_related("activity__campaign", "volunteer__user", "corrects")
        .filter(pk=pk, volunteer__user_id=user.pk)
        .first()
    )
    if record is None:
        raise Http404("No such record.")
    return record


def hour_records_for_approver(*, user: User) -> QuerySet[HourRecord]:
    """Every record the user may decide on, any status (filter `status="pending"` for the queue): records of
    activities they organise at the activity level, and all records of campaigns they lead."""
    if not user.is_authenticated:
        return HourRecord.objects.none()
    records = HourRecord.objects.annotate(superseded=_superseded()).select_related(
        "activity", "volunteer__user", "corrects"
    )
    if user.is_superuser:
        return records
    campaign_level = Q(activity__campaign_id__in=_campaign_ids_organised(user))
    path = _region_organiser_path(user)
    if path:
        campaign_level |= Q(activity__campaign__region__path__startswith=path)
    activity_level = Q(
        approver_level=HourRecord.ApproverLevel.ACTIVITY,
        activity_id__in=activities_organised(user=user).values("pk"),
    )
    return records.filter(activity_level | campaign_level)


def hour_record_for_approver(*, user: User, pk: int) -> HourRecord:
    """A record of an activity the user organises; a campaign-level record (a day of more than the activity
    organiser's limit) is forbidden to those who organise only the activity."""
    record = (
        HourRecord.objects.annotate(superseded=_superseded())
        .select_related("activity__campaign__region", "volunteer__user", "corrects")
        .filter(pk=pk)
        .first()
    )
    if record is None or not can_organise_activity(user=user, activity=record.activity):
        raise Http404("No such record.")
    if record.approver_level == HourRecord.ApproverLevel.CAMPAIGN and not can_approve_campaign_level(
        user=user, activity=record.activity
    ):
        raise PermissionDenied
    return record


# --- teams and volunteers ----------------------------------------------------------------------------------


def teams_led(*, user: User) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    reach = Q(
        pk__in=TeamMembership.objects.filter(volunteer__user_id=user.pk, is_leader=True).values("team_id")
    )
    path = _region_organiser_path(user)
    if path:
        reach |= Q(region_path__startswith=path)
    return Team.objects.filter(reach)


def team_for_leader(*, user: User, pk: int) -> Team:
    team = Team.objects.select_related("region", "school").filter(pk=pk).first()
    if team is None:
        raise Http404("No such team.")
    if can_lead_team(user=user, team=team):
        return team
    if user.is_authenticated and team.memberships.filter(volunteer__user_id=user.pk).exists():
        raise PermissionDenied
    raise Http404("No such team.")


def volunteers_for_organiser(*, user: User) -> QuerySet[VolunteerProfile]:
    """Volunteers registered in the organiser's region and below; every volunteer for a site admin."""
    if not user.is_authenticated:
        return VolunteerProfile.objects.none()
    if user.is_superuser:
        return VolunteerProfile.objects.select_related("user", "region")
    path = _region_organiser_path(user)
    if not path:
        return VolunteerProfile.objects.none()
    return VolunteerProfile.objects.filter(region_path__startswith=path).select_related("user", "region")


# --- certificates ------------------------------------------------------------------------------------------


def certificate_for_owner(*, user: User, number: str) -> Certificate:
    if not user.is_authenticated:
        raise Http404("No such certificate.")
    owned = Q(volunteer__user_id=user.pk)
    certificates = Certificate.objects.select_related("volunteer__user")
    certificate = certificates.filter(number=number).filter(Q() if user.is_superuser else owned).first()
    if certificate is None:
        raise Http404("No such certificate.")
    return certificate


def certificate_by_token(*, token: str) -> Certificate:
    """The public verification page: anyone holding the QR code's token sees the certificate's snapshot."""
    certificate = Certificate.objects.filter(verification_token=token).first() if token else None
    if certificate is None:
        raise Http404("No such certificate.")
    return certificate


# --- totals ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """Approved service: integer minutes, the records behind them, and how many volunteers served."""

    minutes: int
    records: int
    volunteers: int

    @property
    def hours(self) -> float:
        """For display only (`{{ totals.hours|floatformat:1 }}`); sums are always kept in minutes."""
        return self.minutes / 60


@dataclass(frozen=True)
class VolunteerTotals:
    minutes: int
    records: int
    pending_minutes: int
    pending_records: int
    stars: int
    # (the next star level, approved minutes still needed), or None at the top level.
    next_star: tuple[int, int] | None

    @property
    def hours(self) -> float:
        return self.minutes / 60


def _totals(records: QuerySet[HourRecord]) -> Totals:
    row = records.aggregate(
        minutes=Sum("minutes"), records=Count("pk"), volunteers=Count("volunteer", distinct=True)
    )
    return Totals(minutes=row["minutes"] or 0, records=row["records"], volunteers=row["volunteers"])


def totals_for_volunteer(*, volunteer: VolunteerProfile) -> VolunteerTotals:
    rules = hour_rules()
    counted = HourRecord.objects.filter(volunteer=volunteer)
    row = counted.aggregate(
        records=Count("pk", filter=Q(status=HourRecord.Status.APPROVED) & ~Q(_superseded())),
        pending_minutes=Sum("minutes", filter=Q(status=HourRecord.Status.PENDING)),
        pending_records=Count("pk", filter=Q(status=HourRecord.Status.PENDING)),
    )
    # The rollup is read afresh: the caller's instance may predate an approval.
    minutes = (
        VolunteerProfile.objects.filter(pk=volunteer.pk).values_list("approved_minutes", flat=True).get()
    )
    return VolunteerTotals(
        minutes=minutes,
        records=row["records"],
        pending_minutes=row["pending_minutes"] or 0,
        pending_records=row["pending_records"],
        stars=star_level(approved_minutes=minutes, rules=rules),
        next_star=next_star(approved_minutes=minutes, rules=rules),
    )


def totals_for_team(*, team: Team) -> Totals:
    members = TeamMembership.objects.filter(team=team).values("volunteer_id")
    return _totals(HourRecord.objects.counting().filter(volunteer_id__in=members))


def totals_for_school(*, school: School) -> Totals:
    return _totals(HourRecord.objects.counting().filter(volunteer__school=school))


def totals_for_activity(*, activity: Activity) -> Totals:
    return _totals(HourRecord.objects.counting().filter(activity=activity))


def totals_for_campaign(*, campaign: Campaign) -> Totals:
    return _totals(HourRecord.objects.counting().filter(activity__campaign=campaign))


def totals_for_region(*, region: Region) -> Totals:
    """From the rollups: the volunteers registered in the region and below, wherever they served."""
    row = RegionHourTotal.objects.filter(region_path__startswith=region.path).aggregate(
        minutes=Sum("minutes"), records=Sum("records"), volunteers=Sum("volunteers")
    )
    return Totals(minutes=row["minutes"] or 0, records=row["records"] or 0, volunteers=row["volunteers"] or 0)


@dataclass(frozen=True)
class TopTotal:
    """One row of a "top N under a region" list: a school, team, activity or campaign and its rollup."""

    pk: int
    name: str
    minutes: int
    records: int
    volunteers: int

    @property
    def hours(self) -> float:
        return self.minutes / 60


# scope: (rollup model, the object's field on it, the field naming the object)
_TOP_SCOPES = {
    "school": (SchoolHourTotal, "school", "school__name"),
    "team": (TeamHourTotal, "team", "team__name"),
    "activity": (ActivityHourTotal, "activity", "activity__title"),
    "campaign": (CampaignHourTotal, "campaign", "campaign__title"),
}


def top_totals(*, scope: str, region: Region | None, limit: int = 20) -> list[TopTotal]:
    """The `limit` schools, teams, activities or campaigns under the region (the whole site for None) with
    the most approved minutes, from the rollups: one query, a bounded index scan whatever the region's size.
    Schools, teams and activities are placed by their own region, campaigns by the campaign's."""
    model, key, name = _TOP_SCOPES[scope]
    rows = model.objects.filter(minutes__gt=0)
    if region is not None:
        rows = rows.filter(region_path__startswith=region.path)
    rows = rows.order_by("-minutes", f"{key}_id").values_list(
        f"{key}_id", name, "minutes", "records", "volunteers"
    )
    return [TopTotal(*row) for row in rows[:limit]]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    name: str  # the nickname or an initial: never the real name, most volunteers on it may be minors
    minutes: int
    stars: int

    @property
    def hours(self) -> float:
        return self.minutes / 60


def leaderboard(
    *, scope: Region | Team | School | Campaign | Activity | None = None, limit: int = 10
) -> list[LeaderboardRow]:
    """The volunteers with the most approved minutes in a region, team, school, campaign or activity (or the
    whole site), with shared ranks for equal minutes (1, 2, 2, 4)."""
    rules = hour_rules()
    if isinstance(scope, Campaign | Activity):
        records = HourRecord.objects.counting()
        records = (
            records.filter(activity__campaign=scope)
            if isinstance(scope, Campaign)
            else records.filter(activity=scope)
        )
        top = list(
            records.values("volunteer_id")
            .annotate(total=Sum("minutes"))
            .order_by("-total", "volunteer_id")[:limit]
        )
        profiles = VolunteerProfile.objects.select_related("user").in_bulk(
            [row["volunteer_id"] for row in top]
        )
        entries = [(profiles[row["volunteer_id"]], row["total"]) for row in top]
    elif isinstance(scope, Team):
        # From the team's memberships (a few hundred rows), never a walk down the site-wide minutes index.
        memberships = (
            TeamMembership.objects.filter(team=scope, volunteer__approved_minutes__gt=0)
            .select_related("volunteer__user")
            .order_by("-volunteer__approved_minutes", "volunteer_id")[:limit]
        )
        entries = [(m.volunteer, m.volunteer.approved_minutes) for m in memberships]
    else:
        profiles = VolunteerProfile.objects.filter(approved_minutes__gt=0).select_related("user")
        if isinstance(scope, Region):
            profiles = profiles.filter(region_path__startswith=scope.path)
        elif isinstance(scope, School):
            profiles = profiles.filter(school=scope)
        elif scope is not None:
            raise TypeError(f"no leaderboard for {type(scope).__name__}")
        entries = [
            (profile, profile.approved_minutes)
            for profile in profiles.order_by("-approved_minutes", "pk")[:limit]
        ]
    rows: list[LeaderboardRow] = []
    for position, (profile, minutes) in enumerate(entries, start=1):
        rank = rows[-1].rank if rows and rows[-1].minutes == minutes else position
        rows.append(
            LeaderboardRow(
                rank=rank,
                name=profile.public_name,
                minutes=minutes,
                stars=star_level(approved_minutes=profile.approved_minutes, rules=rules),
            )
        )
    return rows


def masked_name(real_name: str) -> str:
    """张伟 → 张*: enough to match a name one already holds (a sheet at the door, a certificate in hand), too
    little to learn one."""
    name = real_name.strip()
    return f"{name[:1]}{'*' * max(1, len(name) - 1)}" if name else ""
