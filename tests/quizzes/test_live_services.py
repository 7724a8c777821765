"""Live contests below the sockets: joining, nicknames, answers racing the close, results kept as attempts,
and the pages with their gates."""

import io
import threading

import openpyxl
import pytest
from django.db import connection
from django.utils import timezone

from quizzes.live import services
from quizzes.live.nicknames import nickname_problem
from quizzes.models import Attempt, LiveAnswer, LiveContest, LivePlayer


@pytest.fixture
def contest(world, live_quiz):
    return services.contest_create(
        quiz=live_quiz, host=world.teacher_a, seconds_per_question=30, allow_guests=True
    )


def right_choice(contest, index):
    return contest.questions.get(position=index).version.correct[0]


@pytest.mark.parametrize(
    ("nickname", "ok"),
    [
        ("小鱼", True),
        ("Leo 7", True),
        ("", False),
        ("   ", False),
        ("x" * 21, False),
        ("傻逼", False),
        ("F.u.c.k", False),
        ("冰毒王", False),
        ("a\u0000b", False),
        ("!!!", False),
    ],
)
def test_nicknames(nickname, ok):
    assert (nickname_problem(nickname) is None) == ok


def test_join_rules(world, contest):
    student = services.player_join(contest=contest, user=world.student)
    assert services.player_join(contest=contest, user=world.student).pk == student.pk  # comes back as itself
    assert student.nickname == "小晴" and student.school_class == world.class_a
    services.player_join(contest=contest, user=None, nickname="路人甲")
    with pytest.raises(services.LiveError) as error:
        services.player_join(contest=contest, user=None, nickname="路人甲")
    assert error.value.code == "nickname_taken"
    contest.allow_guests = False
    contest.save()
    with pytest.raises(services.LiveError) as error:
        services.player_join(contest=contest, user=None, nickname="路人乙")
    assert error.value.code == "sign_in_required"
    contest.max_players = 2
    contest.save()
    with pytest.raises(services.LiveError) as error:
        services.player_join(contest=contest, user=world.volunteer)
    assert error.value.code == "contest_full"


def test_a_kicked_nickname_is_free_again(world, contest):
    first = services.player_join(contest=contest, user=None, nickname="路人甲")
    services.player_kick(contest=contest, player_id=first.pk)
    assert services.player_join(contest=contest, user=None, nickname="路人甲").pk != first.pk


def test_team_modes(world, live_quiz):
    by_class = services.contest_create(
        quiz=live_quiz, host=world.teacher_a, team_mode="class", allow_guests=True
    )
    assert services.player_join(contest=by_class, user=world.student).team == "七年级1班"
    custom = services.contest_create(
        quiz=live_quiz, host=world.teacher_a, team_mode="custom", custom_teams="红队，蓝队", allow_guests=True
    )
    with pytest.raises(services.LiveError):
        services.player_join(contest=custom, user=None, nickname="甲", team="绿队")
    player = services.player_join(contest=custom, user=None, nickname="甲", team="蓝队")
    services.contest_command(contest_id=custom.pk, command="start", version=None, now=timezone.now())
    services.answer_submit(
        player=player, question_index=0, choices=[right_choice(custom, 0)], now=timezone.now()
    )
    services.contest_command(contest_id=custom.pk, command="next", version=None, now=timezone.now())
    teams = services.standings(contest=custom, top=10)["teams"]
    assert teams[0]["name"] == "蓝队" and teams[0]["score"] > 0


def test_scoring_follows_the_server_clock(world, contest):
    fast = services.player_join(contest=contest, user=None, nickname="快")
    slow = services.player_join(contest=contest, user=None, nickname="慢")
    start = timezone.now()
    services.contest_command(contest_id=contest.pk, command="start", version=None, now=start)
    right = right_choice(contest, 0)
    services.answer_submit(
        player=fast, question_index=0, choices=[right], now=start + timezone.timedelta(seconds=0.2)
    )
    services.answer_submit(
        player=slow, question_index=0, choices=[right], now=start + timezone.timedelta(seconds=15)
    )
    services.contest_command(contest_id=contest.pk, command="next", version=None, now=timezone.now())
    fast.refresh_from_db()
    slow.refresh_from_db()
    assert fast.score == 1000 and slow.score == 750 and fast.rank == 1 and slow.rank == 2


@pytest.mark.django_db(transaction=True)
def test_answers_racing_the_close_are_all_scored_or_refused(world, live_quiz):
    contest = services.contest_create(
        quiz=live_quiz, host=world.teacher_a, seconds_per_question=30, allow_guests=True
    )
    players = [services.player_join(contest=contest, user=None, nickname=f"p{n}") for n in range(12)]
    services.contest_command(contest_id=contest.pk, command="start", version=None, now=timezone.now())
    right = right_choice(contest, 0)
    barrier = threading.Barrier(len(players) + 1)
    outcomes = []

    def answer(player):
        barrier.wait()
        try:
            services.answer_submit(player=player, question_index=0, choices=[right], now=timezone.now())
            outcomes.append("ok")
        except services.LiveError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    def close():
        barrier.wait()
        try:
            services.contest_command(contest_id=contest.pk, command="next", version=None, now=timezone.now())
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(p,)) for p in players] + [threading.Thread(target=close)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorded = LiveAnswer.objects.filter(question__contest=contest)
    assert outcomes.count("ok") == recorded.count()
    assert set(outcomes) <= {"ok", "too_late"}
    assert not recorded.filter(correct__isnull=True).exists()  # every recorded answer was scored
    for player in LivePlayer.objects.filter(contest=contest):
        earned = sum(a.points + a.streak_bonus for a in recorded.filter(player=player))
        assert player.score == earned


@pytest.mark.django_db(transaction=True)
def test_two_workers_receiving_the_same_answer_record_one(world, contest):
    player = services.player_join(contest=contest, user=None, nickname="双击")
    services.contest_command(contest_id=contest.pk, command="start", version=None, now=timezone.now())
    barrier, outcomes = threading.Barrier(2), []

    def answer():
        barrier.wait()
        try:
            services.answer_submit(player=player, question_index=0, choices=[0], now=timezone.now())
            outcomes.append("ok")
        except services.LiveError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_answered", "ok"]
    assert LiveAnswer.objects.filter(player=player).count() == 1


def test_results_are_kept_as_attempts(world, contest):
    student = services.player_join(contest=contest, user=world.student)
    guest = services.player_join(contest=contest, user=None, nickname="路人甲")
    services.contest_command(contest_id=contest.pk, command="start", version=None, now=timezone.now())
    services.answer_submit(
        player=student, question_index=0, choices=[right_choice(contest, 0)], now=timezone.now()
    )
    with pytest.MonkeyPatch.context() as patch:
        # on_commit callbacks run at once in a test transaction
        patch.setattr("django.db.transaction.on_commit", lambda fn, *a, **k: fn())
        services.contest_command(contest_id=contest.pk, command="end", version=None, now=timezone.now())
    attempts = Attempt.objects.filter(quiz=contest.quiz)
    assert attempts.count() == 2
    mine = attempts.get(user=world.student)
    assert mine.is_submitted and mine.school_class == world.class_a and mine.max_score == 3
    assert attempts.get(guest_name="路人甲").user is None
    assert mine.items.count() == 3
    assert guest.pk


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
def test_host_and_results_pages_are_for_the_host(world, login, contest, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get(f"/live/{contest.pk}/host/").status_code == expected
    assert client.get(f"/live/{contest.pk}/results/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"), [("guest", 302), ("student", 403), ("volunteer", 403), ("teacher_a", 200)]
)
def test_create_gate(world, login, persona, expected):
    client = login(None if persona == "guest" else getattr(world, persona))
    assert client.get("/live/new/").status_code == expected


def test_create_and_host(world, login, live_quiz):
    client = login(world.teacher_a)
    response = client.post(
        "/live/new/",
        {
            "quiz": live_quiz.pk,
            "title": "",
            "seconds_per_question": 20,
            "points": "standard",
            "speed_bonus": "on",
            "streak_bonus": "on",
            "team_mode": "none",
            "custom_teams": "",
            "max_players": 500,
            "allow_guests": "on",
            "campaign": "",
        },
    )
    contest = LiveContest.objects.get()
    assert response["Location"] == f"/live/{contest.pk}/host/"
    page = client.get(f"/live/{contest.pk}/host/").content.decode()
    assert contest.pin in page and "<svg" in page


def test_join_pages(world, login, contest):
    assert login(None).get("/live/?pin=000000").status_code == 302
    response = login(None).get("/live/", {"pin": contest.pin})
    assert response["Location"] == f"/live/join/?pin={contest.pin}"
    guest = login(None)
    page = guest.post("/live/join/", {"pin": contest.pin, "nickname": "路人甲"}).content.decode()
    player = LivePlayer.objects.get(nickname="路人甲")
    assert player.token in page
    bad = guest.post("/live/join/", {"pin": contest.pin, "nickname": "傻逼"})
    assert bad.status_code == 200 and not LivePlayer.objects.filter(nickname="傻逼").exists()
    assert login(world.student).post("/live/join/", {"pin": contest.pin}).status_code == 200
    assert LivePlayer.objects.filter(user=world.student).exists()
    unknown = login(None).get("/live/join/", {"pin": "999999"})
    assert unknown.status_code == 302


def test_results_export(world, login, contest):
    player = services.player_join(contest=contest, user=None, nickname="路人甲")
    services.contest_command(contest_id=contest.pk, command="start", version=None, now=timezone.now())
    services.answer_submit(
        player=player, question_index=0, choices=[right_choice(contest, 0)], now=timezone.now()
    )
    services.contest_command(contest_id=contest.pk, command="next", version=None, now=timezone.now())
    response = login(world.teacher_a).get(f"/live/{contest.pk}/results/?format=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][1] == "路人甲" and rows[1][4] > 0
