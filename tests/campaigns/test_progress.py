"""Per-student progress in a second-classroom term: the models' constraints, and the progress row kept in
step with lesson completion, the final exam, the claim of the account, class moves and enrollment; the final
exam stays locked until every lesson is done; the school's figures are refreshed after each commit."""

import sys
import types
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import lessons, services
from campaigns.models import Enrollment, Lesson, LessonCompletion, StudentProgress, TermExam
from edu import rosters
from tests import factories
from tests.campaigns.test_lessons import lesson, make_quiz, take, term_with_school


@pytest.fixture
def refreshed(monkeypatch):
    """A stand-in for campaigns.figures that records what it was asked to refresh."""
    calls = []
    fake = types.ModuleType("campaigns.figures")
    fake.school_figures_refresh = lambda *, term, school: calls.append((term.pk, school.pk))
    monkeypatch.setitem(sys.modules, "campaigns.figures", fake)
    import campaigns

    monkeypatch.setattr(campaigns, "figures", fake, raising=False)
    return calls


def progress(user, term) -> StudentProgress:
    return StudentProgress.objects.get(user=user, term=term)


# --- models -------------------------------------------------------------------------------------------------


def test_one_lesson_per_position_and_one_exam_per_grade(world):
    term = term_with_school(world)
    lesson(term, position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        lesson(term, position=1)
    quiz = make_quiz(world, term)
    TermExam.objects.create(term=term, grade=7, quiz=quiz)
    with pytest.raises(IntegrityError), transaction.atomic():
        TermExam.objects.create(term=term, grade=7, quiz=quiz)


def test_one_completion_and_one_progress_row_per_student(world):
    term = term_with_school(world)
    item = lesson(term)
    LessonCompletion.objects.create(lesson=item, user=world.student, completed_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        LessonCompletion.objects.create(lesson=item, user=world.student, completed_at=timezone.now())
    lessons.progress_recompute(term=term, user=world.student)
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentProgress.objects.create(
            term=term, user=world.student, school=world.school_a, region_path="x", grade=7
        )


def test_a_lesson_takes_at_least_a_minute(world):
    term = term_with_school(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        lesson(term, minutes=0)


# --- lesson completion --------------------------------------------------------------------------------------


def test_completion_is_idempotent_and_counted_once(world, refreshed, django_capture_on_commit_callbacks):
    term = term_with_school(world)
    first, _second = lesson(term), lesson(term)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        lessons.lesson_complete(lesson=first, user=world.student, now=now)
        lessons.lesson_complete(lesson=first, user=world.student, now=now)
    row = progress(world.student, term)
    assert (row.lessons_done, row.lessons_total, row.completed_all) == (1, 2, False)
    assert row.school == world.school_a and row.school_class == world.class_a and row.grade == 7
    assert row.region_path == world.school_a.region_path and row.registered  # joined with a code
    assert (term.pk, world.school_a.pk) in refreshed


def test_the_last_lesson_completes_the_path(world):
    term = term_with_school(world)
    items = [lesson(term) for _ in range(3)]
    for item in items:
        lessons.lesson_complete(lesson=item, user=world.student, now=timezone.now())
    row = progress(world.student, term)
    assert (row.lessons_done, row.completed_all) == (3, True)


def test_adding_and_deleting_lessons_recounts_the_grade(world, login):
    term = term_with_school(world)
    first = lesson(term)
    lessons.lesson_complete(lesson=first, user=world.student, now=timezone.now())
    assert progress(world.student, term).completed_all
    client = login(world.organiser_a)
    client.post(
        f"/campaigns/{term.campaign_id}/term/lessons/new/?grade=7", {"title": "第二课", "minutes": "10"}
    )
    row = progress(world.student, term)
    assert (row.lessons_done, row.lessons_total, row.completed_all) == (1, 2, False)
    client.post(f"/campaigns/lessons/{first.pk}/delete/")
    row = progress(world.student, term)
    assert (row.lessons_done, row.lessons_total, row.completed_all) == (0, 1, False)


def test_a_quiz_of_an_unrelated_lesson_does_not_complete_it(world):
    """A student of another grade sits the same quiz: their attempt completes nothing."""
    term = term_with_school(world)
    quiz = make_quiz(world, term)
    lesson(term, grade=8, quiz=quiz)
    take(quiz, world.student)
    assert not LessonCompletion.objects.exists()
    assert not StudentProgress.objects.exists()


# --- the final exam -----------------------------------------------------------------------------------------


def test_the_exam_is_locked_until_every_lesson_is_done(world, login):
    term = term_with_school(world)
    items = [lesson(term), lesson(term)]
    exam = make_quiz(world, term, title="期末考试")
    TermExam.objects.create(term=term, grade=7, quiz=exam)
    client = login(world.student)
    response = client.post(f"/quizzes/{exam.pk}/start/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "opens once you have finished every lesson" in response.content.decode()
    assert not exam.attempts.exists()
    lessons.lesson_complete(lesson=items[0], user=world.student, now=timezone.now())
    client.post(f"/quizzes/{exam.pk}/start/")
    assert not exam.attempts.exists()
    lessons.lesson_complete(lesson=items[1], user=world.student, now=timezone.now())
    response = client.post(f"/quizzes/{exam.pk}/start/")
    assert exam.attempts.filter(user=world.student).count() == 1
    assert response.status_code == 302 and "/attempts/" in response["Location"]


def test_a_student_outside_the_term_cannot_start_the_exam_but_its_managers_can(world, login):
    term = term_with_school(world)
    exam = make_quiz(world, term, title="期末考试")
    TermExam.objects.create(term=term, grade=7, quiz=exam)
    other = factories.user(
        is_student=True, school_class=factories.school_class(school=world.school_a, grade=7, name="9班")
    )
    Enrollment.objects.filter(term=term).update(status=Enrollment.Status.DECLINED)
    login(other).post(f"/quizzes/{exam.pk}/start/")
    assert not exam.attempts.exists()
    login(world.organiser_a).post(f"/quizzes/{exam.pk}/start/")
    assert exam.attempts.filter(user=world.organiser_a).exists()


def test_the_exam_score_pass_full_marks_and_excellence(world, refreshed, django_capture_on_commit_callbacks):
    term = term_with_school(world)
    item = lesson(term)
    exam = make_quiz(world, term, title="期末考试", questions=4)
    exam.grading = exam.Grading.HIGHEST
    exam.save()
    TermExam.objects.create(term=term, grade=7, quiz=exam)
    lessons.lesson_complete(lesson=item, user=world.student, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        take(exam, world.student, right=2)
    row = progress(world.student, term)
    assert (row.exam_score, row.exam_passed, row.exam_full_marks, row.exam_excellent) == (
        Decimal("50.00"),
        False,
        False,
        False,
    )
    assert (term.pk, world.school_a.pk) in refreshed
    take(exam, world.student, right=4)
    row = progress(world.student, term)
    assert (row.exam_score, row.exam_passed, row.exam_full_marks, row.exam_excellent) == (
        Decimal("100.00"),
        True,
        True,
        True,
    )
    take(exam, world.student, right=3)  # the highest attempt counts
    assert progress(world.student, term).exam_score == Decimal("100.00")


def test_the_terms_pass_mark_decides(world):
    term = term_with_school(world)
    term.pass_mark_pct = 80
    term.save()
    item = lesson(term)
    exam = make_quiz(world, term, questions=4)
    TermExam.objects.create(term=term, grade=7, quiz=exam)
    lessons.lesson_complete(lesson=item, user=world.student, now=timezone.now())
    take(exam, world.student, right=3)
    row = progress(world.student, term)
    assert row.exam_score == Decimal("75.00") and not row.exam_passed


def test_changing_the_exam_recounts_the_grade(world):
    term = term_with_school(world)
    item = lesson(term)
    first, second = make_quiz(world, term, title="甲"), make_quiz(world, term, title="乙")
    lessons.exam_set(term=term, grade=7, quiz=first, by=world.organiser_a)
    lessons.lesson_complete(lesson=item, user=world.student, now=timezone.now())
    take(first, world.student)
    assert progress(world.student, term).exam_score == Decimal("100.00")
    lessons.exam_set(term=term, grade=7, quiz=second, by=world.organiser_a)
    assert progress(world.student, term).exam_score is None
    lessons.exam_set(term=term, grade=7, quiz=first, by=world.organiser_a)
    assert progress(world.student, term).exam_passed


# --- claim, moves and enrollment ----------------------------------------------------------------------------


def test_enrolling_a_school_makes_rows_for_its_roster(world, refreshed, django_capture_on_commit_callbacks):
    term = factories.term(region=world.county_a, grades=(7,))
    lesson(term)
    record = factories.roster_student(school_class=world.class_a)
    grade9 = factories.roster_student(
        school_class=factories.school_class(school=world.school_a, grade=9, name="1班")
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    row = progress(record.user, term)
    assert (row.registered, row.lessons_total, row.grade) == (False, 1, 7)
    assert not StudentProgress.objects.filter(user=grade9.user).exists()
    assert (term.pk, world.school_a.pk) in refreshed
    # Enrolling again changes nothing.
    services.enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    assert StudentProgress.objects.filter(term=term).count() == 1


def test_accepting_an_invitation_makes_the_rows(world):
    term = factories.term(region=world.county_a, grades=(7,))
    record = factories.roster_student(school_class=world.class_a)
    enrollment = services.enrollment_invite(
        term=term, school=world.school_a, by=world.organiser_a, now=timezone.now()
    )
    assert not StudentProgress.objects.exists()
    services.enrollment_decide(enrollment=enrollment, accept=True, by=world.teacher_a, now=timezone.now())
    assert progress(record.user, term).registered is False


def test_claiming_the_account_registers_the_student(world, refreshed, django_capture_on_commit_callbacks):
    term = term_with_school(world)
    record = factories.roster_student(school_class=world.class_a)
    lessons.progress_ensure_for_school(term=term, school=world.school_a)
    assert progress(record.user, term).registered is False
    [(_student, code)] = rosters.claim_codes_issue(students=[record], by=world.teacher_a, now=timezone.now())
    refreshed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rosters.student_claim(
            username=record.user.username, claim_code=code, password="Qk-long-pass-42", now=timezone.now()
        )
    assert progress(record.user, term).registered is True
    assert refreshed == [(term.pk, world.school_a.pk)]


def test_a_class_move_moves_the_progress(world):
    term = term_with_school(world)
    record = factories.roster_student(school_class=world.class_a)
    seven_b = factories.school_class(school=world.school_a, grade=7, name="2班")
    eight = factories.school_class(school=world.school_a, grade=8, name="1班")
    item7, item8 = lesson(term, grade=7), lesson(term, grade=8)
    lesson(term, grade=8)
    lessons.lesson_complete(lesson=item7, user=record.user, now=timezone.now())
    rosters.student_move(student=record, school_class=seven_b, by=world.teacher_a, now=timezone.now())
    row = progress(record.user, term)
    assert (row.school_class, row.grade, row.lessons_done, row.lessons_total) == (seven_b, 7, 1, 1)
    rosters.student_move(student=record, school_class=eight, by=world.teacher_a, now=timezone.now())
    row = progress(record.user, term)
    assert (row.school_class, row.grade, row.lessons_done, row.lessons_total, row.completed_all) == (
        eight,
        8,
        0,
        2,
        False,
    )
    LessonCompletion.objects.create(lesson=item8, user=record.user, completed_at=timezone.now())
    lessons.progress_recompute(term=term, user=record.user)
    assert progress(record.user, term).lessons_done == 1


def test_a_move_out_of_the_terms_grades_removes_the_row(world, refreshed, django_capture_on_commit_callbacks):
    term = term_with_school(world, grades=(7,))
    record = factories.roster_student(school_class=world.class_a)
    lessons.progress_ensure_for_school(term=term, school=world.school_a)
    six = factories.school_class(school=world.school_a, grade=6, name="1班")
    refreshed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rosters.student_move(student=record, school_class=six, by=world.teacher_a, now=timezone.now())
    assert not StudentProgress.objects.filter(user=record.user).exists()
    assert (term.pk, world.school_a.pk) in refreshed


def test_the_first_visit_makes_the_row_and_rows_agree_with_a_direct_count(world, login):
    term = term_with_school(world)
    items = [lesson(term) for _ in range(2)]
    students = [factories.user(is_student=True, school_class=world.class_a) for _ in range(3)]
    for n, student in enumerate(students):
        login(student).get("/")
        for item in items[:n]:
            lessons.lesson_complete(lesson=item, user=student, now=timezone.now())
    rows = StudentProgress.objects.filter(term=term, user__in=students)
    assert rows.count() == 3
    for row in rows:
        direct = LessonCompletion.objects.filter(
            user=row.user, lesson__term=term, lesson__grade=row.grade
        ).count()
        assert row.lessons_done == direct
        assert row.lessons_total == Lesson.objects.filter(term=term, grade=row.grade).count()
    assert rows.filter(completed_all=True).count() == 1


def test_progress_works_with_the_real_figures_module(world, django_capture_on_commit_callbacks):
    """With campaigns.figures in place, the school's rollup follows a completion."""
    figures = pytest.importorskip("campaigns.figures")
    if not hasattr(figures, "school_figures_refresh"):
        pytest.skip("figures not built yet")
    from campaigns.models import SchoolTermFigures

    term = term_with_school(world)
    item = lesson(term)
    with django_capture_on_commit_callbacks(execute=True):
        lessons.lesson_complete(lesson=item, user=world.student, now=timezone.now())
    rollup = SchoolTermFigures.objects.get(term=term, school=world.school_a)
    assert rollup.participating == 1 and rollup.registered == 1
