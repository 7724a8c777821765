"""The volunteers' writes: registration and guardians, teams, activities, sign-ups and the waiting list,
check-in and out, hour records with their approval, corrections, certificates and reminders."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from tests import factories
from tests.volunteers.conftest import years_ago
from volunteers import checkin_codes, services
from volunteers.models import (
    Activity,
    ApprovedRecordImmutableError,
    Certificate,
    HourRecord,
    RegionHourTotal,
    Shift,
    Signup,
    Skill,
    Team,
    VolunteerProfile,
)
from volunteers.services import VolunteerError


def code_of(excinfo) -> str:
    return excinfo.value.code


def register(user, *, age=30, region, now=None, **fields):
    fields.setdefault("real_name", "张三")
    fields.setdefault("phone", "13800000000")
    fields.setdefault("emergency_contact_name", "李四")
    fields.setdefault("emergency_contact_phone", "13900000000")
    return services.volunteer_register(
        user=user, birth_date=years_ago(age), region=region, now=now or timezone.now(), **fields
    )


def signed_in_signup(vworld, volunteer=None, shift=None):
    """A confirmed sign-up, checked in five minutes before the shift."""
    shift = shift or vworld.shift
    signup = services.shift_signup(shift=shift, volunteer=volunteer or vworld.adult, now=vworld.now)
    at = shift.starts_at - dt.timedelta(minutes=5)
    token = checkin_codes.current_token(shift.activity.checkin_secret, shift.activity.pk, at)
    return services.checkin_by_code(activity=shift.activity, volunteer=signup.volunteer, token=token, now=at)


# --- registration and guardians -----------------------------------------------------------------------------


def test_an_adult_registers_and_gets_a_number(world):
    now = timezone.now()
    with translation.override("en"):
        profile = register(world.volunteer, region=world.county_a, skills=[Skill.FIRST_AID], now=now)
    other = register(factories.user(), region=world.county_a)
    elsewhere = register(factories.user(), region=world.county_b)

    assert profile.volunteer_number == "V430104000001"
    assert other.volunteer_number == "V430104000002"
    assert elsewhere.volunteer_number == "V430105000001"
    assert profile.guardian_consent_at is None
    assert profile.skills == ["first_aid"]
    assert profile.language == "en"
    assert profile.created_at == now
    world.volunteer.refresh_from_db()
    assert world.volunteer.is_volunteer


def test_registering_twice_is_refused(world):
    register(world.volunteer, region=world.county_a)
    with pytest.raises(VolunteerError) as excinfo:
        register(world.volunteer, region=world.county_a)
    assert code_of(excinfo) == "already_registered"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"real_name": " "}, "real_name_required"),
        ({"phone": ""}, "phone_required"),
        ({"emergency_contact_phone": ""}, "emergency_contact_required"),
        ({"skills": ["juggling"]}, "unknown_skill"),
        ({"age": -1}, "birth_date_invalid"),
    ],
)
def test_registration_refuses_incomplete_details(world, fields, code):
    with pytest.raises(VolunteerError) as excinfo:
        register(world.volunteer, region=world.county_a, **fields)
    assert code_of(excinfo) == code
    assert not VolunteerProfile.objects.exists()


def test_under_14_needs_a_guardian_whose_consent_is_recorded_later(world):
    with pytest.raises(VolunteerError) as excinfo:
        register(world.student, age=12, region=world.county_a)
    assert code_of(excinfo) == "guardian_required"

    profile = register(
        world.student,
        age=12,
        region=world.county_a,
        guardian_name="王芳",
        guardian_phone="137",
        guardian_agrees=True,
    )
    # A child's own tick is not consent: someone who saw the guardian's consent records it.
    assert profile.guardian_consent_at is None


def test_14_to_17_confirm_their_guardian_agrees(world):
    with pytest.raises(VolunteerError) as excinfo:
        register(world.student, age=15, region=world.county_a)
    assert code_of(excinfo) == "guardian_consent_required"

    now = timezone.now()
    profile = register(world.student, age=15, region=world.county_a, guardian_agrees=True, now=now)
    assert profile.guardian_consent_at == now
    assert profile.guardian_consent_recorded_by == world.student


def test_guardian_consent_is_recorded_by_someone_who_may_vouch(vworld):
    child = vworld.child_no_consent
    now = timezone.now()

    with pytest.raises(PermissionDenied):
        services.guardian_consent_record(volunteer=child, recorded_by=vworld.outsider, now=now)
    with pytest.raises(PermissionDenied):
        services.guardian_consent_record(volunteer=child, recorded_by=vworld.adult.user, now=now)
    with pytest.raises(VolunteerError) as excinfo:
        services.guardian_consent_record(volunteer=child, recorded_by=child.user, now=now)
    assert code_of(excinfo) == "consent_needs_adult"

    services.guardian_consent_record(volunteer=child, recorded_by=vworld.leader.user, now=now)
    child.refresh_from_db()
    assert child.guardian_consent_at == now
    assert child.guardian_consent_recorded_by == vworld.leader.user


@pytest.mark.parametrize("who", ["teacher_a", "organiser_a", "organiser_province", "admin"])
def test_the_school_and_organisers_above_may_record_consent(vworld, who):
    recorder = getattr(vworld.world, who)
    services.guardian_consent_record(
        volunteer=vworld.child_no_consent, recorded_by=recorder, now=timezone.now()
    )
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_recorded_by == recorder


def test_profile_update_moves_approved_hours_between_region_rollups(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=90)
    county_b = vworld.world.county_b

    with pytest.raises(PermissionDenied):
        services.volunteer_profile_update(
            volunteer=vworld.adult,
            by=vworld.organiser,
            real_name="张伟",
            phone="1",
            region=county_b,
            emergency_contact_name="x",
            emergency_contact_phone="y",
            now=timezone.now(),
        )
    profile = services.volunteer_profile_update(
        volunteer=vworld.adult,
        by=vworld.adult.user,
        real_name="张伟",
        phone="13811112222",
        region=county_b,
        skills=[Skill.LAW],
        emergency_contact_name="张妻",
        emergency_contact_phone="13933334444",
        now=timezone.now(),
    )

    assert profile.region_path == county_b.path
    assert profile.volunteer_number.startswith("VT430104")  # the number never changes
    totals = {t.region_id: (t.minutes, t.records) for t in RegionHourTotal.objects.all()}
    assert totals == {vworld.world.county_a.pk: (0, 0), county_b.pk: (90, 1)}


# --- teams --------------------------------------------------------------------------------------------------


def test_a_team_is_created_with_its_leader_who_adds_and_removes_members(vworld):
    team = services.team_create(
        name=" 开福青年禁毒队 ", kind=Team.Kind.COMMUNITY, region=vworld.world.county_b, leader=vworld.adult
    )
    assert team.name == "开福青年禁毒队"
    assert team.memberships.get().is_leader

    with pytest.raises(PermissionDenied):
        services.team_member_add(team=team, volunteer=vworld.teen, by=vworld.teen.user)
    services.team_member_add(team=team, volunteer=vworld.teen, by=vworld.adult.user)
    with pytest.raises(VolunteerError) as excinfo:
        services.team_member_add(team=team, volunteer=vworld.teen, by=vworld.adult.user)
    assert code_of(excinfo) == "already_member"

    with pytest.raises(VolunteerError) as excinfo:
        services.team_member_remove(team=team, volunteer=vworld.adult, by=vworld.adult.user)
    assert code_of(excinfo) == "last_leader"
    with pytest.raises(PermissionDenied):
        services.team_member_remove(team=team, volunteer=vworld.adult, by=vworld.teen.user)
    # A member may leave on their own.
    services.team_member_remove(team=team, volunteer=vworld.teen, by=vworld.teen.user)
    assert list(team.members.all()) == [vworld.adult]


def test_a_school_team_names_its_school(vworld):
    with pytest.raises(VolunteerError) as excinfo:
        services.team_create(
            name="校队", kind=Team.Kind.SCHOOL, region=vworld.world.county_a, leader=vworld.adult
        )
    assert code_of(excinfo) == "school_required"


# --- activities ---------------------------------------------------------------------------------------------


def activity_fields(vworld, **overrides):
    fields = {
        "campaign": vworld.campaign,
        "created_by": vworld.organiser,
        "title": "禁毒宣传进校园",
        "description": "",
        "address": "岳麓中学操场",
        "region": vworld.world.county_a,
        "shifts": [
            {"role": "讲解员", "starts_at": vworld.at(3, 9), "ends_at": vworld.at(3, 11), "capacity": 4}
        ],
        "signup_opens_at": vworld.now,
        "signup_closes_at": vworld.at(3, 8),
    }
    fields.update(overrides)
    return fields


def test_an_organiser_creates_an_activity_with_shifts_and_becomes_its_organiser(vworld):
    activity = services.activity_create(**activity_fields(vworld))

    assert list(activity.organisers.all()) == [vworld.organiser]
    shift = activity.shifts.get()
    assert (shift.role, shift.capacity) == ("讲解员", 4)
    assert len(activity.checkin_secret) >= 40
    assert activity.checkin_secret != vworld.activity.checkin_secret


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        (lambda v: {"region": v.world.county_b}, "region_outside_campaign"),
        (lambda v: {"shifts": []}, "no_shifts"),
        (
            lambda v: {"shifts": [{"starts_at": v.at(3, 9), "ends_at": v.at(3, 9), "capacity": 1}]},
            "shift_times",
        ),
        (
            lambda v: {"shifts": [{"starts_at": v.at(3, 9), "ends_at": v.at(3, 10), "capacity": 0}]},
            "shift_capacity",
        ),
        (lambda v: {"signup_closes_at": v.now}, "signup_window"),
        (lambda v: {"open_to": Activity.OpenTo.TEAM}, "team_required"),
        (lambda v: {"skills_required": ["juggling"]}, "unknown_skill"),
        (lambda v: {"title": ""}, "title_required"),
    ],
)
def test_activity_creation_refuses_what_cannot_run(vworld, overrides, code):
    with pytest.raises(VolunteerError) as excinfo:
        services.activity_create(**activity_fields(vworld, **overrides(vworld)))
    assert code_of(excinfo) == code
    assert not Activity.objects.exclude(pk=vworld.activity.pk).exists()


@pytest.mark.parametrize("who", ["organiser_b", "teacher_a", "volunteer"])
def test_only_the_campaigns_organisers_create_activities(vworld, who):
    with pytest.raises(PermissionDenied):
        services.activity_create(**activity_fields(vworld, created_by=getattr(vworld.world, who)))


def test_an_organiser_adds_shifts_and_co_organisers(vworld):
    with pytest.raises(PermissionDenied):
        services.shift_add(
            activity=vworld.activity,
            by=vworld.outsider,
            starts_at=vworld.at(2, 9),
            ends_at=vworld.at(2, 10),
            capacity=3,
        )
    shift = services.shift_add(
        activity=vworld.activity,
        by=vworld.coordinator,
        starts_at=vworld.at(2, 9),
        ends_at=vworld.at(2, 10),
        capacity=3,
        role="摄影",
    )
    assert shift.activity == vworld.activity
    services.activity_organiser_add(
        activity=vworld.activity, user=vworld.world.teacher_a, by=vworld.organiser
    )
    assert vworld.activity.organisers.filter(pk=vworld.world.teacher_a.pk).exists()


# --- sign-ups -----------------------------------------------------------------------------------------------


def test_signups_are_confirmed_up_to_capacity_then_waitlisted(vworld):
    statuses = [
        services.shift_signup(shift=vworld.shift, volunteer=volunteer, now=vworld.now).status
        for volunteer in (vworld.adult, vworld.teen, vworld.leader, vworld.child)
    ]
    assert statuses == ["confirmed", "confirmed", "waitlisted", "waitlisted"]


def test_signing_up_twice_is_refused(vworld):
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    assert code_of(excinfo) == "already_signed_up"


def test_overlapping_shifts_clash_even_on_the_waiting_list(vworld):
    other = services.activity_create(
        **activity_fields(
            vworld,
            shifts=[
                {"starts_at": vworld.at(1, 11), "ends_at": vworld.at(1, 13), "capacity": 1},
                {"starts_at": vworld.at(1, 12), "ends_at": vworld.at(1, 14), "capacity": 5},
            ],
            signup_closes_at=vworld.at(1, 8),
        )
    )
    overlapping, after = other.shifts.order_by("starts_at")
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)

    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=overlapping, volunteer=vworld.adult, now=vworld.now)
    assert code_of(excinfo) == "clash"
    assert "禁毒宣传进社区" in excinfo.value.message
    # 12:00 to 14:00 touches 09:00 to 12:00 without overlapping it.
    services.shift_signup(shift=after, volunteer=vworld.adult, now=vworld.now)

    # A waitlisted place holds its time too, so a promotion can never create a clash.
    services.shift_signup(shift=overlapping, volunteer=vworld.teen, now=vworld.now)
    waitlisted = services.shift_signup(shift=overlapping, volunteer=vworld.leader, now=vworld.now)
    assert waitlisted.status == "waitlisted"
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.leader, now=vworld.now)
    assert code_of(excinfo) == "clash"


def test_signup_happens_within_the_window_and_before_the_shift(vworld):
    before = vworld.activity.signup_opens_at - dt.timedelta(minutes=1)
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=before)
    assert code_of(excinfo) == "signup_not_open_yet"
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(
            shift=vworld.shift, volunteer=vworld.adult, now=vworld.activity.signup_closes_at
        )
    assert code_of(excinfo) == "signup_closed"

    vworld.activity.signup_closes_at = vworld.at(5, 0)
    vworld.activity.save()
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.shift.starts_at)
    assert code_of(excinfo) == "shift_started"


def test_unpublished_activities_take_no_signups(vworld):
    vworld.campaign.is_published = False
    vworld.campaign.save()
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    assert code_of(excinfo) == "not_open"


def test_minors_sign_up_only_with_their_guardians_consent(vworld):
    assert (
        services.shift_signup(shift=vworld.shift, volunteer=vworld.child, now=vworld.now).status
        == "confirmed"
    )
    assert (
        services.shift_signup(shift=vworld.shift, volunteer=vworld.teen, now=vworld.now).status == "confirmed"
    )

    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift_big, volunteer=vworld.child_no_consent, now=vworld.now)
    assert code_of(excinfo) == "guardian_consent_missing"
    assert "guardian" in excinfo.value.message or "监护人" in excinfo.value.message

    services.guardian_consent_record(
        volunteer=vworld.child_no_consent, recorded_by=vworld.leader.user, now=vworld.now
    )
    vworld.child_no_consent.refresh_from_db()
    services.shift_signup(shift=vworld.shift_big, volunteer=vworld.child_no_consent, now=vworld.now)


def test_minimum_age_and_skills_are_required(vworld):
    vworld.activity.min_age = 14
    vworld.activity.skills_required = [Skill.FIRST_AID]
    vworld.activity.save()

    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.child, now=vworld.now)
    assert code_of(excinfo) == "too_young"
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    assert code_of(excinfo) == "skills_missing"

    vworld.adult.skills = [Skill.FIRST_AID, Skill.LAW]
    vworld.adult.save()
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)


def test_team_and_school_activities_are_for_their_members(vworld):
    vworld.activity.open_to, vworld.activity.team = Activity.OpenTo.TEAM, vworld.team
    vworld.activity.save()
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    assert code_of(excinfo) == "not_in_team"
    services.shift_signup(shift=vworld.shift, volunteer=vworld.child, now=vworld.now)

    vworld.activity.open_to, vworld.activity.team = Activity.OpenTo.SCHOOL, None
    vworld.activity.school = vworld.world.school_a
    vworld.activity.save()
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_signup(shift=vworld.shift_big, volunteer=vworld.leader, now=vworld.now)
    assert code_of(excinfo) == "not_in_school"
    services.shift_signup(shift=vworld.shift_big, volunteer=vworld.child, now=vworld.now)


# --- cancelling and the waiting list ------------------------------------------------------------------------


def test_cancelling_promotes_the_first_on_the_waiting_list_and_tells_them(
    vworld, django_capture_on_commit_callbacks
):
    vworld.leader.user.email = "leader@example.com"
    vworld.leader.user.save()
    first = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    services.shift_signup(shift=vworld.shift, volunteer=vworld.teen, now=vworld.now)
    next_in_line = services.shift_signup(shift=vworld.shift, volunteer=vworld.leader, now=vworld.now)
    last = services.shift_signup(
        shift=vworld.shift, volunteer=vworld.child, now=vworld.now + dt.timedelta(seconds=1)
    )

    with pytest.raises(PermissionDenied):
        services.signup_cancel(signup=first, by=vworld.outsider, now=vworld.now)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.signup_cancel(signup=first, by=vworld.adult.user, now=vworld.now)

    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", vworld.now)
    next_in_line.refresh_from_db()
    last.refresh_from_db()
    assert (next_in_line.status, last.status) == ("confirmed", "waitlisted")
    assert Signup.objects.filter(shift=vworld.shift, status="confirmed").count() == 2
    assert [m.to for m in mail.outbox] == [["leader@example.com"]]
    assert "禁毒宣传进社区" in mail.outbox[0].subject

    # Cancelling a waiting-list place promotes nobody; cancelling twice is refused.
    services.signup_cancel(signup=last, by=vworld.organiser, now=vworld.now)
    with pytest.raises(VolunteerError) as excinfo:
        services.signup_cancel(signup=last, by=vworld.organiser, now=vworld.now)
    assert code_of(excinfo) == "already_cancelled"
    # Cancelled volunteers may sign up again.
    assert (
        services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now).status
        == "waitlisted"
    )


def test_a_volunteer_cannot_cancel_once_checked_in_or_started(vworld):
    signup = signed_in_signup(vworld)
    with pytest.raises(VolunteerError) as excinfo:
        services.signup_cancel(signup=signup, by=vworld.adult.user, now=vworld.shift.starts_at)
    assert code_of(excinfo) == "already_checked_in"

    other = services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=vworld.now)
    with pytest.raises(VolunteerError) as excinfo:
        services.signup_cancel(signup=other, by=vworld.adult.user, now=vworld.shift_big.starts_at)
    assert code_of(excinfo) == "shift_started"
    # The organiser still may (a no-show the volunteer told them about).
    services.signup_cancel(signup=other, by=vworld.coordinator, now=vworld.shift_big.starts_at)


# --- check-in and check-out ---------------------------------------------------------------------------------


def test_checkin_by_a_current_code(vworld):
    signup = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    at = vworld.shift.starts_at + dt.timedelta(minutes=3)
    token = checkin_codes.current_token(vworld.activity.checkin_secret, vworld.activity.pk, at)

    checked = services.checkin_by_code(activity=vworld.activity, volunteer=vworld.adult, token=token, now=at)
    assert (checked.pk, checked.checked_in_at, checked.checkin_method) == (signup.pk, at, "qr")
    # A second scan changes nothing.
    again = services.checkin_by_code(
        activity=vworld.activity, volunteer=vworld.adult, token=token, now=at + dt.timedelta(seconds=30)
    )
    assert again.checked_in_at == at


def test_an_expired_code_or_another_activitys_code_is_refused(vworld):
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    at = vworld.shift.starts_at
    old = checkin_codes.current_token(
        vworld.activity.checkin_secret, vworld.activity.pk, at - dt.timedelta(minutes=3)
    )
    other = services.activity_create(**activity_fields(vworld))
    foreign = checkin_codes.current_token(other.checkin_secret, other.pk, at)

    for token in (old, foreign, "NOTATOKEN1"):
        with pytest.raises(VolunteerError) as excinfo:
            services.checkin_by_code(activity=vworld.activity, volunteer=vworld.adult, token=token, now=at)
        assert code_of(excinfo) == "bad_code"
    assert not Signup.objects.filter(checked_in_at__isnull=False).exists()


def test_a_code_checks_in_only_a_confirmed_volunteer_near_their_shift(vworld):
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    services.shift_signup(shift=vworld.shift, volunteer=vworld.teen, now=vworld.now)
    services.shift_signup(shift=vworld.shift, volunteer=vworld.leader, now=vworld.now)

    def scan(volunteer, at):
        token = checkin_codes.current_token(vworld.activity.checkin_secret, vworld.activity.pk, at)
        return services.checkin_by_code(activity=vworld.activity, volunteer=volunteer, token=token, now=at)

    with pytest.raises(VolunteerError) as excinfo:
        scan(vworld.adult, vworld.shift.starts_at - dt.timedelta(minutes=61))
    assert code_of(excinfo) == "no_shift_now"
    with pytest.raises(VolunteerError) as excinfo:
        scan(vworld.leader, vworld.shift.starts_at)
    assert code_of(excinfo) == "waitlisted"
    with pytest.raises(VolunteerError) as excinfo:
        scan(vworld.child, vworld.shift.starts_at)
    assert code_of(excinfo) == "no_shift_now"
    assert scan(vworld.adult, vworld.shift.starts_at - dt.timedelta(minutes=60)).checked_in_at


def test_an_organiser_ticks_volunteers_in_during_the_shift(vworld):
    signup = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    waiting = [
        services.shift_signup(shift=vworld.shift, volunteer=v, now=vworld.now)
        for v in (vworld.teen, vworld.leader)
    ]
    at = vworld.shift.starts_at + dt.timedelta(minutes=20)

    with pytest.raises(PermissionDenied):
        services.checkin_by_organiser(signup=signup, by=vworld.outsider, now=at)
    with pytest.raises(VolunteerError) as excinfo:
        services.checkin_by_organiser(signup=waiting[1], by=vworld.coordinator, now=at)
    assert code_of(excinfo) == "not_confirmed"
    with pytest.raises(VolunteerError) as excinfo:
        services.checkin_by_organiser(signup=signup, by=vworld.coordinator, now=vworld.shift.ends_at)
    assert code_of(excinfo) == "shift_over"

    checked = services.checkin_by_organiser(signup=signup, by=vworld.coordinator, now=at)
    assert (checked.checked_in_at, checked.checkin_method) == (at, "organiser")


def test_checkout_records_the_service_within_the_shift(vworld):
    signup = signed_in_signup(vworld)  # checked in 5 minutes early
    late = vworld.shift.ends_at + dt.timedelta(minutes=40)

    with pytest.raises(PermissionDenied):
        services.checkout(signup=signup, by=vworld.outsider, now=late)
    record = services.checkout(signup=signup, by=vworld.adult.user, now=late)

    assert (record.started_at, record.ended_at) == (vworld.shift.starts_at, vworld.shift.ends_at)
    assert record.minutes == 180
    assert (record.status, record.source, record.flagged) == ("pending", "checkin", False)
    assert record.approver_level == "activity"
    assert record.signup == signup
    assert record.place == vworld.activity.address
    assert "宣传员" in record.content
    signup.refresh_from_db()
    assert signup.checked_out_at == late and not signup.auto_closed

    with pytest.raises(VolunteerError) as excinfo:
        services.checkout(signup=signup, by=vworld.adult.user, now=late)
    assert code_of(excinfo) == "already_checked_out"


def test_checkout_before_the_shift_starts_records_nothing(vworld):
    signup = signed_in_signup(vworld)
    with pytest.raises(VolunteerError) as excinfo:
        services.checkout(signup=signup, by=vworld.adult.user, now=vworld.shift.starts_at)
    assert code_of(excinfo) == "nothing_to_record"
    signup.refresh_from_db()
    assert signup.is_checked_in

    unchecked = services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=vworld.now)
    with pytest.raises(VolunteerError) as excinfo:
        services.checkout(signup=unchecked, by=vworld.adult.user, now=vworld.shift_big.ends_at)
    assert code_of(excinfo) == "not_checked_in"


def test_missed_checkouts_close_at_the_shifts_end_flagged(vworld):
    forgot = signed_in_signup(vworld)
    still_on = signed_in_signup(vworld, volunteer=vworld.teen, shift=vworld.shift_big)
    after_first = vworld.shift.ends_at + dt.timedelta(hours=1)

    assert services.missed_checkouts_close(now=after_first) == 1
    assert services.missed_checkouts_close(now=after_first) == 0

    forgot.refresh_from_db()
    assert (forgot.checked_out_at, forgot.auto_closed) == (vworld.shift.ends_at, True)
    record = HourRecord.objects.get(signup=forgot)
    assert (record.minutes, record.flagged, record.flag_reason) == (180, True, "missed_checkout")
    assert record.recorded_by is None
    still_on.refresh_from_db()
    assert still_on.is_checked_in


def test_missed_checkouts_close_for_one_activity_or_one_volunteer(vworld):
    other_activity = Activity.objects.create(
        campaign=vworld.campaign,
        title="校园禁毒讲座",
        address="岳麓中学报告厅",
        region=vworld.world.county_a,
        signup_opens_at=vworld.now - dt.timedelta(days=1),
        signup_closes_at=vworld.shift.starts_at,
    )
    other_shift = Shift.objects.create(
        activity=other_activity,
        starts_at=vworld.shift.starts_at,
        ends_at=vworld.shift.ends_at,
        capacity=5,
    )
    adult_here = signed_in_signup(vworld)
    teen_here = signed_in_signup(vworld, volunteer=vworld.teen)
    leader_there = signed_in_signup(vworld, volunteer=vworld.leader, shift=other_shift)
    after = vworld.shift.ends_at + dt.timedelta(minutes=1)

    # The roster and the hour queue close their activities' check-ins; the volunteer's page their own.
    assert services.missed_checkouts_close(now=after, volunteer=vworld.adult) == 1
    assert services.missed_checkouts_close(now=after, volunteer=vworld.adult) == 0
    assert services.missed_checkouts_close(now=after, activities=[vworld.activity]) == 1
    this_activity = Activity.objects.filter(pk=vworld.activity.pk)
    assert services.missed_checkouts_close(now=after, activities=this_activity) == 0
    for signup in (adult_here, teen_here, leader_there):
        signup.refresh_from_db()
    assert adult_here.auto_closed and teen_here.auto_closed
    assert leader_there.is_checked_in
    assert services.missed_checkouts_close(now=after) == 1
    assert HourRecord.objects.filter(flag_reason="missed_checkout").count() == 3


# --- records: backfill, approval and escalation -------------------------------------------------------------


def test_a_backfill_is_flagged_and_keeps_every_rule(vworld):
    now = timezone.now()
    record = services.hour_backfill(
        volunteer=vworld.adult,
        activity=vworld.activity,
        started_at=vworld.at(-3, 9),
        ended_at=vworld.at(-3, 11, 30),
        content="社区禁毒展板讲解",
        recorded_by=vworld.adult.user,
        now=now,
    )
    assert (record.minutes, record.source, record.flagged, record.flag_reason) == (
        150,
        "backfill",
        True,
        "backfill",
    )
    assert record.signup is None and record.status == "pending"

    cases = [
        ((vworld.at(-3, 10), vworld.at(-3, 12)), "overlap"),
        ((now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)), "future"),
        ((vworld.at(-120, 9), vworld.at(-120, 10)), "backfill_too_old"),
        ((vworld.at(-5, 6), vworld.at(-5, 19)), "too_long"),
        ((vworld.at(-5, 9), vworld.at(-5, 9)), "not_positive"),
    ]
    for (start, end), code in cases:
        with pytest.raises(VolunteerError) as excinfo:
            services.hour_backfill(
                volunteer=vworld.adult,
                activity=vworld.activity,
                started_at=start,
                ended_at=end,
                content="x",
                recorded_by=vworld.adult.user,
                now=now,
            )
        assert code_of(excinfo) == code, code
        assert excinfo.value.message

    with pytest.raises(PermissionDenied):
        services.hour_backfill(
            volunteer=vworld.adult,
            activity=vworld.activity,
            started_at=vworld.at(-6, 9),
            ended_at=vworld.at(-6, 10),
            content="x",
            recorded_by=vworld.outsider,
            now=now,
        )
    # An organiser of the activity records it for the volunteer.
    services.hour_backfill(
        volunteer=vworld.adult,
        activity=vworld.activity,
        started_at=vworld.at(-6, 9),
        ended_at=vworld.at(-6, 10),
        content="x",
        recorded_by=vworld.coordinator,
        now=now,
    )


def test_approval_moves_the_volunteers_and_the_regions_totals(vworld):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=150)
    now = timezone.now()

    approved = services.hour_record_approve(record=record, approver=vworld.coordinator, now=now)

    assert (approved.status, approved.decided_by, approved.decided_at) == (
        "approved",
        vworld.coordinator,
        now,
    )
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 150
    total = RegionHourTotal.objects.get(region=vworld.world.county_a)
    assert (total.minutes, total.records, total.region_path) == (150, 1, vworld.world.county_a.path)

    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=record, approver=vworld.organiser, now=now)
    assert code_of(excinfo) == "not_pending"
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 150


def test_outsiders_and_the_volunteer_themself_cannot_decide(vworld):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    now = timezone.now()
    for outsider in (vworld.outsider, vworld.world.teacher_b, vworld.teen.user):
        with pytest.raises(PermissionDenied):
            services.hour_record_approve(record=record, approver=outsider, now=now)
        with pytest.raises(PermissionDenied):
            services.hour_record_reject(record=record, approver=outsider, reason="no", now=now)

    own_profile = vworld.make_profile(user=vworld.coordinator, region=vworld.world.county_a)
    own = vworld.make_record(volunteer=own_profile, started_at=vworld.at(-2, 9), minutes=60)
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=own, approver=vworld.coordinator, now=now)
    assert code_of(excinfo) == "own_record"
    record.refresh_from_db()
    assert record.status == "pending"


def test_rejection_needs_a_reason_and_counts_nothing(vworld):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    now = timezone.now()
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_reject(record=record, approver=vworld.coordinator, reason="  ", now=now)
    assert code_of(excinfo) == "reason_required"

    rejected = services.hour_record_reject(
        record=record, approver=vworld.coordinator, reason="当天未到场", now=now
    )
    assert (rejected.status, rejected.reject_reason, rejected.decided_by) == (
        "rejected",
        "当天未到场",
        vworld.coordinator,
    )
    with pytest.raises(VolunteerError):
        services.hour_record_approve(record=record, approver=vworld.organiser, now=now)
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 0
    # A rejected record leaves its time free for a right one.
    services.hour_backfill(
        volunteer=vworld.adult,
        activity=vworld.activity,
        started_at=vworld.at(-2, 9),
        ended_at=vworld.at(-2, 10),
        content="x",
        recorded_by=vworld.adult.user,
        now=now,
    )


def test_bulk_approval_approves_what_it_may_and_leaves_the_rest_pending(vworld):
    now = timezone.now()
    good = [
        vworld.make_record(volunteer=v, started_at=vworld.at(-2, 9), minutes=120)
        for v in (vworld.adult, vworld.teen)
    ]
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-2, 9), minutes=120)
    overlapping = vworld.make_record(volunteer=vworld.child, started_at=vworld.at(-2, 10), minutes=60)
    long_day = vworld.make_record(volunteer=vworld.leader, started_at=vworld.at(-3, 8), minutes=9 * 60)

    count = services.hour_records_approve(
        records=[*good, overlapping, long_day], approver=vworld.coordinator, now=now
    )

    assert count == 2
    assert set(HourRecord.objects.filter(status="approved", pk__in=[r.pk for r in good])) == set(good)
    assert set(HourRecord.objects.filter(status="pending")) == {overlapping, long_day}


def test_an_eight_to_twelve_hour_day_needs_the_campaigns_organiser(vworld):
    now = timezone.now()
    record = services.hour_backfill(
        volunteer=vworld.adult,
        activity=vworld.activity,
        started_at=vworld.at(-2, 8),
        ended_at=vworld.at(-2, 17),
        content="全天宣传",
        recorded_by=vworld.adult.user,
        now=now,
    )
    assert record.approver_level == "campaign"

    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=record, approver=vworld.coordinator, now=now)
    assert code_of(excinfo) == "needs_campaign_organiser"
    approved = services.hour_record_approve(record=record, approver=vworld.organiser, now=now)
    assert (approved.status, approved.approver_level) == ("approved", "campaign")


def test_a_day_made_long_by_two_records_escalates_and_beyond_twelve_hours_is_refused(vworld):
    now = timezone.now()
    morning = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 7), minutes=5 * 60)
    afternoon = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 13), minutes=4 * 60)
    assert morning.status == "approved"

    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=afternoon, approver=vworld.coordinator, now=now)
    assert code_of(excinfo) == "needs_campaign_organiser"
    evening = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 18), minutes=4 * 60)
    # With the evening pending as well the day would be 13 hours: refused for everyone.
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=afternoon, approver=vworld.world.organiser_province, now=now)
    assert code_of(excinfo) == "daily_limit"

    services.hour_record_reject(record=evening, approver=vworld.coordinator, reason="重复登记", now=now)
    services.hour_record_approve(record=afternoon, approver=vworld.world.organiser_province, now=now)
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 9 * 60


def test_hour_rules_follow_the_settings(vworld, settings):
    settings.VOLUNTEER_HOUR_RULES = {**settings.VOLUNTEER_HOUR_RULES, "activity_max_daily_minutes": 60}
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=90)
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_approve(record=record, approver=vworld.coordinator, now=timezone.now())
    assert code_of(excinfo) == "needs_campaign_organiser"


# --- corrections --------------------------------------------------------------------------------------------


def test_an_approved_record_is_corrected_by_a_new_one_and_totals_move_by_the_difference(vworld):
    now = timezone.now()
    original = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=120)

    with pytest.raises(PermissionDenied):
        services.hour_record_correct(
            record=original,
            started_at=vworld.at(-2, 9),
            ended_at=vworld.at(-2, 10),
            content="x",
            requested_by=vworld.outsider,
            now=now,
        )
    correction = services.hour_record_correct(
        record=original,
        started_at=vworld.at(-2, 9),
        ended_at=vworld.at(-2, 10, 30),
        content="发放宣传资料（提前离开）",
        requested_by=vworld.adult.user,
        now=now,
        reason="我10:30就离开了",
    )
    assert (correction.source, correction.corrects, correction.status) == ("correction", original, "pending")
    assert (correction.minutes, correction.recorded_by, correction.created_at) == (90, vworld.adult.user, now)
    assert correction.correction_reason == "我10:30就离开了"

    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_correct(
            record=original,
            started_at=vworld.at(-2, 9),
            ended_at=vworld.at(-2, 10),
            content="y",
            requested_by=vworld.adult.user,
            now=now,
        )
    assert code_of(excinfo) == "correction_pending"
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 120

    services.hour_record_approve(record=correction, approver=vworld.coordinator, now=now)
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 90
    total = RegionHourTotal.objects.get(region=vworld.world.county_a)
    assert (total.minutes, total.records) == (90, 1)
    original.refresh_from_db()
    assert (original.status, original.minutes) == ("approved", 120)  # the row itself is untouched

    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_correct(
            record=original,
            started_at=vworld.at(-2, 9),
            ended_at=vworld.at(-2, 10),
            content="y",
            requested_by=vworld.adult.user,
            now=now,
        )
    assert code_of(excinfo) in {"superseded", "correction_pending"}

    # The chain goes on from the newest record.
    second = services.hour_record_correct(
        record=correction,
        started_at=vworld.at(-2, 9),
        ended_at=vworld.at(-2, 11, 30),
        content="全程参与",
        requested_by=vworld.coordinator,
        now=now,
    )
    services.hour_record_approve(record=second, approver=vworld.organiser, now=now)
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 150
    assert list(HourRecord.objects.counting()) == [second]


def test_only_approved_records_are_corrected_and_a_correction_must_change_something(vworld):
    now = timezone.now()
    pending = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=60)
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_correct(
            record=pending,
            started_at=vworld.at(-3, 9),
            ended_at=vworld.at(-3, 11),
            content="x",
            requested_by=vworld.adult.user,
            now=now,
        )
    assert code_of(excinfo) == "not_approved"

    approved = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_correct(
            record=approved,
            started_at=approved.started_at,
            ended_at=approved.ended_at,
            content=approved.content,
            requested_by=vworld.adult.user,
            now=now,
        )
    assert code_of(excinfo) == "no_change"
    # A correction keeps the rules, leaving out the record it replaces.
    with pytest.raises(VolunteerError) as excinfo:
        services.hour_record_correct(
            record=approved,
            started_at=vworld.at(-3, 9),
            ended_at=vworld.at(-3, 10),
            content="x",
            requested_by=vworld.adult.user,
            now=now,
        )
    assert code_of(excinfo) == "overlap"
    services.hour_record_correct(
        record=approved,
        started_at=vworld.at(-2, 8, 30),
        ended_at=vworld.at(-2, 10),
        content="x",
        requested_by=vworld.adult.user,
        now=now,
    )


def test_an_approved_record_cannot_be_changed_through_save(vworld):
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    record.minutes = 6000
    with pytest.raises(ApprovedRecordImmutableError):
        record.save()


# --- certificates -------------------------------------------------------------------------------------------


def test_a_certificate_snapshots_the_approved_hours(vworld):
    now = timezone.now()
    with pytest.raises(VolunteerError) as excinfo:
        services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.adult.user, now=now)
    assert code_of(excinfo) == "no_approved_hours"

    first = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-5, 9), minutes=120)
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 14), minutes=60)
    vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=600)  # pending: left out

    certificate = services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.adult.user, now=now)

    year = timezone.localdate(now).year
    assert certificate.number == f"QKC-{year}-000001"
    assert certificate.minutes == 180
    assert (certificate.holder_name, certificate.volunteer_number) == ("张伟", vworld.adult.volunteer_number)
    assert (certificate.first_service_on, certificate.last_service_on) == (
        (vworld.today - dt.timedelta(days=5)),
        (vworld.today - dt.timedelta(days=2)),
    )
    assert certificate.service_content == "禁毒宣传进社区"
    assert certificate.issued_on == timezone.localdate(now)
    assert len(certificate.verification_token) >= 30

    # A correction afterwards never changes the issued certificate; a new one shows it.
    correction = services.hour_record_correct(
        record=first,
        started_at=vworld.at(-5, 9),
        ended_at=vworld.at(-5, 10),
        content="x",
        requested_by=vworld.adult.user,
        now=now,
    )
    services.hour_record_approve(record=correction, approver=vworld.organiser, now=now)
    certificate.refresh_from_db()
    assert certificate.minutes == 180
    second = services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.organiser, now=now)
    assert second.number == f"QKC-{year}-000002"
    assert second.minutes == 120
    assert second.verification_token != certificate.verification_token


def test_certificates_are_issued_by_the_volunteer_or_an_organiser_of_their_region(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-5, 9), minutes=120)
    vworld.organiser.first_name = "王晓东"  # a person: the certificate names the office, not them
    vworld.organiser.save()
    with pytest.raises(PermissionDenied):
        services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.outsider, now=timezone.now())
    certificate = services.certificate_issue(
        volunteer=vworld.adult, issued_by=vworld.organiser, now=timezone.now()
    )
    assert certificate.issuer_name == "长沙市岳麓区禁毒委员会办公室"
    assert certificate.issued_by == vworld.organiser
    assert Certificate.objects.count() == 1


def test_the_issuer_is_the_office_that_organised_the_service(vworld):
    # The volunteer asks for it themselves: still the campaign's anti-drug office, never the site's name.
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-5, 9), minutes=120)
    now = timezone.now()
    own = services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.adult.user, now=now)
    assert own.issuer_name == "长沙市岳麓区禁毒委员会办公室"

    # Service for a Kaifu campaign too: the office of the smallest region holding both, Changsha's.
    kaifu = factories.campaign(region=vworld.world.county_b, title="开福区禁毒宣传月")
    elsewhere = Activity.objects.create(
        campaign=kaifu,
        title="开福区禁毒宣传",
        address="开福区湘江中路",
        region=vworld.world.county_b,
        signup_opens_at=now - dt.timedelta(days=9),
        signup_closes_at=now,
    )
    record = vworld.make_record(
        volunteer=vworld.adult, activity=elsewhere, started_at=vworld.at(-4, 9), minutes=60
    )
    services.hour_record_approve(record=record, approver=vworld.world.organiser_b, now=now)
    both = services.certificate_issue(volunteer=vworld.adult, issued_by=vworld.adult.user, now=now)
    assert both.issuer_name == "长沙市禁毒委员会办公室"

    # The name is a snapshot: renaming the region later changes no issued certificate.
    vworld.world.county_a.name = "岳麓新区"
    vworld.world.county_a.save()
    own.refresh_from_db()
    assert own.issuer_name == "长沙市岳麓区禁毒委员会办公室"


def test_a_municipal_district_is_named_with_its_municipality(world):
    beijing = factories.region(code="110000", name="北京市", name_en="Beijing", level=1)
    districts = factories.region(code="110100", name="市辖区", level=2, parent=beijing)
    dongcheng = factories.region(code="110101", name="东城区", level=3, parent=districts)
    assert services._office_name(dongcheng) == "北京市东城区禁毒委员会办公室"
    assert services._office_name(world.province) == "湖南省禁毒委员会办公室"
    assert services._office_name(world.city) == "长沙市禁毒委员会办公室"


# --- reminders ----------------------------------------------------------------------------------------------


def test_reminders_are_sent_once_in_each_volunteers_language(vworld, monkeypatch):
    # The catalogue may not hold these messages yet: mark each message with the language it was written in.
    monkeypatch.setattr(services, "_", lambda message: f"[{translation.get_language()}] {message}")
    vworld.adult.user.email = "adult@example.com"
    vworld.adult.user.save()
    vworld.teen.user.email = "teen@example.com"
    vworld.teen.user.save()
    vworld.teen.language = "en"
    vworld.teen.save()
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    services.shift_signup(shift=vworld.shift, volunteer=vworld.teen, now=vworld.now)
    services.shift_signup(shift=vworld.shift, volunteer=vworld.leader, now=vworld.now)  # waitlisted
    services.shift_signup(shift=vworld.shift_big, volunteer=vworld.child, now=vworld.now)  # no e-mail
    now = vworld.shift.starts_at - dt.timedelta(hours=20)

    assert services.shift_reminders_send(now=now) == 2
    assert services.shift_reminders_send(now=now) == 0

    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"adult@example.com", "teen@example.com"}
    assert by_address["teen@example.com"].subject.startswith("[en] Reminder:")
    assert by_address["adult@example.com"].subject.startswith("[zh-hans] Reminder: 禁毒宣传进社区")
    assert "宣传员" in by_address["adult@example.com"].body
    vworld.shift.refresh_from_db()
    assert vworld.shift.reminder_sent_at == now


def test_reminders_wait_until_the_shift_is_near(vworld):
    vworld.adult.user.email = "adult@example.com"
    vworld.adult.user.save()
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)

    assert services.shift_reminders_send(now=vworld.shift.starts_at - dt.timedelta(hours=30)) == 0
    assert (
        services.shift_reminders_send(
            now=vworld.shift.starts_at - dt.timedelta(hours=30), within=dt.timedelta(hours=31)
        )
        == 1
    )
    assert services.shift_reminders_send(now=vworld.shift.starts_at - dt.timedelta(hours=2)) == 0


def test_an_organiser_updates_an_activity_within_the_same_rules(vworld):
    fields = {
        key: value
        for key, value in activity_fields(vworld).items()
        if key not in {"campaign", "created_by", "shifts"}
    }
    with pytest.raises(PermissionDenied):
        services.activity_update(activity=vworld.activity, by=vworld.outsider, **fields)
    with pytest.raises(VolunteerError) as excinfo:
        services.activity_update(
            activity=vworld.activity, by=vworld.coordinator, **{**fields, "region": vworld.world.county_b}
        )
    assert code_of(excinfo) == "region_outside_campaign"

    updated = services.activity_update(
        activity=vworld.activity, by=vworld.coordinator, **{**fields, "min_age": 16, "is_published": False}
    )
    updated.refresh_from_db()
    assert (updated.title, updated.min_age, updated.is_published) == ("禁毒宣传进校园", 16, False)
    assert updated.shifts.count() == 2


def test_more_places_promote_the_waiting_list_and_fewer_never_drop_a_confirmed_volunteer(
    vworld, django_capture_on_commit_callbacks
):
    for volunteer in (vworld.adult, vworld.teen, vworld.leader, vworld.child):
        services.shift_signup(shift=vworld.shift, volunteer=volunteer, now=vworld.now)
    vworld.leader.user.email = "leader@example.com"
    vworld.leader.user.save()

    with pytest.raises(PermissionDenied):
        services.shift_capacity_change(shift=vworld.shift, capacity=5, by=vworld.outsider)
    with pytest.raises(VolunteerError) as excinfo:
        services.shift_capacity_change(shift=vworld.shift, capacity=1, by=vworld.coordinator)
    assert code_of(excinfo) == "capacity_below_confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.shift_capacity_change(shift=vworld.shift, capacity=3, by=vworld.coordinator) == 1

    confirmed = Signup.objects.filter(shift=vworld.shift, status="confirmed")
    assert set(confirmed.values_list("volunteer", flat=True)) == {
        vworld.adult.pk,
        vworld.teen.pk,
        vworld.leader.pk,
    }
    assert [m.to for m in mail.outbox] == [["leader@example.com"]]
    assert services.shift_capacity_change(shift=vworld.shift, capacity=10, by=vworld.coordinator) == 1
    assert services.shift_capacity_change(shift=vworld.shift, capacity=4, by=vworld.coordinator) == 0
