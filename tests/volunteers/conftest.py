"""Volunteer personas on top of `world`: a campaign and an activity in county A, volunteers of every age rule,
a team, and helpers that make profiles and hour records.

    vworld.campaign        campaign in county A; its organiser is world.organiser_a
    vworld.activity        activity of that campaign in county A, sign-up open now, two shifts tomorrow:
    vworld.shift           09:00–12:00 local, capacity 2
    vworld.shift_big       14:00–17:00 local, capacity 10
    vworld.organiser       world.organiser_a: region (and so campaign-level) organiser of county A
    vworld.coordinator     an organiser of this activity only (not of the campaign, no region)
    vworld.outsider        world.organiser_b, county B's organiser
    vworld.adult           profile of world.volunteer (35, county A)
    vworld.teen            15, ticked "my guardian agrees" at registration
    vworld.child           12, guardian's consent recorded by the team leader
    vworld.child_no_consent  12, guardian named but no consent recorded
    vworld.leader          adult profile leading vworld.team (members: leader, child, child_no_consent)
    vworld.make_profile(username=..., age=..., region=..., **fields) → a new VolunteerProfile
    vworld.make_record(volunteer=..., started_at=..., minutes=..., **fields) → a pending backfill HourRecord
    vworld.approved_record(...)  the same, approved through the service by vworld.organiser
    vworld.at(days, hour, minute=0) → an aware datetime: local day today+days at hour:minute
"""

import datetime as dt
import itertools
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests import factories
from volunteers.models import Activity, HourRecord, Shift, Team, TeamMembership, VolunteerProfile

LOCAL = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def local_at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL)


def years_ago(years: int, *, today: dt.date | None = None) -> dt.date:
    """A birth date giving exactly `years` of age today and for the next eleven months."""
    birthday = (today or timezone.localdate()) - dt.timedelta(days=30)
    if (birthday.month, birthday.day) == (2, 29):
        birthday -= dt.timedelta(days=1)
    return birthday.replace(year=birthday.year - years)


def make_profile(
    *, username: str | None = None, user=None, age: int = 30, region, nickname: str = "", **fields
) -> VolunteerProfile:
    n = next(_numbers)
    if user is None:
        user = factories.user(username=username or f"vol{n}", is_volunteer=True, nickname=nickname)
    elif not user.is_volunteer:
        user.is_volunteer = True
        user.save(update_fields=["is_volunteer"])
    fields.setdefault("real_name", f"志愿者{n}")
    fields.setdefault("phone", f"1380000{n:04d}")
    fields.setdefault("birth_date", years_ago(age))
    fields.setdefault("emergency_contact_name", "家属")
    fields.setdefault("emergency_contact_phone", "13900000000")
    fields.setdefault("volunteer_number", f"VT{region.code}{n:06d}")
    return VolunteerProfile.objects.create(user=user, region=region, **fields)


@pytest.fixture
def vworld(world):
    now = timezone.now()
    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)

    campaign = factories.campaign(
        region=world.county_a, title="岳麓区禁毒志愿服务", created_by=world.organiser_a
    )
    campaign.organisers.set([world.organiser_a])
    coordinator = factories.user(username="coordinator", nickname="社区书记")

    activity = Activity.objects.create(
        campaign=campaign,
        title="禁毒宣传进社区",
        description="在社区广场发放禁毒宣传资料。",
        address="岳麓区麓山南路1号社区广场",
        region=world.county_a,
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=local_at(tomorrow, 8),
        created_by=world.organiser_a,
    )
    activity.organisers.set([world.organiser_a, coordinator])
    shift = Shift.objects.create(
        activity=activity,
        role="宣传员",
        starts_at=local_at(tomorrow, 9),
        ends_at=local_at(tomorrow, 12),
        capacity=2,
    )
    shift_big = Shift.objects.create(
        activity=activity,
        role="引导员",
        starts_at=local_at(tomorrow, 14),
        ends_at=local_at(tomorrow, 17),
        capacity=10,
    )

    adult = make_profile(user=world.volunteer, age=35, region=world.county_a, real_name="张伟")
    leader = make_profile(username="team_leader", age=40, region=world.county_a, nickname="李队长")
    teen = make_profile(
        username="teen",
        age=15,
        region=world.county_a,
        nickname="小青",
        guardian_name="王芳",
        guardian_phone="13700000001",
    )
    teen.guardian_consent_at = now - dt.timedelta(days=3)
    teen.guardian_consent_recorded_by = teen.user
    teen.save()
    child = make_profile(
        username="child",
        age=12,
        region=world.county_a,
        school=world.school_a,
        nickname="小雨",
        guardian_name="刘强",
        guardian_phone="13700000002",
    )
    child.guardian_consent_at = now - dt.timedelta(days=2)
    child.guardian_consent_recorded_by = leader.user
    child.save()
    child_no_consent = make_profile(
        username="child_nc",
        age=12,
        region=world.county_a,
        school=world.school_a,
        nickname="小雪",
        guardian_name="陈静",
        guardian_phone="13700000003",
    )

    team = Team.objects.create(name="麓山社区禁毒志愿队", kind=Team.Kind.COMMUNITY, region=world.county_a)
    TeamMembership.objects.create(team=team, volunteer=leader, is_leader=True)
    TeamMembership.objects.create(team=team, volunteer=child)
    TeamMembership.objects.create(team=team, volunteer=child_no_consent)

    def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
        return local_at(today + dt.timedelta(days=days), hour, minute)

    def make_record(
        *,
        volunteer: VolunteerProfile,
        started_at: dt.datetime,
        minutes: int,
        activity: Activity | None = None,
        **fields,
    ) -> HourRecord:
        fields.setdefault("source", HourRecord.Source.BACKFILL)
        fields.setdefault("content", "发放宣传资料")
        fields.setdefault("recorded_by", volunteer.user)
        return HourRecord.objects.create(
            volunteer=volunteer,
            activity=activity or vworld.activity,
            started_at=started_at,
            ended_at=started_at + dt.timedelta(minutes=minutes),
            minutes=minutes,
            **fields,
        )

    def approved_record(**kwargs) -> HourRecord:
        from volunteers.services import hour_record_approve

        record = make_record(**kwargs)
        return hour_record_approve(record=record, approver=world.organiser_a, now=timezone.now())

    vworld = SimpleNamespace(
        world=world,
        now=now,
        today=today,
        campaign=campaign,
        activity=activity,
        shift=shift,
        shift_big=shift_big,
        organiser=world.organiser_a,
        coordinator=coordinator,
        outsider=world.organiser_b,
        adult=adult,
        leader=leader,
        teen=teen,
        child=child,
        child_no_consent=child_no_consent,
        team=team,
        make_profile=make_profile,
        make_record=make_record,
        approved_record=approved_record,
        at=at,
    )
    return vworld
