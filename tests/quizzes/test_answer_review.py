"""An adversarial review of the answer token lane and the SQL save: its reproductions, kept as tests."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from quizzes import services
from quizzes.access import TOKEN_HOLDER
from quizzes.models import Attempt, AttemptItem, Quiz
from tests.quizzes.conftest import make_question
from tests.quizzes.test_answer_sql import quiz_of
from tests.quizzes.test_answer_token import answer, answered, page_token, signed_in, start


@pytest.mark.parametrize("position", [40000, 2**31, 2**63 - 1, 2**63, 10**19, 10**100])
def test_huge_position_is_a_refusal_not_a_500(world, class_quiz, position):
    client = signed_in(world.student)
    client.raise_request_exception = False
    attempt = start(client, class_quiz)
    response = answer(client, attempt, token=page_token(client, attempt), position=position)
    assert response.status_code == 400, response.status_code
    assert response.json()["code"] == "no_such_question"


@pytest.mark.parametrize("position", [2**63, 10**19])
def test_the_orm_took_huge_positions(world, class_quiz, position):
    """What the previous implementation relied on: the ORM's integer lookups turn out-of-range values into
    an empty result instead of an OverflowError."""
    assert not AttemptItem.objects.filter(position=position).exists()


@pytest.mark.parametrize(
    "token", ["", ":", "::", "a:b:c", "é" * 50, "\u202e:x:y", "0" * 200, "x:" * 99, " " * 10]
)
def test_garbage_tokens_go_the_session_way(world, class_quiz, token):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    page_token(client, attempt)
    assert answer(client, attempt, token=token).status_code == 403
    assert not answered(attempt)


def test_response_and_token_leak_nothing(world, bank):
    quiz = Quiz.objects.create(title="街头", access=Quiz.Access.LINK, is_published=True, max_attempts=0)
    quiz.fixed_questions.create(question=bank[0], position=0)
    guest = Client(enforce_csrf_checks=True)
    attempt = start(guest, quiz, nickname="路人")
    token = page_token(guest, attempt)
    assert attempt.guest_key not in token and str(attempt.pk) in token
    body = answer(guest, attempt, token=token).json()
    assert set(body) == {"ok", "position", "saved_at"}


def test_lane_outlives_the_session_and_the_account(world, class_quiz):
    """Documented limitation, shown: the sessions are deleted (signed out elsewhere, or expired server-side)
    and the account is deactivated, yet this browser keeps saving answers until the token expires
    (ANSWER_TOKEN_MAX_AGE) or the attempt closes."""
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    Session.objects.all().delete()
    type(world.student).objects.filter(pk=world.student.pk).update(is_active=False)
    response = answer(client, attempt, token=token)
    assert response.status_code == 200  # the token way: still saves
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    session_lane = client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 1, "choice": 0, "csrfmiddlewaretoken": csrf},
        HTTP_ACCEPT="application/json",
    )
    assert session_lane.status_code == 404  # the session way: nobody owns it any more
    assert answered(attempt)


@pytest.mark.parametrize("offset_us", [-1, 0, 1, 500000, -500000])
def test_deadline_boundaries_match_python(world, kinds_for_deadline, offset_us):
    quiz = kinds_for_deadline
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    now = timezone.now().replace(microsecond=0)
    deadline = now + timedelta(microseconds=offset_us)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=deadline)
    expired = now >= deadline
    try:
        services.attempt_answer(attempt_id=attempt.pk, owner=TOKEN_HOLDER, position=0, selected=[0], now=now)
        outcome = "saved"
    except services.QuizError as error:
        outcome = error.code
    assert outcome == ("attempt_closed" if expired else "saved")


@pytest.fixture
def kinds_for_deadline(db):
    return quiz_of([make_question(1)], shuffle_options=False)


@pytest.mark.django_db(transaction=True)
def test_after_each_double_answer_is_serialised(world):
    """Two answers to one question of an after_each quiz, the second sent while the first is being marked:
    exactly one may be saved (its sender was shown the right answer), and the other changes nothing."""
    quiz = quiz_of([make_question(1)], shuffle_options=False, review=Quiz.Review.AFTER_EACH)
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    first_in, go = threading.Event(), threading.Event()
    real_mark = services.marking.mark
    calls = []

    def slow_mark(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            first_in.set()
            go.wait(10)
        return real_mark(**kwargs)

    services.marking.mark = slow_mark
    outcomes = {}

    def run(name, choice):
        try:
            services.attempt_answer(
                attempt_id=attempt.pk, owner=TOKEN_HOLDER, position=0, selected=[choice], now=timezone.now()
            )
            outcomes[name] = "saved"
        except services.QuizError as error:
            outcomes[name] = error.code
        finally:
            connections.close_all()

    try:
        one = threading.Thread(target=run, args=("one", 0))
        one.start()
        assert first_in.wait(10)
        two = threading.Thread(target=run, args=("two", 1))
        two.start()
        if connection.vendor == "postgresql":
            # The answer is read without a lock and written on a condition
            # (services._answer_by_conditional_write): the second is saved while the first is still marking,
            # and the first's write then finds the question answered.
            two.join(10)
            expected = {"one": "already_answered", "two": "saved"}
        else:
            time.sleep(0.5)  # the second waits for the first's transaction
            expected = {"one": "saved", "two": "already_answered"}
        go.set()
        one.join(10)
        two.join(10)
    finally:
        services.marking.mark = real_mark
    item = AttemptItem.objects.get(attempt=attempt, position=0)
    assert outcomes == expected, (outcomes, item.selected)
    assert item.selected == [0 if expected["one"] == "saved" else 1]
