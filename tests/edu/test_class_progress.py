"""The teacher's class page in a second-classroom term (figures, who has not registered, who is behind)
and the printable reminder sheet: gates, definitions, agreement with the organisers' figures, budgets."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import figures, lessons
from campaigns.models import Enrollment, TermExam
from campaigns.services import enrollment_enroll
from edu import rosters
from edu.class_progress import class_progress, class_terms
from edu.models import Student
from tests import factories
from tests.campaigns.test_lessons import lesson, make_quiz, take

PASSWORD = "Qk-sunny-river-42"


def en(client):
    client.cookies["qk_language"] = "en"
    return client


def claim(world, student: Student) -> None:
    [(_record, code)] = rosters.claim_codes_issue(students=[student], by=world.teacher_a, now=timezone.now())
    rosters.student_claim(
        username=student.user.username, claim_code=code, password=PASSWORD, now=timezone.now()
    )


def read_all(term, user, *, grade=7) -> None:
    for item in term.lessons.filter(grade=grade).order_by("position"):
        lessons.lesson_complete(lesson=item, user=user, now=timezone.now())


@pytest.fixture
def term(world):
    """A term of county A for grades 7–9 with two grade-7 lessons and a ten-question final exam; school A
    enrolled through the service (which makes the progress rows)."""
    term = factories.term(region=world.county_a, grades=(7, 8, 9), pass_mark_pct=60, title="禁毒第二课堂")
    term.campaign.organisers.add(world.organiser_a)
    lesson(term, title="认识毒品")
    lesson(term, title="拒绝毒品")
    TermExam.objects.create(term=term, grade=7, quiz=make_quiz(world, term, title="期末考试", questions=10))
    return term


@pytest.fixture
def pupils(world, term):
    """Five roster students of class A and one who joined with the class code, at every stage:

    王一 has not claimed; 李二 claimed and did nothing; 张三 did everything with full marks; 赵四 failed the
    exam (50 %); 钱五 scored 90 % (excellent); 小晴 (the world's student) joined with the code and read
    one lesson."""
    names = ["王一", "李二", "张三", "赵四", "钱五"]
    records = [
        factories.roster_student(school_class=world.class_a, real_name=name, student_number=f"202500{n}")
        for n, name in enumerate(names, start=1)
    ]
    enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    for record in records[1:]:
        claim(world, record)
    exam = TermExam.objects.get(term=term, grade=7).quiz
    for record, right in ((records[2], 10), (records[3], 5), (records[4], 9)):
        read_all(term, record.user)
        take(exam, record.user, right=right)
    joined = world.student  # 小晴, who joined with the class code
    lessons.lesson_complete(lesson=term.lessons.get(position=1), user=joined, now=timezone.now())
    return {name: record for name, record in zip(names, records, strict=True)} | {"小晴": joined}


def enroll(term, school, *, status=Enrollment.Status.ENROLLED) -> Enrollment:
    return Enrollment.objects.create(term=term, school=school, status=status, invited_at=timezone.now())


def page(client, world):
    return en(client).get(f"/classes/{world.class_a.pk}/")


def reminders_url(world, term) -> str:
    return f"/classes/{world.class_a.pk}/reminders/?term={term.pk}"


# --- definitions ------------------------------------------------------------------------------------------


def test_each_student_and_the_class_figures(world, term, pupils):
    [progress] = class_progress(school_class=world.class_a, terms=[term])
    counts = progress.counts
    assert (counts.headcount, counts.registered, counts.participating) == (6, 5, 3)
    assert (counts.exam_taken, counts.exam_passed, counts.exam_full_marks, counts.exam_excellent) == (
        3,
        2,
        1,
        2,
    )
    assert counts.registration_rate == Decimal("83.3")
    assert counts.student_participation_rate == Decimal("50.0")
    assert counts.pass_rate == Decimal("66.7") and counts.full_mark_rate == Decimal("33.3")
    assert counts.excellence_rate == Decimal("66.7") and counts.average_score == Decimal("80.0")
    assert [student.name for student in progress.unregistered] == ["王一"]
    assert [student.name for student in progress.behind] == ["李二", "赵四", "小晴"]
    assert [student.name for student in progress.reminders] == ["王一", "李二", "赵四", "小晴"]
    standing = {student.name: student for student in progress.students}
    assert standing["李二"].lessons_done == 0 and standing["李二"].exam_missing
    assert standing["赵四"].exam_failed and not standing["赵四"].lessons_missing
    assert standing["小晴"].registered and standing["小晴"].lessons_done == 1


def test_the_class_figures_agree_with_the_organisers_figures(world, term, pupils):
    [progress] = class_progress(school_class=world.class_a, terms=[term])
    [organisers] = [
        row
        for row in figures.figures_for_classes(term=term, school=world.school_a)
        if row.school_class == world.class_a
    ]
    mine = progress.counts
    for column in (
        "headcount",
        "registration_rate",
        "student_participation_rate",
        "pass_rate",
        "full_mark_rate",
        "excellence_rate",
        "average_score",
    ):
        assert getattr(mine, column) == getattr(organisers, column), column


def test_a_student_without_a_progress_row_counts_as_not_started(world, term, pupils):
    # A roster uploaded after the school enrolled: the new student has no row until they open the path.
    late = factories.roster_student(school_class=world.class_a, real_name="周六", student_number="2025009")
    [progress] = class_progress(school_class=world.class_a, terms=[term])
    [standing] = [student for student in progress.students if student.record == late]
    assert not standing.registered and standing.lessons_done == 0 and standing.lessons_total == 2
    assert progress.counts.headcount == 7 and progress.counts.registered == 5


def test_only_the_terms_the_class_takes_part_in(world, term, pupils):
    today = timezone.localdate()
    other_grades = factories.term(region=world.county_a, grades=(8, 9))
    ended = factories.term(
        region=world.county_a, starts_on=today - dt.timedelta(days=90), ends_on=today - dt.timedelta(days=1)
    )
    invited = factories.term(region=world.county_a)
    upcoming = factories.term(
        region=world.county_a, starts_on=today + dt.timedelta(days=10), ends_on=today + dt.timedelta(days=40)
    )
    for other in (other_grades, ended, upcoming):
        enroll(other, world.school_a)
    enroll(invited, world.school_a, status=Enrollment.Status.INVITED)
    # Registration starts before the lessons do: an enrolled term that has not started has its section.
    assert class_terms(school_class=world.class_a) == [term, upcoming]
    assert class_terms(school_class=world.class_b) == []
    world.class_a.graduated_on = today
    world.class_a.save()
    assert class_terms(school_class=world.class_a) == []


# --- the class page ----------------------------------------------------------------------------------------


def test_teachers_of_the_school_see_the_figures_and_the_names(world, login, term, pupils):
    html = page(login(world.teacher_a), world).content.decode()
    assert "禁毒第二课堂" in html
    assert "83.3%" in html and "registered: 5 of 6" in html
    assert "finished every lesson: 3 of 6" in html and "80.0" in html
    assert "Not registered yet" in html and "王一" in html and "s2025001" in html
    assert "0 / 2" in html and "50%, not passed" in html
    assert f"/classes/{world.class_a.pk}/reminders/?term={term.pk}" in html


@pytest.mark.parametrize("persona", ["organiser_a", "organiser_province", "admin_organiser"])
def test_organisers_see_the_counts_but_no_names(world, login, term, pupils, persona):
    users = {"admin_organiser": factories.user(is_organiser=True, region=world.city)}
    html = page(login(users.get(persona) or getattr(world, persona)), world).content.decode()
    assert "83.3%" in html and "1 not registered yet, 3 behind" in html
    # Real names never; (the nicknames of students who joined with the code are on the page already).
    for name in ("王一", "李二", "赵四", "张三", "s2025001"):
        assert name not in html
    assert "/reminders/" not in html


@pytest.mark.parametrize(("persona", "expected"), [("teacher_b", 404), ("student", 403), ("guest", 302)])
def test_the_class_page_stays_closed_to_others(world, login, term, pupils, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert page(client, world).status_code == expected


def test_a_class_without_a_roster(world, login, term):
    enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    html = page(login(world.teacher_a), world).content.decode()
    # The world's student joined with the code; the class's typed-in headcount is 45.
    assert "registered: 1 of 45" in html and "This class has no roster: 1 of 45" in html


def test_no_section_without_a_term(world, login, pupils):
    Enrollment.objects.all().delete()
    html = page(login(world.teacher_a), world).content.decode()
    assert "class-progress" not in html and "/reminders/" not in html


# --- the reminder sheet ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 200),  # every teacher of the school, like the claim slips
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 403),  # may see the class's counts, not the names
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_reminder_sheet_gate(world, login, term, pupils, persona, expected):
    users = {"plain_teacher": factories.user(is_teacher=True, school=world.school_a)}
    client = login(None if persona == "guest" else users.get(persona) or getattr(world, persona))
    response = client.get(reminders_url(world, term))
    assert response.status_code == expected
    if expected == 200:
        assert "王一" in response.content.decode()
    else:
        assert "王一" not in response.content.decode()


def test_reminder_sheet_lists_what_each_student_is_missing(world, login, term, pupils):
    response = en(login(world.teacher_a)).get(reminders_url(world, term))
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    assert "@page" not in html  # the print rules live in the stylesheet
    assert "css/class_progress.css" in html and "print-reminders" in html
    strips = html.split('<article class="reminder"')[1:]
    assert [strip.split('data-username="')[1].split('"')[0] for strip in strips] == [
        "s2025001",
        "s2025002",
        "s2025004",
        "student",
    ]
    wang, li, zhao, sun = strips
    assert (
        "王一" in wang and "Account not set up yet" in wang and "Ask your teacher for your claim slip" in wang
    )
    assert "http://testserver/accounts/claim/" in wang
    assert "Lessons: 0 of 2 done." in li and "Final exam: not taken yet" in li and "claim slip" not in li
    assert "Final exam: 50%, below the pass mark of 60%." in zhao and "Lessons:" not in zhao
    assert "Lessons: 1 of 2 done." in sun
    assert "张三" not in html and "钱五" not in html
    assert "4 students with something to do" in html


def test_reminder_sheet_in_chinese(world, login, term, pupils):
    client = login(world.teacher_a)
    client.cookies["qk_language"] = "zh-hans"
    html = client.get(reminders_url(world, term)).content.decode()
    assert "王一" in html and 'lang="zh' in html


def test_reminder_sheet_term_choice(world, login, term, pupils):
    client = login(world.teacher_a)
    assert client.get(f"/classes/{world.class_a.pk}/reminders/").status_code == 200  # the class's only term
    other = factories.term(region=world.county_b)
    enroll(other, world.school_b)
    for bad in (str(other.pk), "abc", "999999", "1 OR 1=1"):
        assert client.get(f"/classes/{world.class_a.pk}/reminders/", {"term": bad}).status_code == 404
    Enrollment.objects.filter(term=term).delete()
    assert client.get(f"/classes/{world.class_a.pk}/reminders/").status_code == 404
    assert client.post(reminders_url(world, term)).status_code == 405


def test_everyone_done_makes_an_empty_sheet(world, login, term):
    done = factories.roster_student(school_class=world.class_a, real_name="全完成", student_number="2025100")
    enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    claim(world, done)
    read_all(term, done.user)
    take(TermExam.objects.get(term=term).quiz, done.user)
    world.student.delete()  # the world's joined student has not started
    html = en(login(world.teacher_a)).get(reminders_url(world, term)).content.decode()
    assert "Nobody in this class has anything left to do" in html and "全完成" not in html


# --- query budgets -----------------------------------------------------------------------------------------


def add_students(world, term, n: int, start: int) -> None:
    for i in range(n):
        record = factories.roster_student(school_class=world.class_a, student_number=f"2026{start + i:04d}")
        if i % 2:
            claim(world, record)
            lessons.lesson_complete(lesson=term.lessons.get(position=1), user=record.user, now=timezone.now())


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_budget_is_constant_in_the_number_of_students(
    world, login, term, pupils, django_assert_max_num_queries
):
    client = login(world.teacher_a)
    class_url, sheet_url = f"/classes/{world.class_a.pk}/", reminders_url(world, term)
    small = queries(client, class_url), queries(client, sheet_url)
    add_students(world, term, 20, start=100)
    assert (queries(client, class_url), queries(client, sheet_url)) == small
    with django_assert_max_num_queries(20):
        client.get(class_url)
    with django_assert_max_num_queries(12):
        client.get(sheet_url)
