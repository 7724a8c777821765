"""The organisers' volunteer pages: activities and shifts, the roster and check-in, the rotating QR code, the
kiosk and sign-in sheet, the hour queue (bulk approve, reject, escalation, exports), backfill, totals, the
volunteer register — each behind its gate, with an outsider test for every view."""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from volunteers import checkin_codes, services
from volunteers.models import Activity, HourRecord, Shift, Signup

MANAGE = "/volunteers/manage"
MEASURES_COLUMNS = [
    "Name",
    "Volunteer number",
    "Activity",
    "Date",
    "Place",
    "Service content",
    "Hours",
    "Organiser",
    "Recorded by",
    "Status",
    "Decided by",
    "Decided at",
]


def persona(vworld, name):
    if name == "guest":
        return None
    if name in ("coordinator", "outsider", "organiser"):
        return getattr(vworld, name)
    return getattr(vworld.world, name)


def english(client):
    client.cookies["qk_language"] = "en"
    return client


def local(value: dt.datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%dT%H:%M}"


def signup(shift, volunteer, status=Signup.Status.CONFIRMED, **fields) -> Signup:
    return Signup.objects.create(shift=shift, volunteer=volunteer, status=status, **fields)


def shift_now(vworld, **fields) -> Shift:
    """A shift under way: started an hour ago, ends in two."""
    now = timezone.now()
    fields.setdefault("role", "签到引导")
    fields.setdefault("capacity", 5)
    return Shift.objects.create(
        activity=vworld.activity,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=2),
        **fields,
    )


# --- gates ------------------------------------------------------------------------------------------------

ACTIVITY_PAGES = ["", "edit/", "qr/", "qr.json", "kiosk/", "sheet/"]


@pytest.mark.parametrize("page", ACTIVITY_PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("teacher_a", 403),
        ("volunteer", 403),
        ("outsider", 403),
        ("organiser", 200),
        ("coordinator", 200),
        ("organiser_province", 200),
        ("admin", 200),
    ],
)
def test_activity_pages_gate(vworld, login, page, who, expected):
    response = login(persona(vworld, who)).get(f"{MANAGE}/activities/{vworld.activity.pk}/{page}")
    assert response.status_code == expected
    if expected == 302:
        assert "/accounts/login/" in response["Location"]
    if expected != 200:
        assert vworld.activity.checkin_secret not in response.content.decode()


def test_unpublished_activity_of_another_region_is_not_found(vworld, login):
    vworld.activity.is_published = False
    vworld.activity.save()
    assert login(vworld.outsider).get(f"{MANAGE}/activities/{vworld.activity.pk}/").status_code == 404
    assert (
        login(vworld.world.student).get(f"{MANAGE}/activities/{vworld.activity.pk}/qr.json").status_code
        == 404
    )


@pytest.mark.parametrize(
    "url",
    [
        "/activities/",
        "/activities/new/",
        "/hours/",
        "/hours/new/",
        "/hours/export/",
        "/totals/",
        "/volunteers/",
    ],
)
@pytest.mark.parametrize("who", ["student", "teacher_a", "volunteer"])
def test_list_pages_refuse_people_who_organise_nothing(vworld, login, url, who):
    assert login(persona(vworld, who)).get(f"{MANAGE}{url}").status_code == 403


@pytest.mark.parametrize("url", ["/", "/activities/", "/hours/", "/totals/", "/volunteers/"])
def test_list_pages_send_guests_to_sign_in(vworld, login, url):
    response = login(None).get(f"{MANAGE}{url}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_coordinator_sees_their_activity_but_not_region_pages(vworld, login):
    client = login(vworld.coordinator)
    assert client.get(f"{MANAGE}/").status_code == 302
    assert vworld.activity.title in client.get(f"{MANAGE}/activities/").content.decode()
    assert client.get(f"{MANAGE}/hours/").status_code == 200
    # No campaign to add activities to, no region to count or to list volunteers of.
    assert client.get(f"{MANAGE}/activities/new/").status_code == 403
    assert client.get(f"{MANAGE}/totals/").status_code == 403
    assert client.get(f"{MANAGE}/volunteers/").status_code == 403


# --- activities -------------------------------------------------------------------------------------------


def test_activity_list_shows_the_region_subtree_only(vworld, login):
    other = factories.campaign(region=vworld.world.county_b, title="开福区活动")
    services.activity_create(
        campaign=other,
        created_by=vworld.outsider,
        title="开福区禁毒宣传",
        description="",
        address="开福区某广场",
        region=vworld.world.county_b,
        shifts=[
            {
                "role": "",
                "starts_at": vworld.at(2, 9),
                "ends_at": vworld.at(2, 11),
                "capacity": 3,
            }
        ],
        signup_opens_at=vworld.now,
        signup_closes_at=vworld.at(2, 8),
    )
    signup(vworld.shift, vworld.adult)
    signup(vworld.shift, vworld.teen)
    signup(vworld.shift, vworld.leader, status=Signup.Status.WAITLISTED)
    page = login(vworld.organiser).get(f"{MANAGE}/activities/").content.decode()
    assert vworld.activity.title in page and "开福区禁毒宣传" not in page
    assert "2 / 12" in page  # confirmed of all the places
    assert "开福区禁毒宣传" in login(vworld.outsider).get(f"{MANAGE}/activities/").content.decode()
    city = login(vworld.world.organiser_province).get(f"{MANAGE}/activities/").content.decode()
    assert vworld.activity.title in city and "开福区禁毒宣传" in city
    filtered = login(vworld.world.organiser_province).get(
        f"{MANAGE}/activities/", {"region": vworld.world.county_b.pk}
    )
    assert vworld.activity.title not in filtered.content.decode()
    searched = login(vworld.organiser).get(f"{MANAGE}/activities/", {"q": "麓山南路", "when": "upcoming"})
    assert vworld.activity.title in searched.content.decode()
    past = login(vworld.organiser).get(f"{MANAGE}/activities/", {"when": "past"})
    assert vworld.activity.title not in past.content.decode()


def test_activity_list_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(15):
        activity = Activity.objects.create(
            campaign=vworld.campaign,
            title=f"活动{n}",
            address="某地",
            region=vworld.world.county_a,
            signup_opens_at=vworld.now,
            signup_closes_at=vworld.at(3, 8),
        )
        Shift.objects.create(
            activity=activity, starts_at=vworld.at(3, 9), ends_at=vworld.at(3, 12), capacity=4
        )
    client = login(vworld.organiser)
    with django_assert_max_num_queries(12):
        assert client.get(f"{MANAGE}/activities/").status_code == 200


def create_data(vworld, **fields):
    data = {
        "campaign": vworld.campaign.pk,
        "title": "校门口禁毒宣传",
        "description": "发放宣传册",
        "address": "岳麓区某中学门口",
        "region": vworld.world.county_a.pk,
        "latitude": "",
        "longitude": "",
        "signup_opens_at": local(vworld.now),
        "signup_closes_at": local(vworld.at(5, 8)),
        "min_age": "0",
        "open_to": "anyone",
        "team": "",
        "school": "",
        "is_published": "on",
        "shifts-TOTAL_FORMS": "3",
        "shifts-INITIAL_FORMS": "0",
        "shifts-MIN_NUM_FORMS": "1",
        "shifts-MAX_NUM_FORMS": "50",
        "shifts-0-role": "宣传员",
        "shifts-0-starts_at": local(vworld.at(5, 9)),
        "shifts-0-ends_at": local(vworld.at(5, 12)),
        "shifts-0-capacity": "6",
        "shifts-1-role": "",
        "shifts-1-starts_at": "",
        "shifts-1-ends_at": "",
        "shifts-1-capacity": "",
        "shifts-2-role": "",
        "shifts-2-starts_at": "",
        "shifts-2-ends_at": "",
        "shifts-2-capacity": "",
    }
    data.update(fields)
    return data


def test_create_activity_with_shifts(vworld, login):
    client = login(vworld.organiser)
    page = client.get(f"{MANAGE}/activities/new/")
    assert page.status_code == 200 and vworld.campaign.title in page.content.decode()
    response = client.post(
        f"{MANAGE}/activities/new/",
        create_data(
            vworld,
            **{
                "shifts-1-role": "摄影",
                "shifts-1-starts_at": local(vworld.at(5, 13)),
                "shifts-1-ends_at": local(vworld.at(5, 15)),
                "shifts-1-capacity": "2",
                "skills_required": ["photography"],
                "latitude": "28.178000",
                "longitude": "112.938000",
            },
        ),
    )
    activity = Activity.objects.get(title="校门口禁毒宣传")
    assert response.status_code == 302 and response["Location"] == f"{MANAGE}/activities/{activity.pk}/"
    assert [(s.role, s.capacity) for s in activity.shifts.order_by("starts_at")] == [
        ("宣传员", 6),
        ("摄影", 2),
    ]
    assert list(activity.organisers.all()) == [vworld.organiser]
    assert activity.skills_required == ["photography"] and activity.latitude is not None


def test_create_needs_a_shift_and_a_region_in_the_campaign(vworld, login):
    client = login(vworld.organiser)
    no_shift = create_data(
        vworld,
        **{"shifts-0-role": "", "shifts-0-starts_at": "", "shifts-0-ends_at": "", "shifts-0-capacity": ""},
    )
    response = english(client).post(f"{MANAGE}/activities/new/", no_shift)
    assert response.status_code == 200 and "at least one shift" in response.content.decode()
    backwards = create_data(vworld, **{"shifts-0-ends_at": local(vworld.at(5, 8))})
    assert "must end after it starts" in client.post(f"{MANAGE}/activities/new/", backwards).content.decode()
    elsewhere = create_data(vworld, region=vworld.world.county_b.pk)
    assert client.post(f"{MANAGE}/activities/new/", elsewhere).status_code == 200
    team_only = create_data(vworld, open_to="team")
    assert "Choose the team" in client.post(f"{MANAGE}/activities/new/", team_only).content.decode()
    assert not Activity.objects.filter(title="校门口禁毒宣传").exists()


def test_outsider_cannot_create_in_another_regions_campaign(vworld, login):
    client = login(vworld.outsider)
    assert (
        client.post(f"{MANAGE}/activities/new/", create_data(vworld)).status_code == 403
    )  # no campaign at all
    factories.campaign(region=vworld.world.county_b)
    response = client.post(f"{MANAGE}/activities/new/", create_data(vworld))
    assert (
        response.status_code == 200 and "field-invalid" in response.content.decode()
    )  # not among the choices
    assert not Activity.objects.filter(title="校门口禁毒宣传").exists()


def edit_data(vworld, activity, **fields):
    data = {
        "title": activity.title,
        "description": activity.description,
        "address": activity.address,
        "region": activity.region_id,
        "latitude": "",
        "longitude": "",
        "signup_opens_at": local(activity.signup_opens_at),
        "signup_closes_at": local(activity.signup_closes_at),
        "min_age": str(activity.min_age),
        "open_to": activity.open_to,
        "team": "",
        "school": "",
        "is_published": "on",
        "new-TOTAL_FORMS": "1",
        "new-INITIAL_FORMS": "0",
        "new-MIN_NUM_FORMS": "0",
        "new-MAX_NUM_FORMS": "50",
        "new-0-role": "",
        "new-0-starts_at": "",
        "new-0-ends_at": "",
        "new-0-capacity": "",
    }
    for shift in activity.shifts.all():
        data[f"shift-{shift.pk}-capacity"] = str(shift.capacity)
    data.update(fields)
    return data


def test_edit_activity_and_add_a_shift(vworld, login):
    client = login(vworld.coordinator)
    assert client.get(f"{MANAGE}/activities/{vworld.activity.pk}/edit/").status_code == 200
    # The coordinator leads no team and has no region: the county's team is not theirs to choose.
    response = client.post(
        f"{MANAGE}/activities/{vworld.activity.pk}/edit/",
        edit_data(vworld, vworld.activity, open_to="team", team=vworld.team.pk),
    )
    assert response.status_code == 200 and "field-invalid" in response.content.decode()
    data = edit_data(
        vworld,
        vworld.activity,
        title="禁毒宣传进社区（第二期）",
        **{
            "new-0-role": "后勤",
            "new-0-starts_at": local(vworld.at(1, 18)),
            "new-0-ends_at": local(vworld.at(1, 20)),
            "new-0-capacity": "3",
        },
    )
    response = client.post(f"{MANAGE}/activities/{vworld.activity.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    vworld.activity.refresh_from_db()
    assert vworld.activity.title == "禁毒宣传进社区（第二期）"
    assert vworld.activity.shifts.filter(role="后勤", capacity=3).exists()
    # The county's organiser limits it to the county's team.
    response = login(vworld.organiser).post(
        f"{MANAGE}/activities/{vworld.activity.pk}/edit/",
        edit_data(vworld, vworld.activity, open_to="team", team=vworld.team.pk),
    )
    vworld.activity.refresh_from_db()
    assert response.status_code == 302
    assert vworld.activity.open_to == "team" and vworld.activity.team == vworld.team


def test_capacity_below_confirmed_is_refused_and_a_raise_promotes_the_waiting_list(vworld, login):
    signup(vworld.shift, vworld.adult)
    signup(vworld.shift, vworld.teen)
    waiting = signup(vworld.shift, vworld.leader, status=Signup.Status.WAITLISTED)
    client = english(login(vworld.organiser))
    url = f"{MANAGE}/activities/{vworld.activity.pk}/edit/"
    response = client.post(
        url, edit_data(vworld, vworld.activity, **{f"shift-{vworld.shift.pk}-capacity": "1"})
    )
    assert response.status_code == 200
    assert "2 volunteers are confirmed for this shift" in response.content.decode()
    vworld.shift.refresh_from_db()
    assert vworld.shift.capacity == 2
    response = client.post(
        url, edit_data(vworld, vworld.activity, **{f"shift-{vworld.shift.pk}-capacity": "3"})
    )
    assert response.status_code == 302
    vworld.shift.refresh_from_db()
    waiting.refresh_from_db()
    assert vworld.shift.capacity == 3 and waiting.status == Signup.Status.CONFIRMED


def test_outsider_cannot_edit(vworld, login):
    data = edit_data(vworld, vworld.activity, title="被改了")
    assert (
        login(vworld.outsider).post(f"{MANAGE}/activities/{vworld.activity.pk}/edit/", data).status_code
        == 403
    )
    vworld.activity.refresh_from_db()
    assert vworld.activity.title != "被改了"


# --- roster and check-in ----------------------------------------------------------------------------------


def test_roster_lists_confirmed_and_waiting_with_phones_for_the_activitys_organisers(vworld, login):
    signup(vworld.shift, vworld.adult)
    signup(vworld.shift, vworld.teen)
    signup(vworld.shift, vworld.leader, status=Signup.Status.WAITLISTED)
    signup(vworld.shift_big, vworld.child, status=Signup.Status.CANCELLED)
    page = login(vworld.organiser).get(f"{MANAGE}/activities/{vworld.activity.pk}/").content.decode()
    assert "张伟" in page and vworld.adult.volunteer_number in page and "小青" in page
    assert vworld.leader.real_name in page  # on the waiting list
    assert vworld.adult.phone in page
    assert vworld.child.real_name not in page  # cancelled
    # The city's organiser oversees the activity but does not run it: no phone numbers.
    city = (
        login(vworld.world.organiser_province)
        .get(f"{MANAGE}/activities/{vworld.activity.pk}/")
        .content.decode()
    )
    assert "张伟" in city and vworld.adult.phone not in city


def test_roster_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(12):
        profile = vworld.make_profile(username=f"r{n}", region=vworld.world.county_a, nickname=f"志愿{n}")
        signup(vworld.shift_big, profile)
    client = login(vworld.organiser)
    # 11: one of them looks for missed check-outs to close (none here).
    with django_assert_max_num_queries(11):
        assert client.get(f"{MANAGE}/activities/{vworld.activity.pk}/").status_code == 200


def test_tick_in_and_out_from_the_roster(vworld, login):
    shift = shift_now(vworld)
    arriving = signup(shift, vworld.adult)
    leaving = signup(
        shift, vworld.teen, checked_in_at=timezone.now() - dt.timedelta(minutes=40), checkin_method="qr"
    )
    client = login(vworld.coordinator)
    response = client.post(f"{MANAGE}/signups/{arriving.pk}/checkin/")
    assert response.status_code == 302 and response["Location"].endswith(f"#shift-{shift.pk}")
    arriving.refresh_from_db()
    assert arriving.checked_in_at is not None and arriving.checkin_method == Signup.CheckinMethod.ORGANISER
    client.post(f"{MANAGE}/signups/{leaving.pk}/checkout/")
    leaving.refresh_from_db()
    record = HourRecord.objects.get(signup=leaving)
    assert leaving.checked_out_at is not None and 39 <= record.minutes <= 41
    assert record.status == HourRecord.Status.PENDING and record.recorded_by == vworld.coordinator


def test_tick_in_with_the_time_from_the_paper_sheet(vworld, login):
    yesterday = Shift.objects.create(
        activity=vworld.activity, role="", starts_at=vworld.at(-1, 9), ends_at=vworld.at(-1, 12), capacity=3
    )
    paper = signup(yesterday, vworld.adult)
    client = english(login(vworld.organiser))
    client.post(f"{MANAGE}/signups/{paper.pk}/checkin/", {"at": "09:05"})
    client.post(f"{MANAGE}/signups/{paper.pk}/checkout/", {"at": "11:35"})
    paper.refresh_from_db()
    assert paper.checked_in_at == vworld.at(-1, 9, 5) and paper.checked_out_at == vworld.at(-1, 11, 35)
    assert HourRecord.objects.get(signup=paper).minutes == 150
    tomorrow = signup(vworld.shift, vworld.teen)
    response = client.post(f"{MANAGE}/signups/{tomorrow.pk}/checkin/", {"at": "09:00"}, follow=True)
    assert "has not come yet" in response.content.decode()
    response = client.post(f"{MANAGE}/signups/{tomorrow.pk}/checkin/", {"at": "9h"}, follow=True)
    assert "for example 09:05" in response.content.decode()
    tomorrow.refresh_from_db()
    assert tomorrow.checked_in_at is None


def test_service_refusals_are_shown_on_the_roster(vworld, login):
    too_early = signup(vworld.shift, vworld.adult)
    response = english(login(vworld.organiser)).post(f"{MANAGE}/signups/{too_early.pk}/checkin/", follow=True)
    assert response.status_code == 200 and "Check-in opens an hour before" in response.content.decode()


def test_auto_closed_check_outs_are_marked(vworld, login):
    yesterday = Shift.objects.create(
        activity=vworld.activity, role="", starts_at=vworld.at(-1, 9), ends_at=vworld.at(-1, 12), capacity=3
    )
    forgot = signup(yesterday, vworld.adult, checked_in_at=vworld.at(-1, 9), checkin_method="qr")
    assert services.missed_checkouts_close(now=timezone.now()) == 1
    forgot.refresh_from_db()
    assert forgot.auto_closed
    page = english(login(vworld.organiser)).get(f"{MANAGE}/activities/{vworld.activity.pk}/").content.decode()
    assert "auto-closed" in page and "flagged" in page


def test_the_roster_and_the_queue_close_missed_checkouts_as_they_load(vworld, login):
    # No scheduler on the embedded default: the pages an organiser opens after a shift close its check-ins.
    yesterday = Shift.objects.create(
        activity=vworld.activity, role="", starts_at=vworld.at(-1, 9), ends_at=vworld.at(-1, 12), capacity=3
    )
    on_roster = signup(yesterday, vworld.adult, checked_in_at=vworld.at(-1, 9), checkin_method="qr")
    page = english(login(vworld.organiser)).get(f"{MANAGE}/activities/{vworld.activity.pk}/").content.decode()
    on_roster.refresh_from_db()
    assert on_roster.auto_closed and on_roster.checked_out_at == vworld.at(-1, 12)
    assert "auto-closed" in page and "flagged" in page

    in_queue = signup(yesterday, vworld.teen, checked_in_at=vworld.at(-1, 10), checkin_method="qr")
    # Another region's organiser opening their own queue closes nothing of ours.
    login(vworld.outsider).get(f"{MANAGE}/hours/")
    in_queue.refresh_from_db()
    assert in_queue.is_checked_in
    page = english(login(vworld.organiser)).get(f"{MANAGE}/hours/").content.decode()
    in_queue.refresh_from_db()
    assert in_queue.auto_closed
    record = HourRecord.objects.get(signup=in_queue)
    assert (record.minutes, record.flag_reason, record.status) == (120, "missed_checkout", "pending")
    assert "missed check-out, closed at the shift" in page


def test_outsider_cannot_tick_in_or_out(vworld, login):
    shift = shift_now(vworld)
    target = signup(shift, vworld.adult)
    for who in (vworld.outsider, vworld.world.student, vworld.world.volunteer):
        assert login(who).post(f"{MANAGE}/signups/{target.pk}/checkin/").status_code == 404
    assert login(None).post(f"{MANAGE}/signups/{target.pk}/checkin/").status_code == 302
    target.refresh_from_db()
    assert target.checked_in_at is None
    assert login(vworld.organiser).get(f"{MANAGE}/signups/{target.pk}/checkin/").status_code == 405


# --- the QR code, the kiosk, the sheet --------------------------------------------------------------------


def test_qr_page_shows_a_working_code(vworld, login):
    page = login(vworld.organiser).get(f"{MANAGE}/activities/{vworld.activity.pk}/qr/").content.decode()
    assert "<svg" in page and "volunteers-qr.js" in page
    token = re.search(rf"/volunteers/checkin/{vworld.activity.pk}/([A-Z2-7]+)/", page).group(1)
    assert checkin_codes.token_valid(
        vworld.activity.checkin_secret, vworld.activity.pk, token, timezone.now()
    )


def test_qr_json_returns_a_token_the_check_in_accepts(vworld, login):
    response = login(vworld.coordinator).get(f"{MANAGE}/activities/{vworld.activity.pk}/qr.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = response.json()
    assert checkin_codes.token_valid(
        vworld.activity.checkin_secret, vworld.activity.pk, data["token"], timezone.now()
    )
    assert data["url"].endswith(f"/volunteers/checkin/{vworld.activity.pk}/{data['token']}/")
    assert data["svg"].startswith("<svg") and data["valid_label"]
    valid_from = dt.datetime.fromisoformat(data["valid_from"])
    assert dt.datetime.fromisoformat(data["valid_until"]) - valid_from == dt.timedelta(minutes=2)


def test_qr_json_token_checks_a_volunteer_in(vworld, login):
    shift = shift_now(vworld)
    mine = signup(shift, vworld.adult)
    token = login(vworld.organiser).get(f"{MANAGE}/activities/{vworld.activity.pk}/qr.json").json()["token"]
    services.checkin_by_code(
        activity=vworld.activity, volunteer=vworld.adult, token=token, now=timezone.now()
    )
    mine.refresh_from_db()
    assert mine.checked_in_at is not None and mine.checkin_method == Signup.CheckinMethod.QR


def test_kiosk_is_the_code_alone(vworld, login):
    page = login(vworld.organiser).get(f"{MANAGE}/activities/{vworld.activity.pk}/kiosk/").content.decode()
    assert "<svg" in page and vworld.activity.title in page
    assert "main-nav" not in page and "site-header" not in page


def test_sign_in_sheet_lists_confirmed_volunteers_without_full_names(vworld, login):
    signup(vworld.shift, vworld.adult)
    signup(vworld.shift, vworld.teen, status=Signup.Status.WAITLISTED)
    page = login(vworld.organiser).get(f"{MANAGE}/activities/{vworld.activity.pk}/sheet/").content.decode()
    assert vworld.adult.volunteer_number in page and "张*" in page
    assert "张伟" not in page  # the sheet lies on a table at the door
    assert vworld.teen.volunteer_number not in page  # waiting list
    assert page.count('class="vs-sheet"') == 2  # one per shift


# --- the hour queue ---------------------------------------------------------------------------------------


def pending_records(vworld, count=3, volunteer=None):
    return [
        vworld.make_record(volunteer=volunteer or vworld.adult, started_at=vworld.at(-2 - n, 9), minutes=120)
        for n in range(count)
    ]


def test_queue_lists_the_records_an_organiser_may_decide(vworld, login):
    records = pending_records(vworld, 2)
    other_campaign = factories.campaign(region=vworld.world.county_b)
    elsewhere = Activity.objects.create(
        campaign=other_campaign,
        title="开福区活动",
        address="开福区",
        region=vworld.world.county_b,
        signup_opens_at=vworld.now,
        signup_closes_at=vworld.at(3, 8),
    )
    stranger = vworld.make_profile(username="kaifu", region=vworld.world.county_b, real_name="赵六")
    vworld.make_record(volunteer=stranger, started_at=vworld.at(-2, 9), minutes=60, activity=elsewhere)
    page = login(vworld.organiser).get(f"{MANAGE}/hours/").content.decode()
    assert page.count('name="records"') == 2 and "张伟" in page and "赵六" not in page
    assert all(f'value="{record.pk}"' in page for record in records)
    outsider = login(vworld.outsider).get(f"{MANAGE}/hours/").content.decode()
    assert "张伟" not in outsider and "赵六" in outsider


def test_queue_filters(vworld, login):
    old, recent = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-20, 9), minutes=60), None
    recent = vworld.make_record(volunteer=vworld.teen, started_at=vworld.at(-2, 9), minutes=60)
    HourRecord.objects.filter(pk=old.pk).update(flagged=True, flag_reason=HourRecord.FlagReason.BACKFILL)
    client = login(vworld.organiser)

    def shown(**params):
        page = client.get(f"{MANAGE}/hours/", params).content.decode()
        return {pk for pk in (old.pk, recent.pk) if f'id="rec-{pk}"' in page}

    assert shown() == {old.pk, recent.pk}
    assert shown(flagged="on") == {old.pk}
    assert shown(number=vworld.teen.volunteer_number.lower()) == {recent.pk}
    assert shown(date_from=(vworld.today - dt.timedelta(days=5)).isoformat()) == {recent.pk}
    assert shown(date_to=(vworld.today - dt.timedelta(days=10)).isoformat()) == {old.pk}
    assert shown(activity=vworld.activity.pk, campaign=vworld.campaign.pk) == {old.pk, recent.pk}
    assert shown(status="approved") == set()
    # A nonsense filter is an error on the form, never a 500.
    assert client.get(f"{MANAGE}/hours/", {"date_from": "yesterday", "activity": "x"}).status_code == 200


def test_queue_query_budget(vworld, login, django_assert_max_num_queries):
    volunteers = [vworld.make_profile(username=f"q{n}", region=vworld.world.county_a) for n in range(6)]
    for volunteer in volunteers:
        pending_records(vworld, 5, volunteer=volunteer)
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 14), minutes=90)
    services.hour_record_correct(
        record=record,
        started_at=record.started_at,
        ended_at=record.ended_at + dt.timedelta(minutes=30),
        content="更正",
        requested_by=vworld.adult.user,
        now=timezone.now(),
    )
    client = login(vworld.organiser)
    with django_assert_max_num_queries(12):
        response = client.get(f"{MANAGE}/hours/")
    assert response.status_code == 200 and response.content.decode().count('name="records"') == 31


def test_bulk_approve(vworld, login):
    records = pending_records(vworld, 3)
    response = login(vworld.organiser).post(
        f"{MANAGE}/hours/approve/",
        {"records": [r.pk for r in records[:2]], "next": f"{MANAGE}/hours/?status=pending"},
    )
    assert response.status_code == 302 and response["Location"] == f"{MANAGE}/hours/?status=pending"
    statuses = [HourRecord.objects.get(pk=r.pk).status for r in records]
    assert statuses == ["approved", "approved", "pending"]
    vworld.adult.refresh_from_db()
    assert vworld.adult.approved_minutes == 240


def test_outsider_cannot_approve_or_reject(vworld, login):
    records = pending_records(vworld, 2)
    for who in (vworld.outsider, vworld.world.teacher_a, vworld.world.volunteer):
        login(who).post(f"{MANAGE}/hours/approve/", {"records": [r.pk for r in records]})
        login(who).post(f"{MANAGE}/hours/approve/", {"only": records[0].pk})
        login(who).post(f"{MANAGE}/hours/{records[0].pk}/reject/", {"reason": "不对"})
    assert login(vworld.outsider).get(f"{MANAGE}/hours/{records[0].pk}/").status_code == 404
    assert login(None).post(f"{MANAGE}/hours/approve/", {"only": records[0].pk}).status_code == 302
    assert {HourRecord.objects.get(pk=r.pk).status for r in records} == {"pending"}


def test_reject_needs_a_reason(vworld, login):
    (record,) = pending_records(vworld, 1)
    client = english(login(vworld.organiser))
    assert client.get(f"{MANAGE}/hours/{record.pk}/").status_code == 200
    response = client.post(f"{MANAGE}/hours/{record.pk}/reject/", {"reason": "   "})
    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    record.refresh_from_db()
    assert record.status == HourRecord.Status.PENDING
    response = client.post(f"{MANAGE}/hours/{record.pk}/reject/", {"reason": "当天活动取消"})
    record.refresh_from_db()
    assert response.status_code == 302
    assert record.status == HourRecord.Status.REJECTED and record.reject_reason == "当天活动取消"
    assert record.decided_by == vworld.organiser


def test_campaign_level_record_is_shown_to_the_coordinator_but_not_decidable(vworld, login):
    long_day = vworld.make_record(
        volunteer=vworld.adult,
        started_at=vworld.at(-2, 8),
        minutes=600,
        approver_level=HourRecord.ApproverLevel.CAMPAIGN,
    )
    short = vworld.make_record(volunteer=vworld.teen, started_at=vworld.at(-2, 9), minutes=60)
    coordinator = english(login(vworld.coordinator))
    page = coordinator.get(f"{MANAGE}/hours/").content.decode()
    assert f'id="rec-{short.pk}"' in page and f'id="rec-{long_day.pk}"' not in page
    assert "张伟" in page and "Waiting for the campaign's organiser" in page
    coordinator.post(f"{MANAGE}/hours/approve/", {"records": [long_day.pk, short.pk]})
    assert coordinator.get(f"{MANAGE}/hours/{long_day.pk}/").status_code == 403
    coordinator.post(f"{MANAGE}/hours/{long_day.pk}/reject/", {"reason": "太长"})
    long_day.refresh_from_db()
    short.refresh_from_db()
    assert long_day.status == HourRecord.Status.PENDING and short.status == HourRecord.Status.APPROVED
    # The campaign's (and region's) organiser decides it.
    organiser = login(vworld.organiser)
    assert f'id="rec-{long_day.pk}"' in organiser.get(f"{MANAGE}/hours/").content.decode()
    organiser.post(f"{MANAGE}/hours/approve/", {"only": long_day.pk})
    long_day.refresh_from_db()
    assert long_day.status == HourRecord.Status.APPROVED and long_day.decided_by == vworld.organiser


def test_approved_records_have_no_controls_and_corrections_show_before_and_after(vworld, login):
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    correction = services.hour_record_correct(
        record=record,
        started_at=record.started_at,
        ended_at=record.ended_at + dt.timedelta(minutes=60),
        content="发放宣传资料并讲解",
        requested_by=vworld.adult.user,
        now=timezone.now(),
        reason="漏记了一小时",
    )
    client = english(login(vworld.organiser))
    approved = client.get(f"{MANAGE}/hours/", {"status": "approved"}).content.decode()
    assert f'id="rec-{record.pk}"' not in approved and f"/hours/{record.pk}/reject/" not in approved
    pending = client.get(f"{MANAGE}/hours/").content.decode()
    assert f'id="rec-{correction.pk}"' in pending
    assert "Before" in pending and "After" in pending and "漏记了一小时" in pending
    assert "2.0 h" in pending and "3.0 h" in pending
    detail = client.get(f"{MANAGE}/hours/{correction.pk}/").content.decode()
    assert "vm-changed" in detail and "发放宣传资料并讲解" in detail
    detail_old = client.get(f"{MANAGE}/hours/{record.pk}/").content.decode()
    assert f"/hours/{record.pk}/reject/" not in detail_old


def test_own_record_is_left_to_another_organiser(vworld, login):
    own = vworld.make_profile(user=vworld.organiser, region=vworld.world.county_a)
    record = vworld.make_record(volunteer=own, started_at=vworld.at(-2, 9), minutes=60)
    client = login(vworld.organiser)
    page = client.get(f"{MANAGE}/hours/").content.decode()
    assert f'id="rec-{record.pk}"' not in page
    client.post(f"{MANAGE}/hours/approve/", {"only": record.pk})
    record.refresh_from_db()
    assert record.status == HourRecord.Status.PENDING


# --- exports ----------------------------------------------------------------------------------------------


def test_xlsx_export_has_the_measures_columns(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    pending_records(vworld, 1, volunteer=vworld.teen)
    client = english(login(vworld.organiser))
    response = client.get(f"{MANAGE}/hours/export/", {"format": "xlsx", "status": ""})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == MEASURES_COLUMNS
    by_name = {row[0]: row for row in rows[1:]}
    adult = by_name["张伟"]
    assert adult[1] == vworld.adult.volunteer_number and adult[2] == vworld.activity.title
    assert adult[6] == 1.5 and adult[9] == "approved" and adult[10]
    assert "organiser_a" in adult[7]
    assert by_name[vworld.teen.real_name][9] == "pending"
    # The filters apply: only the pending one.
    pending_only = client.get(f"{MANAGE}/hours/export/", {"format": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(pending_only.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [vworld.teen.real_name]


def test_csv_export_is_utf8_with_a_bom(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    response = english(login(vworld.organiser)).get(
        f"{MANAGE}/hours/export/", {"format": "csv", "status": "approved"}
    )
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == MEASURES_COLUMNS and rows[1][0] == "张伟" and rows[1][6] == "1.5"


def test_export_holds_only_the_organisers_records(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=90)
    response = login(vworld.outsider).get(f"{MANAGE}/hours/export/", {"format": "csv", "status": ""})
    assert "张伟" not in response.content.decode("utf-8-sig")


# --- backfill ---------------------------------------------------------------------------------------------


def backfill_data(vworld, **fields):
    return {
        "volunteer_number": vworld.adult.volunteer_number,
        "activity": vworld.activity.pk,
        "started_at": local(vworld.at(-4, 9)),
        "ended_at": local(vworld.at(-4, 11, 30)),
        "content": "纸质签到表补录",
        **fields,
    }


def test_backfill_records_a_flagged_pending_record(vworld, login):
    client = login(vworld.organiser)
    assert client.get(f"{MANAGE}/hours/new/").status_code == 200
    response = client.post(
        f"{MANAGE}/hours/new/",
        backfill_data(vworld, volunteer_number=" vt" + vworld.adult.volunteer_number[2:]),
    )
    record = HourRecord.objects.get(volunteer=vworld.adult)
    assert response.status_code == 302 and response["Location"] == f"{MANAGE}/hours/{record.pk}/"
    assert record.minutes == 150 and record.flagged and record.flag_reason == HourRecord.FlagReason.BACKFILL
    assert record.recorded_by == vworld.organiser and record.status == HourRecord.Status.PENDING


def test_backfill_errors_are_clear(vworld, login):
    client = english(login(vworld.organiser))
    unknown = client.post(f"{MANAGE}/hours/new/", backfill_data(vworld, volunteer_number="V000"))
    assert "No volunteer with the number V000" in unknown.content.decode()
    future = client.post(
        f"{MANAGE}/hours/new/",
        backfill_data(vworld, started_at=local(vworld.at(2, 9)), ended_at=local(vworld.at(2, 10))),
    )
    assert future.status_code == 200 and "once the service is over" in future.content.decode()
    backwards = client.post(f"{MANAGE}/hours/new/", backfill_data(vworld, ended_at=local(vworld.at(-4, 8))))
    assert "must end after it starts" in backwards.content.decode()
    assert not HourRecord.objects.exists()


def test_outsider_cannot_backfill_into_another_regions_activity(vworld, login):
    response = login(vworld.outsider).post(f"{MANAGE}/hours/new/", backfill_data(vworld))
    assert response.status_code == 200 and not HourRecord.objects.exists()


# --- totals -----------------------------------------------------------------------------------------------


def test_totals_of_the_region(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=60)
    pending_records(vworld, 1, volunteer=vworld.teen)
    client = login(vworld.organiser)
    page = client.get(f"{MANAGE}/totals/").content.decode()
    assert "<strong>3.0</strong>" in page  # approved hours
    assert vworld.world.school_a.name in page and vworld.team.name in page
    assert vworld.activity.title in page and vworld.campaign.title in page
    assert "小雨" in page and vworld.child.real_name not in page  # leaderboard: nicknames only
    assert "张伟" not in page
    province = login(vworld.world.organiser_province)
    top = province.get(f"{MANAGE}/totals/").content.decode()
    assert "长沙市" in top and f"?region={vworld.world.city.pk}" in top and "<strong>3.0</strong>" in top
    city = province.get(f"{MANAGE}/totals/", {"region": vworld.world.city.pk}).content.decode()
    assert "岳麓区" in city and f"?region={vworld.world.county_a.pk}" in city
    drilled = province.get(f"{MANAGE}/totals/", {"region": vworld.world.county_a.pk})
    assert drilled.status_code == 200 and "<strong>3.0</strong>" in drilled.content.decode()


def test_totals_of_another_region_are_not_found(vworld, login):
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=120)
    client = login(vworld.outsider)
    assert client.get(f"{MANAGE}/totals/", {"region": vworld.world.county_a.pk}).status_code == 404
    assert "<strong>0.0</strong>" in client.get(f"{MANAGE}/totals/").content.decode()


def test_totals_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(5):
        profile = vworld.make_profile(
            username=f"t{n}", region=vworld.world.county_a, school=vworld.world.school_a
        )
        vworld.approved_record(volunteer=profile, started_at=vworld.at(-3, 9), minutes=60 + n)
    client = login(vworld.world.organiser_province)
    with django_assert_max_num_queries(16):
        assert client.get(f"{MANAGE}/totals/").status_code == 200


def test_totals_show_the_top_rows_from_the_rollups_only(vworld, login, monkeypatch):
    """The breakdowns list the top N by approved hours, say so, and the page never reads the hour records in
    bulk: the one query on them is the count of pending records."""
    second = Activity.objects.create(
        campaign=vworld.campaign,
        title="禁毒知识竞赛",
        address="岳麓区",
        region=vworld.world.county_a,
        signup_opens_at=vworld.now - dt.timedelta(days=3),
        signup_closes_at=vworld.now + dt.timedelta(days=1),
        created_by=vworld.organiser,
    )
    vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=30)
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=90, activity=second)
    monkeypatch.setattr("volunteers.views_organiser.BREAKDOWN_LIMIT", 1)
    client = english(login(vworld.organiser))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"{MANAGE}/totals/").content.decode()
    assert "the top 1 by approved hours" in page
    assert second.title in page and vworld.activity.title not in page
    on_records = [q["sql"] for q in queries if "volunteers_hourrecord" in q["sql"]]
    assert len(on_records) == 1 and "pending" in on_records[0]


# --- volunteers of the region -----------------------------------------------------------------------------


def test_volunteer_register_search_and_consent(vworld, login):
    client = login(vworld.organiser)
    page = client.get(f"{MANAGE}/volunteers/").content.decode()
    assert vworld.adult.volunteer_number in page and vworld.child_no_consent.real_name in page
    found = client.get(f"{MANAGE}/volunteers/", {"q": "张伟"}).content.decode()
    assert vworld.adult.volunteer_number in found and vworld.teen.volunteer_number not in found
    by_number = client.get(f"{MANAGE}/volunteers/", {"q": vworld.teen.volunteer_number}).content.decode()
    assert vworld.teen.real_name in by_number
    needing = client.get(f"{MANAGE}/volunteers/", {"consent": "on"}).content.decode()
    assert vworld.child_no_consent.volunteer_number in needing
    assert vworld.child.volunteer_number not in needing and vworld.adult.volunteer_number not in needing
    response = client.post(f"{MANAGE}/volunteers/{vworld.child_no_consent.pk}/consent/")
    assert response.status_code == 302
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is not None
    assert vworld.child_no_consent.guardian_consent_recorded_by == vworld.organiser


def test_consent_needs_the_guardians_contact(vworld, login):
    nameless = vworld.make_profile(username="nameless", age=11, region=vworld.world.county_a)
    response = english(login(vworld.organiser)).post(
        f"{MANAGE}/volunteers/{nameless.pk}/consent/", follow=True
    )
    assert "guardian's name and phone number are needed" in response.content.decode().replace("&#x27;", "'")
    nameless.refresh_from_db()
    assert nameless.guardian_consent_at is None


def test_outsider_cannot_see_or_vouch_for_another_regions_volunteers(vworld, login):
    client = login(vworld.outsider)
    page = client.get(f"{MANAGE}/volunteers/").content.decode()
    assert vworld.adult.volunteer_number not in page and vworld.child_no_consent.real_name not in page
    assert client.post(f"{MANAGE}/volunteers/{vworld.child_no_consent.pk}/consent/").status_code == 404
    assert (
        login(vworld.coordinator)
        .post(f"{MANAGE}/volunteers/{vworld.child_no_consent.pk}/consent/")
        .status_code
        == 403
    )
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None


def test_volunteer_list_query_budget(vworld, login, django_assert_max_num_queries):
    for n in range(20):
        vworld.make_profile(username=f"v{n}", region=vworld.world.county_a, age=10 + n)
    client = login(vworld.organiser)
    with django_assert_max_num_queries(8):
        assert client.get(f"{MANAGE}/volunteers/").status_code == 200


# --- home -------------------------------------------------------------------------------------------------


def test_organiser_home_links_the_volunteer_pages(vworld, login):
    page = login(vworld.organiser).get("/").content.decode()
    assert f"{MANAGE}/activities/" in page and f"{MANAGE}/hours/" in page and f"{MANAGE}/totals/" in page


def test_sign_in_sheet_for_one_shift_or_all(vworld, login):
    past = Shift.objects.create(
        activity=vworld.activity,
        role="往期",
        starts_at=vworld.at(-2, 9),
        ends_at=vworld.at(-2, 12),
        capacity=3,
    )
    client = login(vworld.organiser)
    url = f"{MANAGE}/activities/{vworld.activity.pk}/sheet/"
    assert client.get(url).content.decode().count('class="vs-sheet"') == 2  # shifts not over yet
    assert client.get(url, {"all": "1"}).content.decode().count('class="vs-sheet"') == 3
    one = client.get(url, {"shift": past.pk}).content.decode()
    assert one.count('class="vs-sheet"') == 1 and "往期" in one
    assert client.get(url, {"shift": 999999}).status_code == 404
