"""Item analysis: a worked example, flag thresholds, input checks and the properties the statistics keep."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from quizzes.item_stats import (
    DEFAULT_FLAG_RULES,
    FlagRules,
    ItemFlag,
    ItemObservation,
    ItemStats,
    item_stats,
    pearson,
)


def obs(item: float, total: float, chosen: set[int] | None = None, item_max: float = 1.0) -> ItemObservation:
    return ItemObservation(
        item_score=item, item_max=item_max, total_score=total, total_max=10.0, chosen=frozenset(chosen or ())
    )


def right_wrong(correct: int, wrong: int) -> list[ItemObservation]:
    """Attempts where the item score varies with the rest, so discrimination is positive and defined."""
    return [obs(1, 6 + i % 3, {0}) for i in range(correct)] + [obs(0, 2 + i % 3, {1}) for i in range(wrong)]


# --- The worked example -------------------------------------------------------------------------------------
#
# Six attempts on a single-choice question with four options (option 1 is correct), quiz out of 10.
#
#   item x : 1  1  0  1  0  0
#   total X: 9  8  4  7  5  3
#   rest  y = X − x: 8  7  4  6  5  3
#
# Facility: mean(x / 1) = 3 / 6 = 0.5.
#
# Means: x̄ = 0.5, ȳ = (8 + 7 + 4 + 6 + 5 + 3) / 6 = 33 / 6 = 5.5.
# Deviations: x − x̄ = +.5 +.5 −.5 +.5 −.5 −.5
#             y − ȳ = 2.5 1.5 −1.5 0.5 −0.5 −2.5
# Σ(x − x̄)(y − ȳ) = .5 × (2.5 + 1.5 + 1.5 + 0.5 + 0.5 + 2.5) = .5 × 9 = 4.5
# Σ(x − x̄)² = 6 × 0.25 = 1.5
# Σ(y − ȳ)² = 6.25 + 2.25 + 2.25 + 0.25 + 0.25 + 6.25 = 17.5
# Population covariance = 4.5 / 6 = 0.75; sd_x = √(1.5 / 6) = 0.5; sd_y = √(17.5 / 6) = √2.91667 ≈ 1.70783
# r = 0.75 / (0.5 × 1.70783) = 0.75 / 0.853913 ≈ 0.8783   (equivalently 4.5 / √(1.5 × 17.5) = 4.5 / 5.12348)
#
# Options chosen: {1} {1} {0} {1} {2} {} → counts (1, 3, 1, 0), one unanswered, shares count / 6.

WORKED = [obs(1, 9, {1}), obs(1, 8, {1}), obs(0, 4, {0}), obs(1, 7, {1}), obs(0, 5, {2}), obs(0, 3)]


def test_worked_example():
    stats = item_stats(observations=WORKED, option_count=4)

    assert stats.responses == 6
    assert stats.facility == pytest.approx(0.5, abs=1e-4)
    assert stats.discrimination == pytest.approx(0.8783, abs=1e-4)
    assert stats.option_counts == (1, 3, 1, 0)
    assert stats.option_shares == pytest.approx((1 / 6, 3 / 6, 1 / 6, 0.0))
    assert stats.unanswered == 1
    # Six responses are below the default minimum of ten, so nothing but that is reported.
    assert stats.flags == ("few_responses",)


def test_worked_example_discrimination_is_the_pearson_of_item_and_rest():
    r = pearson(xs=[1, 1, 0, 1, 0, 0], ys=[8, 7, 4, 6, 5, 3])
    assert r == pytest.approx(4.5 / math.sqrt(1.5 * 17.5))


def test_uncorrected_total_would_overstate_discrimination():
    # Correlating with the total that still contains the item inflates r; the corrected value must be lower.
    uncorrected = pearson(xs=[1, 1, 0, 1, 0, 0], ys=[9, 8, 4, 7, 5, 3])
    corrected = item_stats(observations=WORKED, option_count=4).discrimination
    assert uncorrected is not None and corrected is not None
    assert corrected < uncorrected


# --- Flags --------------------------------------------------------------------------------------------------


def flags(observations: list[ItemObservation], rules: FlagRules = DEFAULT_FLAG_RULES) -> tuple[str, ...]:
    return item_stats(observations=observations, option_count=4, rules=rules).flags


def test_flag_codes_are_plain_strings():
    assert [str(flag) for flag in ItemFlag] == [
        "too_hard",
        "too_easy",
        "negative_discrimination",
        "few_responses",
    ]


def test_too_hard_boundary():
    assert flags(right_wrong(2, 8)) == ()  # facility exactly 0.2 is not "below 0.2"
    assert flags(right_wrong(1, 9)) == ("too_hard",)  # 0.1


def test_too_easy_boundary():
    assert flags(right_wrong(19, 1)) == ()  # facility exactly 0.95 is not "above 0.95"
    assert flags(right_wrong(39, 1)) == ("too_easy",)  # 0.975


def test_too_hard_when_nobody_gets_it_right_and_discrimination_is_undefined():
    stats = item_stats(observations=[obs(0, 2 + i % 5, {1}) for i in range(12)], option_count=4)
    assert stats.facility == 0.0
    assert stats.discrimination is None
    assert stats.flags == ("too_hard",)


def test_few_responses_boundary():
    assert flags(right_wrong(5, 4)) == ("few_responses",)  # 9 responses
    assert flags(right_wrong(5, 5)) == ()  # 10 responses


def test_few_responses_suppresses_the_other_flags():
    # Only the weakest of six gets it right: too hard and negatively discriminating, if six were enough.
    too_hard_and_negative = [obs(1, 1, {0})] + [obs(0, 5 + i, {1}) for i in range(5)]
    assert flags(too_hard_and_negative, FlagRules(min_responses=6)) == ("too_hard", "negative_discrimination")
    assert flags(too_hard_and_negative, FlagRules(min_responses=7)) == ("few_responses",)
    assert flags([obs(0, 3), obs(0, 5)]) == ("few_responses",)


def test_negative_discrimination():
    # The strongest students miss the item and the weakest get it: a miskeyed or misleading question.
    strong = [obs(0, 7 + i % 3, {2}) for i in range(5)]
    weak = [obs(1, 1 + i % 3, {0}) for i in range(5)]
    stats = item_stats(observations=strong + weak, option_count=4)
    assert stats.discrimination is not None and stats.discrimination < 0
    assert stats.flags == ("negative_discrimination",)


def test_negative_discrimination_boundary_is_strict():
    observations = right_wrong(5, 5)
    r = item_stats(observations=observations, option_count=4).discrimination
    assert r is not None
    assert flags(observations, FlagRules(negative_discrimination_below=r)) == ()
    assert flags(observations, FlagRules(negative_discrimination_below=math.nextafter(r, 2))) == (
        "negative_discrimination",
    )


def test_several_flags_come_in_a_stable_order():
    # One lucky weak student answers; the rest, all stronger, miss it.
    observations = [obs(1, 1, {0})] + [obs(0, 5 + i % 4, {1}) for i in range(10)]
    assert flags(observations) == ("too_hard", "negative_discrimination")


def test_no_flags_below_minimum_when_minimum_is_zero_and_no_responses():
    assert flags([], FlagRules(min_responses=0)) == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"too_hard_below": -0.1},
        {"too_easy_above": 1.1},
        {"too_hard_below": 0.6, "too_easy_above": 0.5},
        {"negative_discrimination_below": -1.5},
        {"min_responses": -1},
    ],
)
def test_flag_rules_reject_impossible_thresholds(kwargs):
    with pytest.raises(ValueError):
        FlagRules(**kwargs)


# --- Undefined discrimination, partial credit, empty input --------------------------------------------------


def test_everyone_right_gives_no_discrimination_not_zero():
    stats = item_stats(observations=[obs(1, 3 + i, {0}) for i in range(5)], option_count=2)
    assert stats.facility == 1.0
    assert stats.discrimination is None


def test_constant_rest_gives_no_discrimination():
    # Item scores vary but everyone has the same rest score: no spread to correlate with.
    stats = item_stats(observations=[obs(1, 5), obs(0, 4), obs(1, 5)], option_count=0)
    assert stats.discrimination is None


def test_single_response_gives_no_discrimination():
    stats = item_stats(observations=[obs(1, 7, {0})], option_count=2)
    assert stats.facility == 1.0
    assert stats.discrimination is None


def test_partial_credit_multiple_choice():
    # Correct options are 0 and 2 of five; half marks for one of the two.
    observations = [
        obs(1.0, 8, {0, 2}, item_max=1.0),
        obs(0.5, 6, {0}, item_max=1.0),
        obs(0.5, 5, {2, 4}, item_max=1.0),
        obs(0.0, 2, {1, 3}, item_max=1.0),
    ]
    stats = item_stats(observations=observations, option_count=5)
    assert stats.facility == pytest.approx(0.5)
    assert stats.option_counts == (2, 1, 2, 1, 1)
    assert sum(stats.option_counts) == 7  # more than the four responses: each chosen option counts once
    assert stats.option_shares == pytest.approx((0.5, 0.25, 0.5, 0.25, 0.25))
    assert stats.unanswered == 0
    assert stats.discrimination == pytest.approx(pearson(xs=[1, 0.5, 0.5, 0], ys=[7, 5.5, 4.5, 2]))


def test_facility_uses_each_attempts_own_maximum():
    # A regraded item worth 2 in some attempts and 1 in others: fractions are averaged, not raw marks.
    observations = [obs(2, 8, item_max=2), obs(0, 2, item_max=2), obs(1, 6), obs(1, 7)]
    assert item_stats(observations=observations, option_count=0).facility == pytest.approx(3 / 4)


def test_empty_input():
    stats = item_stats(observations=[], option_count=3)
    assert stats == ItemStats(
        responses=0,
        facility=None,
        discrimination=None,
        option_counts=(0, 0, 0),
        option_shares=(0.0, 0.0, 0.0),
        unanswered=0,
        flags=("few_responses",),
    )


# --- Input checks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "message"),
    [
        (obs(1.5, 8), "item score 1.5 is outside"),
        (obs(-0.5, 8), "item score -0.5 is outside"),
        (obs(0, 8, item_max=0), "must be positive"),
        (obs(1, 0.5), "must include the item score"),
        (obs(1, 11), "not exceed the attempt maximum"),
        (obs(math.nan, 8), "finite"),
        (obs(1, 8, {4}), "option 4 does not exist"),
        (obs(1, 8, {-1}), "option -1 does not exist"),
    ],
)
def test_impossible_observations_are_rejected_with_their_number(observation, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        item_stats(observations=[obs(1, 5, {0}), observation], option_count=4)
    assert str(excinfo.value).startswith("Observation 2:")


def test_total_may_carry_float_summing_error():
    # 0.1 + 0.2 is 0.30000000000000004 in binary floats: a total summed that way must not exceed its maximum.
    observation = ItemObservation(item_score=0.1, item_max=0.1, total_score=0.1 + 0.2, total_max=0.3)
    assert item_stats(observations=[observation], option_count=0).facility == 1.0


def test_negative_option_count_is_rejected():
    with pytest.raises(ValueError, match="option_count"):
        item_stats(observations=[], option_count=-1)


def test_pearson_rejects_unpaired_or_non_finite_samples():
    with pytest.raises(ValueError, match="same length"):
        pearson(xs=[1, 2], ys=[1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        pearson(xs=[1, math.inf], ys=[1, 2])


def test_pearson_known_values():
    assert pearson(xs=[1, 2, 3], ys=[2, 4, 6]) == pytest.approx(1.0)
    assert pearson(xs=[1, 2, 3], ys=[3, 2, 1]) == pytest.approx(-1.0)
    assert pearson(xs=[1, 2, 3, 4], ys=[1, 3, 2, 4]) == pytest.approx(0.8)
    assert pearson(xs=[0.1] * 3, ys=[1, 2, 3]) is None
    assert pearson(xs=[], ys=[]) is None


# --- Properties ---------------------------------------------------------------------------------------------

OPTION_COUNT = 4

# Marks in halves and whole-number rest scores keep every sum, shift and doubling exact in binary floats, so a
# property failure points at the statistics rather than at rounding in the test data.
item_maxima = st.sampled_from([1.0, 2.0, 4.0])


@st.composite
def observations_strategy(draw: st.DrawFn, min_size: int = 0) -> list[ItemObservation]:
    size = draw(st.integers(min_value=min_size, max_value=30))
    result = []
    for _ in range(size):
        item_max = draw(item_maxima)
        item = draw(st.integers(min_value=0, max_value=int(item_max * 2))) / 2
        rest = float(draw(st.integers(min_value=0, max_value=20)))
        chosen = draw(st.frozensets(st.integers(min_value=0, max_value=OPTION_COUNT - 1)))
        result.append(
            ItemObservation(
                item_score=item,
                item_max=item_max,
                total_score=item + rest,
                total_max=item_max + 20,
                chosen=chosen,
            )
        )
    return result


def analyse(observations: list[ItemObservation]) -> ItemStats:
    return item_stats(observations=observations, option_count=OPTION_COUNT)


@given(observations_strategy())
def test_facility_is_a_fraction(observations):
    facility = analyse(observations).facility
    if observations:
        assert facility is not None and 0.0 <= facility <= 1.0
    else:
        assert facility is None


@given(observations_strategy())
def test_discrimination_is_a_correlation_or_undefined(observations):
    r = analyse(observations).discrimination
    assert r is None or -1.0 <= r <= 1.0
    if len(observations) < 2:
        assert r is None


@given(observations_strategy())
def test_option_counts_cover_every_answered_attempt(observations):
    stats = analyse(observations)
    answered = sum(1 for o in observations if o.chosen)
    assert stats.unanswered == len(observations) - answered
    assert sum(stats.option_counts) >= answered
    assert sum(stats.option_counts) == sum(len(o.chosen) for o in observations)
    assert all(0.0 <= share <= 1.0 for share in stats.option_shares)


@given(observations_strategy(), st.integers(min_value=1, max_value=100))
def test_discrimination_ignores_a_constant_added_to_every_total(observations, shift):
    shifted = [
        ItemObservation(
            item_score=o.item_score,
            item_max=o.item_max,
            total_score=o.total_score + shift,
            total_max=o.total_max + shift,
            chosen=o.chosen,
        )
        for o in observations
    ]
    before, after = analyse(observations), analyse(shifted)
    assert (before.discrimination is None) == (after.discrimination is None)
    if before.discrimination is not None:
        assert after.discrimination == pytest.approx(before.discrimination, abs=1e-9)
    assert after.facility == before.facility
    assert after.option_counts == before.option_counts


@given(observations_strategy(), st.sampled_from([0.25, 0.5, 2.0, 3.0, 10.0]))
def test_statistics_ignore_a_change_of_mark_scale(observations, scale):
    # A question worth 1 in a quiz of 20 and the same one worth 10 in a quiz of 200 measure the same thing.
    scaled = [
        ItemObservation(
            item_score=o.item_score * scale,
            item_max=o.item_max * scale,
            total_score=o.total_score * scale,
            total_max=o.total_max * scale,
            chosen=o.chosen,
        )
        for o in observations
    ]
    before, after = analyse(observations), analyse(scaled)
    assert (before.discrimination is None) == (after.discrimination is None)
    if before.discrimination is not None:
        assert after.discrimination == pytest.approx(before.discrimination, abs=1e-9)
    if before.facility is not None:
        assert after.facility == pytest.approx(before.facility, abs=1e-12)
    # Near r = 0 the sign itself is rounding noise, so only compare flags where it is not.
    if before.discrimination is None or abs(before.discrimination) > 1e-9:
        assert after.flags == before.flags


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(finite, finite), max_size=30))
def test_pearson_is_symmetric_and_bounded(pairs):
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    r = pearson(xs=xs, ys=ys)
    assert r == pearson(xs=ys, ys=xs)
    assert r is None or -1.0 <= r <= 1.0


@given(st.lists(st.integers(min_value=-1000, max_value=1000), min_size=2, max_size=30))
def test_pearson_of_a_sample_with_itself_is_one(values):
    assume(len(set(values)) > 1)
    assert pearson(xs=values, ys=values) == pytest.approx(1.0)
    assert pearson(xs=values, ys=[-v for v in values]) == pytest.approx(-1.0)
