"""Two daphne workers share one contest through Redis: the host on one, players on the other, and a player
who reconnects to the other worker keeps their score. Runs where REDIS_URL is set (CI's services run)."""

import json
import os
import time

import pytest
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect

from quizzes.live import services
from quizzes.models import LiveAnswer
from tests.live_server import daphne_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs Redis: the services run sets REDIS_URL"
    ),
]


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


def receive_until(socket, kind: str, limit: int = 30) -> dict:
    for _ in range(limit):
        message = json.loads(socket.recv(timeout=10))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


def test_host_and_players_on_different_workers(world, live_quiz):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    contest = services.contest_create(quiz=live_quiz, host=world.teacher_a, seconds_per_question=60)
    player = services.player_join(contest=contest, user=world.student)
    right = contest.questions.get(position=0).version.correct[0]
    client = Client()
    client.force_login(world.teacher_a)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    with daphne_server() as worker_a, daphne_server() as worker_b:
        origin_a, origin_b = worker_a, worker_b
        with (
            connect(
                ws_url(worker_a, f"/ws/live/{contest.pk}/host/"),
                additional_headers={"Cookie": cookie},
                origin=origin_a,
            ) as host,
            connect(ws_url(worker_b, f"/ws/live/{contest.pk}/play/"), origin=origin_b) as phone,
        ):
            state = receive_until(host, "host_state")
            phone.send(json.dumps({"type": "hello", "token": player.token}))
            assert receive_until(phone, "welcome")["phase"] == "lobby"
            # A host explaining for a while: nobody may be dropped while the layer is idle (channels-redis's
            # core layer with redis-py 8 did that after 5 s: django/channels_redis#422).
            time.sleep(7)
            host.send(json.dumps({"type": "command", "command": "start", "version": state["version"]}))
            assert receive_until(phone, "question")["index"] == 0
            phone.send(json.dumps({"type": "answer", "question": 0, "choices": [right]}))
            assert receive_until(phone, "answer_received")["question"] == 0
            host.send(json.dumps({"type": "command", "command": "next"}))
            assert receive_until(phone, "reveal")["correct"] == [right]
            phone.send(json.dumps({"type": "me"}))
            score = receive_until(phone, "me")["score"]
            assert score > 0
        # The phone's connection drops; it comes back through the other worker as the same player.
        with connect(ws_url(worker_a, f"/ws/live/{contest.pk}/play/"), origin=origin_a) as phone:
            phone.send(json.dumps({"type": "hello", "token": player.token}))
            welcome = receive_until(phone, "welcome")
            assert welcome["player"]["score"] == score and welcome["phase"] == "reveal"
    assert LiveAnswer.objects.filter(player=player).count() == 1
