"""Security review of the volunteers app (v9): other people's objects, privileges, injection, privacy.

Each finding has a test that failed before its fix; the rest pin down gates that were already right, so that
a later change cannot quietly open them.
"""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from volunteers import services
from volunteers.models import Certificate, HourRecord, Signup, Team, TeamMembership, VolunteerProfile
from volunteers.services import VolunteerError


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- finding 1: a team leader harvested real names by adding volunteer numbers ------------------------------


def test_a_leader_cannot_add_a_stranger_by_number_alone(vworld, login):
    """Volunteer numbers run in sequence (V + region + 000001…), and a leader sees members' real names: adding
    by number alone let anyone who created a team list every volunteer's real name and age group."""
    stranger = vworld.make_profile(
        username="stranger", age=12, region=vworld.world.county_b, real_name="赵小雨"
    )
    client = login(vworld.leader.user)
    add = reverse("volunteer_team_member_add", args=[vworld.team.pk])
    response = client.post(add, {"volunteer_number": stranger.volunteer_number})
    assert not TeamMembership.objects.filter(team=vworld.team, volunteer=stranger).exists()
    wrong = client.post(add, {"volunteer_number": stranger.volunteer_number, "real_name": "赵小"})
    assert not TeamMembership.objects.filter(team=vworld.team, volunteer=stranger).exists()
    unknown = client.post(add, {"volunteer_number": "V430105999999", "real_name": "赵小"})
    # A wrong name and an unknown number read the same: the form is no oracle for names.
    said_wrong, said_unknown = messages_of(wrong)[-1], messages_of(unknown)[-1]
    assert said_wrong == said_unknown.replace("V430105999999", stranger.volunteer_number)
    page = client.get(reverse("volunteer_team_detail", args=[vworld.team.pk])).content.decode()
    assert "赵小雨" not in page
    assert response.status_code == 302


def test_a_leader_adds_a_member_with_number_and_real_name(vworld, login):
    client = login(vworld.leader.user)
    response = client.post(
        reverse("volunteer_team_member_add", args=[vworld.team.pk]),
        {"volunteer_number": vworld.adult.volunteer_number.lower(), "real_name": " 张伟 "},
    )
    assert response["Location"] == reverse("volunteer_team_detail", args=[vworld.team.pk])
    assert TeamMembership.objects.filter(team=vworld.team, volunteer=vworld.adult).exists()


# --- finding 2: a minor leading a team vouched for a child's guardian consent ------------------------------


def _team_led_by(profile: VolunteerProfile, *members: VolunteerProfile) -> Team:
    team = Team.objects.create(name="少年队", kind=Team.Kind.COMMUNITY, region=profile.region)
    TeamMembership.objects.create(team=team, volunteer=profile, is_leader=True)
    for member in members:
        TeamMembership.objects.create(team=team, volunteer=member)
    return team


def test_a_minor_team_leader_cannot_record_a_guardians_consent(vworld, login):
    team = _team_led_by(vworld.teen, vworld.child_no_consent)
    with pytest.raises(VolunteerError) as refused:
        services.guardian_consent_record(
            volunteer=vworld.child_no_consent, recorded_by=vworld.teen.user, now=timezone.now()
        )
    assert refused.value.code == "consent_needs_adult"
    response = login(vworld.teen.user).post(
        reverse("volunteer_team_guardian_consent", args=[team.pk, vworld.child_no_consent.pk]), {"seen": "1"}
    )
    assert response.status_code == 302 and messages_of(response)
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None


def test_an_adult_team_leader_still_records_consent(vworld):
    services.guardian_consent_record(
        volunteer=vworld.child_no_consent, recorded_by=vworld.leader.user, now=timezone.now()
    )
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_recorded_by == vworld.leader.user


# --- finding 3: rejecting a campaign-level record was left to the view's gate ------------------------------


def test_an_activity_organiser_cannot_reject_a_campaign_level_record_in_the_service(vworld):
    record = vworld.make_record(
        volunteer=vworld.adult,
        started_at=vworld.at(-1, 8),
        minutes=10 * 60,
        approver_level=HourRecord.ApproverLevel.CAMPAIGN,
    )
    with pytest.raises(PermissionDenied):
        services.hour_record_reject(
            record=record, approver=vworld.coordinator, reason="不对", now=timezone.now()
        )
    record.refresh_from_db()
    assert record.status == HourRecord.Status.PENDING
    services.hour_record_reject(record=record, approver=vworld.organiser, reason="不对", now=timezone.now())
    record.refresh_from_db()
    assert record.status == HourRecord.Status.REJECTED


# --- finding 4: the public verification page showed the holder's full real name ----------------------------


def test_verification_page_masks_the_holders_name(vworld, login):
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=90)
    certificate = services.certificate_issue(
        volunteer=vworld.child, issued_by=vworld.child.user, now=timezone.now()
    )
    assert certificate.holder_name == vworld.child.real_name
    response = login(None).get(reverse("volunteer_certificate_verify", args=[certificate.verification_token]))
    content = response.content.decode()
    assert response.status_code == 200 and certificate.number in content
    real = vworld.child.real_name
    assert real not in content
    assert f"{real[0]}{'*' * (len(real) - 1)}" in content


# --- gates that held: other people's objects ---------------------------------------------------------------


def test_another_volunteers_signup_record_and_certificate_are_not_found(vworld, login):
    signup = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=timezone.now())
    record = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=60)
    certificate = services.certificate_issue(
        volunteer=vworld.adult, issued_by=vworld.adult.user, now=timezone.now()
    )
    other = login(vworld.teen.user)
    assert other.post(reverse("volunteer_signup_cancel", args=[signup.pk])).status_code == 404
    assert other.post(reverse("volunteer_signup_checkout", args=[signup.pk])).status_code == 404
    assert other.get(reverse("volunteer_record_correct", args=[record.pk])).status_code == 404
    assert other.post(reverse("volunteer_record_correct", args=[record.pk]), {}).status_code == 404
    assert other.get(reverse("volunteer_certificate_pdf", args=[certificate.number])).status_code == 404
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CONFIRMED


def test_another_regions_organiser_reaches_nothing(vworld, login):
    signup = services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=timezone.now())
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=60)
    client = login(vworld.outsider)
    pk = vworld.activity.pk
    for name in (
        "volunteer_manage_activity",
        "volunteer_manage_activity_edit",
        "volunteer_manage_qr",
        "volunteer_manage_qr_json",
        "volunteer_manage_kiosk",
        "volunteer_manage_sheet",
    ):
        # The activity is published, so it is seen (403) but never organised (404 for what is not seen).
        assert client.get(reverse(name, args=[pk])).status_code in (403, 404), name
    assert client.post(reverse("volunteer_manage_checkin", args=[signup.pk])).status_code == 404
    assert client.post(reverse("volunteer_manage_checkout", args=[signup.pk])).status_code == 404
    assert client.get(reverse("volunteer_manage_record", args=[record.pk])).status_code == 404
    assert (
        client.post(reverse("volunteer_manage_reject", args=[record.pk]), {"reason": "x"}).status_code == 404
    )
    assert (
        client.post(reverse("volunteer_manage_consent", args=[vworld.child_no_consent.pk])).status_code == 404
    )
    client.post(reverse("volunteer_manage_hours_approve"), {"records": [record.pk]})
    export = client.get(reverse("volunteer_manage_hours_export") + "?format=csv&status=")
    assert vworld.adult.real_name not in export.content.decode("utf-8-sig")
    record.refresh_from_db()
    assert record.status == HourRecord.Status.PENDING
    assert client.post(reverse("volunteer_team_member_add", args=[vworld.team.pk])).status_code == 404


def test_crafted_bulk_approval_leaves_campaign_level_and_own_records_pending(vworld, login):
    escalated = vworld.make_record(
        volunteer=vworld.adult,
        started_at=vworld.at(-1, 8),
        minutes=10 * 60,
        approver_level=HourRecord.ApproverLevel.CAMPAIGN,
    )
    # The coordinator volunteers too: their own record sits in their own activity's queue.
    own_profile = vworld.make_profile(user=vworld.coordinator, age=40, region=vworld.world.county_a)
    own = vworld.make_record(volunteer=own_profile, started_at=vworld.at(-2, 9), minutes=60)
    fine = vworld.make_record(volunteer=vworld.teen, started_at=vworld.at(-2, 9), minutes=60)
    login(vworld.coordinator).post(
        reverse("volunteer_manage_hours_approve"), {"records": [escalated.pk, own.pk, fine.pk]}
    )
    statuses = dict(HourRecord.objects.values_list("pk", "status"))
    assert statuses[escalated.pk] == statuses[own.pk] == HourRecord.Status.PENDING
    assert statuses[fine.pk] == HourRecord.Status.APPROVED
    login(vworld.coordinator).post(reverse("volunteer_manage_hours_approve"), {"only": escalated.pk})
    assert HourRecord.objects.get(pk=escalated.pk).status == HourRecord.Status.PENDING


def test_a_member_who_does_not_lead_cannot_act_for_the_team(vworld, login):
    client = login(vworld.child.user)
    consent = reverse("volunteer_team_guardian_consent", args=[vworld.team.pk, vworld.child_no_consent.pk])
    assert client.post(consent, {"seen": "1"}).status_code == 403
    remove = reverse("volunteer_team_member_remove", args=[vworld.team.pk, vworld.child_no_consent.pk])
    assert client.post(remove).status_code == 403
    vworld.child_no_consent.refresh_from_db()
    assert vworld.child_no_consent.guardian_consent_at is None


# --- injection, redirects, CSRF ----------------------------------------------------------------------------


def test_exports_defuse_formulas(vworld, login):
    vworld.make_record(
        volunteer=vworld.adult,
        started_at=vworld.at(-1, 9),
        minutes=60,
        content='=HYPERLINK("http://evil.example","x")',
    )
    VolunteerProfile.objects.filter(pk=vworld.adult.pk).update(real_name="+1+cmd|' /C calc'!A0")
    client = login(vworld.organiser)
    text = client.get(reverse("volunteer_manage_hours_export") + "?format=csv").content.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells and "'+1+cmd|' /C calc'!A0" in cells
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse("volunteer_manage_hours_export") + "?format=xlsx").content)
    )
    for row in workbook.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    mine = login(vworld.adult.user).get(reverse("volunteer_records_export") + "?format=csv")
    assert "\r\n=HYPERLINK" not in mine.content.decode(
        "utf-8-sig"
    ) and ",=HYPERLINK" not in mine.content.decode("utf-8-sig")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_never_leaves_the_site(vworld, login, target):
    signup = services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=timezone.now())
    response = login(vworld.adult.user).post(
        reverse("volunteer_signup_cancel", args=[signup.pk]), {"next": target}
    )
    assert response["Location"] == reverse("volunteer_me")
    response = login(vworld.organiser).post(reverse("volunteer_manage_hours_approve"), {"next": target})
    assert response["Location"] == reverse("volunteer_manage_hours")
    registered = login(vworld.adult.user).get(reverse("volunteer_register") + f"?next={target}")
    assert registered["Location"] == reverse("volunteer_profile_edit")


def test_state_changing_posts_need_the_csrf_token(vworld):
    signup = services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=timezone.now())
    client = Client(enforce_csrf_checks=True)
    client.force_login(vworld.adult.user)
    assert client.post(reverse("volunteer_signup_cancel", args=[signup.pk])).status_code == 403
    assert client.post(reverse("volunteer_certificate_issue")).status_code == 403
    organiser = Client(enforce_csrf_checks=True)
    organiser.force_login(vworld.organiser)
    assert organiser.post(reverse("volunteer_manage_checkin", args=[signup.pk])).status_code == 403
    signup.refresh_from_db()
    assert signup.status == Signup.Status.CONFIRMED and signup.checked_in_at is None
    assert not Certificate.objects.exists()


def test_get_on_post_only_endpoints_changes_nothing(vworld, login):
    signup = services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=timezone.now())
    client = login(vworld.adult.user)
    assert client.get(reverse("volunteer_signup_cancel", args=[signup.pk])).status_code == 405
    assert client.get(reverse("volunteer_certificate_issue")).status_code == 405
    assert login(vworld.organiser).get(reverse("volunteer_manage_hours_approve")).status_code == 405


# --- privacy: public screens -------------------------------------------------------------------------------


def test_kiosk_and_leaderboard_show_no_real_names(vworld, login):
    vworld.approved_record(volunteer=vworld.child, started_at=vworld.at(-3, 9), minutes=90)
    services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=timezone.now())
    kiosk = login(vworld.organiser).get(reverse("volunteer_manage_kiosk", args=[vworld.activity.pk]))
    assert vworld.adult.real_name not in kiosk.content.decode()
    from volunteers.selectors import leaderboard

    rows = leaderboard(scope=vworld.world.county_a)
    assert [row.name for row in rows] == ["小雨"]


def test_roster_phone_numbers_only_for_the_activitys_own_organisers(vworld, login):
    services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=timezone.now())
    url = reverse("volunteer_manage_activity", args=[vworld.activity.pk])
    assert vworld.adult.phone in login(vworld.coordinator).get(url).content.decode()
    assert vworld.adult.phone not in login(vworld.world.organiser_province).get(url).content.decode()


def test_checkin_code_is_refused_for_another_activity(vworld, login):
    from volunteers import checkin_codes

    other = vworld.activity
    now = timezone.now()
    token = checkin_codes.token_for(other.checkin_secret, other.pk + 1000, checkin_codes.minute_of(now))
    shift = vworld.shift_big
    shift.starts_at, shift.ends_at = now - dt.timedelta(minutes=5), now + dt.timedelta(hours=2)
    shift.save()
    Signup.objects.create(shift=shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    with pytest.raises(VolunteerError) as refused:
        services.checkin_by_code(activity=other, volunteer=vworld.adult, token=token, now=now)
    assert refused.value.code == "bad_code"
