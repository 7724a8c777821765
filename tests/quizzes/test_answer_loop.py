"""Answers and submissions with the attempt's answer token are served on the event loop (edu/eventloop.py):
no request thread runs a statement for them, their responses are the ones the view gives on a thread, and
what the loop cannot decide without the ORM is served on a thread as before.

tests/quizzes/test_answer_token.py runs its tests of the token's lane through the ASGI application too."""

import asyncio
import json
import time

import pytest
from django.conf import settings
from django.utils import timezone

from edu import eventloop
from edu.handlers import SynchronousASGIHandler
from quizzes.models import Attempt, AttemptItem, Quiz
from stats import deferred
from tests.asgi_client import AsgiClient, EventLoopThread, exchange, scope_from_environ
from tests.quizzes.test_answer_token import ORIGIN, page_token, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def runner():
    runner = EventLoopThread()
    yield runner
    runner.close()


@pytest.fixture
def on_threads(monkeypatch) -> list[str]:
    """The paths of the answers and submissions served on a request thread."""
    paths: list[str] = []
    serve = SynchronousASGIHandler._serve

    def spy(self, scope, body_file, served):
        if scope["path"].endswith(("/answer/", "/submit/")):
            paths.append(scope["path"])
        return serve(self, scope, body_file, served)

    monkeypatch.setattr(SynchronousASGIHandler, "_serve", spy)
    return paths


def browser(runner, user, language="zh-hans") -> AsgiClient:
    client = AsgiClient(runner)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def post(client, path: str, token: str, data=None):
    return client.post(
        path, data or {}, HTTP_ACCEPT="application/json", HTTP_X_ANSWER_TOKEN=token, HTTP_ORIGIN=ORIGIN
    )


def answer_path(attempt) -> str:
    return f"/attempts/{attempt.pk}/answer/"


def submit_path(attempt) -> str:
    return f"/attempts/{attempt.pk}/submit/"


@pytest.fixture
def taking(world, class_quiz, runner):
    client = browser(runner, world.student)
    attempt = start(client, class_quiz)
    return client, attempt, page_token(client, attempt)


def test_an_answer_and_a_submission_are_served_on_the_loop(taking, on_threads):
    client, attempt, token = taking
    item = AttemptItem.objects.get(attempt=attempt, position=0)
    right = item.option_order.index(1)  # the bank's questions: the second option is right
    response = post(client, answer_path(attempt), token, {"position": 0, "choice": right})
    assert response.status_code == 200 and response.json()["ok"] is True
    saved = AttemptItem.objects.get(pk=item.pk)
    assert saved.selected == [1] and saved.score == 1 and saved.answered_at is not None
    assert response.json() == {"ok": True, "position": 0, "saved_at": saved.answered_at.isoformat()}
    response = post(client, submit_path(attempt), token)
    assert response.json() == {"ok": True, "review_url": f"/attempts/{attempt.pk}/review/"}
    submitted = Attempt.objects.get(pk=attempt.pk)
    assert submitted.is_submitted and submitted.score == 1
    assert on_threads == []  # neither request had a thread, so no statement ran on one


@pytest.mark.parametrize("delay", [1, 0])
def test_a_submission_on_the_loop_sends_attempt_submitted(taking, on_threads, monkeypatch, settings, delay):
    """With the refresh deferred, the statistics' receiver only notes the attempt: it runs on the loop. With
    STATS_REFRESH_DELAY 0 it refreshes at once, reading the database: on a thread."""
    import threading

    settings.STATS_REFRESH_DELAY = delay
    client, attempt, token = taking
    noted = []
    monkeypatch.setattr(
        deferred.attempt_refreshes, "note", lambda pk: noted.append((pk, threading.current_thread().name))
    )
    assert post(client, submit_path(attempt), token).status_code == 200
    assert on_threads == []
    assert [pk for pk, _thread in noted] == [attempt.pk]
    on_the_loop = noted[0][1] == "test-event-loop"
    assert on_the_loop is (delay > 0)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_refusals_on_the_loop_are_the_views_own(world, class_quiz, runner, on_threads, monkeypatch, language):
    """Each refusal, in both languages: the same status, body and headers as the view gives on a thread."""
    client = browser(runner, world.student, language)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    single = {"position": 0, "choice": ["0", "1"]}  # two choices for a single-choice question
    requests = [{"position": 0, "choice": 99}, single, {"position": 0}]
    on_loop = [post(client, answer_path(attempt), token, data) for data in requests]
    assert on_threads == []
    monkeypatch.setattr(eventloop, "_lanes", [])  # the same requests on a thread
    on_thread = [post(client, answer_path(attempt), token, data) for data in requests]
    assert len(on_threads) == len(requests)
    for loop_response, thread_response in zip(on_loop, on_thread, strict=True):
        assert loop_response.status_code == thread_response.status_code == 400
        assert loop_response.content == thread_response.content
        assert sorted(loop_response.items()) == sorted(thread_response.items())
    codes = [response.json()["code"] for response in on_loop]
    assert codes == ["invalid_choice", "one_choice_only", "invalid_choice"]
    assert on_loop[1].json()["message"] == (
        "只能选择一个选项。" if language == "zh-hans" else "Choose exactly one option."
    )
    assert not AttemptItem.objects.filter(attempt=attempt, answered_at__isnull=False).exists()


def test_a_saved_answer_has_the_views_headers(taking, on_threads, monkeypatch):
    client, attempt, token = taking
    on_loop = post(client, answer_path(attempt), token, {"position": 0, "choice": 0})
    monkeypatch.setattr(eventloop, "_lanes", [])
    on_thread = post(client, answer_path(attempt), token, {"position": 1, "choice": 0})
    assert on_threads == [answer_path(attempt)]
    assert on_loop.status_code == on_thread.status_code == 200
    assert sorted(on_loop.items()) == sorted(on_thread.items())
    assert on_loop["X-Frame-Options"] == "DENY" and on_loop["Content-Language"] == "zh-hans"
    assert on_loop.json().keys() == on_thread.json().keys()


def test_a_closed_attempt_refuses_on_the_loop(taking, on_threads):
    client, attempt, token = taking
    assert post(client, submit_path(attempt), token).status_code == 200
    response = post(client, answer_path(attempt), token, {"position": 0, "choice": 0})
    assert response.status_code == 409 and response.json()["code"] == "attempt_closed"
    # Submitting again changes nothing and answers with the review's address.
    submitted_at = Attempt.objects.get(pk=attempt.pk).submitted_at
    assert post(client, submit_path(attempt), token).json()["review_url"].endswith("/review/")
    assert Attempt.objects.get(pk=attempt.pk).submitted_at == submitted_at
    assert on_threads == []


def test_what_the_loop_cannot_decide_is_served_on_a_thread(world, class_quiz, runner, on_threads):
    """A question not in the attempt (a 400 that needs the ORM), an attempt past its deadline (closed
    through the ORM)."""
    client = browser(runner, world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    response = post(client, answer_path(attempt), token, {"position": 99, "choice": 0})
    assert response.status_code == 400 and response.json()["code"] == "no_such_question"
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now())
    response = post(client, answer_path(attempt), token, {"position": 1, "choice": 0})
    assert response.status_code == 409 and response.json()["code"] == "attempt_closed"
    assert Attempt.objects.get(pk=attempt.pk).is_submitted
    assert on_threads == [answer_path(attempt)] * 2


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_quiz_that_shows_the_answer_at_once_gets_its_feedback_on_the_loop(
    world, class_quiz, runner, on_threads, monkeypatch, language
):
    """The feedback (right or not, the right option as shown, the explanation) is the view's own, with the
    version read on the loop; a second answer to the question is refused; the same as on a thread."""
    client = browser(runner, world.student, language)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    # The process knows the attempt's items before the quiz changes (PostgreSQL's one-statement write).
    assert post(client, answer_path(attempt), token, {"position": 2, "choice": 0}).status_code == 200
    Quiz.objects.filter(pk=class_quiz.pk).update(review=Quiz.Review.AFTER_EACH)
    items = {item.position: item for item in AttemptItem.objects.filter(attempt=attempt)}
    right = items[0].option_order.index(1)  # the bank's questions: the second option is right
    on_loop = post(client, answer_path(attempt), token, {"position": 0, "choice": right})
    again = post(client, answer_path(attempt), token, {"position": 0, "choice": (right + 1) % 4})
    assert on_threads == []
    monkeypatch.setattr(eventloop, "_lanes", [])
    on_thread = post(client, answer_path(attempt), token, {"position": 1, "choice": right})
    assert on_loop.status_code == on_thread.status_code == 200
    feedback = on_loop.json()["feedback"]
    assert feedback["right"] is True and feedback["correct"] == [right] and feedback["explanation"]
    assert feedback["message"] == ("答对了！" if language == "zh-hans" else "Right!")
    assert feedback.keys() == on_thread.json()["feedback"].keys()
    # Another question's explanation: the same headers but for the length.
    headers = [sorted((k, v) for k, v in r.items() if k != "Content-Length") for r in (on_loop, on_thread)]
    assert headers[0] == headers[1]
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
    assert AttemptItem.objects.get(pk=items[0].pk).selected == [1]


def test_outsiders_get_nothing_on_the_loop(world, class_quiz, runner, on_threads):
    """A token for another attempt, for another session, forged, or sent from another site: the session's
    way on a thread, where the CSRF check refuses it; nothing is saved."""
    client = browser(runner, world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    teacher = browser(runner, world.teacher_b)
    for sender, sent_token, origin in (
        (teacher, token, ORIGIN),  # another browser: another session cookie
        (client, f"{attempt.pk}:forged", ORIGIN),
        (client, token, "https://evil.example"),
    ):
        response = sender.post(
            answer_path(attempt),
            {"position": 0, "choice": 0},
            HTTP_ACCEPT="application/json",
            HTTP_X_ANSWER_TOKEN=sent_token,
            HTTP_ORIGIN=origin,
        )
        assert response.status_code == 403
        assert (
            sender.post(
                submit_path(attempt),
                HTTP_ACCEPT="application/json",
                HTTP_X_ANSWER_TOKEN=sent_token,
                HTTP_ORIGIN=origin,
            ).status_code
            == 403
        )
    assert len(on_threads) == 6
    assert not AttemptItem.objects.filter(attempt=attempt, answered_at__isnull=False).exists()
    assert not Attempt.objects.get(pk=attempt.pk).is_submitted


def test_answers_racing_submissions_on_the_loop_are_counted_once(taking, runner):
    """Ten answers and five submissions of one attempt at once: it is scored once, and every answer is
    either saved before the submission and in its score, or refused and not saved."""
    from edu import asgi

    client, attempt, token = taking
    items = {item.position: item for item in AttemptItem.objects.filter(attempt=attempt)}

    def scope_of(path, body: bytes):
        environ = client._base_environ(
            PATH_INFO=path,
            REQUEST_METHOD="POST",
            CONTENT_TYPE="application/x-www-form-urlencoded",
            CONTENT_LENGTH=str(len(body)),
            HTTP_ACCEPT="application/json",
            HTTP_X_ANSWER_TOKEN=token,
            HTTP_ORIGIN=ORIGIN,
            **{"wsgi.input": __import__("io").BytesIO(body)},
        )
        return scope_from_environ(environ)

    requests = []
    for n in range(10):
        position = n % len(items)
        right = items[position].option_order.index(items[position].version.correct[0])
        requests.append(scope_of(answer_path(attempt), f"position={position}&choice={right}".encode()))
        if n % 2:
            requests.append(scope_of(submit_path(attempt), b""))

    async def all_at_once():
        return await asyncio.gather(*(exchange(asgi.application, scope, body) for scope, body in requests))

    results = runner.run(all_at_once())
    statuses = sorted({status for status, _headers, _body in results})
    assert set(statuses) <= {200, 409}
    submitted = Attempt.objects.get(pk=attempt.pk)
    assert submitted.is_submitted
    # Every answer saved came before the submission's lock and is in its score.
    saved = AttemptItem.objects.filter(attempt=attempt, answered_at__isnull=False)
    assert submitted.score == sum(item.score for item in saved)
    refused = [json.loads(body) for status, _h, body in results if status == 409]
    assert all(body["code"] == "attempt_closed" for body in refused)


def test_on_postgresql_a_later_answer_is_one_statement(taking, monkeypatch):
    """The first answer of an attempt reads its items' facts with the write; every later one is the
    conditional write alone (quizzes/services._KnownItems)."""
    from django.db import connection

    from edu import loopdb

    if connection.vendor != "postgresql":
        pytest.skip("the conditional write is PostgreSQL's")
    client, attempt, token = taking
    statements: list[str] = []
    execute = loopdb._PostgresConnection.execute

    async def counted(self, sql, params=()):
        statements.append(sql.split()[0])
        return await execute(self, sql, params)

    monkeypatch.setattr(loopdb._PostgresConnection, "execute", counted)
    assert post(client, answer_path(attempt), token, {"position": 0, "choice": 0}).status_code == 200
    assert statements == ["SELECT", "UPDATE"]
    statements.clear()
    assert post(client, answer_path(attempt), token, {"position": 1, "choice": 0}).status_code == 200
    assert post(client, answer_path(attempt), token, {"position": 0, "choice": 1}).status_code == 200
    assert statements == ["UPDATE", "UPDATE"]
    saved = AttemptItem.objects.get(attempt=attempt, position=0)
    assert saved.selected == [saved.option_order[1]]  # the changed answer, as shown


def test_an_edited_version_is_marked_as_it_is_now(taking):
    """Should a version already shown be edited (the admin's inline allows it), an answer on the loop is
    marked by the version as it is now, not as the process knew it (PostgreSQL's one-statement write checks
    it; SQLite reads it with every answer)."""
    from quizzes.models import QuestionVersion

    client, attempt, token = taking
    item = AttemptItem.objects.select_related("version").get(attempt=attempt, position=0)
    right = item.option_order.index(item.version.correct[0])
    assert post(client, answer_path(attempt), token, {"position": 0, "choice": right}).status_code == 200
    assert AttemptItem.objects.get(pk=item.pk).score == 1
    new_right = (item.version.correct[0] + 1) % len(item.option_order)
    QuestionVersion.objects.filter(pk=item.version_id).update(correct=[new_right])
    assert post(client, answer_path(attempt), token, {"position": 0, "choice": right}).status_code == 200
    assert AttemptItem.objects.get(pk=item.pk).score == 0
    chosen = item.option_order.index(new_right)
    assert post(client, answer_path(attempt), token, {"position": 0, "choice": chosen}).status_code == 200
    assert AttemptItem.objects.get(pk=item.pk).score == 1


def test_known_items_are_bounded_by_their_count():
    from quizzes.services import _KnownItems

    known = _KnownItems(size=5)
    known.put("a", {0: 1, 1: 2})
    known.put("b", {0: 1, 1: 2})
    assert known.get("a") is not None  # now the most recently used
    known.put("c", {0: 1, 1: 2})  # 6 items: the least recently used attempt goes
    assert known.get("b") is None and known.get("a") is not None and known.get("c") is not None
    known.put("d", dict.fromkeys(range(9)))  # larger than the bound alone: kept, the others go
    assert known.get("d") is not None and known.get("a") is None and known.get("c") is None


def test_on_sqlite_the_loop_leaves_checkpoints_to_a_thread(taking, monkeypatch):
    import threading

    from django.db import connection

    from edu import loopdb

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    client, attempt, token = taking
    checkpoints = []
    monkeypatch.setattr(loopdb, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(
        loopdb, "_checkpoint", lambda name: checkpoints.append(threading.current_thread().name)
    )
    for position in (0, 1, 2, 3):
        assert (
            post(client, answer_path(attempt), token, {"position": position, "choice": 0}).status_code == 200
        )
    deadline = time.monotonic() + 10
    while len(checkpoints) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(checkpoints) == 2 and "test-event-loop" not in checkpoints
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the loop's connection left the log consistent
