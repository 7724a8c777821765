"""An adversarial review of the statistics (issue #7).

- bad input never fails (odd, huge, repeated and NUL parameters, on SQLite and PostgreSQL);
- nothing outside a user's scope, exports included; names escaped in pages, charts and exports;
- the rollups kept by the receivers equal a rebuild from the source rows, also when an event moves to another
  day or unit (a corrected hour record, a claim made again with a new slip, a school moved to another county);
- a few minutes of service in the previous period, the export of the schools placed on a city itself;
- a receiver never waits for the minute's `refresh_stats` (PostgreSQL);
- a kicked live-contest player does not make their school take part.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from edu.models import School, Student
from quizzes.models import Attempt, Quiz
from stats import rollups
from stats.models import SUM_COLUMNS, ActiveMark, RegionDay, SchoolDay
from tests import factories
from tests.volunteers.conftest import local_at
from volunteers.models import HourRecord


@pytest.fixture
def data(world):
    today = timezone.localdate()
    quiz = Quiz.objects.create(
        title="练习", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    for school, class_ in ((world.school_a, world.class_a), (world.school_b, world.class_b)):
        Attempt.objects.create(
            quiz=quiz,
            guest_key=f"{school.code}",
            school=school,
            school_class=class_,
            started_at=local_at(today, 0),
            submitted_at=local_at(today, 0, 30),
            score=Decimal(7),
            max_score=Decimal(10),
            passed=True,
        )
    rollups.rebuild(start=today - dt.timedelta(days=40), end=today)
    return world


BAD_VALUES = [
    "",
    "9" * 40,
    "-1",
    "0",
    "２０２６-１１-２２",
    "2026-02-30",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "2026W471",
    "20261122",
    "2026-11-22T00:00",
    "🙂",
    "\x00",
    "%00",
    "' OR 1=1 --",
    "<script>",
    "-",
    "--name",
    "name",
    "-school_rate",
]
PARAMS = ["period", "on", "order", "format", "region", "school"]


@pytest.mark.parametrize("user", ["organiser_province", "teacher_a"])
def test_bad_query_strings_never_fail(data, login, user):
    """Every parameter of every page, alone and repeated, with odd values. On PostgreSQL ?school=%00 on the
    weekly report is a 500 (DataError: text cannot contain NUL) in `school_for_scope`."""
    client = login(getattr(data, user))
    client.raise_request_exception = False
    paths = [
        reverse("stats_dashboard"),
        reverse("stats_region", args=[data.county_a.pk]),
        reverse("stats_school", args=[data.school_a.code]),
        reverse("stats_weekly"),
    ]
    failures = []
    for path in paths:
        for name in PARAMS:
            for value in BAD_VALUES:
                for query in ({name: value}, {name: [value, value]}):
                    response = client.get(path, query)
                    if response.status_code >= 500:
                        failures.append((path, name, value))
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/stats/regions/99999999999999999999999/",
        "/stats/regions/9223372036854775808/",
        "/stats/schools/%F0%9F%99%82/",
        "/stats/schools/" + "x" * 300 + "/",
        "/stats/schools/%00/",
        "/stats/weekly/?school=%00",
        "/stats/surveys/campaign/1/schools/%00/",
        "/stats/surveys/campaign/99999999999999999999999/",
        "/stats/surveys/campaign/1/regions/99999999999999999999999/",
        "/stats/surveys/campaign/99999999999999999999999/schools/SA001/",
    ],
)
@pytest.mark.parametrize("user", ["organiser_province", "teacher_a", "admin"])
def test_huge_and_odd_path_values_are_not_found(data, login, user, path):
    """(On PostgreSQL a NUL in a school's code is a 500 — DataError — without a guard: it is a 400.)"""
    campaign = factories.campaign(region=data.city, title="禁毒知识竞赛")
    client = login(getattr(data, user))
    client.raise_request_exception = False
    assert client.get(path.replace("campaign/1/", f"campaign/{campaign.pk}/")).status_code in (
        302,
        400,
        403,
        404,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/stats/regions/{county_b}/?format=csv",
        "/stats/regions/{city}/?format=xlsx",
        "/stats/schools/SB001/?format=csv",
        "/stats/weekly/?region={county_b}&format=csv",
        "/stats/weekly/?school=SB001&format=xlsx",
        "/stats/weekly/?region={city}&order=-attempts&format=csv",
    ],
)
def test_exports_outside_the_county_are_not_found(data, login, path):
    """A county organiser's exports of another county, its school or the city above: 404, as the pages;
    a teacher's: refused, or their own school's (checked fine)."""
    url = path.format(county_b=data.county_b.pk, city=data.city.pk)
    assert login(data.organiser_a).get(url).status_code == 404
    teacher = login(data.teacher_a).get(url)
    # (A teacher's weekly report ignores ?region=: it is their own school's, never another's.)
    assert teacher.status_code in (403, 404) or data.school_a.code in teacher["Content-Disposition"]


def test_names_are_escaped_in_pages_charts_and_exports(data, login):
    """A region or school name typed with markup or a formula: escaped in the table and the SVG charts,
    defused in CSV, stored as text in Excel (checked fine; kept as a regression test)."""
    import openpyxl

    hostile = '=HYPERLINK("http://x")<script>alert(1)</script>'
    data.county_a.name = hostile
    data.county_a.save()
    School.objects.filter(pk=data.school_b.pk).update(name="+cmd|' /C calc'!A0<svg onload=alert(1)>")
    client = login(data.organiser_province)
    page = client.get(reverse("stats_region", args=[data.city.pk])).content.decode()
    assert "<script>alert(1)" not in page
    county = client.get(reverse("stats_region", args=[data.county_b.pk])).content.decode()
    assert "<svg onload" not in county
    csv_text = client.get(reverse("stats_region", args=[data.city.pk]), {"format": "csv"}).content
    first_cells = [row[0] for row in csv.reader(io.StringIO(csv_text.decode("utf-8-sig")))]
    assert f"'{hostile}" in first_cells
    school_csv = client.get(reverse("stats_region", args=[data.county_b.pk]), {"format": "csv"})
    assert "'+cmd" in school_csv.content.decode("utf-8-sig")
    xlsx = client.get(reverse("stats_region", args=[data.city.pk]), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == hostile]
    assert cells and all(cell.data_type == "s" for cell in cells)


# --- the receivers leave stale rows behind ----------------------------------------------------------------


def stored() -> dict:
    """Every SchoolDay and RegionDay row with a non-zero column, as the pages sum them."""
    result = {}
    for model in (SchoolDay, RegionDay):
        for row in model.objects.all():
            values = {column: Decimal(getattr(row, column)) for column in SUM_COLUMNS}
            if any(values.values()):
                result[(model.__name__, row.day, getattr(row, "school_id", None), row.region_id)] = values
    return result


def marks() -> set:
    return set(ActiveMark.objects.values_list("kind", "subject_id", "period", "starts_on", "first_day"))


def assert_as_rebuilt(start: dt.date, end: dt.date) -> None:
    """What the receivers kept equals what a rebuild of those days computes from the source rows."""
    kept, kept_marks = stored(), marks()
    rollups.rebuild(start=start, end=end)
    assert kept == stored()
    assert kept_marks == marks()


def test_a_correction_moving_service_to_another_week_leaves_no_stale_hours(
    vworld, django_capture_on_commit_callbacks
):
    """Approved service corrected to another day: the old day's hours and the volunteer's activity in the old
    week must go. The receiver refreshes the old day's unit, but its upsert writes only units that still
    have events, so the old row (and the old week's mark) stays: the hours are counted twice."""
    from volunteers.services import hour_record_approve, hour_record_correct

    world = vworld.world
    old_day = vworld.today - dt.timedelta(days=9)
    new_day = vworld.today - dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        record = vworld.approved_record(volunteer=vworld.adult, started_at=local_at(old_day, 9), minutes=90)
    assert SchoolDay.objects.get(day=old_day, region=world.county_a, school_id=0).volunteer_minutes == 90
    with django_capture_on_commit_callbacks(execute=True):
        correction = hour_record_correct(
            record=record,
            started_at=local_at(new_day, 9),
            ended_at=local_at(new_day, 10),
            content="更正：实际服务一小时",
            requested_by=world.organiser_a,
            now=timezone.now(),
        )
        hour_record_approve(record=correction, approver=vworld.coordinator, now=timezone.now())
    # A direct count: the corrected record no longer counts anywhere; 60 minutes on the new day.
    assert HourRecord.objects.counting().get().minutes == 60
    old = RegionDay.objects.filter(day=old_day, region=world.county_a).first()
    assert old is None or old.volunteer_minutes == 0
    assert_as_rebuilt(old_day - dt.timedelta(days=31), vworld.today)


def test_a_student_who_claims_again_counts_once(world, django_capture_on_commit_callbacks):
    """A teacher re-issues a slip to a student who forgot the password; the student claims again days later.
    The claim moves to the new day, but the old day's row keeps its registration: "students registered"
    (every claim so far, without a term) counts the student twice."""
    from edu.rosters import claim_codes_issue, student_claim
    from stats import selectors

    roster = factories.roster_student(school_class=world.class_a)
    earlier = timezone.now() - dt.timedelta(days=5)
    [(student, code)] = claim_codes_issue(students=[roster], by=world.teacher_a, now=earlier)
    with django_capture_on_commit_callbacks(execute=True):
        student_claim(
            username=student.user.username, claim_code=code, password="a-long-pass-phrase", now=earlier
        )
    now = timezone.now()
    [(student, code)] = claim_codes_issue(
        students=[Student.objects.get(pk=roster.pk)], by=world.teacher_a, now=now
    )
    with django_capture_on_commit_callbacks(execute=True):
        student_claim(
            username=student.user.username, claim_code=code, password="another-long-phrase", now=now
        )
    assert Student.objects.filter(claimed_at__isnull=False).count() == 1
    assert selectors.registration(region=None, school=world.school_a).registered == 1
    assert_as_rebuilt(timezone.localdate() - dt.timedelta(days=40), timezone.localdate())


def test_a_school_moved_to_another_county_is_counted_once_today(world, django_capture_on_commit_callbacks):
    """A school re-placed under another county after today's first attempt: the next attempt's refresh writes
    the (school, new county) row but leaves the (school, old county) row, so today's attempts are counted
    twice on the school's page, and still in the old county."""
    from quizzes import services as quiz_services

    quiz = Quiz.objects.create(
        title="练习", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    now = timezone.now()

    def attempt(key: str) -> None:
        started = Attempt.objects.create(
            quiz=quiz, guest_key=key, school=world.school_a, started_at=now, max_score=Decimal(10)
        )
        with django_capture_on_commit_callbacks(execute=True):
            quiz_services.attempt_submit(attempt=started, now=now)

    attempt("first")
    school = School.objects.get(pk=world.school_a.pk)
    school.region = world.county_b
    school.save()
    attempt("second")
    today = timezone.localdate()
    assert SchoolDay.objects.filter(day=today, school_id=school.pk).aggregate(n=Sum("attempts"))["n"] == 2
    assert not RegionDay.objects.filter(day=today, region=world.county_a, attempts__gt=0).exists()
    assert_as_rebuilt(today - dt.timedelta(days=40), today)


# --- pages ------------------------------------------------------------------------------------------------


def test_a_previous_period_with_two_minutes_of_service_does_not_fail(vworld, login):
    """Two approved minutes in the previous period round to 0.0 hours: the hours card then divides by that
    rounded value (`delta * 100 / previous.hours`) — decimal.DivisionByZero, a 500 for the county's page,
    its weekly report and every region above it."""
    world = vworld.world
    today = vworld.today
    last_week = today - dt.timedelta(days=7)
    vworld.make_record(
        volunteer=vworld.adult, started_at=local_at(last_week, 0, 1), minutes=2, status="approved"
    )
    rollups.rebuild(start=today - dt.timedelta(days=40), end=today)
    client = login(world.organiser_a)
    client.raise_request_exception = False
    assert client.get(reverse("stats_dashboard")).status_code == 200
    on = {"on": today.isoformat()}
    assert client.get(reverse("stats_weekly"), on).status_code == 200


def test_the_export_of_the_schools_placed_on_a_city_exports_those_schools(data, login):
    """?directly=1 lists the schools placed on the city itself, but the page's Excel/CSV links and "lagging
    first" drop `directly`, so they export (and sort) the table of the city's counties instead."""
    school = factories.school(region=data.city, code="SC001", name="长沙市直属中学")
    client = login(data.organiser_province)
    page = client.get(reverse("stats_region", args=[data.city.pk]), {"directly": "1"})
    assert page.status_code == 200
    assert school.name in page.content.decode()
    export_query = page.context["export_query"]
    exported = client.get(f"{reverse('stats_region', args=[data.city.pk])}?{export_query}&format=csv")
    text = exported.content.decode("utf-8-sig")
    assert school.name in text
    assert data.county_a.name not in text
    assert "directly=1" in page.context["lagging_url"]


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_receiver_does_not_wait_for_the_minutes_refresh(world, monkeypatch):
    """`refresh_stats` (every minute) deletes and rewrites today's rows inside one transaction: every
    receiver refreshing a unit of today meanwhile (an attempt submitted, in the user's request) waits on those
    rows until the whole day's recompute commits — and a receiver writing two units (a contest's schools) can
    deadlock with it, as it holds a row the refresh has yet to insert while waiting for one the refresh
    deleted. Here the refresh is held just before it commits, and the receiver's refresh must not block."""
    import threading

    from django.db import OperationalError, connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    today = timezone.localdate()
    quiz = Quiz.objects.create(
        title="练习", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    now = timezone.now()
    Attempt.objects.create(
        quiz=quiz,
        guest_key="g",
        school=world.school_a,
        started_at=now,
        submitted_at=now,
        score=Decimal(5),
        max_score=Decimal(10),
        passed=False,
    )
    unit = rollups.Unit(school_id=world.school_a.pk, region_id=world.county_a.pk)
    rollups.units_refresh(day=today, units=[unit])

    refreshing, release = threading.Event(), threading.Event()
    marks_sql = rollups._school_marks_sql

    def held(**kwargs):
        if threading.current_thread().name == "refresh":
            refreshing.set()
            release.wait(20)
        return marks_sql(**kwargs)

    monkeypatch.setattr(rollups, "_school_marks_sql", held)

    def refresh():
        try:
            rollups.recent_refresh(today=today, days=1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=refresh, name="refresh")
    thread.start()
    try:
        assert refreshing.wait(20)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            rollups.units_refresh(day=today, units=[unit])
            blocked = False
        except OperationalError:
            blocked = True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        thread.join(30)
    assert not blocked


def test_a_kicked_player_does_not_make_a_school_take_part(world):
    """A player kicked out of a live contest does not count (docs: "kicked players do not count"), but
    `contest_record_attempts` records an attempt for every player, kicked or not: the kicked player's school
    gets a quiz attempt and is counted as taking part."""
    from quizzes.live.services import contest_record_attempts
    from quizzes.models import LiveContest, LivePlayer

    quiz = Quiz.objects.create(
        title="班级赛", access="school", target_school=world.school_a, owner_school=world.school_a
    )
    contest = LiveContest.objects.create(
        title="班级赛",
        quiz=quiz,
        pin="123456",
        host=world.teacher_a,
        status="finished",
        finished_at=timezone.now(),
    )
    LivePlayer.objects.create(contest=contest, nickname="甲", token="t1", school=world.school_a)
    LivePlayer.objects.create(contest=contest, nickname="乙", token="t2", school=world.school_b, kicked=True)
    contest_record_attempts(contest_id=contest.pk)
    today = timezone.localdate()
    assert not SchoolDay.objects.filter(day=today, school_id=world.school_b.pk, attempts__gt=0).exists()
    assert not ActiveMark.objects.filter(kind="school", subject_id=world.school_b.pk).exists()
