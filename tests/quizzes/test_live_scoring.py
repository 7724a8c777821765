"""Live contest scoring: Kahoot's worked examples and the properties the rule promises."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzes.live.scoring import (
    AnswerScore,
    PointsMode,
    ScoreRules,
    answer_points,
    choices_correct,
    rank,
    score_answer,
    streak_after,
    streak_bonus,
    team_score,
)

STANDARD = ScoreRules()
DOUBLE = ScoreRules(points=PointsMode.DOUBLE)
NO_POINTS = ScoreRules(points=PointsMode.NONE)

rules_strategy = st.builds(
    ScoreRules, points=st.sampled_from(PointsMode), speed_bonus=st.booleans(), streak_bonus=st.booleans()
)
time_limits = st.integers(min_value=1, max_value=600_000)


def points(response_ms: int, time_limit_ms: int = 30_000, rules: ScoreRules = STANDARD) -> int:
    return answer_points(correct=True, response_ms=response_ms, time_limit_ms=time_limit_ms, rules=rules)


# --- Kahoot's worked examples ----------------------------------------------------------------------------


def test_help_article_example_2_seconds_of_30_gives_967():
    # 1 − (2/30)/2 = 0.9667 → 966.7 → 967
    assert points(2_000) == 967


def test_halfway_through_a_30_second_timer_gives_750():
    assert points(15_000) == 750


def test_at_the_last_moment_half_the_points_are_left():
    assert points(30_000) == 500


@pytest.mark.parametrize("response_ms", [0, 1, 250, 499])
def test_under_half_a_second_gives_full_points(response_ms):
    assert points(response_ms) == 1000


def test_half_a_second_already_costs_points():
    assert points(500) == 992  # 1000 × (1 − (0.5/30)/2) = 991.7


def test_double_points_at_zero_seconds():
    assert points(0, rules=DOUBLE) == 2000


def test_double_points_halfway():
    assert points(10_000, time_limit_ms=20_000, rules=DOUBLE) == 1500


def test_no_points_question():
    assert points(0, rules=NO_POINTS) == 0
    assert points(12_345, rules=NO_POINTS) == 0


def test_without_speed_bonus_a_correct_answer_gets_the_full_base():
    rules = ScoreRules(speed_bonus=False)
    assert points(29_999, rules=rules) == 1000
    assert points(29_999, rules=ScoreRules(points=PointsMode.DOUBLE, speed_bonus=False)) == 2000


def test_exact_halves_round_up():
    # 8 s timer: 1000 × (1 − 1/16) = 937.5 and 1000 × (1 − 3/16) = 812.5; Python's round() would give 812.
    assert points(1_000, time_limit_ms=8_000) == 938
    assert points(3_000, time_limit_ms=8_000) == 813


def test_wrong_answer_scores_nothing():
    assert answer_points(correct=False, response_ms=0, time_limit_ms=30_000, rules=STANDARD) == 0


def test_response_time_is_clamped():
    assert points(-5_000) == 1000
    assert points(90_000) == 500


@pytest.mark.parametrize("time_limit_ms", [0, -1])
def test_time_limit_must_be_positive(time_limit_ms):
    with pytest.raises(ValueError):
        points(0, time_limit_ms=time_limit_ms)


# --- streaks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("streak", "bonus"),
    [(0, 0), (1, 0), (2, 100), (3, 200), (4, 300), (5, 400), (6, 500), (7, 500), (50, 500)],
)
def test_streak_bonus_table(streak, bonus):
    assert streak_bonus(streak=streak, rules=STANDARD) == bonus


def test_streak_bonus_is_not_doubled_on_double_points():
    assert streak_bonus(streak=3, rules=DOUBLE) == 200


def test_streak_bonus_can_be_switched_off():
    assert streak_bonus(streak=6, rules=ScoreRules(streak_bonus=False)) == 0


def test_no_points_question_extends_the_streak_without_bonus():
    # Kahoot's own example: a 0-point question takes the streak from 1 to 2 with no bonus; the next
    # 1000-point question answered correctly makes it 3 and pays 200.
    on_zero = score_answer(
        correct=True, response_ms=0, time_limit_ms=20_000, previous_streak=1, rules=NO_POINTS
    )
    assert on_zero == AnswerScore(points=0, streak=2, streak_bonus=0, total=0)
    following = score_answer(
        correct=True, response_ms=0, time_limit_ms=20_000, previous_streak=on_zero.streak, rules=STANDARD
    )
    assert following == AnswerScore(points=1000, streak=3, streak_bonus=200, total=1200)


def test_streak_after():
    assert streak_after(previous_streak=0, correct=True) == 1
    assert streak_after(previous_streak=4, correct=True) == 5
    assert streak_after(previous_streak=4, correct=False) == 0


def test_negative_streak_is_rejected():
    with pytest.raises(ValueError):
        streak_after(previous_streak=-1, correct=True)


def test_score_answer_adds_bonus_to_points():
    score = score_answer(
        correct=True, response_ms=15_000, time_limit_ms=30_000, previous_streak=2, rules=STANDARD
    )
    assert score == AnswerScore(points=750, streak=3, streak_bonus=200, total=950)


def test_score_answer_wrong_resets_and_pays_nothing():
    score = score_answer(
        correct=False, response_ms=1_000, time_limit_ms=30_000, previous_streak=9, rules=STANDARD
    )
    assert score == AnswerScore(points=0, streak=0, streak_bonus=0, total=0)


@given(
    rules=rules_strategy,
    limit=time_limits,
    earlier=st.integers(min_value=-10_000, max_value=700_000),
    later=st.integers(min_value=-10_000, max_value=700_000),
)
def test_points_never_increase_with_response_time(rules, limit, earlier, later):
    earlier, later = sorted((earlier, later))
    assert points(earlier, limit, rules) >= points(later, limit, rules)


@given(rules=rules_strategy, limit=time_limits, response=st.integers(min_value=-10_000, max_value=700_000))
def test_correct_points_stay_between_half_and_full_base(rules, limit, response):
    base = rules.possible
    scored = points(response, limit, rules)
    assert base // 2 <= scored <= base
    if not rules.speed_bonus:
        assert scored == base


@given(rules=rules_strategy, limit=time_limits, response=st.integers())
def test_wrong_answers_score_zero(rules, limit, response):
    assert answer_points(correct=False, response_ms=response, time_limit_ms=limit, rules=rules) == 0


@given(rules=rules_strategy, limit=time_limits, response=st.integers(min_value=-(10**9), max_value=10**9))
def test_clamping_matches_the_nearest_allowed_time(rules, limit, response):
    assert points(response, limit, rules) == points(min(max(response, 0), limit), limit, rules)


@given(rules=rules_strategy, streak=st.integers(min_value=0, max_value=10_000))
def test_streak_bonus_is_a_hundred_step_up_to_500(rules, streak):
    assert streak_bonus(streak=streak, rules=rules) in {0, 100, 200, 300, 400, 500}


@given(
    rules=rules_strategy,
    answers=st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=20_000)), max_size=30),
)
def test_streak_counts_consecutive_correct_answers_and_total_adds_up(rules, answers):
    streak = 0
    for correct, response in answers:
        score = score_answer(
            correct=correct, response_ms=response, time_limit_ms=20_000, previous_streak=streak, rules=rules
        )
        assert score.streak == (streak + 1 if correct else 0)
        assert score.total == score.points + score.streak_bonus
        if not correct:
            assert score.total == 0
        streak = score.streak


# --- multiple choice, teams and ranks --------------------------------------------------------------------


def test_multiple_choice_is_all_or_nothing():
    assert choices_correct(chosen={"A", "C"}, correct={"C", "A"})
    assert not choices_correct(chosen={"A"}, correct={"A", "C"})
    assert not choices_correct(chosen={"A", "B", "C"}, correct={"A", "C"})
    assert not choices_correct(chosen=set(), correct=set())
    assert choices_correct(chosen=["B"], correct=("B",))


def test_team_score_is_the_rounded_average():
    assert team_score([1000, 500, 0]) == 500
    assert team_score([1000, 501]) == 751  # 750.5 rounds up
    assert team_score([7]) == 7
    assert team_score([]) == 0


@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=200))
def test_team_score_lies_between_members(totals):
    assert min(totals) <= team_score(totals) <= max(totals)
    assert abs(team_score(totals) - sum(totals) / len(totals)) <= 0.5


def test_rank_uses_competition_ranking():
    ranks = rank({"ann": 900, "bo": 1200, "cy": 900, "di": 700, "ed": 1200})
    assert ranks == {"bo": 1, "ed": 1, "ann": 3, "cy": 3, "di": 5}
    assert list(ranks) == ["bo", "ed", "ann", "cy", "di"]


def test_rank_of_nobody():
    assert rank({}) == {}


@given(st.dictionaries(st.integers(), st.integers(min_value=0, max_value=5_000), max_size=60))
def test_rank_properties(totals):
    ranks = rank(totals)
    assert ranks.keys() == totals.keys()
    assert ranks == rank(dict(totals))
    for key, position in ranks.items():
        assert position == 1 + sum(other > totals[key] for other in totals.values())
