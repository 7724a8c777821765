"""generate_scale's stats part: the knowledge survey before and after, practice attempts and finished live
contests over the term, consistent with the rosters, reaching the province's attempts, deterministic by the
seed, and deleted exactly by --reset (the --small set, on SQLite or PostgreSQL)."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from edu.models import School, SchoolClass, Student, User
from edu.scale import CHINA_TZ, PROVINCE_PATH, SMALL_FIGURES
from edu.scale.stats import TEACHER_PREFIX
from quizzes.models import Attempt, LiveContest, LivePlayer, Quiz, QuizQuestion

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_scale", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def small_set() -> str:
    return generate("--small")


def added_attempts():
    return Attempt.objects.filter(quiz__term_exams__isnull=True)


def test_the_survey_and_practice_quizzes(small_set):
    surveys = Quiz.objects.exclude(survey_phase="")
    assert sorted(surveys.values_list("survey_phase", flat=True)) == ["after", "before"]
    before, after = surveys.get(survey_phase="before"), surveys.get(survey_phase="after")
    assert before.campaign_id == after.campaign_id and before.campaign.term is not None
    questions = [
        list(QuizQuestion.objects.filter(quiz=q).values_list("question_id", flat=True)) for q in surveys
    ]
    assert questions[0] == questions[1] and len(questions[0]) == 10  # the same questions before and after
    practice = Quiz.objects.filter(campaign=before.campaign, survey_phase="", term_exams__isnull=True)
    assert practice.count() == 4
    for quiz in [before, after, *practice]:
        assert quiz.is_published and quiz.access == Quiz.Access.CAMPAIGN
        assert QuizQuestion.objects.filter(quiz=quiz).count() == 10
    assert before.closes_at <= after.opens_at


def test_attempts_reach_the_students_and_are_consistent(small_set):
    total = Attempt.objects.filter(school__region_path__startswith=PROVINCE_PATH).count()
    assert abs(total - SMALL_FIGURES.students) < SMALL_FIGURES.students * 0.05
    attempts = added_attempts()
    assert attempts.count() > 0.2 * total
    # Submitted, by a student of the school, in their class, after they claimed their account, within time.
    assert not attempts.filter(Q(submitted_at__isnull=True) | Q(score__isnull=True)).exists()
    assert not attempts.exclude(user__student_record__school=F("school")).exists()
    assert not attempts.exclude(user__school_class=F("school_class")).exists()
    assert not attempts.filter(started_at__lte=F("user__student_record__claimed_at")).exists()
    assert not attempts.filter(
        Q(submitted_at__lt=F("started_at")) | Q(submitted_at__gt=F("deadline"))
    ).exists()
    assert not attempts.filter(submitted_at__gt=timezone.now()).exists()
    assert not attempts.exclude(max_score=10).exists()
    for attempt in attempts.select_related("quiz")[:2000]:
        assert attempt.passed == (attempt.score * 100 >= attempt.max_score * attempt.quiz.pass_mark)
        assert 0 <= attempt.score <= 10
        if attempt.quiz.opens_at:
            assert attempt.quiz.opens_at <= attempt.started_at < attempt.quiz.closes_at
    # One attempt per student and survey; practice numbered 1, 2, … without gaps.
    surveys = attempts.exclude(quiz__survey_phase="")
    assert not surveys.exclude(number=1).exists()
    assert surveys.values("quiz", "user").distinct().count() == surveys.count()
    numbers = (
        attempts.filter(quiz__survey_phase="")
        .values("quiz", "user")
        .annotate(n=Count("pk"), top=Sum("number"))
    )
    assert all(row["top"] == row["n"] * (row["n"] + 1) // 2 for row in numbers)


def test_awareness_rises_and_time_has_a_shape(small_set):
    rates = {}
    for phase in ("before", "after"):
        sums = added_attempts().filter(quiz__survey_phase=phase).aggregate(s=Sum("score"), m=Sum("max_score"))
        rates[phase] = float(sums["s"] / sums["m"])
    assert 0.5 < rates["before"] < rates["after"] < rates["before"] + 0.12
    # Fewer attempts a weekend day than a weekday.
    days = Counter(
        attempt.astimezone(CHINA_TZ).weekday()
        for attempt in added_attempts().values_list("submitted_at", flat=True)
    )
    assert (days[5] + days[6]) / 2 < 0.7 * sum(days[d] for d in range(5)) / 5
    # Spread over the term's weeks, not bunched on one day.
    weeks = {
        (attempt.astimezone(CHINA_TZ).date() - timezone.localdate()).days // 7
        for attempt in added_attempts().values_list("submitted_at", flat=True)
    }
    assert len(weeks) >= 8


def test_live_contests_with_players_of_their_schools(small_set):
    contests = LiveContest.objects.all()
    assert contests.count() >= 3
    assert not contests.exclude(status=LiveContest.Status.FINISHED).exists()
    assert not contests.filter(
        Q(finished_at__gt=timezone.now()) | Q(finished_at__lte=F("created_at"))
    ).exists()
    teachers = User.objects.filter(username__startswith=TEACHER_PREFIX)
    assert teachers.exists() and not teachers.filter(Q(is_teacher=False) | Q(school=None)).exists()
    for contest in contests.select_related("host").annotate(n=Count("players")):
        assert contest.n >= 20
        players = LivePlayer.objects.filter(contest=contest)
        if contest.host.is_teacher:
            assert not players.exclude(school=contest.host.school).exists()
        else:
            assert contest.host.is_organiser
            assert not players.exclude(school__region=contest.host.region).exists()
        assert sorted(players.values_list("rank", flat=True)) == list(range(1, contest.n + 1))
    players = LivePlayer.objects.all()
    assert not players.exclude(user__school_class=F("school_class")).exists()
    assert not players.exclude(user__student_record__school=F("school")).exists()
    assert not players.filter(joined_at__lt=F("user__student_record__claimed_at")).exists()


def test_reset_deletes_exactly_the_stats_and_regenerates_them_alike(small_set):
    def others():
        return (
            Attempt.objects.filter(quiz__term_exams__isnull=False).count(),
            Student.objects.count(),
            SchoolClass.objects.count(),
            School.objects.count(),
            User.objects.exclude(username__startswith=TEACHER_PREFIX).count(),
        )

    def mine():
        before = added_attempts().filter(quiz__survey_phase="before")
        return (
            sorted(before.values_list("user_id", "score", "started_at")),
            added_attempts().count(),
            LiveContest.objects.count(),
            LivePlayer.objects.count(),
        )

    kept, made = others(), mine()
    out = generate("--small", "--parts", "stats", "--reset")
    assert "Reset stats" in out and "quizzes_attempt" in out
    assert others() == kept
    again = mine()
    assert again[0] == made[0]  # the closed survey's attempts: the same seed makes the same rows
    assert abs(again[1] - made[1]) <= made[1] * 0.01 and again[2:] == made[2:]
    # Deleting the part leaves only the classroom's attempts and no generated teacher.
    from edu.scale.stats import StatsPart

    StatsPart().delete()
    assert not added_attempts().exists() and not LiveContest.objects.exists()
    assert not User.objects.filter(username__startswith=TEACHER_PREFIX).exists()
    assert not StatsPart().existing()
    assert others() == kept


def test_rollups_are_rebuilt_when_the_stats_app_has_them(small_set):
    pytest.importorskip("stats.rollups")
    from stats.models import RegionDay, SchoolDay

    days = SchoolDay.objects.filter(region_path__startswith=PROVINCE_PATH)
    assert days.exists()
    sums = days.aggregate(attempts=Sum("attempts"), players=Sum("live_players"))
    # Every attempt and player of the province is on one of the days rebuilt.
    assert sums["attempts"] == Attempt.objects.filter(school__region_path__startswith=PROVINCE_PATH).count()
    assert sums["players"] == LivePlayer.objects.count()
    assert RegionDay.objects.filter(region_path__startswith=PROVINCE_PATH).exists()
