"""Second-classroom terms and enrollment: who creates, enrolls, invites and answers; the checklist."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Campaign, Enrollment, Term
from edu.models import Student
from tests import factories


def persona(world, name):
    if name == "guest":
        return None
    if name == "plain_teacher":
        return factories.user(is_teacher=True, school=world.school_a)
    return getattr(world, name)


def term_data(world, **overrides):
    today = timezone.localdate()
    return {
        "title": "2026年秋季学期第二课堂",
        "region": world.county_a.pk,
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=120)).isoformat(),
        "grades": ["7", "8", "9"],
        "target_registration_pct": "95",
        "target_participation_pct": "90",
        "pass_mark_pct": "60",
        "description": "",
        "is_published": "on",
        **overrides,
    }


# --- creating and editing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("teacher_a", 403),
        ("volunteer", 403),
        ("organiser_a", 200),
        ("admin", 200),
    ],
)
def test_term_create_gate(world, login, name, expected):
    assert login(persona(world, name)).get("/campaigns/terms/new/").status_code == expected


def test_an_organiser_creates_a_term(world, login):
    client = login(world.organiser_a)
    response = client.post("/campaigns/terms/new/", term_data(world))
    term = Term.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{term.campaign_id}/term/"
    assert term.campaign.kind == Campaign.Kind.SECOND_CLASSROOM and term.campaign.region == world.county_a
    assert term.grades == [7, 8, 9] and term.target_registration_pct == 95 and term.pass_mark_pct == 60
    assert list(term.campaign.organisers.all()) == [world.organiser_a]
    assert term.campaign.created_by == world.organiser_a


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"grades": []}, "grades"),
        ({"grades": ["13"]}, "grades"),
        ({"target_registration_pct": "101"}, "target_registration_pct"),
        ({"pass_mark_pct": "-1"}, "pass_mark_pct"),
        ({"ends_on": "2000-01-01"}, "ends_on"),
    ],
)
def test_term_form_errors(world, login, overrides, field):
    response = login(world.organiser_a).post("/campaigns/terms/new/", term_data(world, **overrides))
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Term.objects.exists()


def test_an_organiser_cannot_create_a_term_outside_their_region(world, login):
    response = login(world.organiser_a).post(
        "/campaigns/terms/new/", term_data(world, region=world.county_b.pk)
    )
    assert "region" in response.context["form"].errors and not Term.objects.exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("teacher_a", 403),
        ("organiser_b", 403),
        ("organiser_a", 200),
        ("organiser_province", 200),
    ],
)
def test_term_edit_gate(world, login, name, expected):
    term = factories.term(region=world.county_a)
    assert (
        login(persona(world, name)).get(f"/campaigns/{term.campaign_id}/term/edit/").status_code == expected
    )


def test_a_second_classroom_campaign_without_a_term_gets_one_on_edit(world, login):
    campaign = factories.campaign(region=world.county_a, kind=Campaign.Kind.SECOND_CLASSROOM)
    client = login(world.organiser_a)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f"/campaigns/{campaign.pk}/term/edit/" in page
    response = client.post(
        f"/campaigns/{campaign.pk}/term/edit/", term_data(world, title=campaign.title, grades=["8"])
    )
    assert response.status_code == 302
    assert Term.objects.get(campaign=campaign).grades == [8]
    other = factories.campaign(region=world.county_a, kind=Campaign.Kind.DAY_626)
    assert client.get(f"/campaigns/{other.pk}/term/edit/").status_code == 404


# --- the organiser's enrollment page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "province_term", "county_b_term"),
    [
        ("guest", 302, 302),
        ("student", 403, 403),
        ("teacher_a", 403, 403),
        ("volunteer", 403, 403),
        ("organiser_a", 200, 403),  # a county office enrolls its own schools in the province's term
        ("organiser_b", 200, 200),
        ("organiser_province", 200, 200),
        ("admin", 200, 200),
    ],
)
def test_term_page_gate(world, login, name, province_term, county_b_term):
    province = factories.term(region=world.province)
    county_b = factories.term(region=world.county_b)
    client = login(persona(world, name))
    assert client.get(f"/campaigns/{province.campaign_id}/term/").status_code == province_term
    assert client.get(f"/campaigns/{county_b.campaign_id}/term/").status_code == county_b_term


def test_an_organiser_sees_and_enrolls_only_the_schools_of_their_region(world, login):
    term = factories.term(region=world.province)
    client = login(world.organiser_a)
    page = client.get(f"/campaigns/{term.campaign_id}/term/")
    assert [school for school, _e, _c in page.context["rows"]] == [world.school_a]
    response = client.post(
        f"/campaigns/{term.campaign_id}/term/enroll/",
        {"school": [world.school_a.code, world.school_b.code], "action": "invite"},
    )
    assert response.status_code == 302
    assert list(Enrollment.objects.values_list("school__code", "status")) == [
        (world.school_a.code, "invited")
    ]
    client.post(
        f"/campaigns/{term.campaign_id}/term/enroll/", {"school": [world.school_b.code], "action": "enroll"}
    )
    assert Enrollment.objects.count() == 1
    assert (
        client.post(
            f"/campaigns/{term.campaign_id}/term/enroll/", {"school": [world.school_a.code]}
        ).status_code
        == 400
    )
    assert (
        login(world.teacher_a)
        .post(
            f"/campaigns/{term.campaign_id}/term/enroll/",
            {"school": [world.school_a.code], "action": "enroll"},
        )
        .status_code
        == 403
    )


def test_status_filter_and_query_budget(world, login, django_assert_max_num_queries):
    term = factories.term(region=world.province)
    for number in range(30):
        school = factories.school(region=world.county_a if number % 2 else world.county_b)
        klass = factories.school_class(school=school, grade=7)
        factories.roster_student(school_class=klass)
        if number % 3 == 0:
            services.enrollment_invite(
                term=term, school=school, by=world.organiser_province, now=timezone.now()
            )
    client = login(world.organiser_province)
    with django_assert_max_num_queries(12):
        response = client.get(f"/campaigns/{term.campaign_id}/term/")
    assert response.status_code == 200 and len(response.context["rows"]) == 25
    invited = client.get(f"/campaigns/{term.campaign_id}/term/?status=invited").context["rows"]
    assert len(invited) == 10 and all(enrollment.status == "invited" for _s, enrollment, _c in invited)
    none = client.get(f"/campaigns/{term.campaign_id}/term/?status=none&q=岳麓中学").context["rows"]
    assert [school for school, _e, _c in none] == [world.school_a]


# --- the school's answer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 403),
        ("teacher_a", 302),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 302),
    ],
)
def test_decide_gate(world, login, name, expected):
    term = factories.term(region=world.province)
    enrollment = services.enrollment_invite(
        term=term, school=world.school_a, by=world.organiser_a, now=timezone.now()
    )
    response = login(persona(world, name)).post(
        f"/campaigns/enrollments/{enrollment.pk}/decide/", {"decision": "accept"}
    )
    assert response.status_code == expected
    enrollment.refresh_from_db()
    assert (enrollment.status == "enrolled") == (expected == 302 and name != "guest")


def test_accept_decline_and_invite_again(world, login):
    term = factories.term(region=world.province)
    now = timezone.now()
    enrollment = services.enrollment_invite(term=term, school=world.school_a, by=world.organiser_a, now=now)
    client = login(world.teacher_a)
    client.cookies["qk_language"] = "en"
    assert (
        client.post(f"/campaigns/enrollments/{enrollment.pk}/decide/", {"decision": "maybe"}).status_code
        == 400
    )
    client.post(f"/campaigns/enrollments/{enrollment.pk}/decide/", {"decision": "decline"})
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.decided_by) == ("declined", world.teacher_a)
    again = services.enrollment_invite(term=term, school=world.school_a, by=world.organiser_province, now=now)
    assert (again.pk, again.status, again.decided_by, again.invited_by) == (
        enrollment.pk,
        "invited",
        None,
        world.organiser_province,
    )
    services.enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=now)
    response = client.post(
        f"/campaigns/enrollments/{enrollment.pk}/decide/", {"decision": "decline"}, follow=True
    )
    enrollment.refresh_from_db()
    assert enrollment.status == "enrolled"
    assert [str(message) for message in response.context["messages"]][-1] == (
        "The school is enrolled in this term by the organiser and cannot decline it here."
    )


def test_invite_and_enroll_are_idempotent(world):
    term = factories.term(region=world.province)
    now = timezone.now()
    first = services.enrollment_enroll(term=term, school=world.school_a, by=world.organiser_a, now=now)
    second = services.enrollment_invite(term=term, school=world.school_a, by=world.organiser_a, now=now)
    assert first.pk == second.pk and second.status == "enrolled" and Enrollment.objects.count() == 1


# --- the checklist -----------------------------------------------------------------------------------------


def test_the_checklist_is_read_from_the_roster_and_the_classes(world):
    term = factories.term(region=world.province, grades=[7, 8], target_registration_pct=50)
    enrollment = services.enrollment_enroll(
        term=term, school=world.school_a, by=world.admin, now=timezone.now()
    )
    checklist = selectors.school_term(term=term, school=world.school_a).checklist
    assert (checklist.roster_uploaded, checklist.teachers_assigned, checklist.registration_reached) == (
        False,
        False,
        False,
    )
    eighth = factories.school_class(school=world.school_a, grade=8, name="1班")
    ninth = factories.school_class(school=world.school_a, grade=9, name="1班")  # not in the term's grades
    students = [factories.roster_student(school_class=klass) for klass in (world.class_a, eighth, eighth)]
    factories.roster_student(school_class=ninth)
    world.class_a.teachers.add(world.teacher_a)
    checklist = selectors.term_checklists(term=term, school_ids=[world.school_a.pk])[world.school_a.pk]
    assert (checklist.roster, checklist.classes, checklist.classes_with_teacher) == (3, 2, 1)
    assert checklist.roster_uploaded and not checklist.teachers_assigned
    eighth.teachers.add(world.teacher_a)
    Student.objects.filter(pk__in=[student.pk for student in students[:2]]).update(claimed_at=timezone.now())
    checklist = selectors.term_checklists(term=term, school_ids=[world.school_a.pk])[world.school_a.pk]
    assert checklist.teachers_assigned and checklist.registration_pct == 66 and checklist.registration_reached
    assert checklist.done == 3 and enrollment.status == "enrolled"


def test_the_school_page_shows_the_checklist_and_the_answer_buttons(world, login):
    term = factories.term(region=world.province, title="秋季第二课堂")
    services.enrollment_invite(term=term, school=world.school_a, by=world.organiser_a, now=timezone.now())
    factories.roster_student(school_class=world.class_a)
    client = login(world.teacher_a)
    client.cookies["qk_language"] = "en"
    page = client.get(f"/schools/{world.school_a.code}/").content.decode()
    assert "秋季第二课堂" in page and "Take part" in page and "Decline" in page
    assert "Roster uploaded" in page and "1 student of these grades" in page
    assert "0 of 1 classes have a class teacher" in page and "0 of 1 (0%), target 90%" in page
    organiser_page = login(world.organiser_a).get(f"/schools/{world.school_a.code}/").content.decode()
    assert "秋季第二课堂" in organiser_page and "enrollments/" not in organiser_page
    assert (
        "秋季第二课堂" not in login(world.teacher_b).get(f"/schools/{world.school_b.code}/").content.decode()
    )
    campaign_page = client.get(f"/campaigns/{term.campaign_id}/").content.decode()
    assert "Your school" in campaign_page and "Take part" in campaign_page


def test_the_checklist_follows_lessons_and_the_final_exam(world):
    from decimal import Decimal

    from campaigns.models import StudentProgress

    term = factories.term(region=world.province, grades=[7])
    services.enrollment_enroll(term=term, school=world.school_a, by=world.admin, now=timezone.now())
    students = [factories.roster_student(school_class=world.class_a) for _ in range(3)]

    def progress(student, **fields):
        return StudentProgress.objects.update_or_create(
            term=term,
            user=student.user,
            defaults={
                "school": world.school_a,
                "school_class": world.class_a,
                "region_path": world.school_a.region_path,
                "grade": 7,
                "registered": True,
                "lessons_total": 3,
                **fields,
            },
        )

    def checklist():
        return selectors.term_checklists(term=term, school_ids=[world.school_a.pk])[world.school_a.pk]

    assert not checklist().lessons_under_way and not checklist().exam_done
    progress(students[0], lessons_done=1)
    progress(students[1])
    assert checklist().lessons_under_way and not checklist().exam_done
    progress(students[0], lessons_done=3, completed_all=True, exam_score=Decimal("80.00"))
    progress(students[1], lessons_done=3, completed_all=True, exam_score=Decimal("55.00"))
    progress(students[2], registered=False)  # not registered: not expected at the exam
    assert checklist().exam_done and (checklist().exam_taken, checklist().on_platform) == (2, 2)
