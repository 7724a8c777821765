"""Claim slips and the claim page: one-time codes, reissuing, consent, rate limits and password rules."""

import re

import pytest
from django.utils import timezone

from edu import rosters, views_roster
from edu.models import Student
from tests import factories

PASSWORD = "Qk-sunny-river-42"


@pytest.fixture
def pupils(world):
    return [
        factories.roster_student(school_class=world.class_a, real_name=name, student_number=number)
        for name, number in (("王小明", "2025001"), ("李思雨", "2025002"), ("张三", "2025003"))
    ]


def codes_on(page: str) -> dict[str, str]:
    """username → claim code, read from the printed slips."""
    usernames = re.findall(r'<dd class="slip-mono">([^<]+)</dd>', page)
    codes = re.findall(r'<dd class="slip-mono slip-code">([^<]+)</dd>', page)
    return dict(zip(usernames, codes, strict=True))


def claim(client, username, code, password=PASSWORD, again=None):
    return client.post(
        "/accounts/claim/",
        {"username": username, "claim_code": code, "password1": password, "password2": again or password},
    )


def en(client):
    client.cookies["qk_language"] = "en"
    return client


# --- slips -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 403),
        ("plain_teacher", 200),  # every teacher of the school prints slips for its classes
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_a", 403),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("admin", 200),
    ],
)
def test_claim_slips_gate(world, login, pupils, persona, expected):
    users = {"plain_teacher": factories.user(is_teacher=True, school=world.school_a)}
    client = login(None if persona == "guest" else users.get(persona) or getattr(world, persona))
    url = f"/classes/{world.class_a.pk}/claim-slips/"
    assert client.get(url).status_code == expected
    assert client.post(url).status_code == expected
    issued = Student.objects.exclude(claim_code_hash="").count()
    assert issued == (3 if expected == 200 else 0)


def test_slips_show_each_code_once_and_store_only_its_hash(world, login, pupils):
    client = login(world.teacher_a)
    confirm = client.get(f"/classes/{world.class_a.pk}/claim-slips/")
    assert confirm.status_code == 200 and not Student.objects.exclude(claim_code_hash="").exists()
    response = client.post(f"/classes/{world.class_a.pk}/claim-slips/")
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    codes = codes_on(page)
    assert set(codes) == {"s2025001", "s2025002", "s2025003"}
    assert all(re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code) for code in codes.values())
    assert page.count("<svg") == 3 and "王小明" in page
    assert "http://testserver/accounts/claim/" in page
    for student in Student.objects.all():
        code = codes[student.user.username].replace("-", "")
        assert code not in student.claim_code_hash and student.claim_code_hash.startswith(
            "pbkdf2_sha256_claim$"
        )


def test_printing_again_skips_claimed_students_and_a_single_slip_can_be_reissued(world, login, pupils):
    client = login(world.teacher_a)
    first = codes_on(client.post(f"/classes/{world.class_a.pk}/claim-slips/").content.decode())
    assert claim(login(None), "s2025001", first["s2025001"]).status_code == 302
    second = codes_on(client.post(f"/classes/{world.class_a.pk}/claim-slips/").content.decode())
    assert set(second) == {"s2025002", "s2025003"}
    # The first slips of the others stopped working.
    assert claim(login(None), "s2025002", first["s2025002"]).status_code == 400
    assert claim(login(None), "s2025002", second["s2025002"]).status_code == 302
    # A lost slip: a new one for just that student, even after they claimed (a forgotten password).
    only = client.post(f"/classes/{world.class_a.pk}/claim-slips/", {"student": pupils[0].pk})
    assert set(codes_on(only.content.decode())) == {"s2025001"}
    assert client.post(f"/classes/{world.class_a.pk}/claim-slips/", {"student": "x"}).status_code == 400


def test_a_school_that_requires_consent_prints_slips_only_after_it(world, login, pupils):
    world.school_a.requires_guardian_consent = True
    world.school_a.save()
    client = login(world.teacher_a)
    assert (
        "3 students get no slip"
        in en(client).get(f"/classes/{world.class_a.pk}/claim-slips/").content.decode()
    )
    response = client.post(f"/classes/{world.class_a.pk}/claim-slips/")
    assert response.status_code == 302 and not Student.objects.exclude(claim_code_hash="").exists()
    assert client.post(f"/students/{pupils[0].pk}/consent/").status_code == 302
    codes = codes_on(client.post(f"/classes/{world.class_a.pk}/claim-slips/").content.decode())
    assert set(codes) == {"s2025001"}


# --- claiming ----------------------------------------------------------------------------------------------


def issue(world, student):
    [(_student, code)] = rosters.claim_codes_issue(students=[student], by=world.teacher_a, now=timezone.now())
    return code


def test_claim_sets_the_password_and_signs_in(world, login, pupils):
    code = issue(world, pupils[0])
    client = login(None)
    page = client.get("/accounts/claim/?u=s2025001").content.decode()
    assert 'value="s2025001"' in page
    response = claim(client, "S2025001 ", rosters.claim_code_display(code).lower())  # as typed on a phone
    assert response.status_code == 302 and response["Location"] == "/"
    record = Student.objects.select_related("user").get(pk=pupils[0].pk)
    assert record.claimed_at is not None and record.user.check_password(PASSWORD)
    assert client.get("/").context["user"] == record.user
    assert login(None).login(username="s2025001", password=PASSWORD)


@pytest.mark.parametrize(
    ("username", "code"),
    [("s2025001", "AAAA2222"), ("nobody", None), ("s2025002", None)],  # wrong code, unknown, no code issued
)
def test_wrong_username_or_code_gets_one_message(world, login, pupils, username, code):
    right = issue(world, pupils[0])
    response = claim(en(login(None)), username, code or right)
    assert response.status_code == 400
    assert "The username or the claim code is not right" in response.content.decode()
    assert not Student.objects.filter(claimed_at__isnull=False).exists()


def test_a_used_code_says_so(world, login, pupils):
    code = issue(world, pupils[0])
    assert claim(login(None), "s2025001", code).status_code == 302
    response = claim(en(login(None)), "s2025001", code, password="Another-pass-77")
    assert "This claim code has already been used" in response.content.decode()
    assert Student.objects.get(pk=pupils[0].pk).user.check_password(PASSWORD)


def test_a_reissued_code_replaces_the_old_one(world, login, pupils):
    old = issue(world, pupils[0])
    new = issue(world, pupils[0])
    assert claim(login(None), "s2025001", old).status_code == 400
    assert claim(login(None), "s2025001", new).status_code == 302
    # After claiming, a newer slip resets the password (a forgotten password); the used one does not.
    newest = issue(world, pupils[0])
    assert claim(login(None), "s2025001", new, password="Other-pass-88").status_code == 400
    assert claim(login(None), "s2025001", newest, password="Other-pass-88").status_code == 302
    assert Student.objects.get(pk=pupils[0].pk).user.check_password("Other-pass-88")


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("short1", None, "This password is too short"),
        ("password123", None, "This password is too common"),
        ("83920174655", None, "This password is entirely numeric"),
        ("s2025001x", None, "too similar to the username"),
        (PASSWORD, PASSWORD + "x", "The two passwords are not the same"),
    ],
)
def test_passwords_go_through_djangos_validators(world, login, pupils, password, again, message):
    code = issue(world, pupils[0])
    response = claim(en(login(None)), "s2025001", code, password=password, again=again)
    assert response.status_code == 400 and message in response.content.decode()
    record = Student.objects.get(pk=pupils[0].pk)
    assert record.claimed_at is None and not record.user.has_usable_password()
    # The code is not used up by a refused password.
    assert claim(login(None), "s2025001", code).status_code == 302


def test_consent_is_needed_when_the_school_requires_it(world, login, pupils):
    world.school_a.requires_guardian_consent = True
    world.school_a.save()
    code = issue(world, pupils[0])
    response = claim(en(login(None)), "s2025001", code)
    assert "consent" in response.content.decode() and response.status_code == 400
    rosters.guardian_consent_record(student=pupils[0], by=world.teacher_a, now=timezone.now())
    assert claim(login(None), "s2025001", code).status_code == 302


def test_wrong_codes_for_one_username_are_rate_limited(world, login, pupils, monkeypatch):
    monkeypatch.setitem(views_roster.CLAIM_LIMITS, "username", (3, 900))
    code = issue(world, pupils[0])
    for _ in range(3):
        assert claim(login(None), "s2025001", "WRONG234").status_code == 400
    response = claim(en(login(None)), "S2025001", code)  # even the right code, in any letter case
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert Student.objects.get(pk=pupils[0].pk).claimed_at is None
    # Another student's claim from the same IP still works.
    assert claim(login(None), "s2025002", issue(world, pupils[1])).status_code == 302


def test_attempts_from_one_ip_are_rate_limited(world, login, pupils, monkeypatch):
    monkeypatch.setitem(views_roster.CLAIM_LIMITS, "ip", (4, 600))
    for number in range(4):
        claim(login(None), f"nobody{number}", "WRONG234")
    response = claim(login(None), "s2025001", issue(world, pupils[0]))
    assert response.status_code == 429
    other_ip = login(None)
    other_ip.defaults["REMOTE_ADDR"] = "10.9.8.7"
    assert claim(other_ip, "s2025001", issue(world, pupils[0])).status_code == 302


def test_claim_page_needs_csrf(world, pupils):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/claim/", {"username": "s2025001"}).status_code == 403
