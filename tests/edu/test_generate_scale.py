"""generate_scale: a consistent generated province (rollups, no overlaps, counts), idempotence and --reset.

The tiny --small set runs on whichever database the tests use; on SQLite it goes through plain INSERTs, on
PostgreSQL through COPY (run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/qk_<name>).
"""

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign
from edu.models import Region, School, User
from edu.scale import GENERATED_USERNAME_PREFIX, PROVINCE_PATH, SMALL_FIGURES
from tests.volunteers.rollup_checks import direct_rollups, stored_rollups
from volunteers.hour_rules import Interval
from volunteers.models import (
    Activity,
    HourRecord,
    NumberSequence,
    RegionHourTotal,
    Shift,
    Signup,
    Team,
    TeamMembership,
    VolunteerProfile,
)
from volunteers.selectors import totals_for_region

pytestmark = pytest.mark.django_db


# The parts this file covers; later issues' parts (which build on them) have their own tests.
PARTS = ("--parts", "regions,schools,volunteers")


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_scale", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def small_set() -> str:
    return generate("--small", *PARTS)


def test_counts_are_the_small_figures(small_set):
    figures = SMALL_FIGURES
    regions = Region.objects.filter(path__startswith=PROVINCE_PATH)
    assert regions.filter(level=Region.Level.PROVINCE).count() == 1
    assert regions.filter(level=Region.Level.CITY).count() == figures.cities
    assert regions.filter(level=Region.Level.COUNTY).count() == figures.counties
    assert all(region.code.startswith("96") and region.name and region.name_en for region in regions)

    schools = School.objects.filter(region_path__startswith=PROVINCE_PATH)
    assert schools.count() == figures.schools
    headcount = schools.aggregate(total=Sum("student_headcount"))["total"]
    assert abs(headcount - figures.students) <= figures.students * 0.01
    assert not schools.exclude(region__level=Region.Level.COUNTY).exists()

    volunteers = VolunteerProfile.objects.all()
    assert volunteers.count() == figures.volunteers
    assert not volunteers.exclude(region__level=Region.Level.COUNTY).exists()
    assert volunteers.filter(school__isnull=False).exists()
    records = HourRecord.objects.count()
    assert abs(records - figures.hour_records) <= figures.hour_records * 0.05
    statuses = dict(HourRecord.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses["approved"] > 0.8 * records
    assert statuses.get("rejected", 0) > 0
    assert f"{figures.volunteers:,} volunteers" in small_set


def test_users_are_generated_volunteers_and_organisers(small_set):
    generated = User.objects.filter(username__startswith=GENERATED_USERNAME_PREFIX)
    assert generated.count() == User.objects.count()
    volunteers = generated.filter(is_volunteer=True)
    assert volunteers.count() == SMALL_FIGURES.volunteers
    assert all(not user.has_usable_password() for user in generated)
    assert not volunteers.filter(nickname="").exists()
    organisers = generated.filter(is_organiser=True)
    assert organisers.exists() and not organisers.filter(region__isnull=True).exists()
    numbers = list(VolunteerProfile.objects.values_list("volunteer_number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert all(number.startswith("V96") for number in numbers)


def test_rollups_agree_with_the_records(small_set):
    counted = dict(HourRecord.objects.counting().values_list("volunteer_id").annotate(minutes=Sum("minutes")))
    for pk, minutes in VolunteerProfile.objects.values_list("pk", "approved_minutes"):
        assert minutes == counted.get(pk, 0), pk
    assert sum(counted.values()) > 0

    by_region: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for region_id, minutes in HourRecord.objects.counting().values_list("volunteer__region_id", "minutes"):
        by_region[region_id][0] += minutes
        by_region[region_id][1] += 1
    rollups = {row.region_id: [row.minutes, row.records] for row in RegionHourTotal.objects.all()}
    assert rollups == dict(by_region)
    province = Region.objects.get(path=PROVINCE_PATH)
    assert totals_for_region(region=province).minutes == sum(counted.values())
    # The school, team, activity and campaign rollups (and the regions' active volunteers) too.
    direct = direct_rollups()
    assert stored_rollups() == direct
    assert all(direct.values())
    assert totals_for_region(region=province).volunteers == len(counted)


def test_no_volunteer_has_overlapping_records(small_set):
    by_volunteer: dict[int, list[Interval]] = defaultdict(list)
    for volunteer_id, started, ended in HourRecord.objects.live().values_list(
        "volunteer_id", "started_at", "ended_at"
    ):
        by_volunteer[volunteer_id].append(Interval(start=started, end=ended))
    for volunteer_id, intervals in by_volunteer.items():
        intervals.sort(key=lambda interval: interval.start)
        for earlier, later in zip(intervals, intervals[1:], strict=False):
            assert not earlier.overlaps(later), volunteer_id


def test_history_is_consistent(small_set):
    # Every check-in record comes from a checked-in sign-up of the same volunteer, within its shift.
    for record in HourRecord.objects.filter(source=HourRecord.Source.CHECKIN).select_related("signup__shift"):
        signup = record.signup
        assert signup.volunteer_id == record.volunteer_id and signup.checked_in_at is not None
        assert signup.shift.starts_at <= record.started_at < record.ended_at <= signup.shift.ends_at
        assert signup.shift.activity_id == record.activity_id
        assert record.minutes == (record.ended_at - record.started_at).total_seconds() // 60
    # Shifts in the daytime or evening, local time, none longer than the longest kind (08:30–18:00).
    for starts_at, ends_at in Shift.objects.values_list("starts_at", "ends_at"):
        assert 8 <= timezone.localtime(starts_at).hour <= 19
        assert (ends_at - starts_at).total_seconds() <= 570 * 60
    # No shift holds more confirmed volunteers than its places; the waiting list only on shifts to come.
    for shift in Shift.objects.annotate(
        confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED))
    ):
        assert shift.confirmed <= shift.capacity
    assert not Signup.objects.filter(
        status=Signup.Status.WAITLISTED, shift__ends_at__lte=timezone.now()
    ).exists()
    # Activities lie within their campaign's region, at a county, signing up before they start.
    for activity in Activity.objects.select_related("campaign__region"):
        assert activity.region_path.startswith(activity.campaign.region.path)
        assert activity.signup_opens_at < activity.signup_closes_at
    assert Campaign.objects.filter(volunteer_activities__isnull=False).exists()
    # Minors registered with their guardian's consent.
    for profile in VolunteerProfile.objects.all():
        if profile.age_on(profile.created_at.date()) < 18:
            assert profile.guardian_consent_at is not None
    # The sequences carry on after the numbers issued.
    for county in Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY):
        issued = VolunteerProfile.objects.filter(region=county).count()
        if issued:
            assert NumberSequence.objects.get(name=f"volunteer:{county.code}").last_value == issued


def test_nothing_happened_in_the_future(small_set):
    now = timezone.now()
    assert not VolunteerProfile.objects.filter(created_at__gt=now).exists()
    assert not TeamMembership.objects.filter(joined_at__gt=now).exists()
    assert not Activity.objects.filter(created_at__gt=now).exists()
    assert not Signup.objects.filter(Q(created_at__gt=now) | Q(cancelled_at__gt=now)).exists()
    assert not Signup.objects.filter(created_at__lt=F("shift__activity__signup_opens_at")).exists()
    assert not HourRecord.objects.filter(
        Q(ended_at__gt=now) | Q(created_at__gt=now) | Q(decided_at__gt=now)
    ).exists()
    assert not HourRecord.objects.filter(created_at__lt=F("ended_at")).exists()
    assert not Signup.objects.filter(checked_in_at__isnull=False, shift__starts_at__gt=now).exists()


def test_teams(small_set):
    school_teams = Team.objects.filter(kind=Team.Kind.SCHOOL)
    assert school_teams.exists()
    for team in school_teams.annotate(member_count=Count("memberships")):
        assert team.member_count >= SMALL_FIGURES.school_team_minimum
        assert team.school_id is not None
    assert Team.objects.exclude(kind=Team.Kind.SCHOOL).exists()
    assert (
        TeamMembership.objects.filter(is_leader=True).values("team").distinct().count()
        == Team.objects.count()
    )


def test_second_run_is_refused_and_reset_regenerates(small_set, world):
    counts = (VolunteerProfile.objects.count(), HourRecord.objects.count(), School.objects.count())
    with pytest.raises(CommandError, match="--reset"):
        generate("--small", *PARTS)
    out = generate("--small", *PARTS, "--reset")
    assert "Reset volunteers" in out and "Reset regions" in out
    # The same seed makes the same set again; what generate_scale did not make is untouched.
    assert (VolunteerProfile.objects.count(), HourRecord.objects.count(), School.objects.count()) == counts
    assert Region.objects.filter(pk=world.county_a.pk).exists()
    assert User.objects.filter(pk=world.volunteer.pk).exists()
    assert School.objects.filter(pk=world.school_a.pk).exists()


def test_reset_of_one_part_keeps_the_others(small_set):
    regions, schools = Region.objects.count(), School.objects.count()
    generate("--small", "--parts", "volunteers", "--reset")
    assert (Region.objects.count(), School.objects.count()) == (regions, schools)
    assert VolunteerProfile.objects.count() == SMALL_FIGURES.volunteers


def test_a_part_needs_the_parts_it_builds_on():
    with pytest.raises(CommandError, match="regions part"):
        generate("--small", "--parts", "volunteers")
    with pytest.raises(CommandError, match="Unknown part"):
        generate("--small", "--parts", "no-such-part")


def test_new_rows_after_generation_get_fresh_ids(small_set):
    # The generator takes its ids from the tables' own sequences: the site's next insert never collides.
    region = Region.objects.get(path=PROVINCE_PATH)
    user = User.objects.create(username="after-generation", is_organiser=True, region=region)
    assert user.pk > User.objects.exclude(pk=user.pk).order_by("-pk").first().pk


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the refusal is for databases other than PostgreSQL"
)
def test_full_scale_refused_on_sqlite():
    with pytest.raises(CommandError, match="PostgreSQL"):
        generate()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_postgresql_loads_with_copy(small_set):
    assert "COPY" in small_set
    # COPY filled every column the models declare: the rows read back as model instances.
    record = HourRecord.objects.select_related("volunteer__user", "activity__campaign").first()
    assert record.volunteer.user.username.startswith(GENERATED_USERNAME_PREFIX)
    assert record.activity.campaign.region.path.startswith(PROVINCE_PATH)
    assert isinstance(VolunteerProfile.objects.first().skills, list)
