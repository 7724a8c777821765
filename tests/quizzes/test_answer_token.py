"""The quiz page's fast lane for saving answers: the attempt's answer token (quizzes/access.py).

With a valid token for this attempt and this browser's session cookie an answer is saved without the CSRF
token; anything else (no token, another attempt's, another session's, an expired one, a request from
another site) goes the session way, where the CSRF check and the owner's gate apply as for any form.
"""

import functools
import re
import sys

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.utils import timezone

from quizzes import access
from quizzes.models import Attempt, AttemptItem, Quiz
from tests.asgi_client import AsgiClient, EventLoopThread

ORIGIN = "http://testserver"


@pytest.fixture(
    autouse=True,
    params=["django", pytest.param("asgi", marks=pytest.mark.django_db(transaction=True))],
)
def transport(request, monkeypatch):
    """Every test twice: through Django's test client, and through the site's ASGI application as daphne
    serves it, where the token's requests are served on the event loop (edu/eventloop.py)."""
    if request.param == "django":
        yield request.param
        return
    runner = EventLoopThread()
    monkeypatch.setattr(sys.modules[__name__], "Client", functools.partial(AsgiClient, runner))
    try:
        yield request.param
    finally:
        runner.close()


def signed_in(user) -> Client:
    """A browser that checks CSRF as a real one is checked."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def start(client: Client, quiz: Quiz, **data) -> Attempt:
    client.get(f"/quizzes/{quiz.pk}/")  # sets the CSRF cookie
    data["csrfmiddlewaretoken"] = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(f"/quizzes/{quiz.pk}/start/", data)
    assert response.status_code == 302, response.content
    return Attempt.objects.get(pk=response["Location"].split("/")[2])


def page_token(client: Client, attempt: Attempt) -> str:
    page = client.get(f"/attempts/{attempt.pk}/").content.decode()
    token = re.search(r'data-answer-token="([^"]*)"', page).group(1)
    assert token, "the attempt page gives its script an answer token"
    return token


def answer(client: Client, attempt: Attempt, *, token: str | None, position=0, choice=0, **headers):
    if token is not None:
        headers["HTTP_X_ANSWER_TOKEN"] = token
    headers.setdefault("HTTP_ORIGIN", ORIGIN)
    return client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": position, "choice": choice},
        HTTP_ACCEPT="application/json",
        **headers,
    )


def answered(attempt: Attempt, position=0) -> bool:
    return AttemptItem.objects.get(attempt=attempt, position=position).answered_at is not None


def test_the_token_saves_an_answer_without_the_csrf_token(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    response = answer(client, attempt, token=page_token(client, attempt), choice=2)
    assert response.status_code == 200 and response.json()["ok"] is True
    item = AttemptItem.objects.get(attempt=attempt, position=0)
    assert item.selected == [item.option_order[2]] and item.answered_at is not None
    # Without a token the same request is an ordinary form post: refused for want of the CSRF token.
    assert answer(client, attempt, token=None, position=1).status_code == 403
    assert not answered(attempt, 1)


def test_the_session_lane_still_works_with_the_csrf_token(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    response = client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 0, "choice": 1, "csrfmiddlewaretoken": client.cookies[settings.CSRF_COOKIE_NAME].value},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["ok"] is True and answered(attempt)


def test_a_token_is_for_one_attempt_and_one_session(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    other = type(world.student).objects.create(username="other", is_student=True, school_class=world.class_a)
    other_client = signed_in(other)
    other_attempt = start(other_client, class_quiz)
    # Another attempt's token: the session lane, which wants a CSRF token; with one, the gate says 404.
    assert answer(other_client, attempt, token=page_token(other_client, other_attempt)).status_code == 403
    # The right token from another browser (another session cookie): refused the same way.
    assert answer(other_client, attempt, token=token).status_code == 403
    assert answer(Client(enforce_csrf_checks=True), attempt, token=token).status_code == 403
    # This browser, but the token sent to another of its attempts' addresses.
    assert answer(client, other_attempt, token=token).status_code == 403
    # A forged or mangled token.
    assert answer(client, attempt, token=token[:-2] + "xx").status_code == 403
    assert answer(client, attempt, token=f"{attempt.pk}:forged").status_code == 403
    assert answer(client, attempt, token="x" * 5000).status_code == 403
    assert not answered(attempt) and not answered(other_attempt)
    assert answer(client, attempt, token=token).json()["ok"] is True


def test_a_request_from_another_site_does_not_get_the_lane(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    assert answer(client, attempt, token=token, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert not answered(attempt)
    # No Origin header at all (some older browsers on a same-origin fetch): the token decides.
    response = client.post(
        f"/attempts/{attempt.pk}/answer/",
        {"position": 0, "choice": 0},
        HTTP_ACCEPT="application/json",
        HTTP_X_ANSWER_TOKEN=token,
    )
    assert response.json()["ok"] is True


def test_signing_out_ends_the_lane(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    client.logout()
    client.force_login(world.student)  # a new session: a new cookie
    assert answer(client, attempt, token=token).status_code == 403
    assert answer(client, attempt, token=page_token(client, attempt)).json()["ok"] is True


def test_an_expired_token_goes_the_session_way(world, class_quiz, monkeypatch):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    signer = signing.TimestampSigner(salt=f"quizzes.access.answer-token:{session_key}")
    age = access.ANSWER_TOKEN_MAX_AGE.total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: timezone.now().timestamp() - age - 60)
    old = signer.sign(str(attempt.pk))
    monkeypatch.undo()
    assert answer(client, attempt, token=old).status_code == 403
    assert answer(client, attempt, token=signer.sign(str(attempt.pk))).json()["ok"] is True


def test_guests_get_the_lane_for_their_own_attempt(world, bank):
    quiz = Quiz.objects.create(title="街头问答", access=Quiz.Access.LINK, is_published=True, max_attempts=0)
    quiz.fixed_questions.create(question=bank[0], position=0)
    guest = Client(enforce_csrf_checks=True)
    attempt = start(guest, quiz, nickname="路人甲")
    assert answer(guest, attempt, token=page_token(guest, attempt)).json()["ok"] is True
    stranger = Client(enforce_csrf_checks=True)
    stranger.get(f"/quizzes/{quiz.pk}/")
    assert answer(stranger, attempt, token=page_token(guest, attempt)).status_code == 403


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_refusals_on_the_lane_are_translated_and_save_nothing(world, class_quiz, language):
    client = signed_in(world.student)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    response = answer(client, attempt, token=token, choice=99)
    assert response.status_code == 400 and response.json()["code"] == "invalid_choice"
    assert response.json()["message"] == (
        "请选择一个选项。" if language == "zh-hans" else "Choose one of the options."
    )
    assert answer(client, attempt, token=token, position=99).json()["code"] == "no_such_question"
    assert not answered(attempt)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now())
    response = answer(client, attempt, token=token)
    assert response.status_code == 409 and response.json()["code"] == "attempt_closed"
    assert Attempt.objects.get(pk=attempt.pk).is_submitted


def test_a_submitted_attempt_refuses_the_lane(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert client.post(f"/attempts/{attempt.pk}/submit/", {"csrfmiddlewaretoken": csrf}).status_code == 302
    response = answer(client, attempt, token=token)
    assert response.status_code == 409 and response.json()["code"] == "attempt_closed"
    assert not answered(attempt)


def test_the_lane_shows_the_answer_at_once_when_the_quiz_does(world, class_quiz):
    Quiz.objects.filter(pk=class_quiz.pk).update(review=Quiz.Review.AFTER_EACH)
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    item = AttemptItem.objects.get(attempt=attempt, position=0)
    right = item.option_order.index(1)  # the bank's questions: the second option is right
    body = answer(client, attempt, token=token, choice=right).json()
    assert body["ok"] is True and body["feedback"]["right"] is True
    assert body["feedback"]["correct"] == [right] and body["feedback"]["explanation"]
    again = answer(client, attempt, token=token, choice=(right + 1) % 4)
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
    assert AttemptItem.objects.get(pk=item.pk).selected == [1]


def test_a_trusted_origin_gets_the_lane(world, class_quiz, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://edu.example.cn"]
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    assert (
        answer(client, attempt, token=token, HTTP_ORIGIN="https://edu.example.cn.evil.example").status_code
        == 403
    )
    assert answer(client, attempt, token=token, HTTP_ORIGIN="https://edu.example.cn").json()["ok"] is True


def submit(client: Client, attempt: Attempt, *, token: str | None, **headers):
    if token is not None:
        headers["HTTP_X_ANSWER_TOKEN"] = token
    headers.setdefault("HTTP_ORIGIN", ORIGIN)
    return client.post(f"/attempts/{attempt.pk}/submit/", HTTP_ACCEPT="application/json", **headers)


def test_the_token_submits_the_attempt_without_the_csrf_token(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    assert answer(client, attempt, token=token).status_code == 200
    response = submit(client, attempt, token=token)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "review_url": f"/attempts/{attempt.pk}/review/"}
    assert Attempt.objects.get(pk=attempt.pk).is_submitted
    assert client.get(response.json()["review_url"]).status_code == 200
    # A second submission changes nothing: the attempt was scored once.
    submitted_at = Attempt.objects.get(pk=attempt.pk).submitted_at
    assert submit(client, attempt, token=token).status_code == 200
    assert Attempt.objects.get(pk=attempt.pk).submitted_at == submitted_at


def test_a_submission_without_a_valid_token_goes_the_session_way(world, class_quiz):
    client = signed_in(world.student)
    attempt = start(client, class_quiz)
    token = page_token(client, attempt)
    other_client = signed_in(world.student)  # the same student in another browser
    other_attempt_token = page_token(other_client, attempt)
    for response in (
        submit(client, attempt, token=None),  # no token, no CSRF token: refused
        submit(client, attempt, token=other_attempt_token),  # signed for another session cookie
        submit(client, attempt, token=f"{attempt.pk}:forged"),
        submit(client, attempt, token=token, HTTP_ORIGIN="https://evil.example"),
        submit(signed_in(world.teacher_a), attempt, token=token),  # another browser: another cookie
    ):
        assert response.status_code == 403
    assert not Attempt.objects.get(pk=attempt.pk).is_submitted
    # The plain form post, as without the script: the session's owner and the CSRF token.
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(f"/attempts/{attempt.pk}/submit/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302 and response["Location"] == f"/attempts/{attempt.pk}/review/"
    assert Attempt.objects.get(pk=attempt.pk).is_submitted
