"""Writes of live contests: create, join, answer, host commands and the clock; broadcasts after commit.

The contest's row holds the pure state machine's state. A host command or a timer locks the row (FOR UPDATE),
runs `transition`, carries out the effects and saves. An answer takes the row FOR SHARE on PostgreSQL, so
answers never wait for each other but a close waits for answers already being written, and an answer that
arrives while a close is being written waits for it and is then scored on its own: nothing received before
the close is lost. (SQLite runs one writer at a time, which gives the same order.)
"""

import json
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from edu.models import User
from quizzes import signals
from quizzes.live import scoring
from quizzes.live import state as machine
from quizzes.live.nicknames import nickname_problem
from quizzes.models import (
    Attempt,
    AttemptItem,
    LiveAnswer,
    LiveContest,
    LivePlayer,
    LiveQuestion,
    Quiz,
)
from quizzes.services import draw_versions


class LiveError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def group_name(contest_id: int) -> str:
    """Built from the database id only, never from user text."""
    return f"live-{int(contest_id)}"


def host_group_name(contest_id: int) -> str:
    return f"live-{int(contest_id)}-host"


def broadcast(group: str, message: dict) -> None:
    """Send after the transaction commits, so nobody hears of a change that was rolled back."""
    payload = {"type": "live.message", "message": message}
    transaction.on_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, payload))


# --- creating and joining ---------------------------------------------------------------------------------


def contest_create(
    *,
    quiz: Quiz,
    host: User,
    title: str = "",
    seconds_per_question: int = 20,
    rng: random.Random | None = None,
    **options,
) -> LiveContest:
    """A contest from a quiz: a random quiz is drawn once, so every player gets the same questions."""
    rng = rng or random.SystemRandom()
    versions = draw_versions(quiz=quiz, rng=rng)
    limits = tuple(seconds_per_question * 1000 for _ in versions)
    initial = machine.ContestState(time_limits_ms=limits).to_dict()
    for _attempt in range(20):
        try:
            with transaction.atomic():
                contest = LiveContest.objects.create(
                    title=title or quiz.title,
                    quiz=quiz,
                    host=host,
                    pin=f"{rng.randrange(10**6):06d}",
                    seconds_per_question=seconds_per_question,
                    state=initial,
                    **options,
                )
                LiveQuestion.objects.bulk_create(
                    LiveQuestion(contest=contest, position=i, version=v) for i, v in enumerate(versions)
                )
            return contest
        except IntegrityError:
            continue  # the PIN is taken by an open contest: draw another
    raise LiveError("no_pin", _("No free PIN was found; try again."))


def player_join(*, contest: LiveContest, user: User | None, nickname: str = "", team: str = "") -> LivePlayer:
    """Join, or come back as the same player (a signed-in user who joins again gets their old token)."""
    with transaction.atomic():
        locked = LiveContest.objects.select_for_update().get(pk=contest.pk)
        if locked.status == LiveContest.Status.FINISHED:
            raise LiveError("contest_finished", _("This contest has finished."))
        if user is not None and user.is_authenticated:
            existing = LivePlayer.objects.filter(contest=locked, user=user, kicked=False).first()
            if existing is not None:
                return existing
            nickname = user.nickname or user.public_name
        elif not locked.allow_guests:
            raise LiveError("sign_in_required", _("Sign in to join this contest."))
        nickname = " ".join(nickname.split())
        problem = nickname_problem(nickname)
        if problem:
            raise LiveError("bad_nickname", problem)
        if LivePlayer.objects.filter(contest=locked, kicked=False).count() >= locked.max_players:
            raise LiveError("contest_full", _("This contest is full."))
        school_class = (
            user.school_class if user is not None and user.is_authenticated and user.is_student else None
        )
        if locked.team_mode == LiveContest.Teams.CLASS:
            team = school_class.label if school_class else _("Guests")
        elif locked.team_mode == LiveContest.Teams.SCHOOL:
            team = school_class.school.display_name if school_class else _("Guests")
        elif locked.team_mode == LiveContest.Teams.CUSTOM:
            if team not in locked.team_names:
                raise LiveError("bad_team", _("Choose one of the teams."))
        else:
            team = ""
        try:
            with transaction.atomic():
                player = LivePlayer.objects.create(
                    contest=locked,
                    user=user if user is not None and user.is_authenticated else None,
                    nickname=nickname,
                    token=secrets.token_urlsafe(32),
                    team=team,
                    school_class=school_class,
                    school=school_class.school if school_class else None,
                )
        except IntegrityError:
            raise LiveError(
                "nickname_taken", _("Someone in this contest already has that nickname.")
            ) from None
        count = LivePlayer.objects.filter(contest=locked, kicked=False).count()
        broadcast(group_name(locked.pk), {"type": "lobby", "players": count})
        broadcast(host_group_name(locked.pk), {"type": "player_joined", "player": _player_row(player)})
    return player


def player_kick(*, contest: LiveContest, player_id: int) -> None:
    with transaction.atomic():
        player = LivePlayer.objects.filter(contest=contest, pk=player_id, kicked=False).first()
        if player is None:
            return
        player.kicked = True
        player.save(update_fields=["kicked"])
        count = LivePlayer.objects.filter(contest=contest, kicked=False).count()
        broadcast(group_name(contest.pk), {"type": "kicked", "player": player.pk})
        broadcast(group_name(contest.pk), {"type": "lobby", "players": count})
        broadcast(host_group_name(contest.pk), {"type": "player_left", "player": player.pk})


def player_for_token(*, contest_id: int, token: str) -> LivePlayer | None:
    if not isinstance(token, str) or not 10 <= len(token) <= 64:
        return None
    return LivePlayer.objects.select_related("contest").filter(contest_id=contest_id, token=token).first()


def player_hello(*, contest_id: int, token: str, now: datetime) -> tuple[LivePlayer | None, dict | None]:
    """A player (re)connecting: who they are and, unless the host removed them, the welcome with the screen
    to show now. One trip to the database thread for both."""
    player = player_for_token(contest_id=contest_id, token=token)
    if player is None or player.kicked:
        return player, None
    return player, player_welcome(player=player, now=now)


# --- answers ----------------------------------------------------------------------------------------------


def _answer_context(*, contest_id: int, position: int) -> tuple[machine.ContestState, tuple | None]:
    """The contest's state and what an answer needs to know about question `position` (its id, how many
    options, its type; None if there is no such question). On PostgreSQL one statement, which holds the
    contest's row under a share lock until the answer commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.state, q.id, jsonb_array_length(v.options), v.type"
                " FROM quizzes_livecontest c"
                " LEFT JOIN quizzes_livequestion q ON q.contest_id = c.id AND q.position = %s"
                " LEFT JOIN quizzes_questionversion v ON v.id = q.version_id"
                " WHERE c.id = %s FOR SHARE OF c",
                [position, contest_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise LiveError("not_in_question", _("That question is not open."))
        raw, question_id, options, question_type = row
        state = json.loads(raw) if isinstance(raw, str | bytes) else raw
        facts = None if question_id is None else (question_id, options, question_type)
    else:
        state = LiveContest.objects.filter(pk=contest_id).values_list("state", flat=True).first()
        if state is None:
            raise LiveError("not_in_question", _("That question is not open."))
        question = (
            LiveQuestion.objects.filter(contest_id=contest_id, position=position)
            .values_list("pk", "version__options", "version__type")
            .first()
        )
        facts = None if question is None else (question[0], len(question[1]), question[2])
    return machine.ContestState.from_dict(state), facts


def answer_submit(
    *, player: LivePlayer, question_index: int, choices: Sequence[int], now: datetime
) -> LiveAnswer:
    """Record an answer stamped with the server's receive time `now`.

    The hot path of a hall answering at once: BEGIN, the state under a share lock, one INSERT, COMMIT."""
    if not isinstance(question_index, int) or isinstance(question_index, bool):
        raise LiveError("invalid_message", _("That message was not understood."))
    with transaction.atomic():
        state, facts = _answer_context(contest_id=player.contest_id, position=question_index)
        if state.question_index != question_index or state.phase in (
            machine.Phase.LOBBY,
            machine.Phase.FINISHED,
        ):
            raise LiveError("not_in_question", _("That question is not open."))
        if state.closes_at is None or state.opens_at is None or not state.opens_at <= now < state.closes_at:
            raise LiveError("too_late", _("Time was up: the answer arrived after the question closed."))
        if state.phase is machine.Phase.PAUSED:
            raise LiveError("not_in_question", _("The contest is paused."))
        if facts is None:
            raise LiveError("not_in_question", _("That question is not open."))
        question_id, options, question_type = facts
        if (
            not isinstance(choices, list)
            or not choices
            or len(choices) > options
            or any(not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < options for c in choices)
            or (question_type != "multiple" and len(set(choices)) != 1)
        ):
            raise LiveError("invalid_choice", _("Choose one of the options."))
        answer = LiveAnswer(
            player=player,
            question_id=question_id,
            choices=sorted(set(choices)),
            received_at=now,
            response_ms=machine.answer_response_ms(state, now),
        )
        try:
            # No savepoint (two round trips fewer): a duplicate ends the whole transaction, which has
            # written nothing else.
            with transaction.atomic(savepoint=False):
                answer.save(force_insert=True)
        except IntegrityError:
            raise LiveError("already_answered", _("You have already answered this question.")) from None
        if state.phase is not machine.Phase.QUESTION:
            # Received in time, but the close was written first: score this one on its own.
            contest = LiveContest.objects.get(pk=player.contest_id)
            question = LiveQuestion.objects.select_related("version").get(pk=question_id)
            _score_answers(contest=contest, question=question, answers=[answer])
    return answer


# --- host commands and the clock --------------------------------------------------------------------------

HOST_COMMANDS = {
    "start": machine.Start,
    "next": machine.Next,
    "pause": machine.Pause,
    "resume": machine.Resume,
    "skip": machine.Skip,
    "end": machine.End,
}
TIMER_CODES = {
    machine.STALE_QUESTION,
    machine.CLOSE_NOT_DUE,
    machine.NOT_IN_QUESTION,
    machine.CONTEST_PAUSED,
    machine.NOT_STARTED,
    machine.CONTEST_FINISHED,
}


def contest_command(*, contest_id: int, command: str, version: int | None, now: datetime) -> LiveContest:
    if command not in HOST_COMMANDS:
        raise LiveError("invalid_message", _("That message was not understood."))
    return _apply_event(
        contest_id=contest_id, event=HOST_COMMANDS[command](expected_version=version), now=now
    )


def contest_tick(*, contest_id: int, now: datetime, all_answered: bool = False) -> LiveContest | None:
    """The clock: close the open question when its time is up (or everyone has answered). Safe to call from
    every process at once; the late ones find the question already closed and do nothing."""
    contest = LiveContest.objects.filter(pk=contest_id).only("state").first()
    if contest is None:
        return None
    state = machine.ContestState.from_dict(contest.state)
    if state.phase is not machine.Phase.QUESTION:
        return None
    if all_answered:
        event = machine.AllAnswered(question_index=state.question_index)
    elif state.closes_at is not None and now >= state.closes_at:
        event = machine.CloseDue(question_index=state.question_index)
    else:
        return None
    try:
        return _apply_event(contest_id=contest_id, event=event, now=now)
    except LiveError as error:
        if error.code in TIMER_CODES:
            return None
        raise


def _apply_event(*, contest_id: int, event, now: datetime) -> LiveContest:
    with transaction.atomic():
        contest = LiveContest.objects.select_for_update().get(pk=contest_id)
        state = machine.ContestState.from_dict(contest.state)
        try:
            new_state, effects = machine.transition(state, event, now)
        except machine.TransitionError as error:
            raise LiveError(error.code, transition_message(error.code)) from None
        contest.state = new_state.to_dict()
        if new_state.phase is machine.Phase.FINISHED:
            contest.status = LiveContest.Status.FINISHED
            contest.finished_at = now
        elif new_state.phase is not machine.Phase.LOBBY:
            contest.status = LiveContest.Status.RUNNING
        contest.save(update_fields=["state", "status", "finished_at"])
        for effect in effects:
            _carry_out(contest=contest, state=new_state, effect=effect, now=now)
        broadcast(host_group_name(contest.pk), {"type": "host_refresh"})
    return contest


def _carry_out(*, contest: LiveContest, state: machine.ContestState, effect, now: datetime) -> None:
    group = group_name(contest.pk)
    match effect:
        case machine.OpenQuestion():
            broadcast(
                group, question_message(contest=contest, state=state, now=now, index=state.question_index)
            )
        case machine.Paused(remaining_ms=remaining):
            broadcast(group, {"type": "paused", "remaining_ms": remaining})
        case machine.Resumed():
            # Players reload the screen they were on: the question with its new time left, or the reveal.
            broadcast(group, {"type": "resumed", **current_screen(contest=contest, now=now)})
        case machine.CloseQuestion(question_index=index):
            question = LiveQuestion.objects.select_related("version").get(contest=contest, position=index)
            answers = list(LiveAnswer.objects.filter(question=question).select_related("player"))
            _score_answers(contest=contest, question=question, answers=answers, reset_missing=True)
            broadcast(group, reveal_message(contest=contest, question=question))
        case machine.ShowLeaderboard(question_index=index):
            broadcast(group, {"type": "leaderboard", "index": index, **standings(contest=contest, top=10)})
        case machine.SkipQuestion(question_index=index):
            broadcast(group, {"type": "skipped", "index": index})
        case machine.Finish():
            podium = standings(contest=contest, top=3)
            broadcast(group, {"type": "finished", "podium": podium["top"], "teams": podium["teams"]})
            transaction.on_commit(lambda: contest_record_attempts(contest_id=contest.pk))
        case _:
            pass  # ScheduleClose / CancelClose: the clock reads closes_at from the state on every tick.


def _score_answers(
    *, contest: LiveContest, question: LiveQuestion, answers: list[LiveAnswer], reset_missing: bool = False
) -> None:
    """Points from the server's response times; streaks; ranks. Bulk writes: one statement per table."""
    rules = scoring.ScoreRules(
        points=scoring.PointsMode(contest.points),
        speed_bonus=contest.speed_bonus,
        streak_bonus=contest.streak_bonus,
    )
    correct = set(question.version.correct)
    players = []
    for answer in answers:
        player = answer.player
        is_right = set(answer.choices) == correct
        result = scoring.score_answer(
            correct=is_right,
            response_ms=answer.response_ms,
            time_limit_ms=contest.seconds_per_question * 1000,
            previous_streak=player.streak,
            rules=rules,
        )
        answer.correct, answer.points, answer.streak_bonus = is_right, result.points, result.streak_bonus
        player.score += result.total
        player.streak = result.streak
        players.append(player)
    LiveAnswer.objects.bulk_update(answers, ["correct", "points", "streak_bonus"], batch_size=1000)
    LivePlayer.objects.bulk_update(players, ["score", "streak"], batch_size=1000)
    if reset_missing:
        LivePlayer.objects.filter(contest=contest).exclude(answers__question=question).update(streak=0)
    _rerank(contest=contest)


def _rerank(*, contest: LiveContest) -> None:
    rows = list(LivePlayer.objects.filter(contest=contest, kicked=False).values_list("pk", "score"))
    ranks = scoring.rank(dict(rows))
    players = [LivePlayer(pk=pk, rank=rank) for pk, rank in ranks.items()]
    LivePlayer.objects.bulk_update(players, ["rank"], batch_size=1000)


# --- what the screens show --------------------------------------------------------------------------------


def question_message(*, contest: LiveContest, state: machine.ContestState, now: datetime, index: int) -> dict:
    """A question as players see it: never the correct options."""
    question = LiveQuestion.objects.select_related("version").get(contest=contest, position=index)
    version = question.version
    return {
        "type": "question",
        "index": index,
        "count": state.question_count,
        "question_type": version.type,
        "stem": version.stem,
        "options": list(version.options),
        "image": version.image.url if version.image else "",
        "time_limit_ms": state.time_limits_ms[index],
        "remaining_ms": machine.remaining_ms(state, now),
        "version": state.version,
    }


def reveal_message(*, contest: LiveContest, question: LiveQuestion) -> dict:
    counts = Counter()
    answered = 0
    for choices in LiveAnswer.objects.filter(question=question).values_list("choices", flat=True):
        answered += 1
        counts.update(choices)
    return {
        "type": "reveal",
        "index": question.position,
        "correct": sorted(question.version.correct),
        "distribution": [counts.get(i, 0) for i in range(len(question.version.options))],
        "answered": answered,
        "players": LivePlayer.objects.filter(contest=contest, kicked=False).count(),
        "explanation": question.version.explanation,
    }


def standings(*, contest: LiveContest, top: int) -> dict:
    players = list(
        LivePlayer.objects.filter(contest=contest, kicked=False)
        .order_by("-score", "joined_at")
        .values("nickname", "score", "rank", "team")[:top]
    )
    result = {
        "top": [{"rank": p["rank"] or 1, "name": p["nickname"], "score": p["score"]} for p in players],
        "teams": [],
    }
    if contest.team_mode != LiveContest.Teams.NONE:
        members: dict[str, list[int]] = {}
        for team, score in LivePlayer.objects.filter(contest=contest, kicked=False).values_list(
            "team", "score"
        ):
            members.setdefault(team, []).append(score)
        totals = {team: scoring.team_score(scores) for team, scores in members.items()}
        ranks = scoring.rank(totals)
        result["teams"] = sorted(
            ({"rank": ranks[t], "name": t, "score": s} for t, s in totals.items()), key=lambda r: r["rank"]
        )[:top]
    return result


def current_screen(*, contest: LiveContest, now: datetime) -> dict:
    """What a (re)connecting screen should show now: the open question with the right time left, the last
    reveal, the leaderboard or the podium."""
    state = machine.ContestState.from_dict(contest.state)
    phase = state.phase
    shown = state.paused_phase if phase is machine.Phase.PAUSED else phase
    screen: dict = {"phase": phase.value, "version": state.version}
    if shown is machine.Phase.QUESTION:
        screen["question"] = question_message(
            contest=contest, state=state, now=now, index=state.question_index
        )
    elif shown is machine.Phase.REVEAL:
        question = LiveQuestion.objects.select_related("version").get(
            contest=contest, position=state.question_index
        )
        screen["reveal"] = reveal_message(contest=contest, question=question)
    elif shown is machine.Phase.LEADERBOARD:
        screen["leaderboard"] = {"index": state.question_index, **standings(contest=contest, top=10)}
    elif phase is machine.Phase.FINISHED:
        screen["podium"] = standings(contest=contest, top=3)
    if phase is machine.Phase.PAUSED:
        screen["remaining_ms"] = state.paused_remaining_ms
    return screen


def player_welcome(*, player: LivePlayer, now: datetime) -> dict:
    contest = player.contest
    screen = current_screen(contest=contest, now=now)
    state = machine.ContestState.from_dict(contest.state)
    answered = (
        state.question_index >= 0
        and LiveAnswer.objects.filter(
            player=player, question__contest=contest, question__position=state.question_index
        ).exists()
    )
    return {
        "type": "welcome",
        "player": {
            "id": player.pk,
            "nickname": player.nickname,
            "score": player.score,
            "rank": player.rank,
            "team": player.team,
        },
        "contest": {"title": contest.title, "question_count": state.question_count},
        "players": LivePlayer.objects.filter(contest=contest, kicked=False).count(),
        "answered": answered,
        **screen,
    }


def player_me(*, player: LivePlayer) -> dict:
    player.refresh_from_db(fields=["score", "rank", "streak"])
    last = (
        LiveAnswer.objects.filter(player=player, correct__isnull=False)
        .select_related("question")
        .order_by("-question__position")
        .first()
    )
    return {
        "type": "me",
        "score": player.score,
        "rank": player.rank,
        "players": LivePlayer.objects.filter(contest_id=player.contest_id, kicked=False).count(),
        "last": None
        if last is None
        else {
            "question": last.question.position,
            "correct": last.correct,
            "points": last.points,
            "streak": player.streak,
            "streak_bonus": last.streak_bonus,
        },
    }


def _player_row(player: LivePlayer) -> dict:
    return {"id": player.pk, "nickname": player.nickname, "team": player.team, "score": player.score}


def host_state(*, contest: LiveContest, now: datetime, join_url: str) -> dict:
    players = list(LivePlayer.objects.filter(contest=contest, kicked=False).order_by("joined_at"))
    return {
        "type": "host_state",
        "pin": contest.pin,
        "title": contest.title,
        "join_url": join_url,
        "players": [_player_row(p) for p in players[:500]],
        "player_count": len(players),
        "question_count": contest.questions.count(),
        "answered": tally(contest=contest)["answered"],
        **current_screen(contest=contest, now=now),
    }


def tally(*, contest: LiveContest) -> dict:
    state = machine.ContestState.from_dict(contest.state)
    answered = 0
    if state.question_index >= 0:
        answered = LiveAnswer.objects.filter(
            question__contest=contest, question__position=state.question_index
        ).count()
    return {
        "type": "tally",
        "question": state.question_index,
        "answered": answered,
        "players": LivePlayer.objects.filter(contest=contest, kicked=False).count(),
        "phase": state.phase.value,
    }


def transition_message(code: str) -> str:
    return {
        machine.ALREADY_STARTED: _("The contest has already started."),
        machine.NOT_STARTED: _("The contest has not started yet."),
        machine.NOT_IN_QUESTION: _("No question is open."),
        machine.NOT_PAUSED: _("The contest is not paused."),
        machine.ALREADY_PAUSED: _("The contest is already paused."),
        machine.CONTEST_PAUSED: _("The contest is paused."),
        machine.CONTEST_FINISHED: _("This contest has finished."),
        machine.STALE_COMMAND: _("The screen was out of date; it has been refreshed. Try again."),
        machine.NO_QUESTIONS: _("This contest has no questions."),
        machine.STALE_QUESTION: _("That question is no longer open."),
        machine.CLOSE_NOT_DUE: _("The question is still open."),
    }.get(code, _("That cannot be done now."))


# --- results ----------------------------------------------------------------------------------------------


def contest_record_attempts(*, contest_id: int) -> int:
    """Keep every player's answers as a submitted attempt of the contest's quiz, so that results, item
    statistics and the schools' participation figures count live contests too."""
    contest = LiveContest.objects.select_related("quiz").get(pk=contest_id)
    questions = list(contest.questions.select_related("version").order_by("position"))
    players = list(LivePlayer.objects.filter(contest=contest, kicked=False))  # a kicked player does not count
    answers: dict[tuple[int, int], LiveAnswer] = {
        (a.player_id, a.question_id): a for a in LiveAnswer.objects.filter(question__contest=contest)
    }
    finished = contest.finished_at
    started = min((a.received_at for a in answers.values()), default=finished)
    with transaction.atomic():
        Attempt.objects.filter(quiz=contest.quiz, guest_key__startswith=f"live:{contest.pk}:").delete()
        previous = Counter(
            Attempt.objects.filter(
                quiz=contest.quiz, user__in=[p.user_id for p in players if p.user_id]
            ).values_list("user_id", flat=True)
        )
        attempts, items = [], []
        for player in players:
            right = sum(1 for q in questions if (a := answers.get((player.pk, q.pk))) and a.correct)
            attempt = Attempt(
                quiz=contest.quiz,
                user_id=player.user_id,
                number=previous[player.user_id] + 1 if player.user_id else 1,
                guest_key="" if player.user_id else f"live:{contest.pk}:{player.pk}",
                guest_name=player.nickname,
                school_class_id=player.school_class_id,
                school_id=player.school_id,
                started_at=started,
                submitted_at=finished,
                score=Decimal(right),
                max_score=Decimal(len(questions)),
                passed=bool(questions) and right * 100 >= len(questions) * contest.quiz.pass_mark,
            )
            attempts.append(attempt)
            for q in questions:
                a = answers.get((player.pk, q.pk))
                items.append(
                    AttemptItem(
                        attempt=attempt,
                        position=q.position,
                        version=q.version,
                        option_order=list(range(len(q.version.options))),
                        selected=a.choices if a else None,
                        answered_at=a.received_at if a else None,
                        score=Decimal(1 if a and a.correct else 0) if a else None,
                    )
                )
        Attempt.objects.bulk_create(attempts, batch_size=1000)
        AttemptItem.objects.bulk_create(items, batch_size=2000)
    signals.contest_finished.send(sender=LiveContest, contest=contest)
    return len(attempts)
