"""Points for live contests: Kahoot's speed rule, answer streaks, team scores and tied ranks.

The rule follows Kahoot's published help article "How to toggle points"
(support.kahoot.com/hc/en-us/articles/115002303908), so players and teachers who know Kahoot get the
numbers they expect:

    points = round(possible × (1 − (response_time / question_timer) / 2))

- ``possible`` is 1000 for a standard question, 2000 for double points and 0 for a no-points question.
- A correct answer given within the first 0.5 s gets the full ``possible``; a correct answer at the very
  end of the timer gets half of it; a wrong or missing answer gets 0.
- "Round to the nearest whole number" is done half-up in integer arithmetic, so the same inputs give the
  same points on every worker and in every report.
- The speed rule can be switched off (Kahoot cannot in live games; a school exam-style round may want it):
  a correct answer then gets the full ``possible``.
- Answer streak: the second correct answer in a row adds 100, the third 200, ... up to 500; the streak itself
  keeps growing and any wrong or missed answer resets it to 0. The bonus is the same on double-points
  questions, and a no-points question extends the streak without paying a bonus (both as Kahoot does).

Response time is measured by the server: ``received_at − opens_at`` stamped when the answer arrives, never a
time the client reports. Answers at or after ``closes_at`` are rejected before they reach this module; the
functions still clamp the time into the timer so a skewed clock cannot produce points outside the rule.

Multiple-choice (several correct options) questions are all-or-nothing in live contests: the chosen set
must equal the correct set (:func:`choices_correct`), because partial credit would make the streak
ambiguous (does a half-right answer continue it?) and the reveal harder to read on a projector.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

FULL_POINTS_WINDOW_MS = 500
STREAK_STEP = 100
STREAK_BONUS_CAP = 500


class PointsMode(StrEnum):
    STANDARD = "standard"
    DOUBLE = "double"
    NONE = "none"


POSSIBLE_POINTS: Mapping[PointsMode, int] = {
    PointsMode.STANDARD: 1000,
    PointsMode.DOUBLE: 2000,
    PointsMode.NONE: 0,
}


@dataclass(frozen=True)
class ScoreRules:
    """How one question is scored; ``points`` is per question, the two switches usually per contest."""

    points: PointsMode = PointsMode.STANDARD
    speed_bonus: bool = True
    streak_bonus: bool = True

    @property
    def possible(self) -> int:
        return POSSIBLE_POINTS[self.points]


@dataclass(frozen=True)
class AnswerScore:
    """The points one answer earns: ``points`` from the question, ``streak_bonus`` on top, and their sum."""

    points: int
    streak: int
    streak_bonus: int
    total: int


def _round_half_up(numerator: int, denominator: int) -> int:
    # Exact integer rounding: floats and Python's banker's rounding would turn 0.5 into 0 on some totals.
    return (2 * numerator + denominator) // (2 * denominator)


def answer_points(*, correct: bool, response_ms: int, time_limit_ms: int, rules: ScoreRules) -> int:
    """Points for one answer before any streak bonus."""
    if time_limit_ms <= 0:
        raise ValueError(f"time_limit_ms must be positive, got {time_limit_ms}")
    if not correct:
        return 0
    possible = rules.possible
    if not rules.speed_bonus:
        return possible
    elapsed = min(max(response_ms, 0), time_limit_ms)
    if elapsed < FULL_POINTS_WINDOW_MS:
        return possible
    # possible × (1 − elapsed / (2 × limit)) written over one denominator to stay in integers.
    return _round_half_up(possible * (2 * time_limit_ms - elapsed), 2 * time_limit_ms)


def streak_after(*, previous_streak: int, correct: bool) -> int:
    """The answer streak after this answer; a missed answer counts as wrong and resets it."""
    if previous_streak < 0:
        raise ValueError(f"previous_streak must not be negative, got {previous_streak}")
    return previous_streak + 1 if correct else 0


def streak_bonus(*, streak: int, rules: ScoreRules) -> int:
    """Bonus for reaching ``streak`` correct answers in a row on a question scored with ``rules``."""
    if not rules.streak_bonus or rules.points is PointsMode.NONE:
        return 0
    return min(max(streak - 1, 0) * STREAK_STEP, STREAK_BONUS_CAP)


def score_answer(
    *, correct: bool, response_ms: int, time_limit_ms: int, previous_streak: int, rules: ScoreRules
) -> AnswerScore:
    """Everything the reveal needs for one player's answer (pass ``correct=False`` for no answer)."""
    points = answer_points(correct=correct, response_ms=response_ms, time_limit_ms=time_limit_ms, rules=rules)
    streak = streak_after(previous_streak=previous_streak, correct=correct)
    bonus = streak_bonus(streak=streak, rules=rules)
    return AnswerScore(points=points, streak=streak, streak_bonus=bonus, total=points + bonus)


def choices_correct(*, chosen: Collection[str], correct: Collection[str]) -> bool:
    """All-or-nothing: right only when exactly the correct options were chosen (and at least one was)."""
    return bool(chosen) and set(chosen) == set(correct)


def team_score(member_totals: Sequence[int]) -> int:
    """A team's score is the average of its members' totals, as in Kahoot's team mode; 0 for no members.

    Averaging rather than summing keeps a class of 40 from beating a class of 25 by head count alone.
    """
    if not member_totals:
        return 0
    return _round_half_up(sum(member_totals), len(member_totals))


def rank(totals: Mapping[K, int]) -> dict[K, int]:
    """Competition ranking ("1224"): equal totals share a rank and the next rank skips the tied places.

    The result is ordered best first; keys with equal totals keep the order of ``totals``, so callers that
    need a stable display order pass them in it (for example by join time or id).
    """
    ordered = sorted(totals.items(), key=lambda item: -item[1])
    ranks: dict[K, int] = {}
    previous_total: int | None = None
    current_rank = 0
    for position, (key, total) in enumerate(ordered, start=1):
        if total != previous_total:
            current_rank = position
            previous_total = total
        ranks[key] = current_rank
    return ranks
