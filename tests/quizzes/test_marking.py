"""Marking one answer."""

from decimal import Decimal

from quizzes.marking import mark, passed


def test_single_choice():
    assert mark(kind="single", correct=[1], selected=[1]) == 1
    assert mark(kind="single", correct=[1], selected=[2]) == 0
    assert mark(kind="single", correct=[1], selected=None) == 0


def test_multiple_all_or_nothing():
    assert mark(kind="multiple", correct=[0, 2], selected=[2, 0]) == 1
    assert mark(kind="multiple", correct=[0, 2], selected=[0]) == 0


def test_multiple_partial_credit():
    assert mark(kind="multiple", correct=[0, 2], selected=[0], partial_credit=True) == Decimal("0.5")
    assert mark(kind="multiple", correct=[0, 2], selected=[0, 1], partial_credit=True) == 0
    assert mark(kind="multiple", correct=[0, 2], selected=[0, 1, 2, 3], partial_credit=True) == 0
    assert mark(kind="multiple", correct=[0, 1, 2], selected=[0, 1], partial_credit=True) == Decimal("0.667")


def test_pass_mark():
    assert passed(score=Decimal(6), max_score=Decimal(10), pass_mark_percent=60)
    assert not passed(score=Decimal("5.99"), max_score=Decimal(10), pass_mark_percent=60)
    assert not passed(score=Decimal(0), max_score=Decimal(0), pass_mark_percent=0)
