"""Marking one answer: all-or-nothing, or partial credit for multiple choice. Pure, no database."""

from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
ONE = Decimal("1")


def mark(
    *, kind: str, correct: Collection[int], selected: Collection[int] | None, partial_credit: bool = False
) -> Decimal:
    """The mark in [0, 1] for one answer.

    Single choice and true/false: 1 for the right option, else 0. Multiple choice: 1 only for exactly
    the right set; with partial credit, each right option chosen earns 1/k of the mark (k right options)
    and each wrong option chosen takes 1/k away, never below 0, so ticking every box earns nothing.
    """
    if not selected:
        return ZERO
    chosen, right = set(selected), set(correct)
    if kind != "multiple" or not partial_credit:
        return ONE if chosen == right else ZERO
    hits, misses = len(chosen & right), len(chosen - right)
    value = max(ZERO, Decimal(hits - misses) / Decimal(len(right)))
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def passed(*, score: Decimal, max_score: Decimal, pass_mark_percent: int) -> bool:
    if not max_score:
        return False
    return score * 100 >= max_score * pass_mark_percent
