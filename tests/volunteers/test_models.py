"""The database keeps the volunteers' invariants: constraints, and approved records that never change."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from volunteers.models import (
    ApprovedRecordImmutableError,
    HourRecord,
    Shift,
    Signup,
    age_on,
    hour_rules,
)
from volunteers.services import hour_record_approve


def test_age_on_counts_whole_years_and_leap_day_birthdays():
    assert age_on(dt.date(2012, 6, 27), dt.date(2026, 6, 26)) == 13
    assert age_on(dt.date(2012, 6, 26), dt.date(2026, 6, 26)) == 14
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18


def test_hour_rules_come_from_settings(settings):
    settings.VOLUNTEER_HOUR_RULES = {**settings.VOLUNTEER_HOUR_RULES, "activity_max_daily_minutes": 6 * 60}

    assert hour_rules().activity_max_daily_minutes == 360
    assert hour_rules().max_daily_minutes == 720


def test_region_paths_are_copied(vworld):
    assert vworld.adult.region_path == vworld.world.county_a.path
    assert vworld.activity.region_path == vworld.world.county_a.path
    assert vworld.team.region_path == vworld.world.county_a.path


@pytest.mark.parametrize(
    "fields",
    [
        {"capacity": 0},
        {"ends_at_offset": dt.timedelta(0)},
        {"ends_at_offset": -dt.timedelta(hours=1)},
    ],
)
def test_a_shift_needs_a_place_and_must_end_after_it_starts(vworld, fields):
    starts_at = vworld.at(2, 9)
    with pytest.raises(IntegrityError), transaction.atomic():
        Shift.objects.create(
            activity=vworld.activity,
            starts_at=starts_at,
            ends_at=starts_at + fields.get("ends_at_offset", dt.timedelta(hours=2)),
            capacity=fields.get("capacity", 3),
        )


def test_one_live_signup_per_shift_and_volunteer_but_cancelled_ones_may_repeat(vworld):
    first = Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.WAITLISTED)

    first.status = Signup.Status.CANCELLED
    first.save()
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CONFIRMED)
    Signup.objects.create(shift=vworld.shift, volunteer=vworld.adult, status=Signup.Status.CANCELLED)
    # Signing up again after a second cancellation is still one live sign-up.
    assert (
        Signup.objects.filter(shift=vworld.shift, volunteer=vworld.adult).exclude(status="cancelled").count()
        == 1
    )


def test_a_checkout_needs_a_checkin(vworld):
    with pytest.raises(IntegrityError), transaction.atomic():
        Signup.objects.create(
            shift=vworld.shift,
            volunteer=vworld.adult,
            status=Signup.Status.CONFIRMED,
            checked_out_at=vworld.at(1, 12),
        )


def test_a_record_must_last_a_minute_and_belong_to_its_kind(vworld):
    start = vworld.at(-1, 9)
    with pytest.raises(IntegrityError), transaction.atomic():
        HourRecord.objects.create(
            volunteer=vworld.adult,
            activity=vworld.activity,
            started_at=start,
            ended_at=start,
            minutes=0,
            content="x",
            source=HourRecord.Source.BACKFILL,
        )
    # A check-in record names its sign-up; a correction names the record it corrects.
    with pytest.raises(IntegrityError), transaction.atomic():
        vworld.make_record(
            volunteer=vworld.adult, started_at=start, minutes=60, source=HourRecord.Source.CHECKIN
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        vworld.make_record(
            volunteer=vworld.adult, started_at=start, minutes=60, source=HourRecord.Source.CORRECTION
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        vworld.make_record(volunteer=vworld.adult, started_at=start, minutes=60, flagged=True)


def test_one_checkin_makes_one_record(vworld):
    signup = Signup.objects.create(
        shift=vworld.shift,
        volunteer=vworld.adult,
        status=Signup.Status.CONFIRMED,
        checked_in_at=vworld.at(1, 9),
        checked_out_at=vworld.at(1, 12),
    )
    fields = {"source": HourRecord.Source.CHECKIN, "signup": signup}
    vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(1, 9), minutes=180, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(1, 9), minutes=180, **fields)


def test_one_live_correction_per_record(vworld):
    original = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=60)
    fields = {"source": HourRecord.Source.CORRECTION, "corrects": original}
    rejected = vworld.make_record(
        volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=50, status="rejected", **fields
    )
    vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=45, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=40, **fields)
    assert rejected.pk


def test_a_pending_record_may_be_saved_but_an_approved_one_never(vworld):
    record = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=60)
    record.content = "发放宣传资料，讲解禁毒知识"
    record.save()

    approved = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    approved.minutes = 600
    with pytest.raises(ApprovedRecordImmutableError):
        approved.save()
    with pytest.raises(ApprovedRecordImmutableError):
        approved.delete()
    with pytest.raises(ApprovedRecordImmutableError):
        HourRecord.objects.filter(volunteer=vworld.adult).delete()
    assert HourRecord.objects.get(pk=approved.pk).minutes == 60

    # An instance loaded before the approval is refused too: the check reads the row, not the instance.
    stale = HourRecord.objects.get(pk=record.pk)
    hour_record_approve(record=record, approver=vworld.organiser, now=timezone.now())
    stale.content = "changed"
    with pytest.raises(ApprovedRecordImmutableError):
        stale.save()


def test_counting_leaves_out_superseded_and_undecided_records(vworld):
    original = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    pending = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=30)
    correction = vworld.make_record(
        volunteer=vworld.adult,
        started_at=vworld.at(-2, 9),
        minutes=90,
        source=HourRecord.Source.CORRECTION,
        corrects=original,
    )
    assert set(HourRecord.objects.counting()) == {original}
    assert set(HourRecord.objects.live()) == {original, pending, correction}

    hour_record_approve(record=correction, approver=vworld.organiser, now=timezone.now())
    assert set(HourRecord.objects.counting()) == {correction}
    assert set(HourRecord.objects.superseded()) == {original}


def test_the_admin_shows_approved_records_read_only(vworld, login):
    approved = vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-2, 9), minutes=60)
    pending = vworld.make_record(volunteer=vworld.adult, started_at=vworld.at(-3, 9), minutes=60)
    admin = login(vworld.world.admin)

    assert admin.get("/admin/volunteers/hourrecord/").status_code == 200
    page = admin.get(f"/admin/volunteers/hourrecord/{approved.pk}/change/")
    assert page.status_code == 200
    assert b'name="minutes"' not in page.content  # shown, not editable
    assert b'name="minutes"' in admin.get(f"/admin/volunteers/hourrecord/{pending.pk}/change/").content
    assert (
        admin.post(f"/admin/volunteers/hourrecord/{approved.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert HourRecord.objects.filter(pk=approved.pk).exists()
    for model in ("volunteerprofile", "team", "activity", "signup", "certificate", "regionhourtotal"):
        assert admin.get(f"/admin/volunteers/{model}/").status_code == 200, model
