"""A student's record on the class page: who sees real names, guardian consent, export, deletion and class
teachers."""

import io
import json

import openpyxl
import pytest
from django.utils import timezone

from edu import rosters
from edu.models import Student, User
from tests import factories


@pytest.fixture
def pupil(world):
    return factories.roster_student(
        school_class=world.class_a, real_name="王小明", student_number="2025001", gender="M"
    )


def persona(world, name):
    if name == "guest":
        return None
    if name == "plain_teacher":
        return factories.user(is_teacher=True, school=world.school_a)
    return getattr(world, name)


# --- the class page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "sees_names"),
    [
        ("plain_teacher", 200, True),
        ("teacher_a", 200, True),
        ("teacher_b", 404, False),
        ("organiser_a", 200, False),  # counts, never names
        ("organiser_province", 200, False),
        ("organiser_b", 404, False),
        ("student", 403, False),
        ("volunteer", 404, False),
        ("admin", 200, True),
    ],
)
def test_real_names_only_for_the_schools_staff(world, login, pupil, name, status, sees_names):
    response = login(persona(world, name)).get(f"/classes/{world.class_a.pk}/")
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert ("王小明" in page) == sees_names
        assert ("2025001" in page) == sees_names
        assert response.context["roster_count"] == 1


def test_class_page_query_budget(world, login, django_assert_max_num_queries):
    world.class_a.teachers.add(world.teacher_a)
    for number in range(40):
        student = factories.roster_student(school_class=world.class_a)
        if number % 3 == 0:
            rosters.guardian_consent_record(student=student, by=world.teacher_a, now=timezone.now())
    factories.user(is_student=True, school_class=world.class_a)  # joined with the code
    client = login(world.teacher_a)
    with django_assert_max_num_queries(10):
        response = client.get(f"/classes/{world.class_a.pk}/")
    assert response.status_code == 200 and len(response.context["roster"]) == 40


# --- guardian consent --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 404),
        ("plain_teacher", 302),
        ("teacher_a", 302),
        ("teacher_b", 404),
        ("organiser_a", 404),
        ("volunteer", 404),
        ("admin", 302),
    ],
)
def test_consent_gate(world, login, pupil, name, expected):
    client = login(persona(world, name))
    response = client.post(f"/students/{pupil.pk}/consent/")
    assert response.status_code == expected
    pupil.refresh_from_db()
    assert (pupil.guardian_consent_at is not None) == (expected == 302 and name != "guest")
    assert client.get(f"/students/{pupil.pk}/consent/").status_code in (302, 404, 405)


def test_consent_is_recorded_once_with_who_recorded_it(world, pupil):
    first = timezone.now()
    rosters.guardian_consent_record(student=pupil, by=world.teacher_a, now=first)
    rosters.guardian_consent_record(student=pupil, by=world.admin, now=first + timezone.timedelta(days=1))
    pupil.refresh_from_db()
    assert pupil.guardian_consent_at == first and pupil.guardian_consent_recorded_by == world.teacher_a


def test_the_school_admin_sets_the_consent_rule(world, login):
    assert login(world.organiser_a).post(f"/schools/{world.school_a.code}/consent-rule/").status_code == 403
    client = login(world.teacher_a)
    client.post(f"/schools/{world.school_a.code}/consent-rule/", {"requires_guardian_consent": "on"})
    world.school_a.refresh_from_db()
    assert world.school_a.requires_guardian_consent
    client.post(f"/schools/{world.school_a.code}/consent-rule/", {})
    world.school_a.refresh_from_db()
    assert not world.school_a.requires_guardian_consent


# --- export and deletion -----------------------------------------------------------------------------------

MANAGE_GATE = [
    ("guest", 302),
    ("student", 404),
    ("plain_teacher", 403),  # teachers see the record; its export and deletion are the school admin's
    ("teacher_a", 200),
    ("teacher_b", 404),
    ("organiser_a", 404),
    ("organiser_b", 404),
    ("volunteer", 404),
    ("admin", 200),
]


@pytest.mark.parametrize(("name", "expected"), MANAGE_GATE)
def test_export_gate(world, login, pupil, name, expected):
    assert login(persona(world, name)).get(f"/students/{pupil.pk}/export/").status_code == expected


@pytest.mark.parametrize(("name", "expected"), MANAGE_GATE)
def test_delete_gate(world, login, pupil, name, expected):
    client = login(persona(world, name))
    assert client.get(f"/students/{pupil.pk}/delete/").status_code == expected
    assert client.post(f"/students/{pupil.pk}/delete/").status_code == (302 if expected == 200 else expected)
    assert Student.objects.filter(pk=pupil.pk).exists() == (expected != 200)


def test_export_as_json_and_xlsx(world, login, pupil):
    rosters.guardian_consent_record(student=pupil, by=world.teacher_a, now=timezone.now())
    client = login(world.teacher_a)
    response = client.get(f"/students/{pupil.pk}/export/?format=json")
    assert response["Content-Type"].startswith("application/json")
    assert "qingkong-student-2025001.json" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["roster"]["real_name"] == "王小明" and data["roster"]["student_number"] == "2025001"
    assert (
        data["roster"]["class"] == "七年级1班"
        and data["roster"]["guardian_consent_recorded_by"] == "teacher_a"
    )
    assert data["account"]["username"] == "s2025001" and data["school"]["code"] == world.school_a.code
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/students/{pupil.pk}/export/?format=xlsx").content)
    )
    rows = list(workbook.active.iter_rows(values_only=True))
    assert ("roster", "real_name", "王小明") in rows
    assert client.get(f"/students/{pupil.pk}/export/?format=pdf").status_code == 400


def test_delete_removes_the_record_and_empties_the_account(world, login, pupil):
    from allauth.account.models import EmailAddress

    user = pupil.user
    user.email = "ming@example.com"
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    response = login(world.teacher_a).post(f"/students/{pupil.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == f"/classes/{world.class_a.pk}/"
    assert not Student.objects.exists()
    user = User.objects.get(pk=user.pk)  # the account stays, so that answers still count, but is empty
    assert user.username == f"deleted-{user.pk}"
    assert (user.nickname, user.email, user.first_name, user.is_active, user.is_student) == (
        "",
        "",
        "",
        False,
        False,
    )
    assert user.school_class is None and not user.has_usable_password()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not User.objects.filter(username="s2025001").exists()


# --- class teachers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 403),
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_class_teachers_gate(world, login, name, expected):
    assert login(persona(world, name)).get(f"/classes/{world.class_a.pk}/teachers/").status_code == expected


def test_class_teachers_are_teachers_of_the_school(world, login):
    colleague = factories.user(is_teacher=True, school=world.school_a, first_name="李老师")
    client = login(world.teacher_a)
    page = client.get(f"/classes/{world.class_a.pk}/teachers/").content.decode()
    assert "李老师" in page and "teacher_b" not in page
    response = client.post(f"/classes/{world.class_a.pk}/teachers/", {"teachers": [world.teacher_b.pk]})
    assert response.status_code == 200 and not world.class_a.teachers.exists()
    response = client.post(f"/classes/{world.class_a.pk}/teachers/", {"teachers": [colleague.pk]})
    assert response.status_code == 302
    assert list(world.class_a.teachers.all()) == [colleague]
    with pytest.raises(rosters.RosterError):
        rosters.class_teachers_set(school_class=world.class_a, teachers=[world.teacher_b], by=world.admin)
