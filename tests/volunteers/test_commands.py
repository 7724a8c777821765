"""The volunteers' management commands and their part of the demo."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from volunteers import checkin_codes, services
from volunteers.models import Certificate, HourRecord, Signup, VolunteerProfile


def run(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue().strip()


def test_close_missed_checkouts_prints_how_many_it_closed(vworld, monkeypatch):
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    at = vworld.shift.starts_at
    token = checkin_codes.current_token(vworld.activity.checkin_secret, vworld.activity.pk, at)
    services.checkin_by_code(activity=vworld.activity, volunteer=vworld.adult, token=token, now=at)

    assert run("close_missed_checkouts") == "0 check-ins closed"  # the shift is still to come

    later = vworld.shift.ends_at + dt.timedelta(minutes=30)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert run("close_missed_checkouts") == "1 check-in closed"
    assert run("close_missed_checkouts") == "0 check-ins closed"
    record = HourRecord.objects.get()
    assert (record.flag_reason, record.minutes) == ("missed_checkout", 180)
    assert Signup.objects.get().auto_closed


def test_send_shift_reminders_sends_each_once(vworld, monkeypatch):
    vworld.adult.user.email = "adult@example.com"
    vworld.adult.user.save()
    services.shift_signup(shift=vworld.shift, volunteer=vworld.adult, now=vworld.now)
    monkeypatch.setattr(timezone, "now", lambda: vworld.shift.starts_at - dt.timedelta(hours=30))

    assert run("send_shift_reminders") == "0 reminders sent"
    assert run("send_shift_reminders", "--hours", "36") == "1 reminder sent"
    assert run("send_shift_reminders", "--hours", "36") == "0 reminders sent"
    assert len(mail.outbox) == 1
    with pytest.raises(CommandError):
        run("send_shift_reminders", "--hours", "0")


@pytest.mark.django_db
def test_the_demo_volunteer_has_hours_a_team_and_a_certificate(settings):
    settings.DEBUG = True
    call_command("loaddemo", stdout=StringIO())
    counts = (HourRecord.objects.count(), Certificate.objects.count(), Signup.objects.count())
    call_command("loaddemo", stdout=StringIO())
    assert counts == (HourRecord.objects.count(), Certificate.objects.count(), Signup.objects.count())

    volunteer = VolunteerProfile.objects.get(user__username="volunteer")
    assert volunteer.volunteer_number.startswith("V430104")
    assert volunteer.memberships.get().is_leader
    records = HourRecord.objects.filter(volunteer=volunteer)
    assert records.filter(status="approved").count() >= 1
    assert records.filter(status="pending").count() == 1
    assert volunteer.approved_minutes == sum(r.minutes for r in records.filter(status="approved"))
    certificate = volunteer.certificates.get()
    assert certificate.minutes == volunteer.approved_minutes
    assert volunteer.signups.filter(status="confirmed", shift__starts_at__gt=timezone.now()).count() == 2
