"""Item statistics read from submitted attempts: a hand-computed example, versions kept apart, and the list's
database sums agreeing with the pure module."""

import math
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from quizzes.bank_selectors import question_item_stats, version_item_summaries
from quizzes.importing import ParsedQuestion
from quizzes.item_stats import ItemFlag, ItemObservation, item_stats
from quizzes.models import Attempt, AttemptItem, Question, QuestionVersion, Quiz
from quizzes.services import category_for_path, question_create, question_update


@pytest.fixture
def question(db) -> Question:
    parsed = ParsedQuestion(
        type="single", stem="哪一种属于新型毒品？", options=("冰毒", "鸦片", "海洛因", "吗啡"), correct=("A",)
    )
    return question_create(parsed=parsed, category=category_for_path(names=["毒品常识"]), user=None)


@pytest.fixture
def quiz(db) -> Quiz:
    return Quiz.objects.create(title="测验", access=Quiz.Access.LINK)


def sit(quiz, version: QuestionVersion, *, item, total, max_score=4, selected=(0,), submitted=True):
    attempt = Attempt.objects.create(
        quiz=quiz,
        guest_key=uuid.uuid4().hex,
        submitted_at=timezone.now() if submitted else None,
        score=Decimal(str(total)) if submitted else None,
        max_score=Decimal(max_score),
    )
    AttemptItem.objects.create(
        attempt=attempt,
        position=3,
        version=version,
        option_order=[3, 2, 1, 0],  # shown shuffled; `selected` is in the original order
        selected=list(selected) if selected is not None else None,
        score=None if item is None else Decimal(str(item)),
    )


def test_a_hand_computed_example(question, quiz):
    version = question.current_version
    sit(quiz, version, item=1, total=3, selected=(0,))  # right; rest of the attempt 2
    sit(quiz, version, item=0, total=1, selected=(1,))  # wrong; rest 1
    sit(quiz, version, item=1, total=4, selected=(0,))  # right; rest 3
    sit(quiz, version, item=None, total=0, selected=None)  # left blank; rest 0
    sit(quiz, version, item=0, total=0, selected=(2,), submitted=False)  # still open: not counted

    [(got_version, stats)] = question_item_stats(question=question)
    assert got_version == version
    assert stats.responses == 4
    # Facility: 2 of 4 marks.
    assert stats.facility == 0.5
    # Item x = 1, 0, 1, 0 and rest y = 2, 1, 3, 0: deviations ±.5 and .5, -.5, 1.5, -1.5, so
    # Σdxdy = .25 + .25 + .75 + .75 = 2, Σdx² = 1, Σdy² = 5 and r = 2 / √5.
    assert stats.discrimination == pytest.approx(2 / math.sqrt(5))
    assert stats.option_counts == (2, 1, 0, 0)
    assert stats.option_shares == (0.5, 0.25, 0.0, 0.0)
    assert stats.unanswered == 1
    assert stats.flags == (ItemFlag.FEW_RESPONSES,)


def test_each_version_has_its_own_statistics(question, quiz, world):
    first = question.current_version
    for _ in range(3):
        sit(quiz, first, item=0, total=1, selected=(3,))
    parsed = ParsedQuestion(
        type="single",
        stem="下列哪一种属于新型毒品？",
        options=("冰毒", "鸦片", "海洛因", "吗啡", "大麻"),
        correct=("A",),
    )
    question = question_update(
        question=question, parsed=parsed, category=question.category, status="ready", user=world.admin
    )
    second = question.current_version
    assert second.number == 2
    sit(quiz, second, item=1, total=2, selected=(0,))
    sit(quiz, second, item=0, total=0, selected=(4,))

    stats = dict(question_item_stats(question=question))
    assert list(stats) == [first, second]
    assert stats[first].responses == 3 and stats[first].option_counts == (0, 0, 0, 3)
    assert stats[first].facility == 0.0 and stats[first].discrimination is None
    assert stats[second].responses == 2 and stats[second].option_counts == (1, 0, 0, 0, 1)


def test_a_version_nobody_answered(question):
    [(_version, stats)] = question_item_stats(question=question)
    assert stats.responses == 0 and stats.facility is None and stats.discrimination is None


def test_partial_credit_rounding_is_tolerated(question, quiz):
    # A one-question attempt: the item's 0.333 is stored as a total of 0.33.
    sit(quiz, question.current_version, item=Decimal("0.333"), total=Decimal("0.33"), max_score=1)
    [(_version, stats)] = question_item_stats(question=question)
    assert stats.responses == 1 and stats.facility == pytest.approx(0.333)


def test_two_queries_however_many_answers(question, quiz, django_assert_num_queries):
    for i in range(30):
        sit(quiz, question.current_version, item=i % 2, total=1 + i % 2 + i % 3)
    with django_assert_num_queries(2):
        question_item_stats(question=question)


def test_the_lists_database_sums_agree_with_the_pure_module(question, quiz):
    version = question.current_version
    observations = []
    for i in range(25):
        item = 1 if i % 3 else 0
        total = item + (i * 7) % 4
        sit(quiz, version, item=item, total=total, selected=(0,) if item else (1,))
        observations.append(ItemObservation(item, 1, total, 4, frozenset({0} if item else {1})))
    expected = item_stats(observations=observations, option_count=4)
    summary = version_item_summaries(version_ids=[version.pk])[version.pk]
    assert summary.responses == expected.responses == 25
    assert summary.facility == pytest.approx(expected.facility)
    assert summary.discrimination == pytest.approx(expected.discrimination)
    assert summary.flags == expected.flags


def test_the_list_flags_problems_but_not_few_responses(question, quiz):
    version = question.current_version
    for i in range(12):
        sit(quiz, version, item=0, total=i % 4)
    assert version_item_summaries(version_ids=[version.pk])[version.pk].problems == (ItemFlag.TOO_HARD,)
    other = question_create(
        parsed=ParsedQuestion(type="single", stem="另一题", options=("甲", "乙"), correct=("A",)),
        category=question.category,
        user=None,
    ).current_version
    sit(quiz, other, item=0, total=0)
    summary = version_item_summaries(version_ids=[other.pk])[other.pk]
    assert summary.flags == (ItemFlag.FEW_RESPONSES,) and summary.problems == ()


def test_negative_discrimination_is_found_by_the_sums(question, quiz):
    version = question.current_version
    # Those who did well elsewhere got this one wrong, and the other way round.
    for i in range(12):
        right = i % 2 == 0
        sit(quiz, version, item=1 if right else 0, total=(1 + i % 3) if right else (3 + i % 2))
    summary = version_item_summaries(version_ids=[version.pk])[version.pk]
    assert summary.discrimination < 0
    assert ItemFlag.NEGATIVE_DISCRIMINATION in summary.problems
