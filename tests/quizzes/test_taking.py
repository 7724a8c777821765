"""Taking a quiz: start, answer (saved at once), reload, time limit, submit once, review, and the gates."""

import dataclasses
import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from quizzes import services
from quizzes.access import AttemptOwner
from quizzes.models import Attempt, Category, Quiz, QuizRule
from tests.quizzes.conftest import make_question


def start(client, quiz):
    response = client.post(f"/quizzes/{quiz.pk}/start/")
    assert response.status_code == 302, response.content
    return Attempt.objects.get(pk=response["Location"].split("/")[2])


def shown_index_of(attempt, position, original):
    item = attempt.items.get(position=position)
    return item.option_order.index(original)


def test_student_takes_and_reloads_midway(world, login, class_quiz):
    client = login(world.student)
    attempt = start(client, class_quiz)
    assert attempt.items.count() == 6 and attempt.deadline is not None
    # Answer question 0 with the right option (original index 1), as the page's script does.
    choice = shown_index_of(attempt, 0, 1)
    response = client.post(
        f"/attempts/{attempt.pk}/answer/", {"position": 0, "choice": choice}, HTTP_ACCEPT="application/json"
    )
    assert response.json()["ok"] is True and "feedback" not in response.json()
    # A reload shows the saved answer and moves on to the first unanswered question.
    page = client.get(f"/attempts/{attempt.pk}/?q=0").content.decode()
    assert f'value="{choice}" checked' in page
    assert "第2题" in client.get(f"/attempts/{attempt.pk}/").content.decode()
    # The plain form (no script) saves and goes to the next question.
    response = client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 1, "choice": shown_index_of(attempt, 1, 0), "go": "next"},
    )
    assert response["Location"].endswith("?q=2")
    response = client.post(f"/attempts/{attempt.pk}/submit/")
    assert response["Location"] == f"/attempts/{attempt.pk}/review/"
    attempt.refresh_from_db()
    assert attempt.score == Decimal("1.00") and attempt.max_score == 6 and attempt.passed is False
    review = client.get(f"/attempts/{attempt.pk}/review/").content.decode()
    assert "解析1：因为乙是对的。" in review and "17%" in review


def test_no_answer_key_in_a_quiz_in_progress(world, login, class_quiz):
    client = login(world.student)
    attempt = start(client, class_quiz)
    for position in range(6):
        page = client.get(f"/attempts/{attempt.pk}/?q={position}").content.decode()
        assert "解析" not in page and "option-right" not in page and "right answer" not in page
    response = client.post(
        f"/attempts/{attempt.pk}/answer/", {"position": 0, "choice": 0}, HTTP_ACCEPT="application/json"
    )
    body = json.dumps(response.json(), ensure_ascii=False)
    assert "correct" not in body and "解析" not in body and "right" not in body
    # Before submitting, the review page sends the student back to the quiz.
    assert client.get(f"/attempts/{attempt.pk}/review/")["Location"] == f"/attempts/{attempt.pk}/"


def test_after_each_reveals_once_and_locks_the_answer(world, login, class_quiz):
    class_quiz.review = Quiz.Review.AFTER_EACH
    class_quiz.save()
    client = login(world.student)
    attempt = start(client, class_quiz)
    right = shown_index_of(attempt, 0, 1)
    data = client.post(
        f"/attempts/{attempt.pk}/answer/", {"position": 0, "choice": right}, HTTP_ACCEPT="application/json"
    ).json()
    assert data["feedback"]["right"] is True and data["feedback"]["correct"] == [right]
    assert "解析1" in data["feedback"]["explanation"]
    again = client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 0, "choice": (right + 1) % 4},
        HTTP_ACCEPT="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_answered"


def test_after_the_time_limit_answers_are_refused_and_saved_ones_count(world, login, class_quiz):
    client = login(world.student)
    attempt = start(client, class_quiz)
    client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 0, "choice": shown_index_of(attempt, 0, 1)},
        HTTP_ACCEPT="application/json",
    )
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    late = client.post(
        f"/attempts/{attempt.pk}/answer/", {"position": 1, "choice": 0}, HTTP_ACCEPT="application/json"
    )
    assert late.status_code == 409 and late.json()["code"] == "attempt_closed"
    attempt.refresh_from_db()
    assert attempt.is_submitted and attempt.score == 1 and attempt.submitted_at == attempt.deadline
    assert client.get(f"/attempts/{attempt.pk}/")["Location"] == f"/attempts/{attempt.pk}/review/"


def test_bad_answers_get_clear_errors(world, login, class_quiz):
    client = login(world.student)
    attempt = start(client, class_quiz)
    url = f"/attempts/{attempt.pk}/answer/"
    for data, code in (
        ({"position": 0, "choice": 9}, "invalid_choice"),
        ({"position": 0}, "invalid_choice"),
        ({"position": 0, "choice": ["0", "1"]}, "one_choice_only"),
        ({"position": 99, "choice": 0}, "no_such_question"),
        ({"position": "x", "choice": "y"}, "no_such_question"),
    ):
        response = client.post(url, data, HTTP_ACCEPT="application/json")
        assert response.status_code == 400 and response.json()["code"] == code, data
    # Multiple choice takes several.
    assert client.post(url, {"position": 5, "choice": ["0", "2"]}, HTTP_ACCEPT="application/json").json()[
        "ok"
    ]


def test_double_start_opens_one_attempt(world, login, class_quiz):
    client = login(world.student)
    first, second = start(client, class_quiz), start(client, class_quiz)
    assert first.pk == second.pk and Attempt.objects.count() == 1


def test_attempts_are_limited(world, login, class_quiz):
    client = login(world.student)
    for _ in range(2):
        client.post(f"/attempts/{start(client, class_quiz).pk}/submit/")
    response = client.post(f"/quizzes/{class_quiz.pk}/start/", follow=True)
    assert Attempt.objects.count() == 2
    assert "用完" in response.content.decode() or "all your attempts" in response.content.decode()


def test_a_submission_is_the_owners_alone(world, class_quiz):
    attempt = services.attempt_start(quiz=class_quiz, user=world.student, now=timezone.now())
    for owner in (AttemptOwner(user_id=world.teacher_a.pk), AttemptOwner(guest_key="x" * 32), AttemptOwner()):
        assert services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=timezone.now()) is None
    assert not Attempt.objects.get(pk=attempt.pk).is_submitted
    submitted = services.attempt_submit_owned(
        attempt_id=attempt.pk, owner=AttemptOwner(user_id=world.student.pk), now=timezone.now()
    )
    assert submitted.is_submitted and Attempt.objects.get(pk=attempt.pk).is_submitted


@pytest.mark.django_db(transaction=True)
def test_a_submission_does_not_wait_for_a_lock_on_its_quiz(world, class_quiz):
    """Thousands submit the same contest quiz at once: a submission locks its attempt's row, never the quiz's
    (PostgreSQL; SQLite has one writer at a time anyway)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    attempt = services.attempt_start(quiz=class_quiz, user=world.student, now=timezone.now())
    locked, release = threading.Event(), threading.Event()

    def hold_the_quiz():
        try:
            with transaction.atomic():
                Quiz.objects.select_for_update().get(pk=class_quiz.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_quiz)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        submitted = services.attempt_submit_owned(
            attempt_id=attempt.pk, owner=AttemptOwner(user_id=world.student.pk), now=timezone.now()
        )
        assert submitted.is_submitted
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_score_once(world, class_quiz):
    attempt = services.attempt_start(quiz=class_quiz, user=world.student, now=timezone.now())
    item = attempt.items.get(position=0)
    services.attempt_answer(
        attempt_id=attempt.pk,
        owner=AttemptOwner(user_id=world.student.pk),
        position=0,
        selected=[item.option_order.index(1)],
        now=timezone.now(),
    )
    results, barrier = [], threading.Barrier(2)

    def submit():
        barrier.wait()
        try:
            results.append(
                services.attempt_submit(attempt=Attempt.objects.get(pk=attempt.pk), now=timezone.now())
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results[0].submitted_at == results[1].submitted_at and results[0].score == results[1].score == 1
    assert Attempt.objects.get(pk=attempt.pk).score == 1


def test_random_draw_follows_the_rules(world, bank):
    quiz = Quiz.objects.create(
        title="随机",
        access=Quiz.Access.LINK,
        selection=Quiz.Selection.RANDOM,
        is_published=True,
        max_attempts=0,
    )
    QuizRule.objects.create(
        quiz=quiz,
        category=Category.objects.get(name="法律"),
        count=3,
        difficulty_min=1,
        difficulty_max=2,
        audience="junior",
    )
    QuizRule.objects.create(
        quiz=quiz, category=Category.objects.get(name="危害"), count=2, difficulty_min=4, difficulty_max=5
    )
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    versions = [item.version for item in attempt.items.select_related("version__question__category")]
    categories = sorted(v.question.category.name for v in versions)
    assert categories == ["危害", "危害", "法律", "法律", "法律"]
    assert len({v.question_id for v in versions}) == 5
    QuizRule.objects.filter(quiz=quiz, count=2).update(count=9)
    services.attempt_submit(attempt=attempt, now=timezone.now())
    with pytest.raises(services.QuizError) as error:
        services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    assert error.value.code == "not_enough_questions"


def test_review_after_close_hides_answers_until_then(world, login, class_quiz):
    class_quiz.review = Quiz.Review.AFTER_CLOSE
    class_quiz.closes_at = timezone.now() + dt.timedelta(days=1)
    class_quiz.save()
    client = login(world.student)
    attempt = start(client, class_quiz)
    client.post(f"/attempts/{attempt.pk}/submit/")
    assert "解析1" not in client.get(f"/attempts/{attempt.pk}/review/").content.decode()
    Quiz.objects.filter(pk=class_quiz.pk).update(
        opens_at=None, closes_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert "解析1" in client.get(f"/attempts/{attempt.pk}/review/").content.decode()


def test_edit_after_answer_keeps_the_version_the_attempt_showed(world, login, class_quiz, bank):
    from quizzes.services import parsed_from_question, question_update

    client = login(world.student)
    attempt = start(client, class_quiz)
    question = bank[0]
    parsed = parsed_from_question(question)
    question_update(
        question=question,
        parsed=dataclasses.replace(parsed, stem="改过的题干"),
        category=question.category,
        status=question.status,
        user=world.admin,
    )
    question.refresh_from_db()
    assert question.current_version.number == 2 and question.versions.count() == 2
    page = client.get(f"/attempts/{attempt.pk}/?q=0").content.decode()
    assert "第1题" in page and "改过的题干" not in page


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("guest", 404),
        ("student", 200),
        ("teacher_a", 200),
        ("teacher_b", 404),
        ("organiser_b", 404),
        ("volunteer", 404),
    ],
)
def test_who_may_open_a_class_quiz(world, login, class_quiz, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get(f"/quizzes/{class_quiz.pk}/").status_code == expected
    assert client.post(f"/quizzes/{class_quiz.pk}/start/").status_code == (404 if expected == 404 else 302)


def test_an_attempt_is_its_owners_only(world, login, class_quiz):
    attempt = start(login(world.student), class_quiz)
    other_student = type(world.student).objects.create(
        username="other", is_student=True, school_class=world.class_a
    )
    for outsider in (None, other_student, world.teacher_a, world.admin):
        client = login(outsider)
        assert client.get(f"/attempts/{attempt.pk}/").status_code == 404
        assert client.post(f"/attempts/{attempt.pk}/answer/", {"position": 0, "choice": 0}).status_code == 404
        assert client.post(f"/attempts/{attempt.pk}/submit/").status_code == 404
    assert not Attempt.objects.get(pk=attempt.pk).is_submitted


def test_guests_take_link_quizzes_with_a_nickname(world, client, bank):
    quiz = Quiz.objects.create(
        title="街头问答",
        access=Quiz.Access.LINK,
        is_published=True,
        max_attempts=0,
        review=Quiz.Review.AFTER_EACH,
    )
    quiz.fixed_questions.create(question=bank[0], position=0)
    assert client.post(f"/quizzes/{quiz.pk}/start/").status_code == 302  # no nickname: back to the page
    assert not Attempt.objects.exists()
    response = client.post(f"/quizzes/{quiz.pk}/start/", {"nickname": "路人甲"})
    attempt = Attempt.objects.get()
    assert response["Location"] == f"/attempts/{attempt.pk}/" and attempt.guest_name == "路人甲"
    assert client.get(f"/attempts/{attempt.pk}/").status_code == 200
    from django.test import Client

    assert Client().get(f"/attempts/{attempt.pk}/").status_code == 404


def test_unpublished_quiz_is_for_its_managers(world, login, class_quiz):
    class_quiz.is_published = False
    class_quiz.save()
    assert login(world.student).get(f"/quizzes/{class_quiz.pk}/").status_code == 404
    assert login(world.teacher_a).get(f"/quizzes/{class_quiz.pk}/").status_code == 200


def test_closed_quiz_cannot_start(world, login, class_quiz):
    class_quiz.closes_at = timezone.now() - dt.timedelta(minutes=1)
    class_quiz.save()
    login(world.student).post(f"/quizzes/{class_quiz.pk}/start/")
    assert not Attempt.objects.exists()


def test_make_question_helper_builds_valid_questions(db):
    question = make_question(99, kind="true_false", correct=("A",))
    assert question.current_version.options == ["正确", "错误"]
