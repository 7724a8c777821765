"""A submitted attempt's statistics are refreshed a moment later, gathered with the process's other
submissions (stats/deferred.py): the submission does no refresh of its own, the background thread does it,
each day's units once, and a failure loses nothing that the next refresh does not take."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from edu.models import User
from quizzes import services
from stats import deferred, rollups
from stats.models import RegionDay, SchoolDay
from tests import factories


def students(world, count: int, *, first: int = 0) -> list[User]:
    return [
        factories.user(username=f"deferred{n}", is_student=True, school_class=world.class_a)
        for n in range(first, first + count)
    ]


def submit_all(quiz, users) -> None:
    now = timezone.now()
    for user in users:
        services.attempt_submit(attempt=services.attempt_start(quiz=quiz, user=user, now=now), now=now)


@pytest.fixture
def fresh(monkeypatch):
    """A queue of this test's own, and whatever it noted dropped afterwards."""
    refreshes = deferred.AttemptRefreshes()
    monkeypatch.setattr(deferred, "attempt_refreshes", refreshes)
    yield refreshes
    with refreshes._lock:
        refreshes._noted.clear()


@pytest.mark.django_db(transaction=True)
def test_submissions_are_refreshed_together_later(world, class_quiz, settings, fresh, monkeypatch):
    settings.STATS_REFRESH_DELAY = 3600  # the thread will not wake during the test: flush() stands in for it
    monkeypatch.setattr(deferred, "_CHUNK", 2)  # the attempts are read two at a time, still refreshed once
    calls = []
    real_refresh = rollups.units_refresh
    monkeypatch.setattr(
        rollups,
        "units_refresh",
        lambda *, day, units: calls.append((day, set(units))) or real_refresh(day=day, units=units),
    )
    with CaptureQueriesContext(connection) as queries:
        submit_all(class_quiz, students(world, 3))
    assert not any("stats_" in query["sql"] for query in queries.captured_queries)
    assert fresh.pending() == 3 and not SchoolDay.objects.exists()

    assert fresh.flush() == 3
    today = timezone.localdate()
    assert calls == [(today, {rollups.Unit(school_id=world.school_a.pk, region_id=world.county_a.pk)})]
    assert SchoolDay.objects.get(day=today, school_id=world.school_a.pk).attempts == 3
    assert RegionDay.objects.get(day=today, region=world.county_a).attempts == 3
    assert fresh.pending() == 0 and fresh.flush() == 0


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_refreshes_and_stops_when_idle(world, class_quiz, settings, fresh):
    settings.STATS_REFRESH_DELAY = 0.05
    submit_all(class_quiz, students(world, 2))
    today = timezone.localdate()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not SchoolDay.objects.filter(day=today, attempts=2).exists():
        time.sleep(0.05)
    assert SchoolDay.objects.get(day=today, school_id=world.school_a.pk).attempts == 2
    while time.monotonic() < deadline and fresh._thread is not None:
        time.sleep(0.05)
    assert fresh._thread is None and fresh.pending() == 0

    submit_all(class_quiz, students(world, 1, first=2))  # a new submission starts a new thread
    while time.monotonic() < deadline and not SchoolDay.objects.filter(day=today, attempts=3).exists():
        time.sleep(0.05)
    assert SchoolDay.objects.get(day=today, school_id=world.school_a.pk).attempts == 3


@pytest.mark.django_db(transaction=True)
def test_a_failed_refresh_is_logged_and_the_next_one_counts_everything(
    world, class_quiz, settings, fresh, monkeypatch, caplog
):
    settings.STATS_REFRESH_DELAY = 3600
    real_refresh = rollups.units_refresh

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rollups, "units_refresh", broken)
    submit_all(class_quiz, students(world, 2))
    assert fresh.flush() == 2
    assert "refreshing after 2 attempts failed" in caplog.text
    assert not SchoolDay.objects.exists()

    monkeypatch.setattr(rollups, "units_refresh", real_refresh)
    submit_all(class_quiz, students(world, 1, first=2))
    fresh.flush()
    # The unit's day is recomputed from the attempts, so the refresh that failed is made good.
    assert SchoolDay.objects.get(day=timezone.localdate(), school_id=world.school_a.pk).attempts == 3


def test_with_no_delay_the_receiver_refreshes_on_commit(
    world, class_quiz, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit_all(class_quiz, students(world, 1))
    assert SchoolDay.objects.get(day=timezone.localdate(), school_id=world.school_a.pk).attempts == 1
    assert deferred.attempt_refreshes.pending() == 0


def test_a_refresh_thread_that_fails_is_replaced(settings, monkeypatch, caplog):
    """Anything escaping the thread (here giving its connections back) must not leave a dead thread
    registered: later notes would never be refreshed."""
    settings.STATS_REFRESH_DELAY = 0.05
    refreshed = []
    monkeypatch.setattr(deferred, "refresh_attempts", refreshed.extend)
    failures = iter([RuntimeError("the pool is closed")])

    def close_all():
        if (failure := next(failures, None)) is not None:
            raise failure

    monkeypatch.setattr(deferred.connections, "close_all", close_all)
    refreshes = deferred.AttemptRefreshes()

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(refreshed) < count:
            time.sleep(0.02)

    refreshes.note(1)
    wait_for(1)
    refreshes.note(2)
    wait_for(2)
    assert refreshed == [1, 2]
    assert "the refresh thread failed" in caplog.text


def test_a_long_round_is_followed_by_a_longer_wait():
    """The refreshes keep to a tenth of the process's time while submissions keep coming: a round that
    took 0.5 s waits 4.5 s before the next, a quick one the configured delay."""
    assert deferred.next_wait(delay=1, took=0.01) == 1
    assert deferred.next_wait(delay=1, took=0.5) == pytest.approx(4.5)
    assert deferred.next_wait(delay=0.05, took=0.1) == pytest.approx(0.9)
    assert deferred.next_wait(delay=1, took=20) == deferred.MAX_WAIT  # a round stuck on a lock


@pytest.mark.django_db(transaction=True)
def test_the_thread_waits_after_a_round_as_next_wait_says(settings, monkeypatch):
    settings.STATS_REFRESH_DELAY = 0.01
    slept: list[float] = []
    clock = iter([100.0, 100.3])  # the round takes 0.3 s
    monkeypatch.setattr(deferred, "_monotonic", lambda: next(clock))
    monkeypatch.setattr(deferred, "_sleep", slept.append)
    refreshed = []
    monkeypatch.setattr(deferred, "refresh_attempts", refreshed.extend)
    refreshes = deferred.AttemptRefreshes()
    with refreshes._lock:
        refreshes._noted.add(7)
    refreshes._run(0.01)  # in this thread: one round, then nothing noted
    assert refreshed == [7]
    assert slept == [0.01, pytest.approx(2.7)]
