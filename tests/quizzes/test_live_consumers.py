"""Live contests over WebSockets: join, answer, late and double answers, reconnect with the token, host-only
actions, malformed and oversized messages. Consumers are driven with WebsocketCommunicator."""

import datetime as dt
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from edu.asgi import application
from quizzes.live import services
from quizzes.models import LiveAnswer, LiveContest, LivePlayer

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def contest(world, live_quiz):
    return services.contest_create(
        quiz=live_quiz, host=world.teacher_a, seconds_per_question=60, allow_guests=True
    )


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def connect(path, *headers):
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
    connected, code = await communicator.connect()
    return communicator, connected, code


async def receive_until(communicator, kind, limit=20):
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def player_socket(contest, player):
    communicator, connected, _ = await connect(f"/ws/live/{contest.pk}/play/")
    assert connected
    await communicator.send_json_to({"type": "hello", "token": player.token})
    welcome = await receive_until(communicator, "welcome")
    return communicator, welcome


async def host_socket(contest, user):
    communicator, connected, code = await connect(
        f"/ws/live/{contest.pk}/host/", await sync_to_async(session_cookie)(user)
    )
    return communicator, connected, code


async def test_a_whole_round(world, contest):
    join = sync_to_async(services.player_join)
    student = await join(contest=contest, user=world.student)
    guest = await join(contest=contest, user=None, nickname="路人甲")
    host, connected, _ = await host_socket(contest, world.teacher_a)
    assert connected
    state = await receive_until(host, "host_state")
    assert state["pin"] == contest.pin and state["player_count"] == 2
    player, welcome = await player_socket(contest, student)
    assert welcome["phase"] == "lobby" and welcome["player"]["nickname"] == "小晴"
    other, _ = await player_socket(contest, guest)

    await host.send_json_to({"type": "command", "command": "start", "version": state["version"]})
    question = await receive_until(player, "question")
    assert question["index"] == 0 and 59_000 < question["remaining_ms"] <= 60_000
    assert "correct" not in json.dumps(question) and "解析" not in json.dumps(question, ensure_ascii=False)

    right = (await sync_to_async(lambda: contest.questions.get(position=0).version.correct)())[0]
    await player.send_json_to({"type": "answer", "question": 0, "choices": [right]})
    assert (await receive_until(player, "answer_received"))["question"] == 0
    # A double tap, and the same answer again after a reconnect, are recorded once.
    await player.send_json_to({"type": "answer", "question": 0, "choices": [right]})
    assert (await receive_until(player, "error"))["code"] == "already_answered"
    await player.disconnect()
    player, welcome = await player_socket(contest, student)
    assert welcome["phase"] == "question" and welcome["answered"] is True
    assert welcome["question"]["index"] == 0 and welcome["question"]["remaining_ms"] <= 60_000
    await player.send_json_to({"type": "answer", "question": 0, "choices": [right]})
    assert (await receive_until(player, "error"))["code"] == "already_answered"
    assert await sync_to_async(LiveAnswer.objects.count)() == 1

    await host.send_json_to({"type": "command", "command": "next"})
    reveal = await receive_until(player, "reveal")
    assert reveal["correct"] == [right] and reveal["answered"] == 1 and sum(reveal["distribution"]) == 1
    await player.send_json_to({"type": "me"})
    me = await receive_until(player, "me")
    assert me["last"]["correct"] is True and me["score"] >= 500 and me["rank"] == 1

    await host.send_json_to({"type": "command", "command": "next"})
    board = await receive_until(other, "leaderboard")
    assert board["top"][0]["name"] == "小晴"
    await host.send_json_to({"type": "command", "command": "end"})
    finished = await receive_until(other, "finished")
    assert finished["podium"][0]["name"] == "小晴"
    for communicator in (player, other, host):
        await communicator.disconnect()
    contest_row = await sync_to_async(LiveContest.objects.get)(pk=contest.pk)
    assert contest_row.status == "finished"


async def test_an_answer_after_the_close_is_refused(world, contest):
    student = await sync_to_async(services.player_join)(contest=contest, user=world.student)
    await sync_to_async(services.contest_command)(
        contest_id=contest.pk, command="start", version=None, now=_now() - dt.timedelta(seconds=61)
    )
    player, welcome = await player_socket(contest, student)
    await player.send_json_to({"type": "answer", "question": 0, "choices": [0]})
    error = await receive_until(player, "error")
    assert error["code"] == "too_late" and error["message"]
    # The late answer also closed the question: everyone got the reveal.
    assert (await receive_until(player, "reveal"))["index"] == 0
    assert await sync_to_async(LiveAnswer.objects.count)() == 0
    await player.disconnect()


async def test_bad_and_hostile_messages(world, contest):
    student = await sync_to_async(services.player_join)(contest=contest, user=world.student)
    player, _ = await player_socket(contest, student)
    await player.send_to(text_data="not json")
    assert (await receive_until(player, "error"))["code"] == "invalid_message"
    await player.send_to(text_data=json.dumps({"type": "answer", "pad": "x" * 5000}))
    assert (await receive_until(player, "error"))["code"] == "message_too_large"
    await player.send_json_to({"type": "command", "command": "start"})  # host-only
    assert (await receive_until(player, "error"))["code"] == "unknown_type"
    await player.send_json_to({"type": "answer", "question": "0", "choices": "A"})
    assert (await receive_until(player, "error"))["code"] == "invalid_message"
    await player.send_json_to(["not", "an", "object"])
    assert (await receive_until(player, "error"))["code"] == "invalid_message"
    for _ in range(25):
        await player.send_json_to({"type": "ping"})
    replies = [await player.receive_json_from(timeout=5) for _ in range(25)]
    assert any(r.get("code") == "rate_limited" for r in replies)
    # Still connected, and the contest is not stuck.
    state = await sync_to_async(lambda: LiveContest.objects.get(pk=contest.pk).state)()
    assert state["phase"] == "lobby"
    await player.disconnect()


async def test_invalid_choices_are_refused(world, contest):
    student = await sync_to_async(services.player_join)(contest=contest, user=world.student)
    await sync_to_async(services.contest_command)(
        contest_id=contest.pk, command="start", version=None, now=_now()
    )
    player, _ = await player_socket(contest, student)
    for choices in ([9], [], [0, 1], [True]):
        await player.send_json_to({"type": "answer", "question": 0, "choices": choices})
        assert (await receive_until(player, "error"))["code"] == "invalid_choice", choices
    await player.send_json_to({"type": "answer", "question": 2, "choices": [0]})
    assert (await receive_until(player, "error"))["code"] == "not_in_question"
    await player.disconnect()


async def test_unknown_token_is_closed(contest):
    communicator, connected, _ = await connect(f"/ws/live/{contest.pk}/play/")
    await communicator.send_json_to({"type": "hello", "token": "x" * 40})
    assert (await communicator.receive_json_from())["code"] == "bad_token"
    assert (await communicator.receive_output())["code"] == 4001


async def test_only_the_host_drives_the_contest(world, contest):
    for outsider in (world.teacher_b, world.student, world.organiser_b, None):
        if outsider is None:
            communicator, connected, _ = await connect(f"/ws/live/{contest.pk}/host/")  # a guest
        else:
            communicator, connected, _ = await host_socket(contest, outsider)
        # Accepted only to be closed with 4003, so that the page stops retrying; nothing is sent.
        assert (await communicator.receive_output())["code"] == 4003
    communicator = WebsocketCommunicator(
        application, f"/ws/live/{contest.pk}/play/", headers=[(b"origin", b"https://evil.example")]
    )
    assert not (await communicator.connect())[0]


async def test_host_errors_and_kick(world, contest):
    student = await sync_to_async(services.player_join)(contest=contest, user=world.student)
    host, _, _ = await host_socket(contest, world.teacher_a)
    await receive_until(host, "host_state")
    await host.send_json_to({"type": "command", "command": "pause"})
    assert (await receive_until(host, "error"))["code"] == "not_started"
    await host.send_json_to({"type": "command", "command": "launch-missiles"})
    assert (await receive_until(host, "error"))["code"] == "invalid_message"
    player, _ = await player_socket(contest, student)
    await host.send_json_to({"type": "kick", "player": student.pk})
    assert (await receive_until(player, "kicked"))["type"] == "kicked"
    assert (await sync_to_async(LivePlayer.objects.get)(pk=student.pk)).kicked
    await host.disconnect()


def _now():
    from django.utils import timezone

    return timezone.now()
