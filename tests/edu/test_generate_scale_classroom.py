"""generate_scale's classroom part: a term with every school enrolled, rosters with classes, lesson
completions and final-exam attempts, progress rows that are what the site derives from them, and figures
that agree with a direct count from StudentProgress (the --small set, on SQLite or PostgreSQL)."""

import random
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from campaigns import figures
from campaigns.lessons import progress_recompute_user
from campaigns.models import (
    Enrollment,
    Lesson,
    LessonCompletion,
    SchoolTermFigures,
    StudentProgress,
    Term,
    TermExam,
)
from edu.models import Region, School, SchoolClass, Student, User
from edu.scale import GENERATED_USERNAME_PREFIX, PROVINCE_PATH, SMALL_FIGURES
from quizzes.models import Attempt, AttemptItem, QuizQuestion

PROGRESS_FIELDS = [
    "school_id",
    "school_class_id",
    "region_path",
    "grade",
    "registered",
    "lessons_done",
    "lessons_total",
    "completed_all",
    "exam_score",
    "exam_passed",
    "exam_full_marks",
    "exam_excellent",
]

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_scale", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def small_set() -> Term:
    generate("--small", "--parts", "regions,schools,volunteers,classroom")  # the stats part has its own tests
    return Term.objects.get(campaign__region__path=PROVINCE_PATH)


def test_every_school_is_enrolled_and_every_student_on_a_roster(small_set):
    term = small_set
    schools = School.objects.filter(region_path__startswith=PROVINCE_PATH)
    assert Enrollment.objects.filter(term=term, status=Enrollment.Status.ENROLLED).count() == schools.count()
    headcount = schools.aggregate(total=Sum("student_headcount"))["total"]
    students = Student.objects.filter(school__region_path__startswith=PROVINCE_PATH)
    assert students.count() == headcount
    assert abs(headcount - SMALL_FIGURES.students) <= SMALL_FIGURES.students * 0.01
    # Every class's headcount is the number of students in it; every student's class is of their school.
    for klass in SchoolClass.objects.filter(school__in=schools).annotate(n=Count("students")):
        assert klass.headcount == klass.n > 0
    assert not students.exclude(user__school_class__school=F("school")).exists()
    accounts = User.objects.filter(student_record__in=students)
    assert accounts.count() == headcount
    assert all(user.username.startswith(GENERATED_USERNAME_PREFIX) for user in accounts[:200])
    assert not accounts.filter(nickname="").exists()
    assert not any(user.has_usable_password() for user in accounts[:200])
    numbers = list(students.values_list("student_number", flat=True))
    assert len(set(numbers)) == len(numbers)
    assert Lesson.objects.filter(term=term).count() == 16 * 4
    assert TermExam.objects.filter(term=term).count() == 16


def test_progress_is_realistic(small_set):
    term = small_set
    progress = StudentProgress.objects.filter(term=term)
    counts = progress.aggregate(
        total=Count("pk"),
        registered=Count("pk", filter=Q(registered=True)),
        completed=Count("pk", filter=Q(completed_all=True)),
        taken=Count("exam_score"),
        full=Count("pk", filter=Q(exam_full_marks=True)),
    )
    assert counts["total"] == Student.objects.filter(school__region_path__startswith=PROVINCE_PATH).count()
    assert 0.75 < counts["registered"] / counts["total"] < 0.97
    assert 0.5 < counts["completed"] / counts["registered"] < 0.95
    assert 0.8 < counts["taken"] / counts["completed"] <= 1
    assert 0 < counts["full"] < counts["taken"] * 0.3
    # Consistency: only registered students did lessons; only those who finished took the exam.
    assert not progress.filter(registered=False, lessons_done__gt=0).exists()
    assert not progress.filter(completed_all=False, exam_score__isnull=False).exists()
    assert not progress.filter(exam_passed=True, exam_score__lt=term.pass_mark_pct).exists()
    # Registered students are the ones who claimed their accounts.
    claimed = Student.objects.filter(school__region_path__startswith=PROVINCE_PATH, claimed_at__isnull=False)
    assert claimed.count() == counts["registered"]


def test_rollups_agree_with_a_direct_count(small_set):
    term = small_set
    rows = SchoolTermFigures.objects.filter(term=term)
    assert rows.count() == School.objects.filter(region_path__startswith=PROVINCE_PATH).count()
    direct = {
        row["school_id"]: row
        for row in StudentProgress.objects.filter(term=term)
        .values("school_id")
        .annotate(
            n=Count("pk"),
            registered=Count("pk", filter=Q(registered=True)),
            participating=Count("pk", filter=Q(completed_all=True)),
            taken=Count("exam_score"),
            passed=Count("pk", filter=Q(exam_passed=True)),
            full=Count("pk", filter=Q(exam_full_marks=True)),
            excellent=Count("pk", filter=Q(exam_excellent=True)),
            score_sum=Sum("exam_score"),
        )
    }
    for row in rows:
        expected = direct[row.school_id]
        assert row.headcount == expected["n"]
        assert (row.registered, row.participating) == (expected["registered"], expected["participating"])
        assert (row.exam_taken, row.exam_passed) == (expected["taken"], expected["passed"])
        assert (row.exam_full_marks, row.exam_excellent) == (expected["full"], expected["excellent"])
        assert row.exam_score_sum == (expected["score_sum"] or 0)
    province = Region.objects.get(path=PROVINCE_PATH)
    total = figures.figures_for_region(term=term, region=province)
    cities = figures.figures_for_regions(term=term, parent_region=province)
    assert len(cities) == SMALL_FIGURES.cities
    assert sum(city.headcount for city in cities) == total.headcount == StudentProgress.objects.count()
    assert sum(city.participating for city in cities) == total.participating
    assert total.participating == StudentProgress.objects.filter(completed_all=True).count()
    # The refresh the site runs every minute changes nothing.
    before = list(
        rows.order_by("school_id").values_list("school_id", "headcount", "registered", "exam_passed")
    )
    figures.term_figures_refresh(term=term)
    after = list(
        rows.order_by("school_id").values_list("school_id", "headcount", "registered", "exam_passed")
    )
    assert before == after


def test_completions_are_the_first_lessons_done_within_the_term(small_set):
    term = small_set
    completions = LessonCompletion.objects.filter(lesson__term=term)
    assert (
        completions.count() == StudentProgress.objects.filter(term=term).aggregate(n=Sum("lessons_done"))["n"]
    )
    # Per student: as many completions as lessons done, of their own grade's lessons, the first ones in order.
    path = {}
    for lesson in Lesson.objects.filter(term=term).order_by("grade", "position"):
        path.setdefault(lesson.grade, []).append(lesson.pk)
    done = {}
    for user_id, lesson_id, completed_at in completions.order_by("user_id", "completed_at").values_list(
        "user_id", "lesson_id", "completed_at"
    ):
        done.setdefault(user_id, []).append((lesson_id, completed_at))
    rows = StudentProgress.objects.filter(term=term).values_list("user_id", "grade", "lessons_done")
    starts = term.campaign.starts_on
    claims = dict(
        Student.objects.filter(school__region_path__startswith=PROVINCE_PATH).values_list(
            "user_id", "claimed_at"
        )
    )
    for user_id, grade, lessons_done in rows:
        mine = done.get(user_id, [])
        assert [lesson for lesson, _ in mine] == path[grade][:lessons_done]
        for _lesson, completed_at in mine:
            assert claims[user_id] <= completed_at and completed_at.date() >= starts
    assert not completions.filter(completed_at__gt=timezone.now()).exists()


def test_one_submitted_exam_attempt_per_student_with_a_score(small_set):
    term = small_set
    exams = {exam.grade: exam.quiz for exam in TermExam.objects.filter(term=term).select_related("quiz")}
    for grade, quiz in exams.items():
        # Real questions from the starter bank, and the attempts' max score is their number.
        assert QuizQuestion.objects.filter(quiz=quiz).count() == 20, grade
        assert quiz.is_published and quiz.pass_mark == term.pass_mark_pct
    attempts = Attempt.objects.filter(quiz__in=exams.values())
    takers = StudentProgress.objects.filter(term=term, exam_score__isnull=False)
    assert attempts.count() == takers.count() > 0
    assert attempts.values("user").distinct().count() == attempts.count()
    assert not attempts.filter(Q(submitted_at__isnull=True) | Q(score__isnull=True)).exists()
    assert not attempts.exclude(max_score=20).exists()
    assert not attempts.exclude(number=1).exists()
    assert not AttemptItem.objects.filter(attempt__in=attempts).exists()  # documented: no per-question items
    progress = {row.user_id: row for row in takers}
    starts = term.campaign.starts_on
    last_lesson = dict(
        LessonCompletion.objects.filter(lesson__term=term)
        .values("user_id")
        .annotate(last=Max("completed_at"))
        .values_list("user_id", "last")
    )
    for attempt in attempts.select_related("school_class", "quiz"):
        row = progress[attempt.user_id]
        assert attempt.quiz == exams[row.grade]
        assert (attempt.school_id, attempt.school_class_id) == (row.school_id, row.school_class_id)
        assert attempt.score * 100 / attempt.max_score == row.exam_score
        assert attempt.passed == (attempt.score * 100 >= attempt.max_score * term.pass_mark_pct)
        assert attempt.passed == row.exam_passed
        assert last_lesson[attempt.user_id] <= attempt.started_at <= attempt.submitted_at
        assert attempt.submitted_at <= attempt.deadline == attempt.started_at + timedelta(minutes=30)
        assert attempt.submitted_at.date() >= starts
    assert takers.filter(exam_score=Decimal(100)).exists()


def test_progress_is_what_the_site_derives_from_completions_and_attempts(small_set):
    term = small_set
    rows = StudentProgress.objects.filter(term=term)
    ids = list(rows.values_list("user_id", flat=True))
    picked = random.Random(5).sample(ids, 150)
    # Make sure every kind of student is in the sample: not registered, part-way, finished, examined.
    for kind in (
        Q(registered=False),
        Q(registered=True, completed_all=False, lessons_done__gt=0),
        Q(completed_all=True, exam_score__isnull=True),
        Q(exam_full_marks=True),
        Q(exam_passed=False, exam_score__isnull=False),
    ):
        picked.append(rows.filter(kind).values_list("user_id", flat=True)[0])
    generated = {
        row["user_id"]: row for row in rows.filter(user_id__in=picked).values("user_id", *PROGRESS_FIELDS)
    }
    for user in User.objects.filter(pk__in=picked).select_related("school_class__school"):
        (recomputed,) = progress_recompute_user(user=user)
        assert recomputed.term_id == term.pk
        fresh = StudentProgress.objects.filter(pk=recomputed.pk).values("user_id", *PROGRESS_FIELDS).get()
        assert fresh == generated[user.pk]


def test_reset_deletes_the_classroom_and_regenerates_it(small_set):
    def counts():
        return (
            Student.objects.count(),
            StudentProgress.objects.count(),
            SchoolClass.objects.count(),
            LessonCompletion.objects.count(),
            Attempt.objects.count(),
            QuizQuestion.objects.count(),
        )

    before = counts()
    assert all(before)
    out = generate("--small", "--parts", "classroom", "--reset")
    assert "Reset classroom" in out
    assert "campaigns_lessoncompletion" in out and "quizzes_attempt" in out
    assert counts() == before
    assert Term.objects.count() == 1
    # Nothing of the first run is left: every completion and attempt belongs to the new term.
    term = Term.objects.get()
    assert not LessonCompletion.objects.exclude(lesson__term=term).exists()
    assert not Attempt.objects.exclude(quiz__term_exams__term=term).exists()
