"""Setting quizzes, results for teachers with exports, leaderboards with nicknames only."""

import io

import openpyxl
import pytest
from django.utils import timezone

from quizzes import services
from quizzes.access import AttemptOwner
from quizzes.models import Attempt, Quiz


def finish(quiz, user, right: int):
    """A submitted attempt with `right` questions answered correctly."""
    attempt = services.attempt_start(quiz=quiz, user=user, now=timezone.now())
    for item in attempt.items.select_related("version").order_by("position")[:right]:
        shown = [item.option_order.index(i) for i in item.version.correct]
        services.attempt_answer(
            attempt_id=attempt.pk,
            owner=AttemptOwner(user_id=user.pk),
            position=item.position,
            selected=shown,
            now=timezone.now(),
        )
    return services.attempt_submit(attempt=attempt, now=timezone.now())


def quiz_form(world, bank, **fields):
    return {
        "title": "新测验",
        "description": "",
        "language": "zh-hans",
        "access": "class",
        "target_class": world.class_a.pk,
        "selection": "fixed",
        "time_limit_minutes": "10",
        "opens_at": "",
        "closes_at": "",
        "max_attempts": "1",
        "grading": "highest",
        "shuffle_questions": "on",
        "shuffle_options": "on",
        "pass_mark": "60",
        "review": "after_submit",
        "is_published": "on",
        "fixed": [q.pk for q in bank[:3]],
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        **fields,
    }


def test_teacher_sets_a_fixed_quiz(world, login, bank):
    response = login(world.teacher_a).post("/quizzes/new/", quiz_form(world, bank))
    quiz = Quiz.objects.get(title="新测验")
    assert response["Location"] == f"/quizzes/{quiz.pk}/"
    assert quiz.owner_school == world.school_a and list(
        quiz.fixed_questions.values_list("question", flat=True)
    ) == [q.pk for q in bank[:3]]


def test_random_quiz_needs_a_rule(world, login, bank):
    client = login(world.teacher_a)
    response = client.post("/quizzes/new/", quiz_form(world, bank, selection="random", fixed=[]))
    assert response.status_code == 200 and not Quiz.objects.exists()
    category = bank[0].category
    rule = {
        "rules-TOTAL_FORMS": "1",
        "rules-0-category": category.pk,
        "rules-0-count": "2",
        "rules-0-difficulty_min": "1",
        "rules-0-difficulty_max": "5",
        "rules-0-audience": "",
    }
    response = client.post("/quizzes/new/", quiz_form(world, bank, selection="random", fixed=[], **rule))
    assert response.status_code == 302
    assert Quiz.objects.get().rules.get().count == 2


def test_a_teacher_cannot_aim_a_quiz_at_another_school(world, login, bank):
    response = login(world.teacher_a).post(
        "/quizzes/new/", quiz_form(world, bank, target_class=world.class_b.pk)
    )
    assert response.status_code == 200 and "target_class" in response.context["form"].errors


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("guest", 302), ("student", 403), ("volunteer", 403), ("teacher_a", 200), ("organiser_a", 200)],
)
def test_create_gate(world, login, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get("/quizzes/new/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 302),
        ("student", 404),
        ("teacher_b", 404),
        ("organiser_b", 404),
        ("teacher_a", 200),
        ("admin", 200),
    ],
)
def test_results_and_edit_gate(world, login, class_quiz, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    for url in (
        f"/quizzes/{class_quiz.pk}/results/",
        f"/quizzes/{class_quiz.pk}/edit/",
        f"/quizzes/{class_quiz.pk}/results/export/",
    ):
        assert client.get(url).status_code == expected, url


def test_results_count_the_best_attempt_and_export(world, login, class_quiz):
    finish(class_quiz, world.student, right=3)
    finish(class_quiz, world.student, right=6)
    page = login(world.teacher_a).get(f"/quizzes/{class_quiz.pk}/results/").content.decode()
    assert "100%" in page and "小晴" in page
    response = login(world.teacher_a).get(f"/quizzes/{class_quiz.pk}/results/export/?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "小晴" and rows[1][5] == 100 and rows[1][7] == 2
    csv = login(world.teacher_a).get(f"/quizzes/{class_quiz.pk}/results/export/?format=csv")
    assert csv["Content-Type"].startswith("text/csv") and "小晴".encode() in csv.content


def test_results_query_budget(world, login, class_quiz, django_assert_max_num_queries):
    from tests import factories

    for n in range(15):
        student = factories.user(
            username=f"s{n}", is_student=True, school_class=world.class_a, nickname=f"同学{n}"
        )
        finish(class_quiz, student, right=n % 6)
    client = login(world.teacher_a)
    with django_assert_max_num_queries(12):
        assert client.get(f"/quizzes/{class_quiz.pk}/results/").status_code == 200


def test_leaderboard_shows_nicknames_never_real_names(world, login, class_quiz):
    world.student.first_name, world.student.last_name = "晴", "王"
    world.student.save()
    anonymous = type(world.student).objects.create(
        username="zhangsan2013", is_student=True, school_class=world.class_a
    )
    finish(class_quiz, world.student, right=6)
    finish(class_quiz, anonymous, right=2)
    page = login(world.student).get(f"/quizzes/{class_quiz.pk}/leaderboard/").content.decode()
    assert "小晴" in page and "Z." in page
    assert "王" not in page.split("<main")[1] and "zhangsan2013" not in page


def test_student_sees_open_quizzes_and_history(world, login, class_quiz):
    client = login(world.student)
    assert class_quiz.title in client.get("/quizzes/").content.decode()
    finish(class_quiz, world.student, right=1)
    assert class_quiz.title in client.get("/me/attempts/").content.decode()
    assert Attempt.objects.filter(user=world.student).count() == 1


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 404),
        ("teacher_b", 404),
        ("organiser_b", 404),
        ("volunteer", 404),
        ("student", 200),
        ("teacher_a", 200),
    ],
)
def test_leaderboard_gate(world, login, class_quiz, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get(f"/quizzes/{class_quiz.pk}/leaderboard/").status_code == expected


@pytest.mark.parametrize("url", ["/quizzes/", "/me/attempts/"])
def test_lists_need_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_history_shows_only_my_attempts(world, login, class_quiz):
    finish(class_quiz, world.student, right=1)
    other = type(world.student).objects.create(username="other", is_student=True, school_class=world.class_a)
    assert class_quiz.title not in login(other).get("/me/attempts/").content.decode()
