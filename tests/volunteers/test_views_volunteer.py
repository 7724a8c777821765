"""The volunteers' own pages: each view's happy path, outsider and guest, bad input, CSRF, query budgets."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from tests import factories
from tests.volunteers.conftest import make_profile, years_ago
from volunteers import checkin_codes
from volunteers.models import (
    Activity,
    Certificate,
    HourRecord,
    Shift,
    Signup,
    Team,
    TeamMembership,
    VolunteerProfile,
)


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the messages in English, whatever the compiled catalogue holds.
    settings.LANGUAGE_CODE = "en"


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def registration_data(**overrides) -> dict:
    data = {
        "real_name": "王小明",
        "phone": "138 1234 5678",
        "birth_date": years_ago(30).isoformat(),
        "region": "",
        "school": "",
        "skills": ["first_aid", "photography"],
        "emergency_contact_name": "王大明",
        "emergency_contact_phone": "13987654321",
        "guardian_name": "",
        "guardian_phone": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def newcomer(world):
    return factories.user(username="newcomer", nickname="新人")


@pytest.fixture
def shift_now(vworld):
    """A shift of vworld.activity under way: started 30 minutes ago, ends in 2 hours."""
    now = timezone.now()
    return Shift.objects.create(
        activity=vworld.activity,
        role="签到员",
        starts_at=now - dt.timedelta(minutes=30),
        ends_at=now + dt.timedelta(hours=2),
        capacity=5,
    )


def checkin_url(activity, token: str) -> str:
    return reverse("volunteer_checkin", args=[activity.pk, token])


def current_token(activity) -> str:
    return checkin_codes.current_token(activity.checkin_secret, activity.pk, timezone.now())


# --- registration ------------------------------------------------------------------------------------------


def test_register_guest_is_sent_to_create_an_account_and_back(world, login):
    # A newcomer who wants to volunteer has no account yet: sign-up first (it links to sign-in), then back.
    client = login(None)
    target = reverse("volunteer_activity_detail", args=[1])
    response = client.get(reverse("volunteer_register"), {"next": target})
    assert response.status_code == 302
    register_again = f"{reverse('volunteer_register')}?{urlencode({'next': target})}"
    assert response["Location"] == f"{reverse('account_signup')}?{urlencode({'next': register_again})}"
    signup_page = client.get(response["Location"]).content.decode()
    assert f'value="{register_again}"' in signup_page.replace("&amp;", "&")
    assert reverse("account_login") in signup_page


def test_a_new_account_from_the_sign_up_page_goes_on_to_register(world, login):
    client = login(None)
    signup_url = client.get(reverse("volunteer_register"))["Location"]
    response = client.post(
        signup_url,
        {
            "username": "helper2026",
            "email": "helper@example.com",
            "password1": "Qk-very-secret-42",
            "password2": "Qk-very-secret-42",
            "nickname": "热心市民",
            "next": reverse("volunteer_register"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteer_register")
    assert client.get(response["Location"]).status_code == 200


def test_register_adult_happy_path(world, login, newcomer):
    client = login(newcomer)
    page = client.get(reverse("volunteer_register"))
    assert page.status_code == 200
    assert "岳麓区" in page.content.decode() or "Yuelu" in page.content.decode()
    response = client.post(
        reverse("volunteer_register"), registration_data(region=world.county_a.pk, school=world.school_a.pk)
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteer_me")
    profile = VolunteerProfile.objects.get(user=newcomer)
    assert profile.real_name == "王小明"
    assert profile.phone == "13812345678"  # spaces normalised
    assert profile.volunteer_number.startswith("V430104")
    assert profile.skills == ["first_aid", "photography"]
    assert profile.school == world.school_a
    newcomer.refresh_from_db()
    assert newcomer.is_volunteer


def test_register_returns_to_next(world, login, newcomer, vworld):
    target = reverse("volunteer_activity_detail", args=[vworld.activity.pk])
    response = login(newcomer).post(
        reverse("volunteer_register"), {**registration_data(region=world.county_a.pk), "next": target}
    )
    assert response["Location"] == target


def test_register_refuses_an_offsite_next(world, login, newcomer):
    response = login(newcomer).post(
        reverse("volunteer_register"),
        {**registration_data(region=world.county_a.pk), "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("volunteer_me")


def test_register_accepts_a_landline(world, login, newcomer):
    response = login(newcomer).post(
        reverse("volunteer_register"), registration_data(region=world.county_a.pk, phone="0731-88886666")
    )
    assert response.status_code == 302
    assert VolunteerProfile.objects.get(user=newcomer).phone == "0731-88886666"


@pytest.mark.parametrize("phone", ["12345", "23812345678", "1381234567", "abc", "138123456789"])
def test_register_bad_phone_is_a_form_error(world, login, newcomer, phone):
    response = login(newcomer).post(
        reverse("volunteer_register"), registration_data(region=world.county_a.pk, phone=phone)
    )
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not VolunteerProfile.objects.filter(user=newcomer).exists()


def test_register_bad_input_shows_errors_not_500(world, login, newcomer):
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = login(newcomer).post(
        reverse("volunteer_register"),
        registration_data(region="999999", birth_date=future, real_name="  ", skills=["juggling"]),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"region", "birth_date", "real_name", "skills"} <= set(errors)


def test_register_under_14_needs_guardian_then_waits_for_consent(world, login, newcomer):
    client = login(newcomer)
    data = registration_data(region=world.county_a.pk, birth_date=years_ago(12).isoformat())
    response = client.post(reverse("volunteer_register"), data)
    assert response.status_code == 200
    assert {"guardian_name", "guardian_phone"} <= set(response.context["form"].errors)

    data.update(guardian_name="王妈妈", guardian_phone="13711112222")
    response = client.post(reverse("volunteer_register"), data)
    assert response.status_code == 302
    profile = VolunteerProfile.objects.get(user=newcomer)
    assert profile.guardian_name == "王妈妈"
    assert profile.guardian_consent_at is None
    assert any("guardian's consent" in message for message in messages_of(response))


def test_register_14_to_17_must_tick_guardian_agrees(world, login, newcomer):
    client = login(newcomer)
    data = registration_data(region=world.county_a.pk, birth_date=years_ago(15).isoformat())
    response = client.post(reverse("volunteer_register"), data)
    assert response.status_code == 200
    assert "guardian_agrees" in response.context["form"].errors

    response = client.post(reverse("volunteer_register"), {**data, "guardian_agrees": "on"})
    assert response.status_code == 302
    profile = VolunteerProfile.objects.get(user=newcomer)
    assert profile.guardian_consent_at is not None
    assert profile.guardian_consent_recorded_by == newcomer


def test_register_page_explains_the_age_rules(world, login, newcomer):
    content = login(newcomer).get(reverse("volunteer_register")).content.decode()
    assert 'name="guardian_name"' in content
    assert 'name="guardian_agrees"' in content
    assert "volunteers-register.js" in content


def test_register_when_registered_goes_to_the_profile(vworld, login):
    response = login(vworld.world.volunteer).get(reverse("volunteer_register"))
    assert response["Location"] == reverse("volunteer_profile_edit")


def test_register_is_csrf_protected(world, newcomer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(newcomer)
    response = client.post(reverse("volunteer_register"), registration_data(region=world.county_a.pk))
    assert response.status_code == 403
    assert not VolunteerProfile.objects.filter(user=newcomer).exists()


# --- profile -----------------------------------------------------------------------------------------------


def test_profile_edit_shows_the_number_and_saves(vworld, login):
    client = login(vworld.world.volunteer)
    page = client.get(reverse("volunteer_profile_edit"))
    assert page.status_code == 200
    assert vworld.adult.volunteer_number in page.content.decode()
    assert "volunteer_number" not in page.context["form"].fields
    response = client.post(
        reverse("volunteer_profile_edit"),
        {
            "real_name": "张伟",
            "phone": "13600001111",
            "region": vworld.world.county_b.pk,
            "school": "",
            "skills": ["law"],
            "emergency_contact_name": "张妈妈",
            "emergency_contact_phone": "13900000000",
            "volunteer_number": "V999",
            "birth_date": "2001-01-01",
        },
    )
    assert response.status_code == 302
    vworld.adult.refresh_from_db()
    assert vworld.adult.phone == "13600001111"
    assert vworld.adult.region == vworld.world.county_b
    assert vworld.adult.skills == ["law"]
    assert vworld.adult.volunteer_number.startswith("VT")  # unchanged
    assert vworld.adult.birth_date == years_ago(35)


def test_profile_edit_bad_input_is_a_form_error(vworld, login):
    response = login(vworld.world.volunteer).post(reverse("volunteer_profile_edit"), {"phone": "1"})
    assert response.status_code == 200
    assert {"phone", "real_name", "region"} <= set(response.context["form"].errors)


def test_profile_edit_without_profile_goes_to_registration(world, login, newcomer):
    response = login(newcomer).get(reverse("volunteer_profile_edit"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("volunteer_register"))


# --- activities --------------------------------------------------------------------------------------------


def test_activity_list_for_a_guest(vworld, login):
    response = login(None).get(reverse("volunteer_activity_list"))
    assert response.status_code == 200
    assert "禁毒宣传进社区" in response.content.decode()


def test_activity_list_filters(vworld, login):
    other_campaign = factories.campaign(region=vworld.world.county_b, title="开福区活动")
    now = timezone.now()
    past = Activity.objects.create(
        campaign=other_campaign,
        title="去年的活动",
        address="开福区",
        region=vworld.world.county_b,
        signup_opens_at=now - dt.timedelta(days=30),
        signup_closes_at=now - dt.timedelta(days=20),
    )
    Shift.objects.create(
        activity=past,
        starts_at=now - dt.timedelta(days=10),
        ends_at=now - dt.timedelta(days=10, hours=-2),
        capacity=3,
    )
    client = login(vworld.world.volunteer)
    upcoming = client.get(reverse("volunteer_activity_list")).content.decode()
    assert "禁毒宣传进社区" in upcoming and "去年的活动" not in upcoming
    past_page = client.get(reverse("volunteer_activity_list"), {"when": "past"}).content.decode()
    assert "去年的活动" in past_page and "禁毒宣传进社区" not in past_page
    by_campaign = client.get(
        reverse("volunteer_activity_list"), {"when": "all", "campaign": other_campaign.pk}
    )
    assert "去年的活动" in by_campaign.content.decode()
    assert "禁毒宣传进社区" not in by_campaign.content.decode()
    by_region = client.get(
        reverse("volunteer_activity_list"), {"when": "all", "region": vworld.world.county_a.pk}
    )
    assert "禁毒宣传进社区" in by_region.content.decode()
    assert "去年的活动" not in by_region.content.decode()
    # A stale or forged filter is ignored, never a 500.
    junk = client.get(
        reverse("volunteer_activity_list"), {"when": "soon", "campaign": "x", "region": "99999"}
    )
    assert junk.status_code == 200


def test_activity_list_hides_team_only_activities_from_outsiders(vworld, login):
    team_only = Activity.objects.create(
        campaign=vworld.campaign,
        title="队内活动",
        address="岳麓区",
        region=vworld.world.county_a,
        signup_opens_at=vworld.now - dt.timedelta(days=1),
        signup_closes_at=vworld.now + dt.timedelta(days=5),
        open_to=Activity.OpenTo.TEAM,
        team=vworld.team,
    )
    Shift.objects.create(activity=team_only, starts_at=vworld.at(3, 9), ends_at=vworld.at(3, 11), capacity=3)
    assert (
        "队内活动"
        not in login(vworld.world.volunteer).get(reverse("volunteer_activity_list")).content.decode()
    )
    assert "队内活动" in login(vworld.child.user).get(reverse("volunteer_activity_list")).content.decode()
    assert (
        login(vworld.world.volunteer)
        .get(reverse("volunteer_activity_detail", args=[team_only.pk]))
        .status_code
        == 404
    )


def test_activity_list_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(15):
        activity = Activity.objects.create(
            campaign=vworld.campaign,
            title=f"活动{n}",
            address="岳麓区",
            region=vworld.world.county_a,
            signup_opens_at=vworld.now - dt.timedelta(days=1),
            signup_closes_at=vworld.now + dt.timedelta(days=5),
        )
        Shift.objects.create(
            activity=activity, starts_at=vworld.at(4, 9), ends_at=vworld.at(4, 12), capacity=4
        )
    client = login(vworld.world.volunteer)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("volunteer_activity_list"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 12


def test_activity_detail_shows_shifts_seats_and_waitlist(vworld, login):
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.leader, status=Signup.Status.CONFIRMED)
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.teen, status=Signup.Status.CONFIRMED)
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.child, status=Signup.Status.WAITLISTED)
    response = login(vworld.world.volunteer).get(
        reverse("volunteer_activity_detail", args=[vworld.activity.pk])
    )
    assert response.status_code == 200
    shifts = {shift.pk: shift for shift in response.context["shifts"]}
    assert shifts[vworld.shift.pk].seats_left == 0
    assert shifts[vworld.shift.pk].waitlisted == 1
    assert shifts[vworld.shift_big.pk].seats_left == 10
    content = response.content.decode()
    assert "宣传员" in content and "岳麓区麓山南路1号社区广场" in content
    assert "Join the waiting list" in content or "候补" in content


def test_activity_detail_links_a_map_by_coordinates(vworld, login):
    Activity.objects.filter(pk=vworld.activity.pk).update(latitude="28.183333", longitude="112.933333")
    content = (
        login(None).get(reverse("volunteer_activity_detail", args=[vworld.activity.pk])).content.decode()
    )
    assert "uri.amap.com/marker?position=112.933333%2C28.183333" in content
    assert "geo:28.183333,112.933333" in content
    assert '<script src="http' not in content


def test_activity_detail_guest_is_invited_to_sign_in(vworld, login):
    content = (
        login(None).get(reverse("volunteer_activity_detail", args=[vworld.activity.pk])).content.decode()
    )
    assert reverse("account_login") in content
    # A newcomer is offered the way in too: register (through creating an account) and come back here.
    assert f"{reverse('volunteer_register')}?next=/volunteers/activities/{vworld.activity.pk}/" in content
    assert reverse("volunteer_shift_signup", args=[vworld.shift.pk]) not in content


def test_activity_detail_unpublished_is_not_found(vworld, login):
    Activity.objects.filter(pk=vworld.activity.pk).update(is_published=False)
    assert (
        login(vworld.world.volunteer)
        .get(reverse("volunteer_activity_detail", args=[vworld.activity.pk]))
        .status_code
        == 404
    )


def test_activity_detail_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(8):
        Shift.objects.create(
            activity=vworld.activity,
            role=f"岗位{n}",
            starts_at=vworld.at(2, 8 + n),
            ends_at=vworld.at(2, 9 + n),
            capacity=3,
        )
    client = login(vworld.world.volunteer)
    with django_assert_max_num_queries(7):
        assert client.get(reverse("volunteer_activity_detail", args=[vworld.activity.pk])).status_code == 200


# --- sign-up and cancel ------------------------------------------------------------------------------------


def test_signup_confirmed(vworld, login):
    response = login(vworld.world.volunteer).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
    assert response["Location"] == reverse("volunteer_activity_detail", args=[vworld.activity.pk])
    assert Signup.objects.get(volunteer=vworld.adult).status == Signup.Status.CONFIRMED
    assert any("宣传员" in message for message in messages_of(response))


def test_signup_full_shift_goes_to_the_waiting_list(vworld, login):
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.leader, status=Signup.Status.CONFIRMED)
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.teen, status=Signup.Status.CONFIRMED)
    response = login(vworld.world.volunteer).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
    assert Signup.objects.get(volunteer=vworld.adult).status == Signup.Status.WAITLISTED
    (message,) = messages_of(response)
    assert "1" in message


@pytest.mark.parametrize("case", ["clash", "closed", "consent", "too_young"])
def test_signup_refusals_are_clear_messages(vworld, login, case):
    volunteer = vworld.adult
    if case == "clash":
        clashing = Shift.objects.create(
            activity=vworld.activity,
            role="另一岗",
            starts_at=vworld.at(1, 10),
            ends_at=vworld.at(1, 11),
            capacity=3,
        )
        Signup.objects.create(shift=clashing, volunteer=volunteer, status=Signup.Status.CONFIRMED)
    elif case == "closed":
        Activity.objects.filter(pk=vworld.activity.pk).update(
            signup_closes_at=vworld.now - dt.timedelta(minutes=1)
        )
    elif case == "consent":
        volunteer = vworld.child_no_consent
    elif case == "too_young":
        Activity.objects.filter(pk=vworld.activity.pk).update(min_age=16)
        volunteer = vworld.teen
    response = login(volunteer.user).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
    assert response.status_code == 302
    assert not Signup.objects.filter(volunteer=volunteer, shift=vworld.shift).exists()
    (message,) = messages_of(response)
    expected = {"clash": "overlaps", "closed": "closed", "consent": "guardian", "too_young": "16"}[case]
    assert expected in message


@pytest.mark.parametrize("open_to", ["team", "school"])
def test_signup_outside_the_team_or_school(vworld, login, open_to):
    """A volunteer who is not in the team (school) does not even see the activity; an organiser sees every
    activity they run, and signing up to one that is not open to them gets the service's message."""
    if open_to == "team":
        Activity.objects.filter(pk=vworld.activity.pk).update(open_to=Activity.OpenTo.TEAM, team=vworld.team)
    else:
        Activity.objects.filter(pk=vworld.activity.pk).update(
            open_to=Activity.OpenTo.SCHOOL, school=vworld.world.school_a
        )
    url = reverse("volunteer_shift_signup", args=[vworld.shift.pk])
    assert login(vworld.world.volunteer).post(url).status_code == 404
    make_profile(user=vworld.organiser, age=40, region=vworld.world.county_a)
    response = login(vworld.organiser).post(url)
    (message,) = messages_of(response)
    assert open_to in message
    assert not Signup.objects.exists()


def test_signup_needs_a_profile(vworld, login, newcomer):
    response = login(newcomer).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
    detail = reverse("volunteer_activity_detail", args=[vworld.activity.pk])
    assert response["Location"] == f"{reverse('volunteer_register')}?next={detail.replace('/', '%2F')}"


def test_signup_guest_and_get(vworld, login):
    assert (
        reverse("account_login")
        in login(None).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))["Location"]
    )
    assert (
        login(vworld.world.volunteer)
        .get(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
        .status_code
        == 405
    )


def test_signup_is_csrf_protected(vworld):
    client = Client(enforce_csrf_checks=True)
    client.force_login(vworld.world.volunteer)
    assert client.post(reverse("volunteer_shift_signup", args=[vworld.shift.pk])).status_code == 403
    assert not Signup.objects.exists()


def test_signup_unknown_shift_is_not_found(vworld, login):
    assert (
        login(vworld.world.volunteer).post(reverse("volunteer_shift_signup", args=[999999])).status_code
        == 404
    )


def test_cancel_own_signup(vworld, login):
    signup = Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    response = login(vworld.world.volunteer).post(reverse("volunteer_signup_cancel", args=[signup.pk]))
    assert response["Location"] == reverse("volunteer_me")
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CANCELLED


def test_cancel_someone_elses_signup_is_not_found(vworld, login):
    signup = Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    assert (
        login(vworld.leader.user).post(reverse("volunteer_signup_cancel", args=[signup.pk])).status_code
        == 404
    )
    assert (
        reverse("account_login")
        in login(None).post(reverse("volunteer_signup_cancel", args=[signup.pk]))["Location"]
    )
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CONFIRMED


def test_cancel_twice_is_a_message(vworld, login):
    signup = Signup.objects.create(
        shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CANCELLED, cancelled_at=vworld.now
    )
    response = login(vworld.world.volunteer).post(reverse("volunteer_signup_cancel", args=[signup.pk]))
    assert response.status_code == 302
    assert messages_of(response)


# --- check-in and check-out --------------------------------------------------------------------------------


def test_checkin_guest_is_sent_to_sign_in_and_back(vworld, login):
    url = checkin_url(vworld.activity, "ABCDEFGHIJ")
    response = login(None).get(url)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert "ABCDEFGHIJ" in response["Location"]


def test_checkin_happy_path_then_checkout_by_scanning_again(vworld, login, shift_now):
    signup = Signup.objects.create(shift=shift_now, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    client = login(vworld.world.volunteer)
    url = checkin_url(vworld.activity, current_token(vworld.activity))
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["current"] == signup
    assert page.context["token_valid"]
    assert "签到员" in page.content.decode()

    response = client.post(url)
    assert response["Location"] == url
    signup.refresh_from_db()
    assert signup.checked_in_at is not None
    assert signup.checkin_method == Signup.CheckinMethod.QR

    again = client.get(url)
    assert again.context["checked_in"] == signup
    assert reverse("volunteer_signup_checkout", args=[signup.pk]) in again.content.decode()


def test_checkin_page_closes_yesterdays_check_in_instead_of_offering_a_check_out(vworld, login):
    yesterday = Shift.objects.create(
        activity=vworld.activity, starts_at=vworld.at(-1, 9), ends_at=vworld.at(-1, 12), capacity=3
    )
    forgot = Signup.objects.create(
        shift=yesterday,
        volunteer=vworld.adult,
        status=Signup.Status.CONFIRMED,
        checked_in_at=vworld.at(-1, 9),
        checkin_method=Signup.CheckinMethod.QR,
    )
    response = login(vworld.world.volunteer).get(checkin_url(vworld.activity, current_token(vworld.activity)))
    assert response.status_code == 200
    assert response.context["checked_in"] is None
    assert reverse("volunteer_signup_checkout", args=[forgot.pk]) not in response.content.decode()
    forgot.refresh_from_db()
    assert forgot.auto_closed


def test_checkin_expired_token_asks_to_scan_again(vworld, login, shift_now):
    signup = Signup.objects.create(shift=shift_now, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    stale = checkin_codes.token_for(
        vworld.activity.checkin_secret, vworld.activity.pk, checkin_codes.minute_of(timezone.now()) - 10
    )
    client = login(vworld.world.volunteer)
    page = client.get(checkin_url(vworld.activity, stale))
    assert not page.context["token_valid"]
    assert "expired" in page.content.decode() or "过期" in page.content.decode()
    response = client.post(checkin_url(vworld.activity, stale))
    assert response.status_code == 302
    assert any("scan it again" in m or "重新扫描" in m for m in messages_of(response))
    signup.refresh_from_db()
    assert signup.checked_in_at is None


def test_checkin_without_a_shift_now(vworld, login, shift_now):
    page = login(vworld.leader.user).get(checkin_url(vworld.activity, current_token(vworld.activity)))
    assert page.status_code == 200
    assert page.context["current"] is None
    response = login(vworld.leader.user).post(checkin_url(vworld.activity, current_token(vworld.activity)))
    assert messages_of(response)
    assert not Signup.objects.filter(volunteer=vworld.leader, checked_in_at__isnull=False).exists()


def test_checkin_activity_out_of_reach_is_not_found(vworld, login, shift_now):
    Activity.objects.filter(pk=vworld.activity.pk).update(is_published=False)
    assert login(vworld.leader.user).get(checkin_url(vworld.activity, "ABCDEFGHIJ")).status_code == 404


def test_checkin_is_csrf_protected(vworld, shift_now):
    Signup.objects.create(shift=shift_now, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(vworld.world.volunteer)
    assert client.post(checkin_url(vworld.activity, current_token(vworld.activity))).status_code == 403
    assert not Signup.objects.filter(checked_in_at__isnull=False).exists()


def test_checkout_makes_a_pending_record(vworld, login, shift_now):
    signup = Signup.objects.create(
        shift=shift_now,
        volunteer=vworld.adult,
        status=Signup.Status.CONFIRMED,
        checked_in_at=timezone.now() - dt.timedelta(minutes=25),
        checkin_method=Signup.CheckinMethod.QR,
    )
    response = login(vworld.world.volunteer).post(reverse("volunteer_signup_checkout", args=[signup.pk]))
    assert response["Location"] == reverse("volunteer_me")
    record = HourRecord.objects.get(signup=signup)
    assert record.status == HourRecord.Status.PENDING
    assert 24 <= record.minutes <= 25


def test_checkout_someone_elses_signup_is_not_found(vworld, login, shift_now):
    signup = Signup.objects.create(
        shift=shift_now,
        volunteer=vworld.adult,
        status=Signup.Status.CONFIRMED,
        checked_in_at=timezone.now() - dt.timedelta(minutes=25),
    )
    assert (
        login(vworld.leader.user).post(reverse("volunteer_signup_checkout", args=[signup.pk])).status_code
        == 404
    )
    assert (
        login(vworld.world.volunteer).get(reverse("volunteer_signup_checkout", args=[signup.pk])).status_code
        == 405
    )
    assert not HourRecord.objects.exists()


def test_checkout_before_checkin_is_a_message(vworld, login, shift_now):
    signup = Signup.objects.create(shift=shift_now, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    response = login(vworld.world.volunteer).post(reverse("volunteer_signup_checkout", args=[signup.pk]))
    assert response.status_code == 302
    assert messages_of(response)


# --- my page -----------------------------------------------------------------------------------------------


def test_me_shows_hours_by_status_stars_and_shifts(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=150)
    vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    rejected = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-4, 9), minutes=30)
    HourRecord.objects.filter(pk=rejected.pk).update(
        status=HourRecord.Status.REJECTED, reject_reason="未到场"
    )
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    response = login(vworld.world.volunteer).get(reverse("volunteer_me"))
    assert response.status_code == 200
    ctx = response.context
    assert ctx["approved_hours"] == "2.5"
    assert ctx["pending_hours"] == "1.0"
    assert ctx["rejected_hours"] == "0.5"
    assert ctx["totals"].stars == 0
    assert ctx["next_star_hours"] == "97.5"
    content = response.content.decode()
    assert vworld.adult.volunteer_number in content
    assert "未到场" in content
    assert reverse("volunteer_signup_cancel", args=[ctx["upcoming"][0].pk]) in content


def test_me_closes_my_missed_checkout_as_it_loads(vworld, login):
    yesterday = Shift.objects.create(
        activity=vworld.activity, starts_at=vworld.at(-1, 9), ends_at=vworld.at(-1, 12), capacity=3
    )
    forgot = Signup.objects.create(
        shift=yesterday,
        volunteer=vworld.adult,
        status=Signup.Status.CONFIRMED,
        checked_in_at=vworld.at(-1, 8, 50),
        checkin_method=Signup.CheckinMethod.QR,
    )
    response = login(vworld.world.volunteer).get(reverse("volunteer_me"))
    forgot.refresh_from_db()
    assert forgot.auto_closed and forgot.checked_out_at == vworld.at(-1, 12)
    record = HourRecord.objects.get(signup=forgot)
    assert (record.minutes, record.flagged, record.status) == (180, True, HourRecord.Status.PENDING)
    assert response.context["totals"].pending_minutes == 180
    assert "closed automatically" in response.content.decode()


def test_me_guest_and_non_volunteer(world, login, newcomer):
    assert reverse("account_login") in login(None).get(reverse("volunteer_me"))["Location"]
    assert login(newcomer).get(reverse("volunteer_me"))["Location"].startswith(reverse("volunteer_register"))


def test_me_query_budget(vworld, login, django_assert_max_num_queries):
    for day in range(1, 13):
        vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-day, 9), minutes=60)
    for n in range(6):
        shift = Shift.objects.create(
            activity=vworld.activity, starts_at=vworld.at(3 + n, 9), ends_at=vworld.at(3 + n, 10), capacity=3
        )
        Signup.objects.create(shift=shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    client = login(vworld.world.volunteer)
    # 12: one of them looks for missed check-outs to close (none here).
    with django_assert_max_num_queries(12):
        response = client.get(reverse("volunteer_me"))
    assert response.status_code == 200
    assert len(response.context["records"]) == 12


def test_teen_confirms_guardian_agreement_on_my_page(vworld, login):
    teen = vworld.make_profile(username="teen2", age=15, region=vworld.world.county_a)
    client = login(teen.user)
    page = client.get(reverse("volunteer_me"))
    assert reverse("volunteer_guardian_agrees") in page.content.decode()
    unticked = client.post(reverse("volunteer_guardian_agrees"))
    assert messages_of(unticked)
    teen.refresh_from_db()
    assert teen.guardian_consent_at is None
    client.post(reverse("volunteer_guardian_agrees"), {"agrees": "1"})
    teen.refresh_from_db()
    assert teen.guardian_consent_recorded_by == teen.user


def test_child_cannot_confirm_their_own_consent(vworld, login):
    client = login(vworld.child_no_consent.user)
    assert reverse("volunteer_guardian_agrees") not in client.get(reverse("volunteer_me")).content.decode()
    response = client.post(reverse("volunteer_guardian_agrees"), {"agrees": "1"})
    assert any("under 14" in m for m in messages_of(response))
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None


# --- corrections -------------------------------------------------------------------------------------------


def test_correction_request(vworld, login):
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    client = login(vworld.world.volunteer)
    page = client.get(reverse("volunteer_record_correct", args=[record.pk]))
    assert page.status_code == 200
    assert page.context["correctable"]
    response = client.post(
        reverse("volunteer_record_correct", args=[record.pk]),
        {
            "started_at": vworld.at(-3, 9).strftime("%Y-%m-%dT%H:%M"),
            "ended_at": vworld.at(-3, 11, 30).strftime("%Y-%m-%dT%H:%M"),
            "content": "发放宣传资料并讲解",
            "reason": "我11:30才离开",
        },
    )
    assert response["Location"] == reverse("volunteer_me")
    correction = HourRecord.objects.get(corrects=record)
    assert correction.minutes == 150
    assert correction.status == HourRecord.Status.PENDING
    assert correction.correction_reason == "我11:30才离开"
    assert correction.recorded_by == vworld.world.volunteer


def test_correction_bad_input_is_a_form_error(vworld, login):
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    url = reverse("volunteer_record_correct", args=[record.pk])
    response = login(vworld.world.volunteer).post(
        url,
        {"started_at": "yesterday", "ended_at": vworld.at(-3, 8).strftime("%Y-%m-%dT%H:%M"), "content": ""},
    )
    assert response.status_code == 200
    assert {"started_at", "content", "reason"} <= set(response.context["form"].errors)
    backwards = login(vworld.world.volunteer).post(
        url,
        {
            "started_at": vworld.at(-3, 10).strftime("%Y-%m-%dT%H:%M"),
            "ended_at": vworld.at(-3, 9).strftime("%Y-%m-%dT%H:%M"),
            "content": "x",
            "reason": "y",
        },
    )
    assert "ended_at" in backwards.context["form"].errors
    future = login(vworld.world.volunteer).post(
        url,
        {
            "started_at": vworld.at(2, 9).strftime("%Y-%m-%dT%H:%M"),
            "ended_at": vworld.at(2, 10).strftime("%Y-%m-%dT%H:%M"),
            "content": "x",
            "reason": "y",
        },
    )
    assert future.status_code == 200
    assert future.context["form"].non_field_errors()
    assert not HourRecord.objects.filter(corrects=record).exists()


def test_correction_of_someone_elses_record_is_not_found(vworld, login):
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    assert (
        login(vworld.leader.user).get(reverse("volunteer_record_correct", args=[record.pk])).status_code
        == 404
    )
    assert (
        reverse("account_login")
        in login(None).get(reverse("volunteer_record_correct", args=[record.pk]))["Location"]
    )


def test_correction_of_a_pending_record_is_explained(vworld, login):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    page = login(vworld.world.volunteer).get(reverse("volunteer_record_correct", args=[record.pk]))
    assert not page.context["correctable"]


# --- export ------------------------------------------------------------------------------------------------


def test_export_xlsx_has_the_measures_fields(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    response = login(vworld.world.volunteer).get(reverse("volunteer_records_export"), {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows[0]) == 10
    row = rows[1]
    assert row[0] == "张伟"
    assert row[1] == vworld.adult.volunteer_number
    assert row[2] == "禁毒宣传进社区"
    assert row[4] == "岳麓区麓山南路1号社区广场"
    assert row[5] == "发放宣传资料"
    assert row[6] == 1.5
    assert "organiser_a" in row[7]
    assert row[8] == "张伟"


def test_export_csv_has_a_bom(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    response = login(vworld.world.volunteer).get(reverse("volunteer_records_export"), {"format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][0] == "张伟"
    assert rows[1][6] == "1.5"


def test_export_is_only_ones_own(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    response = login(vworld.leader.user).get(reverse("volunteer_records_export"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == []
    assert reverse("account_login") in login(None).get(reverse("volunteer_records_export"))["Location"]


# --- certificates ------------------------------------------------------------------------------------------


def test_certificate_issue_and_download(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    client = login(vworld.world.volunteer)
    response = client.post(reverse("volunteer_certificate_issue"))
    assert response["Location"].endswith("#certificates")
    certificate = Certificate.objects.get(volunteer=vworld.adult)
    assert certificate.minutes == 90
    download = client.get(reverse("volunteer_certificate_pdf", args=[certificate.number]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")
    assert certificate.number in client.get(reverse("volunteer_me")).content.decode()


def test_certificate_without_approved_hours_is_a_message(vworld, login):
    response = login(vworld.world.volunteer).post(reverse("volunteer_certificate_issue"))
    assert response.status_code == 302
    assert messages_of(response)
    assert not Certificate.objects.exists()


def test_certificate_issue_needs_post_and_csrf(vworld):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    client = Client(enforce_csrf_checks=True)
    client.force_login(vworld.world.volunteer)
    assert client.get(reverse("volunteer_certificate_issue")).status_code == 405
    assert client.post(reverse("volunteer_certificate_issue")).status_code == 403
    assert not Certificate.objects.exists()


def test_certificate_of_someone_else_is_not_found(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    login(vworld.world.volunteer).post(reverse("volunteer_certificate_issue"))
    number = Certificate.objects.get().number
    assert (
        login(vworld.leader.user).get(reverse("volunteer_certificate_pdf", args=[number])).status_code == 404
    )
    assert (
        reverse("account_login")
        in login(None).get(reverse("volunteer_certificate_pdf", args=[number]))["Location"]
    )


def test_verification_page_is_public_and_shows_nothing_personal(vworld, login):
    # The volunteer lives in Kaifu and served at a Yuelu activity: the page names Yuelu's office, which issued
    # the certificate, and nothing of where the volunteer lives.
    county_b = vworld.world.county_b
    VolunteerProfile.objects.filter(pk=vworld.adult.pk).update(
        phone="13912345678", region=county_b, region_path=county_b.path
    )
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    login(vworld.world.volunteer).post(reverse("volunteer_certificate_issue"))
    certificate = Certificate.objects.get()
    response = login(None).get(reverse("volunteer_certificate_verify", args=[certificate.verification_token]))
    assert response.status_code == 200
    content = response.content.decode()
    assert certificate.number in content
    assert "张*" in content and "张伟" not in content  # the holder's name is masked on this public page
    assert "1.5" in content
    profile = vworld.adult
    assert "13912345678" not in content
    assert profile.emergency_contact_phone not in content
    assert profile.emergency_contact_name not in content
    assert profile.volunteer_number not in content
    birth = profile.birth_date
    for shown in (
        birth.isoformat(),
        f"{birth.year}年{birth.month}月{birth.day}日",
        birth.strftime("%B %-d, %Y"),
    ):
        assert shown not in content
    assert "开福区" not in content and "Kaifu" not in content
    assert "长沙市岳麓区禁毒委员会办公室" in content
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_verification_unknown_token_is_a_clear_404(world, login):
    response = login(None).get(reverse("volunteer_certificate_verify", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "volunteers/volunteer/certificate_unknown.html" in [t.name for t in response.templates]


# --- teams -------------------------------------------------------------------------------------------------


def test_team_list_and_create(vworld, login):
    client = login(vworld.world.volunteer)
    page = client.get(reverse("volunteer_team_list"))
    assert page.status_code == 200
    assert page.context["memberships"] == []
    response = client.post(
        reverse("volunteer_team_create"),
        {"name": " 岳麓  青年队 ", "kind": "community", "region": vworld.world.county_a.pk, "school": ""},
    )
    team = Team.objects.get(name="岳麓 青年队")
    assert response["Location"] == reverse("volunteer_team_detail", args=[team.pk])
    assert TeamMembership.objects.get(team=team).is_leader
    assert "岳麓 青年队" in client.get(reverse("volunteer_team_list")).content.decode()


def test_team_create_bad_input_is_a_form_error(vworld, login):
    response = login(vworld.world.volunteer).post(
        reverse("volunteer_team_create"), {"name": "", "kind": "school", "region": ""}
    )
    assert response.status_code == 200
    assert {"name", "region"} <= set(response.context["form"].errors)
    school_team = login(vworld.world.volunteer).post(
        reverse("volunteer_team_create"),
        {"name": "校队", "kind": "school", "region": vworld.world.county_a.pk},
    )
    assert "school" in school_team.context["form"].errors


def test_team_create_needs_a_profile(world, login, newcomer):
    response = login(newcomer).post(reverse("volunteer_team_create"), {"name": "x"})
    assert response["Location"].startswith(reverse("volunteer_register"))


def test_team_list_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(8):
        team = Team.objects.create(name=f"队{n}", kind="community", region=vworld.world.county_a)
        TeamMembership.objects.create(team=team, volunteer=vworld.leader, is_leader=True)
    client = login(vworld.leader.user)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("volunteer_team_list"))
    assert len(response.context["memberships"]) == 9


def test_leader_sees_members_and_adds_by_number(vworld, login):
    client = login(vworld.leader.user)
    page = client.get(reverse("volunteer_team_detail", args=[vworld.team.pk]))
    assert page.status_code == 200
    assert page.context["leads"]
    response = client.post(
        reverse("volunteer_team_member_add", args=[vworld.team.pk]),
        {"volunteer_number": vworld.adult.volunteer_number.lower(), "real_name": "张伟"},
    )
    assert response["Location"] == reverse("volunteer_team_detail", args=[vworld.team.pk])
    assert TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.adult).exists()
    unknown = client.post(
        reverse("volunteer_team_member_add", args=[vworld.team.pk]),
        {"volunteer_number": "V000", "real_name": "张伟"},
    )
    assert any("V000" in m for m in messages_of(unknown))
    again = client.post(
        reverse("volunteer_team_member_add", args=[vworld.team.pk]),
        {"volunteer_number": vworld.adult.volunteer_number, "real_name": "张伟"},
    )
    assert messages_of(again)
    empty = client.post(reverse("volunteer_team_member_add", args=[vworld.team.pk]), {"volunteer_number": ""})
    assert empty.status_code == 302


def test_member_sees_the_team_read_only_with_nicknames(vworld, login):
    response = login(vworld.child.user).get(reverse("volunteer_team_detail", args=[vworld.team.pk]))
    assert response.status_code == 200
    assert not response.context["leads"]
    content = response.content.decode()
    assert "李队长" in content and "小雪" in content
    for profile in (vworld.leader, vworld.child_no_consent):
        assert profile.real_name not in content
        assert profile.phone not in content
        assert profile.volunteer_number not in content
        assert profile.birth_date.isoformat() not in content
        assert profile.guardian_phone not in content or not profile.guardian_phone
    assert reverse("volunteer_team_member_add", args=[vworld.team.pk]) not in content


def test_team_outsider_and_guest(vworld, login):
    url = reverse("volunteer_team_detail", args=[vworld.team.pk])
    assert login(vworld.world.volunteer).get(url).status_code == 404
    assert reverse("account_login") in login(None).get(url)["Location"]
    add = reverse("volunteer_team_member_add", args=[vworld.team.pk])
    assert (
        login(vworld.world.volunteer)
        .post(add, {"volunteer_number": vworld.adult.volunteer_number})
        .status_code
        == 404
    )
    assert (
        login(vworld.child.user).post(add, {"volunteer_number": vworld.adult.volunteer_number}).status_code
        == 403
    )
    assert not TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.adult).exists()


def test_leader_removes_a_member_and_a_member_leaves(vworld, login):
    remove = reverse("volunteer_team_member_remove", args=[vworld.team.pk, vworld.child.pk])
    # A member may not remove another member.
    assert login(vworld.child_no_consent.user).post(remove).status_code == 403
    assert login(vworld.world.volunteer).post(remove).status_code == 404
    response = login(vworld.leader.user).post(remove)
    assert response["Location"] == reverse("volunteer_team_detail", args=[vworld.team.pk])
    assert not TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.child).exists()
    leave = reverse("volunteer_team_member_remove", args=[vworld.team.pk, vworld.child_no_consent.pk])
    response = login(vworld.child_no_consent.user).post(leave)
    assert response["Location"] == reverse("volunteer_team_list")
    assert not TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.child_no_consent).exists()


def test_last_leader_cannot_leave(vworld, login):
    leave = reverse("volunteer_team_member_remove", args=[vworld.team.pk, vworld.leader.pk])
    response = login(vworld.leader.user).post(leave)
    assert response.status_code == 302
    assert messages_of(response)
    assert TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.leader).exists()


def test_leader_records_guardian_consent(vworld, login):
    url = reverse("volunteer_team_guardian_consent", args=[vworld.team.pk, vworld.child_no_consent.pk])
    client = login(vworld.leader.user)
    page = client.get(reverse("volunteer_team_detail", args=[vworld.team.pk]))
    assert url in page.content.decode()
    unticked = client.post(url)
    assert messages_of(unticked)
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None
    client.post(url, {"seen": "1"})
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is not None
    assert vworld.child_no_consent.guardian_consent_recorded_by == vworld.leader.user
    # Now the child can sign up.
    login(vworld.child_no_consent.user).post(reverse("volunteer_shift_signup", args=[vworld.shift.pk]))
    assert Signup.objects.filter(volunteer=vworld.child_no_consent, status=Signup.Status.CONFIRMED).exists()


def test_guardian_consent_outsiders(vworld, login):
    url = reverse("volunteer_team_guardian_consent", args=[vworld.team.pk, vworld.child_no_consent.pk])
    assert login(vworld.world.volunteer).post(url, {"seen": "1"}).status_code == 404
    assert login(vworld.child.user).post(url, {"seen": "1"}).status_code == 403
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None


def test_team_detail_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(10):
        profile = make_profile(username=f"m{n}", age=20, region=vworld.world.county_a, nickname=f"队员{n}")
        TeamMembership.objects.create(team=vworld.team, volunteer=profile)
    client = login(vworld.leader.user)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("volunteer_team_detail", args=[vworld.team.pk]))
    assert len(response.context["memberships"]) == 13


# --- home and navigation -----------------------------------------------------------------------------------


def test_home_shows_the_volunteer_card(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    content = login(vworld.world.volunteer).get("/").content.decode()
    assert reverse("volunteer_me") in content
    assert "1.5" in content
    assert "禁毒宣传进社区" in content


def test_home_invites_others_to_volunteer(world, login, newcomer):
    assert reverse("volunteer_register") in login(newcomer).get("/").content.decode()
    assert reverse("volunteer_activity_list") in login(None).get("/").content.decode()
