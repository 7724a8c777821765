"""The live contest state machine: phases, host and timer events, and the effects the service carries out.

``transition(state, event, now)`` is a pure function. The service loads the state from the contest's
database row (``ContestState.from_dict``) under a row lock, calls ``transition``, saves ``to_dict()`` and
carries out the returned effects after commit. Nothing here keeps time or memory of its own, so any daphne
worker can take the next event, and the server's ``now`` is the only clock that counts.

Flow::

    LOBBY → QUESTION → REVEAL → LEADERBOARD → QUESTION → … → LEADERBOARD → FINISHED
                 ↘ (Skip) next QUESTION or FINISHED       any phase → (End) → FINISHED
    QUESTION / REVEAL / LEADERBOARD ⇄ PAUSED

A question's answer window is ``opens_at <= received_at < closes_at``, ``closes_at − opens_at`` being its
time limit. ``lead_in_ms`` shows the question before answers open (Kahoot's reading time); 0 by default.
Pausing a question stores the milliseconds left until ``closes_at``; resuming sets a new
``closes_at = now + remaining`` and ``opens_at = closes_at − time limit``, which cuts the pause out of the
response time of everyone who answers later. Because ``opens_at`` moves, the service stamps each answer's
response time (``answer_response_ms``) when it arrives instead of recomputing it at the reveal.

Timer events (``CloseDue``, ``AllAnswered``) name the question they were meant for, and host commands may
carry the ``version`` the host's screen showed: a timer that fires after the host moved on, or a second
click on a stale screen, raises ``TransitionError`` instead of skipping a phase. The service ignores those
errors for timer events and reports them to the host for commands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

_ONE_MS = timedelta(milliseconds=1)


class Phase(StrEnum):
    LOBBY = "lobby"
    QUESTION = "question"
    REVEAL = "reveal"
    LEADERBOARD = "leaderboard"
    PAUSED = "paused"
    FINISHED = "finished"


PAUSABLE_PHASES = frozenset({Phase.QUESTION, Phase.REVEAL, Phase.LEADERBOARD})

# Stable machine codes; the consumer maps each to a translated message.
ALREADY_PAUSED = "already_paused"
ALREADY_STARTED = "already_started"
CLOSE_NOT_DUE = "close_not_due"
CONTEST_FINISHED = "contest_finished"
CONTEST_PAUSED = "contest_paused"
NO_QUESTIONS = "no_questions"
NOT_IN_QUESTION = "not_in_question"
NOT_PAUSED = "not_paused"
NOT_STARTED = "not_started"
STALE_COMMAND = "stale_command"
STALE_QUESTION = "stale_question"

ERROR_CODES = frozenset(
    {
        ALREADY_PAUSED,
        ALREADY_STARTED,
        CLOSE_NOT_DUE,
        CONTEST_FINISHED,
        CONTEST_PAUSED,
        NO_QUESTIONS,
        NOT_IN_QUESTION,
        NOT_PAUSED,
        NOT_STARTED,
        STALE_COMMAND,
        STALE_QUESTION,
    }
)


class TransitionError(Exception):
    """An event that is not allowed in the contest's current phase; ``code`` is one of ``ERROR_CODES``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _whole_ms(delta: timedelta) -> int:
    return delta // _ONE_MS


def _require_int(value: object, name: str) -> int:
    # bool is an int subclass; a True in a JSON row is corruption, not question 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class ContestState:
    """Everything the server needs to run one contest; persisted as JSON on the contest's row.

    ``opens_at``/``closes_at`` belong to the current (or last) question; after an early close ``closes_at``
    is the moment it actually closed. While PAUSED they are kept as they were and ``paused_remaining_ms``
    (set only when a QUESTION was paused) holds the time that was left. ``version`` goes up by one on every
    transition.
    """

    time_limits_ms: tuple[int, ...]
    lead_in_ms: int = 0
    phase: Phase = Phase.LOBBY
    question_index: int = -1
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    paused_phase: Phase | None = None
    paused_remaining_ms: int | None = None
    version: int = 0

    def __post_init__(self) -> None:
        # Normalise here so that every state, however built, is JSON-stable and in UTC.
        limits = tuple(_require_int(limit, "time limit") for limit in self.time_limits_ms)
        if any(limit <= 0 for limit in limits):
            raise ValueError(f"every question needs a positive time limit, got {limits}")
        object.__setattr__(self, "time_limits_ms", limits)
        object.__setattr__(self, "phase", Phase(self.phase))
        if self.paused_phase is not None:
            object.__setattr__(self, "paused_phase", Phase(self.paused_phase))
        for name in ("opens_at", "closes_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _aware_utc(value, name))
        if _require_int(self.lead_in_ms, "lead_in_ms") < 0:
            raise ValueError(f"lead_in_ms must not be negative, got {self.lead_in_ms}")
        if _require_int(self.version, "version") < 0:
            raise ValueError(f"version must not be negative, got {self.version}")
        _require_int(self.question_index, "question_index")
        if self.paused_remaining_ms is not None and _require_int(self.paused_remaining_ms, "remaining") < 0:
            raise ValueError(f"paused_remaining_ms must not be negative, got {self.paused_remaining_ms}")
        self._check_phase()

    def _check_phase(self) -> None:
        phase, index = self.phase, self.question_index
        in_range = 0 <= index < self.question_count
        has_pause_data = self.paused_phase is not None or self.paused_remaining_ms is not None
        if phase is not Phase.PAUSED and has_pause_data:
            raise ValueError(f"{phase} cannot carry pause data")
        if phase is Phase.LOBBY:
            if index != -1 or self.opens_at is not None or self.closes_at is not None:
                raise ValueError("the lobby has no current question")
            return
        if phase is Phase.FINISHED:
            if not -1 <= index < self.question_count:
                raise ValueError(f"question_index {index} out of range")
            return
        if not in_range:
            raise ValueError(f"question_index {index} out of range for {self.question_count} questions")
        if self.opens_at is None or self.closes_at is None:
            raise ValueError(f"{phase} needs opens_at and closes_at")
        if phase is Phase.QUESTION and not self.closes_at > self.opens_at:
            raise ValueError("an open question must close after it opens")
        if self.closes_at < self.opens_at:
            raise ValueError("a question cannot close before it opens")
        if phase is Phase.PAUSED:
            if self.paused_phase not in PAUSABLE_PHASES:
                raise ValueError(f"cannot be paused from {self.paused_phase}")
            if (self.paused_phase is Phase.QUESTION) != (self.paused_remaining_ms is not None):
                raise ValueError("paused_remaining_ms is set exactly when a question was paused")

    @property
    def question_count(self) -> int:
        return len(self.time_limits_ms)

    @property
    def time_limit_ms(self) -> int | None:
        """The current question's time limit, or None in the lobby."""
        if self.question_index < 0:
            return None
        return self.time_limits_ms[self.question_index]

    @property
    def question_is_open(self) -> bool:
        """The current question has not been closed, skipped or ended yet (it may be paused)."""
        return self.phase is Phase.QUESTION or (
            self.phase is Phase.PAUSED and self.paused_phase is Phase.QUESTION
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: enums as their values, datetimes as ISO 8601 strings in UTC."""
        return {
            "phase": self.phase.value,
            "question_index": self.question_index,
            "time_limits_ms": list(self.time_limits_ms),
            "lead_in_ms": self.lead_in_ms,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "paused_phase": self.paused_phase.value if self.paused_phase else None,
            "paused_remaining_ms": self.paused_remaining_ms,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContestState:
        """Rebuild a state from ``to_dict()``; raises ValueError on anything that is not a valid state.

        Unknown keys are ignored so that a worker still on the previous release can read a row written by
        the next one during a rolling deploy.
        """

        def moment(name: str) -> datetime | None:
            raw = data.get(name)
            if raw is None:
                return None
            if not isinstance(raw, str):
                raise ValueError(f"{name} must be an ISO 8601 string, got {raw!r}")
            return _aware_utc(datetime.fromisoformat(raw), name)

        limits = data.get("time_limits_ms")
        if not isinstance(limits, list | tuple):
            raise ValueError(f"time_limits_ms must be a list, got {limits!r}")
        paused_phase = data.get("paused_phase")
        return cls(
            time_limits_ms=tuple(limits),
            lead_in_ms=data.get("lead_in_ms", 0),
            phase=Phase(data.get("phase", Phase.LOBBY)),
            question_index=data.get("question_index", -1),
            opens_at=moment("opens_at"),
            closes_at=moment("closes_at"),
            paused_phase=Phase(paused_phase) if paused_phase is not None else None,
            paused_remaining_ms=data.get("paused_remaining_ms"),
            version=data.get("version", 0),
        )


# ---------------------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class HostCommand:
    """A host's button. ``expected_version``: the state version the host's screen showed, if known."""

    expected_version: int | None = None


@dataclass(frozen=True)
class Start(HostCommand):
    """Open the first question (LOBBY only)."""


@dataclass(frozen=True)
class Next(HostCommand):
    """Move on: start, close the question early, show the leaderboard, open the next question or finish."""


@dataclass(frozen=True)
class Pause(HostCommand):
    """Freeze a question, reveal or leaderboard."""


@dataclass(frozen=True)
class Resume(HostCommand):
    """Continue where the pause left off, with the question's remaining time restored."""


@dataclass(frozen=True)
class Skip(HostCommand):
    """Drop the open question unscored (for example a faulty one) and go to the next or finish."""


@dataclass(frozen=True)
class End(HostCommand):
    """Finish the contest now; an open question is dropped unscored, earlier points stand."""


@dataclass(frozen=True)
class CloseDue:
    """The scheduled close of ``question_index`` fired (sent by the service's timer)."""

    question_index: int


@dataclass(frozen=True)
class AllAnswered:
    """Every player has answered ``question_index``, so the question can close early."""

    question_index: int


Event = Start | Next | Pause | Resume | Skip | End | CloseDue | AllAnswered


# ---------------------------------------------------------------------------------------------------------
# Effects


@dataclass(frozen=True)
class OpenQuestion:
    """Send the question (without its answer) to everyone; answers count from ``opens_at``."""

    question_index: int
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class ScheduleClose:
    """Arrange for ``CloseDue(question_index)`` to be sent at ``at`` (replacing any earlier schedule)."""

    question_index: int
    at: datetime


@dataclass(frozen=True)
class CancelClose:
    """The scheduled close is no longer wanted; a late one is harmless, it raises ``TransitionError``."""

    question_index: int


@dataclass(frozen=True)
class CloseQuestion:
    """Stop accepting answers, score them and broadcast the reveal (correct answer and distribution)."""

    question_index: int


@dataclass(frozen=True)
class SkipQuestion:
    """The question is dropped: its answers earn nothing and do not touch streaks."""

    question_index: int


@dataclass(frozen=True)
class ShowLeaderboard:
    """Broadcast the standings after ``question_index``."""

    question_index: int


@dataclass(frozen=True)
class Paused:
    """Tell everyone the contest is paused; ``remaining_ms`` is set when a question was paused."""

    phase: Phase
    remaining_ms: int | None


@dataclass(frozen=True)
class Resumed:
    """Tell everyone the contest continues in ``phase``; ``closes_at`` is the question's new close."""

    phase: Phase
    closes_at: datetime | None


@dataclass(frozen=True)
class Finish:
    """Final standings and podium; record the end of the contest."""


Effect = (
    OpenQuestion
    | ScheduleClose
    | CancelClose
    | CloseQuestion
    | SkipQuestion
    | ShowLeaderboard
    | Paused
    | Resumed
    | Finish
)


# ---------------------------------------------------------------------------------------------------------
# Transitions


def transition(state: ContestState, event: Event, now: datetime) -> tuple[ContestState, list[Effect]]:
    """Apply ``event`` at server time ``now``; raises ``TransitionError`` if the phase does not allow it."""
    now = _aware_utc(now, "now")
    if state.phase is Phase.FINISHED:
        raise TransitionError(CONTEST_FINISHED)
    if (
        isinstance(event, HostCommand)
        and event.expected_version is not None
        and event.expected_version != state.version
    ):
        raise TransitionError(STALE_COMMAND)
    new_state, effects = _apply(state, event, now)
    return dataclasses.replace(new_state, version=state.version + 1), effects


def _apply(state: ContestState, event: Event, now: datetime) -> tuple[ContestState, list[Effect]]:
    match event:
        case Start():
            if state.phase is not Phase.LOBBY:
                raise TransitionError(ALREADY_STARTED)
            return _start(state, now)
        case Next():
            return _next(state, now)
        case Pause():
            return _pause(state, now)
        case Resume():
            return _resume(state, now)
        case Skip():
            return _skip(state, now)
        case End():
            return _end(state)
        case CloseDue(question_index=index):
            _require_open_question(state, index)
            assert state.closes_at is not None  # guaranteed in QUESTION; narrows the type
            if now < state.closes_at:
                raise TransitionError(CLOSE_NOT_DUE)
            return _close(state, now, cancel_timer=False)
        case AllAnswered(question_index=index):
            _require_open_question(state, index)
            return _close(state, now, cancel_timer=True)
    raise TypeError(f"not a contest event: {event!r}")


def _require_open_question(state: ContestState, index: int) -> None:
    if state.phase is Phase.LOBBY:
        raise TransitionError(NOT_STARTED)
    if state.phase is Phase.PAUSED:
        raise TransitionError(CONTEST_PAUSED)
    if state.phase is not Phase.QUESTION:
        raise TransitionError(NOT_IN_QUESTION)
    if index != state.question_index:
        raise TransitionError(STALE_QUESTION)


def _start(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    if state.question_count == 0:
        raise TransitionError(NO_QUESTIONS)
    return _open(state, 0, now)


def _open(state: ContestState, index: int, now: datetime) -> tuple[ContestState, list[Effect]]:
    opens_at = now + state.lead_in_ms * _ONE_MS
    closes_at = opens_at + state.time_limits_ms[index] * _ONE_MS
    opened = dataclasses.replace(
        state,
        phase=Phase.QUESTION,
        question_index=index,
        opens_at=opens_at,
        closes_at=closes_at,
        paused_phase=None,
        paused_remaining_ms=None,
    )
    return opened, [OpenQuestion(index, opens_at, closes_at), ScheduleClose(index, closes_at)]


def _open_next_or_finish(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    if state.question_index + 1 < state.question_count:
        return _open(state, state.question_index + 1, now)
    return _finished(state), [Finish()]


def _finished(state: ContestState) -> ContestState:
    return dataclasses.replace(state, phase=Phase.FINISHED, paused_phase=None, paused_remaining_ms=None)


def _close(state: ContestState, now: datetime, *, cancel_timer: bool) -> tuple[ContestState, list[Effect]]:
    assert state.opens_at is not None and state.closes_at is not None  # guaranteed in QUESTION
    # Record when answering really stopped; clamped so a skewed worker clock cannot break opens <= closes.
    closed_at = min(max(now, state.opens_at), state.closes_at)
    index = state.question_index
    effects: list[Effect] = [CancelClose(index)] if cancel_timer else []
    effects.append(CloseQuestion(index))
    return dataclasses.replace(state, phase=Phase.REVEAL, closes_at=closed_at), effects


def _next(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    match state.phase:
        case Phase.LOBBY:
            return _start(state, now)
        case Phase.QUESTION:
            return _close(state, now, cancel_timer=True)
        case Phase.REVEAL:
            return (
                dataclasses.replace(state, phase=Phase.LEADERBOARD),
                [ShowLeaderboard(state.question_index)],
            )
        case Phase.LEADERBOARD:
            return _open_next_or_finish(state, now)
        case _:
            raise TransitionError(CONTEST_PAUSED)


def _pause(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    if state.phase is Phase.LOBBY:
        raise TransitionError(NOT_STARTED)
    if state.phase is Phase.PAUSED:
        raise TransitionError(ALREADY_PAUSED)
    if state.phase is Phase.QUESTION:
        assert state.closes_at is not None  # guaranteed in QUESTION
        # A pause that races the close keeps 0 ms; resuming then closes at once instead of failing.
        remaining = max(_whole_ms(state.closes_at - now), 0)
        paused = dataclasses.replace(
            state, phase=Phase.PAUSED, paused_phase=Phase.QUESTION, paused_remaining_ms=remaining
        )
        return paused, [CancelClose(state.question_index), Paused(Phase.QUESTION, remaining)]
    paused = dataclasses.replace(state, phase=Phase.PAUSED, paused_phase=state.phase)
    return paused, [Paused(state.phase, None)]


def _resume(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    if state.phase is not Phase.PAUSED or state.paused_phase is None:
        raise TransitionError(NOT_PAUSED)
    if state.paused_phase is Phase.QUESTION:
        assert state.paused_remaining_ms is not None and state.time_limit_ms is not None
        closes_at = now + state.paused_remaining_ms * _ONE_MS
        # Moving opens_at keeps "received − opens" equal to the answering time actually used.
        opens_at = closes_at - state.time_limit_ms * _ONE_MS
        resumed = dataclasses.replace(
            state,
            phase=Phase.QUESTION,
            opens_at=opens_at,
            closes_at=closes_at,
            paused_phase=None,
            paused_remaining_ms=None,
        )
        index = state.question_index
        return resumed, [Resumed(Phase.QUESTION, closes_at), ScheduleClose(index, closes_at)]
    resumed = dataclasses.replace(state, phase=state.paused_phase, paused_phase=None)
    return resumed, [Resumed(state.paused_phase, None)]


def _skip(state: ContestState, now: datetime) -> tuple[ContestState, list[Effect]]:
    if state.phase is Phase.LOBBY:
        raise TransitionError(NOT_STARTED)
    if not state.question_is_open:
        raise TransitionError(NOT_IN_QUESTION)
    index = state.question_index
    # A paused question already cancelled its timer when it was paused.
    effects: list[Effect] = [CancelClose(index)] if state.phase is Phase.QUESTION else []
    effects.append(SkipQuestion(index))
    following, more = _open_next_or_finish(state, now)
    return following, effects + more


def _end(state: ContestState) -> tuple[ContestState, list[Effect]]:
    effects: list[Effect] = []
    if state.phase is Phase.QUESTION:
        effects.append(CancelClose(state.question_index))
    if state.question_is_open:
        effects.append(SkipQuestion(state.question_index))
    effects.append(Finish())
    return _finished(state), effects


# ---------------------------------------------------------------------------------------------------------
# Questions the service and consumers ask


def accepts_answers(state: ContestState, now: datetime) -> bool:
    """Whether an answer stamped ``now`` by the server counts."""
    now = _aware_utc(now, "now")
    if state.phase is not Phase.QUESTION:
        return False
    assert state.opens_at is not None and state.closes_at is not None  # guaranteed in QUESTION
    return state.opens_at <= now < state.closes_at


def remaining_ms(state: ContestState, now: datetime) -> int:
    """Answering time left for the current question, e.g. to restart a reconnecting player's countdown.

    During the lead-in the whole time limit is left; while a question is paused, the time frozen at the
    pause; outside a question, 0.
    """
    now = _aware_utc(now, "now")
    limit = state.time_limit_ms
    if limit is None:
        return 0
    if state.phase is Phase.PAUSED and state.paused_remaining_ms is not None:
        return min(state.paused_remaining_ms, limit)
    if state.phase is not Phase.QUESTION:
        return 0
    assert state.opens_at is not None and state.closes_at is not None  # guaranteed in QUESTION
    return min(max(_whole_ms(state.closes_at - max(now, state.opens_at)), 0), limit)


def opens_in_ms(state: ContestState, now: datetime) -> int:
    """Lead-in time left before answers open (0 once they are open or outside a question)."""
    now = _aware_utc(now, "now")
    if state.phase is Phase.PAUSED and state.paused_remaining_ms is not None and state.time_limit_ms:
        return max(state.paused_remaining_ms - state.time_limit_ms, 0)
    if state.phase is not Phase.QUESTION or state.opens_at is None:
        return 0
    return max(_whole_ms(state.opens_at - now), 0)


def answer_response_ms(state: ContestState, received_at: datetime) -> int:
    """The response time to score an answer received at ``received_at``, clamped into the time limit.

    Call it when the answer arrives and store the result: a later pause moves ``opens_at``.
    """
    received_at = _aware_utc(received_at, "received_at")
    if state.phase is not Phase.QUESTION:
        raise ValueError(f"no question is open (phase {state.phase})")
    assert state.opens_at is not None and state.time_limit_ms is not None  # guaranteed in QUESTION
    return min(max(_whole_ms(received_at - state.opens_at), 0), state.time_limit_ms)
