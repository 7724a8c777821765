"""The live contest state machine: a full game, every illegal event, pause/resume timing and persistence."""

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzes.live.state import (
    ERROR_CODES,
    AllAnswered,
    CancelClose,
    CloseDue,
    CloseQuestion,
    ContestState,
    End,
    Event,
    Finish,
    Next,
    OpenQuestion,
    Pause,
    Paused,
    Phase,
    Resume,
    Resumed,
    ScheduleClose,
    ShowLeaderboard,
    Skip,
    SkipQuestion,
    Start,
    TransitionError,
    accepts_answers,
    answer_response_ms,
    opens_in_ms,
    remaining_ms,
    transition,
)

T0 = datetime(2026, 6, 26, 2, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def contest(*limits_s: int, lead_in_ms: int = 0) -> ContestState:
    return ContestState(time_limits_ms=tuple(s * 1000 for s in limits_s), lead_in_ms=lead_in_ms)


def run(state: ContestState, *steps: tuple[Event, datetime]) -> ContestState:
    for event, now in steps:
        state, _ = transition(state, event, now)
    return state


# --- the happy path --------------------------------------------------------------------------------------


def test_a_full_game():
    state = contest(20, 30)
    assert state.phase is Phase.LOBBY and state.question_index == -1 and state.version == 0

    state, effects = transition(state, Start(), at(0))
    assert state.phase is Phase.QUESTION and state.question_index == 0
    assert (state.opens_at, state.closes_at) == (at(0), at(20))
    assert effects == [OpenQuestion(0, at(0), at(20)), ScheduleClose(0, at(20))]
    assert accepts_answers(state, at(19.999))
    assert not accepts_answers(state, at(20))

    state, effects = transition(state, CloseDue(0), at(20))
    assert state.phase is Phase.REVEAL
    assert effects == [CloseQuestion(0)]

    state, effects = transition(state, Next(), at(25))
    assert state.phase is Phase.LEADERBOARD
    assert effects == [ShowLeaderboard(0)]

    state, effects = transition(state, Next(), at(30))
    assert state.phase is Phase.QUESTION and state.question_index == 1
    assert effects == [OpenQuestion(1, at(30), at(60)), ScheduleClose(1, at(60))]

    state, effects = transition(state, AllAnswered(1), at(41))
    assert state.phase is Phase.REVEAL
    assert state.closes_at == at(41)  # the moment answering really stopped
    assert effects == [CancelClose(1), CloseQuestion(1)]

    state, effects = transition(state, Next(), at(45))
    assert effects == [ShowLeaderboard(1)]

    state, effects = transition(state, Next(), at(50))
    assert state.phase is Phase.FINISHED
    assert effects == [Finish()]
    assert state.version == 7


def test_next_in_the_lobby_starts_like_start():
    by_next, next_effects = transition(contest(10), Next(), at(0))
    by_start, start_effects = transition(contest(10), Start(), at(0))
    assert by_next == by_start and next_effects == start_effects


def test_host_closes_a_question_early_with_next():
    state = run(contest(30), (Start(), at(0)))
    state, effects = transition(state, Next(), at(12))
    assert state.phase is Phase.REVEAL and state.closes_at == at(12)
    assert effects == [CancelClose(0), CloseQuestion(0)]


def test_a_contest_without_questions_cannot_start():
    with pytest.raises(TransitionError) as error:
        transition(ContestState(time_limits_ms=()), Start(), at(0))
    assert error.value.code == "no_questions"


# --- skip and end ----------------------------------------------------------------------------------------


def test_skip_goes_straight_to_the_next_question_without_a_reveal():
    state = run(contest(10, 10), (Start(), at(0)))
    state, effects = transition(state, Skip(), at(3))
    assert state.phase is Phase.QUESTION and state.question_index == 1
    assert effects == [
        CancelClose(0),
        SkipQuestion(0),
        OpenQuestion(1, at(3), at(13)),
        ScheduleClose(1, at(13)),
    ]


def test_skipping_the_last_question_finishes():
    state = run(contest(10), (Start(), at(0)))
    state, effects = transition(state, Skip(), at(3))
    assert state.phase is Phase.FINISHED
    assert effects == [CancelClose(0), SkipQuestion(0), Finish()]


def test_a_paused_question_can_be_skipped_without_resuming():
    state = run(contest(10, 10), (Start(), at(0)), (Pause(), at(4)))
    state, effects = transition(state, Skip(), at(60))
    assert state.phase is Phase.QUESTION and state.question_index == 1
    assert state.paused_phase is None and state.paused_remaining_ms is None
    assert effects == [SkipQuestion(0), OpenQuestion(1, at(60), at(70)), ScheduleClose(1, at(70))]


@pytest.mark.parametrize(
    ("steps", "effects"),
    [
        ([], [Finish()]),
        ([Start()], [CancelClose(0), SkipQuestion(0), Finish()]),
        ([Start(), Pause()], [SkipQuestion(0), Finish()]),
        ([Start(), Next()], [Finish()]),
        ([Start(), Next(), Next()], [Finish()]),
        ([Start(), Next(), Pause()], [Finish()]),
    ],
    ids=["lobby", "question", "paused-question", "reveal", "leaderboard", "paused-reveal"],
)
def test_end_finishes_from_any_phase(steps, effects):
    state = run(contest(10, 10), *((event, at(1)) for event in steps))
    ended, got = transition(state, End(), at(2))
    assert ended.phase is Phase.FINISHED
    assert ended.paused_phase is None and ended.paused_remaining_ms is None
    assert got == effects


# --- every event in every phase --------------------------------------------------------------------------

PHASE_PATHS = {
    "lobby": [],
    "question": [Start()],
    "reveal": [Start(), Next()],
    "leaderboard": [Start(), Next(), Next()],
    "paused-question": [Start(), Pause()],
    "paused-reveal": [Start(), Next(), Pause()],
    "paused-leaderboard": [Start(), Next(), Next(), Pause()],
    "finished": [End()],
}
EVENT_NAMES = ["Start", "Next", "Pause", "Resume", "Skip", "End", "CloseDue", "AllAnswered"]
OK = None
# What each event does in each phase: None if allowed, else the error code.
EXPECTED = {
    "lobby": [OK, OK, "not_started", "not_paused", "not_started", OK, "not_started", "not_started"],
    "question": ["already_started", OK, OK, "not_paused", OK, OK, OK, OK],
    "reveal": ["already_started", OK, OK, "not_paused", "not_in_question", OK] + ["not_in_question"] * 2,
    "leaderboard": ["already_started", OK, OK, "not_paused", "not_in_question", OK] + ["not_in_question"] * 2,
    "paused-question": ["already_started", "contest_paused", "already_paused", OK, OK, OK]
    + ["contest_paused"] * 2,
    "paused-reveal": ["already_started", "contest_paused", "already_paused", OK, "not_in_question", OK]
    + ["contest_paused"] * 2,
    "paused-leaderboard": ["already_started", "contest_paused", "already_paused", OK, "not_in_question", OK]
    + ["contest_paused"] * 2,
    "finished": ["contest_finished"] * 8,
}


def event_for(name: str, state: ContestState, index_offset: int = 0) -> Event:
    host_commands = {"Start": Start, "Next": Next, "Pause": Pause, "Resume": Resume, "Skip": Skip, "End": End}
    if name in host_commands:
        return host_commands[name]()
    index = max(state.question_index, 0) + index_offset
    return CloseDue(index) if name == "CloseDue" else AllAnswered(index)


@pytest.mark.parametrize(
    ("where", "name", "expected"),
    [
        (where, name, code)
        for where, codes in EXPECTED.items()
        for name, code in zip(EVENT_NAMES, codes, strict=True)
    ],
)
def test_every_event_in_every_phase(where, name, expected):
    state = run(contest(10, 10), *((event, at(1)) for event in PHASE_PATHS[where]))
    event = event_for(name, state)
    later = at(30)  # past the first question's close, so a CloseDue is due
    if expected is OK:
        new_state, _ = transition(state, event, later)
        assert new_state.version == state.version + 1
    else:
        with pytest.raises(TransitionError) as error:
            transition(state, event, later)
        assert error.value.code == expected
        assert expected in ERROR_CODES


def test_close_due_too_early_is_refused():
    state = run(contest(10), (Start(), at(0)))
    with pytest.raises(TransitionError) as error:
        transition(state, CloseDue(0), at(9.999))
    assert error.value.code == "close_not_due"


@pytest.mark.parametrize("event", [CloseDue(0), AllAnswered(0)])
def test_timer_events_for_an_earlier_question_are_stale(event):
    state = run(contest(10, 10), (Start(), at(0)), (Skip(), at(1)))
    with pytest.raises(TransitionError) as error:
        transition(state, event, at(30))
    assert error.value.code == "stale_question"


def test_a_close_scheduled_before_a_pause_cannot_close_the_resumed_question():
    state = run(contest(10), (Start(), at(0)), (Pause(), at(4)), (Resume(), at(8)))
    with pytest.raises(TransitionError) as error:
        transition(state, CloseDue(0), at(10))  # the original schedule; the question now closes at 14
    assert error.value.code == "close_not_due"


def test_host_command_from_a_stale_screen_is_refused():
    state = run(contest(10, 10), (Start(), at(0)))
    seen = state.version
    state = run(state, (CloseDue(0), at(10)))  # the timer won the race with the host's click
    with pytest.raises(TransitionError) as error:
        transition(state, Next(expected_version=seen), at(10.1))
    assert error.value.code == "stale_command"
    moved, _ = transition(state, Next(expected_version=state.version), at(10.2))
    assert moved.phase is Phase.LEADERBOARD


# --- pause and resume ------------------------------------------------------------------------------------


def test_pause_and_resume_keep_the_remaining_time():
    state = run(contest(30), (Start(), at(0)))
    assert remaining_ms(state, at(12)) == 18_000

    state, effects = transition(state, Pause(), at(12))
    assert state.phase is Phase.PAUSED and state.paused_phase is Phase.QUESTION
    assert effects == [CancelClose(0), Paused(Phase.QUESTION, 18_000)]
    assert not accepts_answers(state, at(13))
    assert remaining_ms(state, at(500)) == 18_000

    state, effects = transition(state, Resume(), at(100))
    assert state.phase is Phase.QUESTION
    assert state.closes_at == at(118)
    assert state.opens_at == at(88)  # moved so the pause does not count as response time
    assert effects == [Resumed(Phase.QUESTION, at(118)), ScheduleClose(0, at(118))]
    assert remaining_ms(state, at(100)) == 18_000
    assert answer_response_ms(state, at(101)) == 13_000
    assert accepts_answers(state, at(117.999)) and not accepts_answers(state, at(118))


@pytest.mark.parametrize(
    "steps", [[Start(), Next()], [Start(), Next(), Next()]], ids=["reveal", "leaderboard"]
)
def test_pause_and_resume_outside_a_question(steps):
    state = run(contest(10, 10), *((event, at(1)) for event in steps))
    phase = state.phase
    paused, effects = transition(state, Pause(), at(2))
    assert effects == [Paused(phase, None)]
    assert paused.paused_remaining_ms is None
    resumed, effects = transition(paused, Resume(), at(50))
    assert effects == [Resumed(phase, None)]
    assert resumed.phase is phase
    assert (resumed.opens_at, resumed.closes_at) == (state.opens_at, state.closes_at)


def test_a_pause_that_races_the_close_resumes_into_an_immediate_close():
    state = run(contest(10), (Start(), at(0)), (Pause(), at(10.5)))
    assert state.paused_remaining_ms == 0
    state, effects = transition(state, Resume(), at(20))
    assert effects == [Resumed(Phase.QUESTION, at(20)), ScheduleClose(0, at(20))]
    assert not accepts_answers(state, at(20))
    state, _ = transition(state, CloseDue(0), at(20))
    assert state.phase is Phase.REVEAL


@given(
    limit_ms=st.integers(min_value=1, max_value=240_000),
    lead_in_ms=st.integers(min_value=0, max_value=10_000),
    pause_after_us=st.integers(min_value=0, max_value=300_000_000),
    pause_for_us=st.integers(min_value=0, max_value=10**10),
)
def test_pause_resume_preserves_remaining_time(limit_ms, lead_in_ms, pause_after_us, pause_for_us):
    state = run(ContestState(time_limits_ms=(limit_ms,), lead_in_ms=lead_in_ms), (Start(), T0))
    paused_at = T0 + timedelta(microseconds=pause_after_us)
    resumed_at = paused_at + timedelta(microseconds=pause_for_us)
    left = remaining_ms(state, paused_at)
    lead_left = opens_in_ms(state, paused_at)
    paused, _ = transition(state, Pause(), paused_at)
    assert remaining_ms(paused, resumed_at) == left
    resumed, _ = transition(paused, Resume(), resumed_at)
    assert remaining_ms(resumed, resumed_at) == left
    assert abs(opens_in_ms(resumed, resumed_at) - lead_left) <= 1
    assert resumed.closes_at - resumed.opens_at == timedelta(milliseconds=limit_ms)


# --- lead-in and the clock helpers -----------------------------------------------------------------------


def test_lead_in_shows_the_question_before_answers_open():
    state = run(contest(20, lead_in_ms=5_000), (Start(), at(0)))
    assert (state.opens_at, state.closes_at) == (at(5), at(25))
    assert not accepts_answers(state, at(4.999))
    assert accepts_answers(state, at(5))
    assert opens_in_ms(state, at(2)) == 3_000
    assert remaining_ms(state, at(2)) == 20_000
    assert remaining_ms(state, at(15)) == 10_000
    assert answer_response_ms(state, at(7.5)) == 2_500


def test_pausing_during_the_lead_in_keeps_both_countdowns():
    state = run(contest(20, lead_in_ms=5_000), (Start(), at(0)), (Pause(), at(2)))
    assert state.paused_remaining_ms == 23_000
    assert remaining_ms(state, at(9)) == 20_000
    assert opens_in_ms(state, at(9)) == 3_000
    state = run(state, (Resume(), at(60)))
    assert (state.opens_at, state.closes_at) == (at(63), at(83))


def test_helpers_outside_a_question():
    lobby = contest(10)
    assert remaining_ms(lobby, at(0)) == 0 and opens_in_ms(lobby, at(0)) == 0
    assert not accepts_answers(lobby, at(0))
    reveal = run(lobby, (Start(), at(0)), (Next(), at(3)))
    assert remaining_ms(reveal, at(4)) == 0
    assert not accepts_answers(reveal, at(1))
    with pytest.raises(ValueError):
        answer_response_ms(reveal, at(1))


def test_response_time_is_clamped_into_the_limit():
    state = run(contest(10), (Start(), at(0)))
    assert answer_response_ms(state, at(-1)) == 0
    assert answer_response_ms(state, at(99)) == 10_000


# --- time zones and validation ---------------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    naive = datetime(2026, 6, 26, 10, 0)
    with pytest.raises(ValueError):
        transition(contest(10), Start(), naive)
    with pytest.raises(ValueError):
        accepts_answers(contest(10), naive)
    with pytest.raises(ValueError):
        ContestState(
            time_limits_ms=(10_000,), phase=Phase.QUESTION, question_index=0, opens_at=naive, closes_at=at(10)
        )
    data = run(contest(10), (Start(), at(0))).to_dict()
    data["opens_at"] = "2026-06-26T02:00:00"
    with pytest.raises(ValueError):
        ContestState.from_dict(data)


def test_other_time_zones_are_stored_as_utc():
    state, _ = transition(contest(10), Start(), datetime(2026, 6, 26, 10, 0, tzinfo=SHANGHAI))
    assert state.opens_at == at(0) and state.opens_at.tzinfo is UTC
    assert state.to_dict()["opens_at"] == "2026-06-26T02:00:00+00:00"


@pytest.mark.parametrize(
    "fields",
    [
        {"time_limits_ms": (0,)},
        {"time_limits_ms": (10_000,), "lead_in_ms": -1},
        {"time_limits_ms": (10_000,), "question_index": 0},
        {
            "time_limits_ms": (10_000,),
            "phase": Phase.QUESTION,
            "question_index": 1,
            "opens_at": T0,
            "closes_at": at(9),
        },
        {
            "time_limits_ms": (10_000,),
            "phase": Phase.QUESTION,
            "question_index": 0,
            "opens_at": T0,
            "closes_at": T0,
        },
        {"time_limits_ms": (10_000,), "phase": Phase.REVEAL, "question_index": 0},
        {"time_limits_ms": (10_000,), "phase": Phase.LOBBY, "paused_phase": Phase.QUESTION},
        {
            "time_limits_ms": (10_000,),
            "phase": Phase.PAUSED,
            "paused_phase": Phase.LOBBY,
            "question_index": 0,
            "opens_at": T0,
            "closes_at": at(10),
        },
        {
            "time_limits_ms": (10_000,),
            "phase": Phase.PAUSED,
            "paused_phase": Phase.QUESTION,
            "question_index": 0,
            "opens_at": T0,
            "closes_at": at(10),
        },
        {"time_limits_ms": (10_000,), "version": True},
    ],
)
def test_invalid_states_cannot_be_built(fields):
    with pytest.raises(ValueError):
        ContestState(**fields)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"time_limits_ms": "10000"},
        {"time_limits_ms": [10_000], "phase": "intermission"},
        {"time_limits_ms": [10_000], "question_index": "0"},
        {
            "time_limits_ms": [10_000],
            "phase": "question",
            "question_index": 0,
            "opens_at": 5,
            "closes_at": None,
        },
    ],
)
def test_corrupt_rows_are_rejected(data):
    with pytest.raises(ValueError):
        ContestState.from_dict(data)


def test_unknown_keys_are_ignored_for_rolling_deploys():
    data = contest(10).to_dict() | {"added_in_a_later_release": 1}
    assert ContestState.from_dict(data) == contest(10)


# --- properties over random event sequences --------------------------------------------------------------

configs = st.builds(
    ContestState,
    time_limits_ms=st.lists(st.integers(min_value=1, max_value=60_000), min_size=1, max_size=5).map(tuple),
    lead_in_ms=st.sampled_from([0, 0, 3_000]),
)
# Host buttons are weighted so that a sequence gets deep into a contest before someone presses End, and timer
# events usually name the current question (offset 0) so that they are not almost always stale.
event_names = st.sampled_from(
    ["Start", "Next", "Next", "Next", "Pause", "Resume", "Skip", "CloseDue", "CloseDue", "AllAnswered", "End"]
)
index_offsets = st.sampled_from([0, 0, 0, -1, 1])
advances_us = st.one_of(
    st.integers(min_value=0, max_value=2_000_000), st.integers(min_value=0, max_value=90_000_000)
)
steps = st.lists(st.tuples(event_names, index_offsets, advances_us), max_size=40)


def check_invariants(state: ContestState, now: datetime) -> None:
    assert state.phase in set(Phase)
    if state.phase is Phase.LOBBY:
        assert state.question_index == -1
    elif state.phase is Phase.FINISHED:
        assert -1 <= state.question_index < state.question_count
    else:
        assert 0 <= state.question_index < state.question_count
        assert state.opens_at is not None and state.closes_at is not None
        assert state.opens_at <= state.closes_at
    if state.phase is Phase.QUESTION:
        assert state.closes_at > state.opens_at
    if state.phase is Phase.PAUSED:
        assert state.paused_phase in {Phase.QUESTION, Phase.REVEAL, Phase.LEADERBOARD}
        assert (state.paused_phase is Phase.QUESTION) == (state.paused_remaining_ms is not None)
    else:
        assert state.paused_phase is None and state.paused_remaining_ms is None
    assert 0 <= remaining_ms(state, now) <= max(state.time_limits_ms)
    if accepts_answers(state, now):
        assert state.phase is Phase.QUESTION


@settings(max_examples=300)
@given(start=configs, history=steps)
def test_random_event_sequences_keep_the_state_valid(start, history):
    state, now = start, T0
    for name, offset, advance_us in history:
        now += timedelta(microseconds=advance_us)
        event = event_for(name, state, offset)
        was_finished = state.phase is Phase.FINISHED
        try:
            new_state, effects = transition(state, event, now)
        except TransitionError as error:
            assert error.code in ERROR_CODES
            if was_finished:
                assert error.code == "contest_finished"
            continue
        assert not was_finished, "FINISHED is terminal"
        assert new_state.version == state.version + 1
        assert effects, "every transition tells the service something"
        if new_state.phase is Phase.FINISHED:
            assert effects[-1] == Finish()
        if new_state.phase is Phase.QUESTION and state.phase is not Phase.PAUSED:
            assert effects[-2:] == [
                OpenQuestion(new_state.question_index, new_state.opens_at, new_state.closes_at),
                ScheduleClose(new_state.question_index, new_state.closes_at),
            ]
        state = new_state
        check_invariants(state, now)


@given(start=configs, history=steps)
def test_to_dict_from_dict_round_trips(start, history):
    state, now = start, T0
    for name, offset, advance_us in history:
        now += timedelta(microseconds=advance_us)
        with contextlib.suppress(TransitionError):
            state, _ = transition(state, event_for(name, state, offset), now)
        data = state.to_dict()
        assert ContestState.from_dict(data) == state
        assert ContestState.from_dict(json.loads(json.dumps(data))) == state
        assert ContestState.from_dict(data).to_dict() == data


@given(start=configs)
def test_a_contest_always_reaches_finished_by_pressing_next(start):
    state, now = start, T0
    for _ in range(3 * start.question_count + 1):
        state, _ = transition(state, Next(), now)
        now += timedelta(seconds=1)
        if state.phase is Phase.FINISHED:
            break
    assert state.phase is Phase.FINISHED
    assert state.question_index == start.question_count - 1
