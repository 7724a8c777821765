"""The volunteers' gates (who may see and decide what) and the totals, with the rollups checked against a
direct count."""

import datetime as dt
import random

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from tests import factories
from tests.volunteers.rollup_checks import direct_rollups, stored_rollups
from volunteers import selectors, services
from volunteers.models import (
    Activity,
    HourRecord,
    RegionHourTotal,
    SchoolHourTotal,
    TeamHourTotal,
    VolunteerProfile,
)
from volunteers.rollups import rollups_rebuild
from volunteers.services import VolunteerError

# --- activities ---------------------------------------------------------------------------------------------


def test_published_activities_open_to_anyone_are_public(vworld):
    guest = factories.user(username="guest")
    from django.contrib.auth.models import AnonymousUser

    for user in (AnonymousUser(), guest, vworld.adult.user, vworld.outsider):
        assert vworld.activity in selectors.activities_visible(user=user)
        assert selectors.activity_for_user(user=user, pk=vworld.activity.pk) == vworld.activity


def test_unpublished_activities_are_seen_only_by_their_organisers(vworld):
    vworld.activity.is_published = False
    vworld.activity.save()

    for user in (vworld.adult.user, vworld.outsider, vworld.world.teacher_a):
        with pytest.raises(Http404):
            selectors.activity_for_user(user=user, pk=vworld.activity.pk)
        with pytest.raises(Http404):
            selectors.activity_for_organiser(user=user, pk=vworld.activity.pk)
    for user in (vworld.coordinator, vworld.organiser, vworld.world.organiser_province, vworld.world.admin):
        assert selectors.activity_for_organiser(user=user, pk=vworld.activity.pk) == vworld.activity


def test_team_and_school_activities_are_seen_by_their_people(vworld):
    vworld.activity.open_to, vworld.activity.team = Activity.OpenTo.TEAM, vworld.team
    vworld.activity.save()
    assert vworld.activity in selectors.activities_visible(user=vworld.child.user)
    assert vworld.activity not in selectors.activities_visible(user=vworld.adult.user)
    assert vworld.activity in selectors.activities_visible(user=vworld.coordinator)

    vworld.activity.open_to, vworld.activity.team = Activity.OpenTo.SCHOOL, None
    vworld.activity.school = vworld.world.school_a
    vworld.activity.save()
    assert vworld.activity in selectors.activities_visible(user=vworld.child.user)
    assert vworld.activity in selectors.activities_visible(user=vworld.world.student)  # a pupil of school A
    assert vworld.activity not in selectors.activities_visible(user=vworld.adult.user)
    assert vworld.activity not in selectors.activities_visible(user=vworld.world.teacher_b)


def test_activity_for_organiser_forbids_those_who_only_see_it(vworld):
    for user in (vworld.outsider, vworld.adult.user, vworld.world.teacher_a):
        with pytest.raises(PermissionDenied):
            selectors.activity_for_organiser(user=user, pk=vworld.activity.pk)
    with pytest.raises(Http404):
        selectors.activity_for_organiser(user=vworld.organiser, pk=vworld.activity.pk + 1000)


def test_activities_organised(vworld):
    province_campaign = factories.campaign(region=vworld.world.province)
    elsewhere = services.activity_create(
        campaign=province_campaign,
        created_by=vworld.world.organiser_province,
        title="开福区禁毒宣传",
        description="",
        address="开福区",
        region=vworld.world.county_b,
        shifts=[{"starts_at": vworld.at(3, 9), "ends_at": vworld.at(3, 10), "capacity": 2}],
        signup_opens_at=vworld.now,
        signup_closes_at=vworld.at(3, 8),
    )
    assert set(selectors.activities_organised(user=vworld.coordinator)) == {vworld.activity}
    assert set(selectors.activities_organised(user=vworld.organiser)) == {vworld.activity}
    assert set(selectors.activities_organised(user=vworld.outsider)) == {elsewhere}
    assert set(selectors.activities_organised(user=vworld.world.organiser_province)) == {
        vworld.activity,
        elsewhere,
    }
    assert not selectors.activities_organised(user=vworld.adult.user).exists()


# --- sign-ups and records -----------------------------------------------------------------------------------


def test_signup_gates(vworld):
    signup = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)

    assert selectors.signup_for_owner(user=vworld.adult.user, pk=signup.pk) == signup
    assert selectors.signup_for_organiser(user=vworld.coordinator, pk=signup.pk) == signup
    for user in (vworld.teen.user, vworld.outsider):
        with pytest.raises(Http404):
            selectors.signup_for_owner(user=user, pk=signup.pk)
    for user in (vworld.outsider, vworld.adult.user, vworld.world.teacher_a):
        with pytest.raises(Http404):
            selectors.signup_for_organiser(user=user, pk=signup.pk)


def test_outsiders_never_reach_a_record(vworld):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)

    for user in (vworld.outsider, vworld.world.teacher_b, vworld.teen.user, vworld.adult.user):
        with pytest.raises(Http404):
            selectors.hour_record_for_approver(user=user, pk=record.pk)
        assert record not in selectors.hour_records_for_approver(user=user)
    assert selectors.hour_record_for_owner(user=vworld.adult.user, pk=record.pk) == record
    with pytest.raises(Http404):
        selectors.hour_record_for_owner(user=vworld.organiser, pk=record.pk)


def test_campaign_level_records_are_for_campaign_organisers(vworld):
    normal = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=60)
    long_day = services.hour_backfill(
        volunteer=vworld.teen,
        activity=vworld.activity,
        started_at=vworld.at(-2, 8),
        ended_at=vworld.at(-2, 18),
        content="全天",
        recorded_by=vworld.teen.user,
        now=timezone.now(),
    )

    assert set(selectors.hour_records_for_approver(user=vworld.coordinator)) == {normal}
    assert selectors.hour_record_for_approver(user=vworld.coordinator, pk=normal.pk) == normal
    with pytest.raises(PermissionDenied):
        selectors.hour_record_for_approver(user=vworld.coordinator, pk=long_day.pk)
    for user in (vworld.organiser, vworld.world.organiser_province, vworld.world.admin):
        assert set(selectors.hour_records_for_approver(user=user)) == {normal, long_day}
        assert selectors.hour_record_for_approver(user=user, pk=long_day.pk) == long_day


def test_records_carry_whether_they_are_superseded(vworld):
    original = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    correction = services.hour_record_correct(
        record=original,
        started_at=vworld.at(-2, 9),
        ended_at=vworld.at(-2, 9, 45),
        content="x",
        requested_by=vworld.adult.user,
        now=timezone.now(),
    )
    services.hour_record_approve(record=correction, approver=vworld.organiser, now=timezone.now())

    flags = {r.pk: r.superseded for r in selectors.hour_records_for_volunteer(volunteer=vworld.adult)}
    assert flags == {original.pk: True, correction.pk: False}


def test_the_approval_queue_keeps_to_a_query_budget(vworld, django_assert_max_num_queries):
    for n in range(12):
        profile = vworld.make_profile(region=vworld.world.county_a, nickname=f"志愿者{n}")
        vworld.make_record(volunteer=profile, started_at=vworld.at(-2, 9), minutes=60 + n)

    with django_assert_max_num_queries(3):
        rows = [
            (r.volunteer.public_name, r.activity.title, r.superseded, r.corrects_id)
            for r in selectors.hour_records_for_approver(user=vworld.coordinator).filter(status="pending")
        ]
    assert len(rows) == 12


# --- teams, volunteers, certificates ------------------------------------------------------------------------


def test_team_for_leader(vworld):
    for user in (vworld.leader.user, vworld.organiser, vworld.world.organiser_province, vworld.world.admin):
        assert selectors.team_for_leader(user=user, pk=vworld.team.pk) == vworld.team
    with pytest.raises(PermissionDenied):
        selectors.team_for_leader(user=vworld.child.user, pk=vworld.team.pk)
    for user in (vworld.adult.user, vworld.outsider, vworld.coordinator):
        with pytest.raises(Http404):
            selectors.team_for_leader(user=user, pk=vworld.team.pk)
    assert list(selectors.teams_led(user=vworld.leader.user)) == [vworld.team]
    assert not selectors.teams_led(user=vworld.outsider).exists()


def test_volunteers_for_organiser_keep_to_the_region(vworld):
    in_b = vworld.make_profile(region=vworld.world.county_b)
    a_side = set(selectors.volunteers_for_organiser(user=vworld.organiser))

    assert vworld.adult in a_side and in_b not in a_side
    assert set(selectors.volunteers_for_organiser(user=vworld.outsider)) == {in_b}
    assert in_b in selectors.volunteers_for_organiser(user=vworld.world.organiser_province)
    assert not selectors.volunteers_for_organiser(user=vworld.coordinator).exists()
    assert not selectors.volunteers_for_organiser(user=vworld.world.teacher_a).exists()


def test_certificate_gates(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    certificate = services.certificate_issue(
        volunteer=vworld.adult, issued_by=vworld.adult.user, now=timezone.now()
    )

    assert selectors.certificate_for_owner(user=vworld.adult.user, number=certificate.number) == certificate
    for user in (vworld.teen.user, vworld.organiser, vworld.outsider):
        with pytest.raises(Http404):
            selectors.certificate_for_owner(user=user, number=certificate.number)
    assert selectors.certificate_by_token(token=certificate.verification_token) == certificate
    for token in ("", certificate.number, certificate.verification_token[:-1]):
        with pytest.raises(Http404):
            selectors.certificate_by_token(token=token)


def test_the_volunteer_profile_of_a_user(vworld):
    assert selectors.volunteer_profile_for_user(user=vworld.adult.user) == vworld.adult
    assert selectors.volunteer_profile_for_user(user=vworld.organiser) is None


# --- totals -------------------------------------------------------------------------------------------------


def test_totals_of_a_volunteer(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=45)

    totals = selectors.totals_for_volunteer(volunteer=vworld.adult)

    assert (totals.minutes, totals.records, totals.pending_minutes, totals.pending_records) == (120, 1, 45, 1)
    assert totals.stars == 0
    assert totals.next_star == (1, 100 * 60 - 120)
    assert totals.hours == 2


def test_totals_of_teams_schools_activities_campaigns_and_regions(vworld):
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=60)
    vworld.approved_record(volunteer=vworld.leader, started_at=vworld.at(-3, 9), minutes=90)
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=30)
    vworld.make_record(volunteer=vworld.child_no_consent, started_at=vworld.at(-3, 9), minutes=500)
    elsewhere = vworld.make_profile(region=vworld.world.county_b)
    vworld.approved_record(volunteer=elsewhere, started_at=vworld.at(-3, 9), minutes=15)

    assert selectors.totals_for_team(team=vworld.team) == selectors.Totals(150, 2, 2)
    assert selectors.totals_for_school(school=vworld.world.school_a) == selectors.Totals(60, 1, 1)
    assert selectors.totals_for_activity(activity=vworld.activity) == selectors.Totals(195, 4, 4)
    assert selectors.totals_for_campaign(campaign=vworld.campaign) == selectors.Totals(195, 4, 4)
    assert selectors.totals_for_region(region=vworld.world.county_a) == selectors.Totals(180, 3, 3)
    assert selectors.totals_for_region(region=vworld.world.city) == selectors.Totals(195, 4, 4)
    assert selectors.totals_for_region(region=vworld.world.county_b).minutes == 15


def test_rollups_agree_with_a_direct_count_after_random_decisions(vworld):
    """Approvals, rejections, corrections, team membership changes and moves to another school or region in
    random order; then every rollup (volunteer, region, school, team, activity, campaign) equals a direct
    count, and a rebuild from the records changes nothing."""
    rng = random.Random(20260626)
    now = timezone.now()
    world = vworld.world
    regions = [world.county_a, world.county_b]
    schools = {world.county_a.pk: [world.school_a, None], world.county_b.pk: [world.school_b, None]}
    volunteers = []
    for _ in range(10):
        region = rng.choice(regions)
        volunteers.append(vworld.make_profile(region=region, school=rng.choice(schools[region.pk])))
    approver = world.organiser_province
    campaign_b = factories.campaign(region=world.county_b, title="开福区禁毒志愿服务", created_by=approver)
    activity_b = Activity.objects.create(
        campaign=campaign_b,
        title="禁毒知识进校园",
        address="开福区",
        region=world.county_b,
        signup_opens_at=now - dt.timedelta(days=30),
        signup_closes_at=now + dt.timedelta(days=1),
        created_by=approver,
    )
    activities = [vworld.activity, activity_b]
    teams = [vworld.team]
    for n, region in enumerate(regions):
        teams.append(
            services.team_create(name=f"队{n}", kind="community", region=region, leader=volunteers[n])
        )

    def shuffle_memberships() -> None:
        for _ in range(3):
            team, volunteer = rng.choice(teams), rng.choice(volunteers)
            try:
                if rng.random() < 0.6:
                    services.team_member_add(team=team, volunteer=volunteer, by=approver)
                else:
                    services.team_member_remove(team=team, volunteer=volunteer, by=approver)
            except VolunteerError as error:
                assert error.code in {"already_member", "not_member", "last_leader"}

    def move_someone() -> None:
        volunteer = rng.choice(volunteers)
        volunteer.refresh_from_db()
        region = rng.choice(regions)
        services.volunteer_profile_update(
            volunteer=volunteer,
            by=volunteer.user,
            real_name=volunteer.real_name,
            phone=volunteer.phone,
            region=region,
            school=rng.choice(schools[region.pk]),
            emergency_contact_name=volunteer.emergency_contact_name,
            emergency_contact_phone=volunteer.emergency_contact_phone,
            now=now,
        )

    records = []
    for volunteer in volunteers:
        for day in range(1, 6):
            start = vworld.at(-day, rng.choice([8, 9, 13]), rng.choice([0, 15, 30]))
            records.append(
                vworld.make_record(
                    volunteer=volunteer,
                    started_at=start,
                    minutes=rng.randint(20, 240),
                    activity=rng.choice(activities),
                )
            )
    rng.shuffle(records)
    for n, record in enumerate(records):
        action = rng.random()
        if action < 0.6:
            services.hour_record_approve(record=record, approver=approver, now=now)
        elif action < 0.8:
            services.hour_record_reject(record=record, approver=approver, reason="不符", now=now)
        if n % 5 == 0:
            shuffle_memberships()
        if n % 9 == 0:
            move_someone()
    approved = list(HourRecord.objects.filter(status="approved"))
    for record in rng.sample(approved, k=len(approved) // 2):
        latest = record
        for _ in range(rng.randint(1, 2)):
            try:
                latest = services.hour_record_correct(
                    record=latest,
                    started_at=latest.started_at,
                    ended_at=latest.started_at + dt.timedelta(minutes=rng.randint(10, 300)),
                    content="更正",
                    requested_by=latest.volunteer.user,
                    now=now,
                )
            except VolunteerError as error:
                assert error.code in {"no_change"}
                break
            if rng.random() < 0.7:
                services.hour_record_approve(record=latest, approver=approver, now=now)
            else:
                services.hour_record_reject(record=latest, approver=approver, reason="不符", now=now)
                break
        shuffle_memberships()

    counting = HourRecord.objects.counting()
    for volunteer in volunteers:
        volunteer.refresh_from_db()
        direct = counting.filter(volunteer=volunteer).aggregate(total=Sum("minutes"))["total"] or 0
        assert volunteer.approved_minutes == direct
        assert (
            selectors.totals_for_volunteer(volunteer=volunteer).records
            == counting.filter(volunteer=volunteer).count()
        )
    for region in [*regions, world.city, world.province]:
        in_region = counting.filter(volunteer__region_path__startswith=region.path)
        direct_minutes = in_region.aggregate(total=Sum("minutes"))["total"] or 0
        totals = selectors.totals_for_region(region=region)
        assert (totals.minutes, totals.records) == (direct_minutes, in_region.count())
        assert totals.volunteers == in_region.values("volunteer").distinct().count()
    assert sum(t.minutes for t in RegionHourTotal.objects.all()) == sum(
        v.approved_minutes for v in VolunteerProfile.objects.all()
    )
    direct = direct_rollups()
    assert stored_rollups() == direct
    assert all(direct.values()), "every kind of rollup was exercised"
    for team in teams:
        top = {row.pk: row for row in selectors.top_totals(scope="team", region=None)}
        totals = selectors.totals_for_team(team=team)
        if totals.minutes:
            row = top[team.pk]
            assert (row.minutes, row.records, row.volunteers) == (
                totals.minutes,
                totals.records,
                totals.volunteers,
            )
    assert HourRecord.objects.superseded().exists()

    written = rollups_rebuild()
    assert written["approved_minutes fixed"] == 0
    assert stored_rollups() == direct


def test_a_rebuild_repairs_rollups_that_went_wrong(vworld):
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=60)
    vworld.approved_record(volunteer=vworld.leader, started_at=vworld.at(-2, 9), minutes=90)
    expected = stored_rollups()
    assert expected == direct_rollups()
    SchoolHourTotal.objects.update(minutes=1, volunteers=7)
    TeamHourTotal.objects.all().delete()
    VolunteerProfile.objects.filter(pk=vworld.child.pk).update(approved_minutes=5)

    written = rollups_rebuild(region_path=vworld.world.province.path)

    assert written["approved_minutes fixed"] == 1
    assert stored_rollups() == expected
    vworld.child.refresh_from_db()
    assert vworld.child.approved_minutes == 60


def test_joining_and_leaving_a_team_moves_the_members_hours(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=30)
    team = vworld.team
    before = selectors.totals_for_team(team=team)

    services.team_member_add(team=team, volunteer=vworld.adult, by=vworld.organiser)
    row = TeamHourTotal.objects.get(team=team)
    assert (row.minutes, row.records, row.volunteers) == (
        before.minutes + 150,
        before.records + 2,
        before.volunteers + 1,
    )
    services.team_member_remove(team=team, volunteer=vworld.adult, by=vworld.organiser)
    row.refresh_from_db()
    assert (row.minutes, row.records, row.volunteers) == (before.minutes, before.records, before.volunteers)


def test_leaderboards_show_nicknames_never_real_names(vworld):
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=90)
    vworld.approved_record(volunteer=vworld.leader, started_at=vworld.at(-3, 9), minutes=90)
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=30)  # no nickname

    for scope in (None, vworld.world.county_a, vworld.campaign, vworld.activity):
        rows = selectors.leaderboard(scope=scope)
        assert [(r.rank, r.minutes) for r in rows] == [(1, 90), (1, 90), (3, 30)]
        names = [r.name for r in rows]
        assert set(names[:2]) == {"小雨", "李队长"}
        assert names[2] == "V."  # the username's initial
        real_names = set(VolunteerProfile.objects.values_list("real_name", flat=True))
        assert not real_names & set(names)
    assert [r.name for r in selectors.leaderboard(scope=vworld.team)] == ["小雨", "李队长"] or [
        r.name for r in selectors.leaderboard(scope=vworld.team)
    ] == ["李队长", "小雨"]
    assert [r.name for r in selectors.leaderboard(scope=vworld.world.school_a)] == ["小雨"]
    assert selectors.leaderboard(scope=vworld.world.county_b) == []
    assert len(selectors.leaderboard(limit=1)) == 1


def test_leaderboards_keep_to_a_query_budget(vworld, django_assert_max_num_queries):
    for n in range(15):
        profile = vworld.make_profile(region=vworld.world.county_a, nickname=f"星{n}")
        vworld.approved_record(volunteer=profile, started_at=vworld.at(-2, 9), minutes=10 + n)

    with django_assert_max_num_queries(1):
        assert len(selectors.leaderboard(scope=vworld.world.county_a, limit=10)) == 10
    with django_assert_max_num_queries(2):
        assert len(selectors.leaderboard(scope=vworld.campaign, limit=10)) == 10
