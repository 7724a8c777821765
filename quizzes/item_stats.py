"""Item analysis of one quiz question from real attempts: facility, discrimination, options and warnings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class ItemFlag(StrEnum):
    """Stable codes a report can translate; they compare equal to their plain string values."""

    TOO_HARD = "too_hard"
    TOO_EASY = "too_easy"
    NEGATIVE_DISCRIMINATION = "negative_discrimination"
    FEW_RESPONSES = "few_responses"


@dataclass(frozen=True)
class FlagRules:
    """When a question is flagged; comparisons are strict, so a value exactly at a threshold is not flagged.

    Below ``min_responses`` only ``few_responses`` is raised: two answers say nothing about whether a question
    is too hard or misleading, and a teacher should not be told to rewrite it on that evidence.
    """

    too_hard_below: float = 0.2
    too_easy_above: float = 0.95
    negative_discrimination_below: float = 0.0
    min_responses: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.too_hard_below <= self.too_easy_above <= 1.0:
            raise ValueError(
                "need 0 <= too_hard_below <= too_easy_above <= 1, "
                f"got {self.too_hard_below} and {self.too_easy_above}"
            )
        if not -1.0 <= self.negative_discrimination_below <= 1.0:
            raise ValueError(
                "negative_discrimination_below must be within -1..1, "
                f"got {self.negative_discrimination_below}"
            )
        if self.min_responses < 0:
            raise ValueError(f"min_responses must not be negative, got {self.min_responses}")


DEFAULT_FLAG_RULES = FlagRules()


@dataclass(frozen=True, slots=True)
class ItemObservation:
    """One submitted attempt that contained the question.

    ``total_score`` is the whole attempt's mark *including* this item; ``chosen`` holds option indices in the
    question's original (unshuffled) order, 0-based, and is empty when the student left the question blank.
    """

    item_score: float
    item_max: float
    total_score: float
    total_max: float
    chosen: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ItemStats:
    """What the item analysis page shows for one question version.

    - ``facility``: mean fraction of the item's marks earned, 0..1; None without responses.
    - ``discrimination``: corrected point-biserial, the Pearson correlation between the item score and the
      rest of the attempt (total minus this item), -1..1. None when it is undefined (fewer than two
      responses, or everyone got the same item score, or the same rest score): undefined is not zero, and a
      report must not show it as "does not discriminate".
    - ``option_counts``: attempts that chose each option; a multiple-choice answer counts each chosen
      option once, so the counts can add up to more than ``responses``.
    - ``option_shares``: ``option_counts`` divided by ``responses``; all 0.0 when there are no responses so a
      table renders without a special case (``facility`` is None then, which is the signal to check).
    - ``unanswered``: attempts that chose no option.
    """

    responses: int
    facility: float | None
    discrimination: float | None
    option_counts: tuple[int, ...]
    option_shares: tuple[float, ...]
    unanswered: int
    flags: tuple[ItemFlag, ...]


def pearson(*, xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation of two paired samples; None when undefined (n < 2 or either sample is constant)."""
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys must have the same length, got {len(xs)} and {len(ys)}")
    if not all(math.isfinite(v) for v in (*xs, *ys)):
        raise ValueError("xs and ys must be finite numbers")
    n = len(xs)
    if n < 2:
        return None
    # Decided on the raw values: a computed mean of a constant sample can differ from it in the last bit and
    # leave a tiny spurious variance that would turn "undefined" into an arbitrary correlation.
    if min(xs) == max(xs) or min(ys) == max(ys):
        return None
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    dev_x = [x - mean_x for x in xs]
    dev_y = [y - mean_y for y in ys]
    sum_xy = math.fsum(dx * dy for dx, dy in zip(dev_x, dev_y, strict=True))
    sum_xx = math.fsum(dx * dx for dx in dev_x)
    sum_yy = math.fsum(dy * dy for dy in dev_y)
    # Differences so small that their squares underflow carry no usable signal.
    if sum_xx == 0.0 or sum_yy == 0.0:
        return None
    # Two square roots rather than sqrt(sum_xx * sum_yy): the product can overflow for large marks.
    r = sum_xy / (math.sqrt(sum_xx) * math.sqrt(sum_yy))
    # Rounding can push a perfect correlation a hair past ±1.
    return max(-1.0, min(1.0, r))


def _validate(*, observations: Sequence[ItemObservation], option_count: int) -> None:
    if option_count < 0:
        raise ValueError(f"option_count must not be negative, got {option_count}")
    for number, obs in enumerate(observations, start=1):
        values = (obs.item_score, obs.item_max, obs.total_score, obs.total_max)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"Observation {number}: scores must be finite numbers, got {values}.")
        if obs.item_max <= 0:
            raise ValueError(f"Observation {number}: the item's maximum {obs.item_max} must be positive.")
        if not 0 <= obs.item_score <= obs.item_max:
            raise ValueError(
                f"Observation {number}: the item score {obs.item_score} is outside 0..{obs.item_max}."
            )
        # Totals are usually sums of floats, so allow the last-bit error such a sum picks up.
        slack = 1e-9 * max(1.0, abs(obs.total_max))
        if not obs.item_score - slack <= obs.total_score <= obs.total_max + slack:
            # Most often the caller passed the total without this item, or total and maximum swapped.
            raise ValueError(
                f"Observation {number}: the attempt total {obs.total_score} must include the item score "
                f"{obs.item_score} and not exceed the attempt maximum {obs.total_max}."
            )
        for index in sorted(obs.chosen):
            if not 0 <= index < option_count:
                raise ValueError(
                    f"Observation {number}: option {index} does not exist; "
                    f"the question has options 0..{option_count - 1}."
                )


def item_flags(
    *, responses: int, facility: float | None, discrimination: float | None, rules: FlagRules
) -> tuple[ItemFlag, ...]:
    if responses < rules.min_responses:
        return (ItemFlag.FEW_RESPONSES,)
    flags: list[ItemFlag] = []
    if facility is not None and facility < rules.too_hard_below:
        flags.append(ItemFlag.TOO_HARD)
    if facility is not None and facility > rules.too_easy_above:
        flags.append(ItemFlag.TOO_EASY)
    if discrimination is not None and discrimination < rules.negative_discrimination_below:
        flags.append(ItemFlag.NEGATIVE_DISCRIMINATION)
    return tuple(flags)


def item_stats(
    *, observations: Sequence[ItemObservation], option_count: int, rules: FlagRules = DEFAULT_FLAG_RULES
) -> ItemStats:
    """Item analysis of one question version over the submitted attempts that contained it.

    Raises ValueError when an observation is impossible (a mark outside the item's range, a total smaller
    than the item's mark, an option the question does not have), naming the observation 1-based.
    """
    _validate(observations=observations, option_count=option_count)
    responses = len(observations)

    facility: float | None = None
    if responses:
        facility = math.fsum(obs.item_score / obs.item_max for obs in observations) / responses

    discrimination = pearson(
        xs=[obs.item_score for obs in observations],
        ys=[obs.total_score - obs.item_score for obs in observations],
    )

    counts = [0] * option_count
    unanswered = 0
    for obs in observations:
        if not obs.chosen:
            unanswered += 1
        for index in obs.chosen:
            counts[index] += 1
    shares = tuple(count / responses if responses else 0.0 for count in counts)

    return ItemStats(
        responses=responses,
        facility=facility,
        discrimination=discrimination,
        option_counts=tuple(counts),
        option_shares=shares,
        unanswered=unanswered,
        flags=item_flags(responses=responses, facility=facility, discrimination=discrimination, rules=rules),
    )
