"""Accounts through allauth: sign-up with a class code, sign-in, rate limits, password reset."""

import pytest
from django.core import mail

from edu.models import User


def signup(client, **fields):
    data = {
        "username": "newstudent",
        "password1": "Qk-very-secret-42",
        "password2": "Qk-very-secret-42",
        "nickname": "小鱼",
        "join_code": "",
        **fields,
    }
    return client.post("/accounts/signup/", data)


def test_signup_with_class_code_lands_in_the_class(world, client):
    response = signup(client, join_code=world.class_a.join_code.lower())  # codes are case-insensitive
    assert response.status_code == 302
    user = User.objects.get(username="newstudent")
    assert user.is_student and user.school_class == world.class_a and user.nickname == "小鱼"
    home = client.get("/").content.decode()
    assert "七年级1班" in home and "岳麓中学" in home


def test_signup_with_unknown_code_is_refused_with_a_clear_error(world, client):
    response = signup(client, join_code="ZZZZ9999")
    assert response.status_code == 200
    assert "ZZZZ9999" in response.content.decode()
    assert not User.objects.filter(username="newstudent").exists()


def test_signup_with_a_closed_code_is_refused(world, client):
    world.class_a.join_enabled = False
    world.class_a.save()
    signup(client, join_code=world.class_a.join_code)
    assert not User.objects.filter(username="newstudent").exists()


def test_signup_without_code_has_no_role(world, client):
    assert signup(client).status_code == 302
    user = User.objects.get(username="newstudent")
    assert user.roles == [] and user.school_class is None
    assert "/classes/join/" in client.get("/").content.decode()


def test_join_link_fills_in_the_code(world, client):
    page = client.get(f"/accounts/signup/?code={world.class_a.join_code}").content.decode()
    assert f'value="{world.class_a.join_code}"' in page


def test_join_later_with_a_code(world, login):
    user = User.objects.create(username="late")
    client = login(user)
    response = client.post("/classes/join/", {"join_code": world.class_b.join_code})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.school_class == world.class_b and user.is_student


def test_a_student_cannot_switch_class_by_code(world, login):
    response = login(world.student).post("/classes/join/", {"join_code": world.class_b.join_code})
    assert response.status_code == 200
    world.student.refresh_from_db()
    assert world.student.school_class == world.class_a


def test_join_page_needs_sign_in(client):
    assert client.get("/classes/join/").status_code == 302


def test_sign_in_and_out(world, client):
    response = client.post("/accounts/login/", {"login": "teacher_a", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user.username == "teacher_a"
    client.post("/accounts/logout/")
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_sign_in_is_rate_limited(world, client):
    for _ in range(5):
        client.post("/accounts/login/", {"login": "teacher_a", "password": "wrong"})
    response = client.post("/accounts/login/", {"login": "teacher_a", "password": "correct-horse-battery"})
    # Even the right password is refused while the account's failed attempts are over the limit.
    assert not response.wsgi_request.user.is_authenticated
    assert response.status_code in (200, 429)


def test_password_change(world, login):
    client = login(world.teacher_a)
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": "correct-horse-battery",
            "password1": "Another-secret-77",
            "password2": "Another-secret-77",
        },
    )
    assert response.status_code == 302
    world.teacher_a.refresh_from_db()
    assert world.teacher_a.check_password("Another-secret-77")


def test_password_reset_sends_a_mail(world, client):
    world.teacher_a.email = "wang@example.cn"
    world.teacher_a.save()
    response = client.post("/accounts/password/reset/", {"email": "wang@example.cn"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "wang@example.cn" in mail.outbox[0].to


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_account_pages_render_in_both_languages(db, client, path):
    client.cookies["qk_language"] = "en"
    assert client.get(path).status_code == 200
    client.cookies["qk_language"] = "zh-hans"
    assert client.get(path).status_code == 200


def test_sign_in_page_leads_students_with_a_claim_slip_to_the_claim_page(db, client):
    client.cookies["qk_language"] = "zh-hans"
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/claim/"' in page and "激活单" in page
    client.cookies["qk_language"] = "en"
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/claim/"' in page and "claim code" in page
