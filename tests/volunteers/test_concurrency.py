"""Twenty people sign up for a five-place shift at the same moment: exactly five get a place (PostgreSQL only;
SQLite serialises writers anyway). Run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/qk_<name>."""

import threading

import pytest
from django.db import close_old_connections, connection

from volunteers import services
from volunteers.models import Shift, Signup

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks")


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_signups_fill_five_places_exactly(vworld):
    shift = Shift.objects.create(
        activity=vworld.activity,
        role="签到",
        starts_at=vworld.at(1, 18),
        ends_at=vworld.at(1, 20),
        capacity=5,
    )
    volunteers = [vworld.make_profile(region=vworld.world.county_a) for _ in range(20)]
    barrier = threading.Barrier(len(volunteers))
    errors: list[BaseException] = []

    def sign_up(volunteer):
        try:
            barrier.wait(timeout=30)
            services.shift_signup(shift=shift, volunteer=volunteer, now=vworld.now)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(volunteer,)) for volunteer in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    signups = Signup.objects.filter(shift=shift)
    assert signups.filter(status="confirmed").count() == 5
    assert signups.filter(status="waitlisted").count() == 15
    # Nobody got two places.
    assert signups.values("volunteer").distinct().count() == 20


@pytest.mark.django_db(transaction=True)
def test_the_same_volunteer_signing_up_twice_at_once_gets_one_place(vworld):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def sign_up():
        try:
            barrier.wait(timeout=30)
            services.shift_signup(shift=vworld.shift_big, volunteer=vworld.adult, now=vworld.now)
            outcomes.append("ok")
        except services.VolunteerError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already_signed_up"] * 3 + ["ok"]
    assert Signup.objects.filter(shift=vworld.shift_big, volunteer=vworld.adult).count() == 1
