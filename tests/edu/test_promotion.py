"""Year-end promotion: every class up a grade, the top grade graduates, once a year; and moving a student."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from edu import rosters, selectors
from edu.models import School, SchoolClass, Student
from tests import factories

JULY = datetime(2026, 7, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def junior(world):
    """School A (junior): 七年级1班 (world's), 八年级1班, 九年级1班 and 九年级2班, two students each."""
    classes = [world.class_a] + [
        factories.school_class(school=world.school_a, grade=grade, name=name)
        for grade, name in ((8, "1班"), (9, "1班"), (9, "2班"))
    ]
    for klass in classes:
        for _ in range(2):
            factories.roster_student(school_class=klass)
    return classes


def test_every_class_moves_up_and_the_top_grade_graduates(world, junior):
    seventh, eighth, ninth, ninth_2 = junior
    result = rosters.school_promote(school=world.school_a, by=world.teacher_a, now=JULY)
    assert result.promoted_classes == 2 and result.graduated_students == 4
    assert result.graduated_classes == ["九年级1班", "九年级2班"]
    for klass in junior:
        klass.refresh_from_db()
    assert (seventh.grade, seventh.name, seventh.graduated_on) == (8, "1班", None)
    assert (eighth.grade, eighth.name, eighth.graduated_on) == (9, "1班", None)
    assert (ninth.grade, ninth.name, ninth.graduated_on) == (9, "1班（2026届）", date(2026, 7, 10))
    assert ninth_2.label == "九年级2班（2026届）"
    with translation.override("en"):
        assert ninth_2.label == "Grade 9, Class 2 (class of 2026)"
    graduates = Student.objects.filter(graduated_on=date(2026, 7, 10))
    assert {student.user.school_class_id for student in graduates} == {ninth.pk, ninth_2.pk}
    assert Student.objects.filter(graduated_on__isnull=True).count() == 4
    # Graduated classes are kept (quizzes and results refer to them) but are no longer current.
    assert SchoolClass.objects.filter(school=world.school_a).count() == 4
    assert list(selectors.current_classes(school=world.school_a).order_by("grade")) == [seventh, eighth]
    world.school_a.refresh_from_db()
    assert world.school_a.promoted_on == date(2026, 7, 10)


def test_a_school_moves_up_once_a_year(world, junior):
    rosters.school_promote(school=world.school_a, by=world.teacher_a, now=JULY)
    with pytest.raises(rosters.RosterError, match="2026-07-10"):
        rosters.school_promote(school=world.school_a, by=world.teacher_a, now=JULY + timedelta(days=30))
    assert SchoolClass.objects.get(pk=junior[0].pk).grade == 8
    rosters.school_promote(school=world.school_a, by=world.teacher_a, now=JULY + timedelta(days=365))
    assert SchoolClass.objects.get(pk=junior[0].pk).grade == 9


@pytest.mark.parametrize(
    ("level", "grades", "graduating"),
    [
        (School.Level.PRIMARY, (5, 6), [6]),
        (School.Level.SENIOR, (10, 11, 12), [12]),
        (School.Level.JUNIOR, (1, 6, 7), []),  # a nine-year school: grade 6 simply moves on to 7
    ],
)
def test_the_top_grade_follows_the_kind_of_school(world, level, grades, graduating):
    school = factories.school(region=world.county_a, level=level)
    for grade in grades:
        factories.school_class(school=school, grade=grade, name="1班")
    result = rosters.school_promote(school=school, by=world.admin, now=JULY)
    assert len(result.graduated_classes) == len(graduating)
    current = sorted(selectors.current_classes(school=school).values_list("grade", flat=True))
    assert current == [grade + 1 for grade in grades if grade not in graduating]


def test_next_years_roster_makes_new_classes_beside_the_graduated_ones(world, junior):
    from edu.roster_parsing import ParsedStudent

    rosters.school_promote(school=world.school_a, by=world.teacher_a, now=JULY)
    newcomer = ParsedStudent(row=2, name="陈新", student_number="2026001", grade=7, class_name="1班")
    result = rosters.roster_import(school=world.school_a, students=[newcomer], by=world.teacher_a, now=JULY)
    assert result.new_classes == ["七年级1班"]
    graduate = Student.objects.filter(graduated_on__isnull=False).first()
    again = ParsedStudent(
        row=2, name=graduate.real_name, student_number=graduate.student_number, grade=9, class_name="1班"
    )
    result = rosters.roster_import(school=world.school_a, students=[again], by=world.teacher_a, now=JULY)
    assert graduate.student_number in str(result.errors[0]) and "2026-07-10" in str(result.errors[0])


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 403),
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_promote_page_gate(world, login, junior, persona, expected):
    users = {"plain_teacher": factories.user(is_teacher=True, school=world.school_a)}
    client = login(None if persona == "guest" else users.get(persona) or getattr(world, persona))
    url = f"/schools/{world.school_a.code}/promote/"
    assert client.get(url).status_code == expected
    assert client.post(url).status_code == (302 if expected == 200 else expected)
    promoted = SchoolClass.objects.get(pk=junior[0].pk).grade == 8
    assert promoted == (expected == 200)


def test_promote_page_says_what_will_happen_and_refuses_a_second_click(world, login, junior):
    client = login(world.teacher_a)
    client.cookies["qk_language"] = "en"
    page = client.get(f"/schools/{world.school_a.code}/promote/").content.decode()
    assert "Grade 7 → Grade 8: 1 class moves up" in page
    assert "4 students of the top grade graduate" in page and "Grade 9, Class 2" in page
    assert client.post(f"/schools/{world.school_a.code}/promote/").status_code == 302
    response = client.post(f"/schools/{world.school_a.code}/promote/", follow=True)
    assert "already moved up a grade on" in response.content.decode()
    assert SchoolClass.objects.get(pk=junior[0].pk).grade == 8


# --- moving a student --------------------------------------------------------------------------------------


def test_move_a_student_within_the_school_only(world, login):
    student = factories.roster_student(school_class=world.class_a)
    other = factories.school_class(school=world.school_a, grade=7, name="2班")
    client = login(world.teacher_a)
    page = client.get(f"/students/{student.pk}/move/")
    assert page.status_code == 200
    choices = [str(pk) for pk, _label in page.context["form"].fields["school_class"].choices if pk]
    assert choices == [str(other.pk)]  # not the current class, not another school's
    assert client.post(f"/students/{student.pk}/move/", {"school_class": world.class_b.pk}).status_code == 200
    response = client.post(f"/students/{student.pk}/move/", {"school_class": other.pk})
    assert response.status_code == 302 and response["Location"] == f"/classes/{world.class_a.pk}/"
    student.user.refresh_from_db()
    assert student.user.school_class == other
    with pytest.raises(rosters.RosterError):
        rosters.student_move(student=student, school_class=world.class_b, by=world.admin, now=timezone.now())


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 404),
        ("plain_teacher", 403),
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 404),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_move_page_gate(world, login, persona, expected):
    student = factories.roster_student(school_class=world.class_a)
    users = {"plain_teacher": factories.user(is_teacher=True, school=world.school_a)}
    client = login(None if persona == "guest" else users.get(persona) or getattr(world, persona))
    assert client.get(f"/students/{student.pk}/move/").status_code == expected
