"""Every school and class page through its gate, for every persona: who sees what, who may change what."""

import pytest


def status(client, url, method="get"):
    return getattr(client, method)(url).status_code


@pytest.mark.parametrize(
    ("persona", "school_a", "school_b"),
    [
        ("guest", 302, 302),  # to the sign-in page
        ("student", 200, 404),
        ("teacher_a", 200, 404),
        ("teacher_b", 404, 200),
        ("organiser_a", 200, 404),
        ("organiser_b", 404, 200),
        ("organiser_province", 200, 200),
        ("volunteer", 404, 404),
        ("admin", 200, 200),
    ],
)
def test_school_detail_gate(world, login, persona, school_a, school_b):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert status(client, f"/schools/{world.school_a.code}/") == school_a
    assert status(client, f"/schools/{world.school_b.code}/") == school_b


@pytest.mark.parametrize(
    ("persona", "class_a", "class_b"),
    [
        ("guest", 302, 302),
        ("student", 403, 404),  # their own class's roster is for staff
        ("teacher_a", 200, 404),
        ("teacher_b", 404, 200),
        ("organiser_a", 200, 404),
        ("organiser_b", 404, 200),
        ("volunteer", 404, 404),
        ("admin", 200, 200),
    ],
)
def test_class_detail_gate(world, login, persona, class_a, class_b):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert status(client, f"/classes/{world.class_a.pk}/") == class_a
    assert status(client, f"/classes/{world.class_b.pk}/") == class_b


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("volunteer", 404),
        ("teacher_a", 302),
        ("admin", 302),
    ],
)
def test_only_the_schools_teachers_change_a_join_code(world, login, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    old_code = world.class_a.join_code
    response = client.post(f"/classes/{world.class_a.pk}/join-code/")
    assert response.status_code == expected
    world.class_a.refresh_from_db()
    changed = world.class_a.join_code != old_code
    assert changed == (persona in {"teacher_a", "admin"})
    if expected == 302 and persona != "guest":
        assert response["Location"] == f"/classes/{world.class_a.pk}/"


def test_join_code_change_needs_post(world, login):
    assert status(login(world.teacher_a), f"/classes/{world.class_a.pk}/join-code/") == 405


def test_join_toggle(world, login):
    client = login(world.teacher_a)
    client.post(f"/classes/{world.class_a.pk}/join-toggle/", {"enabled": "0"})
    world.class_a.refresh_from_db()
    assert world.class_a.join_enabled is False
    assert (
        login(world.teacher_b).post(f"/classes/{world.class_a.pk}/join-toggle/", {"enabled": "1"}).status_code
        == 404
    )
    world.class_a.refresh_from_db()
    assert world.class_a.join_enabled is False


def test_school_list_is_scoped(world, login):
    page = login(world.organiser_a).get("/schools/").content.decode()
    assert world.school_a.name in page and world.school_b.name not in page
    page = login(world.organiser_province).get("/schools/").content.decode()
    assert world.school_a.name in page and world.school_b.name in page
    page = login(world.organiser_province).get("/schools/", {"region": world.county_b.code}).content.decode()
    assert world.school_a.name not in page and world.school_b.name in page
    # A region outside the organiser's own is ignored, not shown.
    page = login(world.organiser_a).get("/schools/", {"region": world.county_b.code}).content.decode()
    assert world.school_b.name not in page
    page = login(world.volunteer).get("/schools/").content.decode()
    assert world.school_a.name not in page and world.school_b.name not in page


def test_school_list_query_budget(world, login, django_assert_max_num_queries):
    from tests import factories

    for _ in range(30):
        factories.school(region=world.county_a)
    client = login(world.organiser_province)
    with django_assert_max_num_queries(8):
        assert client.get("/schools/").status_code == 200


def test_teacher_sees_join_codes_only_of_own_school(world, login):
    page = login(world.teacher_a).get(f"/schools/{world.school_a.code}/").content.decode()
    assert world.class_a.join_code in page
    page = login(world.organiser_a).get(f"/schools/{world.school_a.code}/").content.decode()
    assert world.class_a.join_code not in page


def test_home_for_each_role(world, login):
    assert "岳麓中学" in login(world.teacher_a).get("/").content.decode()
    assert world.class_a.join_code in login(world.teacher_a).get("/").content.decode()
    student_home = login(world.student).get("/").content.decode()
    assert "七年级1班" in student_home and world.class_a.join_code not in student_home
    assert "岳麓区" in login(world.organiser_a).get("/").content.decode()
    assert "/admin/" in login(world.admin).get("/").content.decode()
    assert login(None).get("/").status_code == 200


def test_teacher_home_counts_claimed_roster_students_not_unclaimed_accounts(world, login):
    from django.utils import timezone

    from tests import factories

    claimed = factories.roster_student(school_class=world.class_a)
    claimed.claimed_at = timezone.now()
    claimed.save()
    for _ in range(3):
        factories.roster_student(school_class=world.class_a)
    classes = login(world.teacher_a).get("/").context["teacher_classes"]
    klass = next(c for c in classes if c.pk == world.class_a.pk)
    # The persona student joined with the code; one of four roster students has claimed the account.
    assert klass.on_platform == 2 and klass.size == 4
