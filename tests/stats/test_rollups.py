"""The statistics rollups agree with a direct count of the source rows: after a rebuild, and when kept by
the receivers after each event's commit."""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from edu.models import Student
from quizzes.access import AttemptOwner
from quizzes.models import Attempt, LiveContest, LivePlayer, Quiz
from stats import rollups
from stats.models import SUM_COLUMNS, ActiveMark, RegionDay, SchoolDay
from tests import factories
from tests.volunteers.conftest import local_at, make_profile
from volunteers.models import Activity, HourRecord

TODAY = dt.date(2026, 11, 18)  # a Wednesday


def at(day: dt.date, hour: int) -> dt.datetime:
    return local_at(day, hour)


def days_back(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def events(world):
    """Random events over three weeks in both counties: class attempts (some at a survey), guests at a
    county's street-event quiz, a finished contest with players, claimed accounts and approved hours with a
    correction."""
    rng = random.Random(7)
    campaign = factories.campaign(region=world.city, title="全市禁毒知识竞赛")
    quizzes = [
        Quiz.objects.create(
            title="练习", access="class", target_class=world.class_a, owner_school=world.school_a
        ),
        Quiz.objects.create(
            title="街头问卷",
            access="link",
            owner_region=world.county_b,
            campaign=campaign,
            survey_phase="before",
        ),
        Quiz.objects.create(title="全市测验", access="campaign", campaign=campaign),
    ]
    students = [
        factories.user(username=f"s{i}", is_student=True, school_class=[world.class_a, world.class_b][i % 2])
        for i in range(8)
    ]
    for n in range(60):
        quiz = rng.choice(quizzes)
        student = rng.choice(students + [None])
        day = days_back(rng.randrange(21))
        max_score = Decimal(rng.choice([5, 10, 20]))
        score = Decimal(rng.randrange(int(max_score) + 1))
        school_class = student.school_class if student else None
        Attempt.objects.create(
            quiz=quiz,
            user=student,
            guest_key="" if student else f"g{n}",
            number=n + 1 if student else 1,
            school_class=school_class,
            school=school_class.school if school_class else None,
            started_at=at(day, 9),
            submitted_at=at(day, rng.choice([0, 10, 23])),
            score=score,
            max_score=max_score,
            passed=score * 100 >= max_score * 60,
        )
    # One unsubmitted attempt: never counted.
    Attempt.objects.create(quiz=quizzes[0], user=students[0], number=99, started_at=at(days_back(1), 9))
    contest = LiveContest.objects.create(
        title="班级赛",
        quiz=quizzes[0],
        pin="123456",
        host=world.teacher_a,
        status="finished",
        finished_at=at(days_back(2), 15),
    )
    for i, student in enumerate(students):
        LivePlayer.objects.create(
            contest=contest,
            user=student,
            nickname=f"p{i}",
            token=f"t{i}",
            school=student.school_class.school,
            school_class=student.school_class,
            kicked=i == 0,
        )
    LivePlayer.objects.create(contest=contest, nickname="guest", token="tg")
    for i, student in enumerate(students[:5]):
        Student.objects.create(
            user=student,
            school=student.school_class.school,
            real_name=f"学生{i}",
            student_number=f"N{i}",
            claimed_at=at(days_back(i * 3), 20),
        )
    activity = Activity.objects.create(
        campaign=campaign,
        title="宣传",
        address="广场",
        region=world.county_a,
        # The window must be open for a while (activity_signup_window): two calls of now() can return the same
        # microsecond, which failed this fixture once in CI.
        signup_opens_at=timezone.now(),
        signup_closes_at=timezone.now() + dt.timedelta(days=1),
        created_by=world.organiser_a,
    )
    volunteers = [
        make_profile(region=world.county_a),
        make_profile(region=world.county_b, school=world.school_b),
    ]
    records = []
    for i in range(12):
        volunteer = volunteers[i % 2]
        day = days_back(i * 2)
        records.append(
            HourRecord.objects.create(
                volunteer=volunteer,
                activity=activity,
                started_at=at(day, 9),
                ended_at=at(day, 11),
                minutes=120,
                content="宣传",
                source="backfill",
                status=["approved", "approved", "pending", "rejected"][i % 4],
            )
        )
    HourRecord.objects.create(
        volunteer=volunteers[0],
        activity=activity,
        started_at=at(days_back(1), 9),
        ended_at=at(days_back(1), 10),
        minutes=60,
        content="宣传（更正）",
        source="correction",
        status="approved",
        corrects=records[0],
    )
    return world


def direct_counts() -> dict:
    """Every rollup column per (day, school_id, region_id), counted from the source rows in Python."""
    rows = defaultdict(lambda: defaultdict(Decimal))
    for attempt in Attempt.objects.filter(submitted_at__isnull=False).select_related(
        "quiz__campaign", "school"
    ):
        quiz = attempt.quiz
        school = attempt.school or (quiz.owner_school if quiz.owner_school_id else None)
        region_id = (
            school.region_id
            if school
            else (quiz.owner_region_id or (quiz.campaign.region_id if quiz.campaign_id else None))
        )
        if region_id is None:
            continue
        row = rows[(rollups.local_day(attempt.submitted_at), school.pk if school else 0, region_id)]
        pct = attempt.score * 100 / attempt.max_score if attempt.max_score else Decimal(0)
        row["attempts"] += 1
        row["passed"] += 1 if attempt.passed else 0
        row["percent_sum"] += pct
        row[f"b{min(int(pct // 10), 9)}"] += 1
        if quiz.survey_phase and attempt.number == 1:
            row["survey_attempts"] += 1
            row["survey_score"] += attempt.score
            row["survey_max"] += attempt.max_score
    for contest in LiveContest.objects.filter(finished_at__isnull=False).select_related("host__school"):
        host = contest.host
        unit = (host.school_id or 0, host.school.region_id if host.school_id else host.region_id)
        day = rollups.local_day(contest.finished_at)
        rows[(day, *unit)]["live_contests"] += 1
        for player in contest.players.filter(kicked=False).select_related("school"):
            key = (player.school_id, player.school.region_id) if player.school_id else unit
            rows[(day, *key)]["live_players"] += 1
    for student in Student.objects.filter(claimed_at__isnull=False).select_related("school"):
        rows[(rollups.local_day(student.claimed_at), student.school_id, student.school.region_id)][
            "registrations"
        ] += 1
    for record in HourRecord.objects.counting().select_related("volunteer"):
        key = (
            rollups.local_day(record.started_at),
            record.volunteer.school_id or 0,
            record.volunteer.region_id,
        )
        rows[key]["volunteer_minutes"] += record.minutes
        rows[key]["volunteer_records"] += 1
    return {key: {column: Decimal(row[column]) for column in SUM_COLUMNS} for key, row in rows.items()}


def stored() -> dict:
    result = {}
    for row in SchoolDay.objects.all():
        values = {column: Decimal(getattr(row, column)) for column in SUM_COLUMNS}
        if any(values.values()):
            result[(row.day, row.school_id, row.region_id)] = values
    return result


def assert_same(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, values in expected.items():
        for column, value in values.items():
            assert actual[key][column] == pytest.approx(value, abs=Decimal("0.02")), (key, column)


def test_a_rebuild_agrees_with_a_direct_count(events):
    rollups.rebuild(start=days_back(30), end=TODAY)
    expected = direct_counts()
    assert sum(row["attempts"] for row in expected.values()) == 60
    assert sum(row["live_players"] for row in expected.values()) == 8  # 9 players, 1 kicked
    assert sum(row["volunteer_records"] for row in expected.values()) == 6  # 6 approved, 1 superseded, +1 fix
    assert_same(stored(), expected)
    # RegionDay: the same columns summed per (day, region).
    by_region = defaultdict(lambda: defaultdict(Decimal))
    for (day, _school, region_id), values in expected.items():
        for column, value in values.items():
            by_region[(day, region_id)][column] += value
    regions = {(row.day, row.region_id): row for row in RegionDay.objects.all()}
    assert regions.keys() == by_region.keys()
    for key, values in by_region.items():
        for column, value in values.items():
            assert Decimal(getattr(regions[key], column)) == pytest.approx(value, abs=Decimal("0.02"))


def test_marks_hold_each_subjects_first_day_in_the_period(events):
    rollups.rebuild(start=days_back(40), end=TODAY)
    expected = defaultdict(lambda: dt.date.max)
    for key, values in direct_counts().items():
        day, school_id, _region = key
        if school_id and (values["attempts"] or values["live_players"]):
            for period, starts_on in (("week", rollups.week_start(day)), ("month", rollups.month_start(day))):
                expected[("school", school_id, period, starts_on)] = min(
                    expected[("school", school_id, period, starts_on)], day
                )
    for record in HourRecord.objects.counting():
        day = rollups.local_day(record.started_at)
        for period, starts_on in (("week", rollups.week_start(day)), ("month", rollups.month_start(day))):
            key = ("volunteer", record.volunteer_id, period, starts_on)
            expected[key] = min(expected[key], day)
    marks = {(m.kind, m.subject_id, m.period, m.starts_on): m.first_day for m in ActiveMark.objects.all()}
    assert marks == dict(expected)


def test_a_second_rebuild_changes_nothing_and_removes_what_is_gone(events):
    rollups.rebuild(start=days_back(30), end=TODAY)
    first = stored()
    rollups.rebuild(start=days_back(30), end=TODAY)
    assert stored() == first
    Attempt.objects.filter(guest_key__startswith="g").delete()
    rollups.rebuild(start=days_back(30), end=TODAY)
    assert_same(stored(), direct_counts())


def test_the_receivers_keep_the_rollups_after_each_event(
    world, class_quiz, vworld, django_capture_on_commit_callbacks
):
    """Through the services, each event's rows are right as soon as it commits: they equal a rebuild's."""
    from edu.rosters import claim_codes_issue, student_claim
    from quizzes import services as quiz_services

    now = timezone.now()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        attempt = quiz_services.attempt_start(quiz=class_quiz, user=world.student, now=now)
        quiz_services.attempt_answer(
            attempt_id=attempt.pk,
            owner=AttemptOwner(user_id=world.student.pk),
            position=0,
            selected=[0],
            now=now,
        )
        quiz_services.attempt_submit(attempt=attempt, now=now)
    row = SchoolDay.objects.get(day=today, school_id=world.school_a.pk)
    assert (row.attempts, row.b0 + row.b1) == (1, 1)
    assert RegionDay.objects.get(day=today, region=world.county_a).attempts == 1
    assert ActiveMark.objects.filter(kind="school", subject_id=world.school_a.pk).count() == 2

    roster = factories.roster_student(school_class=world.class_b)
    [(student, code)] = claim_codes_issue(students=[roster], by=world.teacher_b, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        student_claim(username=student.user.username, claim_code=code, password="a-long-pass-phrase", now=now)
    assert SchoolDay.objects.get(day=today, school_id=world.school_b.pk).registrations == 1

    with django_capture_on_commit_callbacks(execute=True):
        vworld.approved_record(volunteer=vworld.adult, started_at=vworld.at(-1, 9), minutes=90)
    yesterday = today - dt.timedelta(days=1)
    assert SchoolDay.objects.get(day=yesterday, region=world.county_a, school_id=0).volunteer_minutes == 90
    assert (
        ActiveMark.objects.filter(kind="volunteer", subject_id=vworld.adult.pk, first_day=yesterday).count()
        == 2
    )

    kept = stored()
    marks = set(ActiveMark.objects.values_list("kind", "subject_id", "period", "starts_on", "first_day"))
    rollups.rebuild(start=yesterday, end=today)
    assert stored() == kept
    assert (
        set(ActiveMark.objects.values_list("kind", "subject_id", "period", "starts_on", "first_day")) == marks
    )


def test_refresh_stats_command(events, capsys):
    call_command("refresh_stats", "--days", "30")
    assert "Rebuilt" in capsys.readouterr().out
    call_command("refresh_stats")
    assert "Refreshed" in capsys.readouterr().out


def test_refresh_stats_repairs_a_refresh_that_was_lost(world):
    """An event whose receiver never ran (a crash between commit and refresh) is counted by the next
    `refresh_stats`: the figures trail the data by at most the minute between two runs."""
    quiz = Quiz.objects.create(
        title="练习", access="class", target_class=world.class_a, owner_school=world.school_a
    )
    now = timezone.now()
    Attempt.objects.create(
        quiz=quiz,
        guest_key="g",
        school=world.school_a,
        started_at=now,
        submitted_at=now,
        score=Decimal(3),
        max_score=Decimal(4),
        passed=True,
    )  # no signal: nothing refreshed yet
    assert not SchoolDay.objects.exists()
    call_command("refresh_stats")
    assert_same(stored(), direct_counts())
    row = RegionDay.objects.get(region=world.county_a, day=timezone.localdate())
    assert (row.attempts, row.passed, row.b7) == (1, 1, 1)
