"""Quiz fixtures: a small bank and quizzes set by the teacher of school A."""

import pytest

from quizzes.importing import ParsedQuestion
from quizzes.models import Question, Quiz, QuizQuestion
from quizzes.services import category_for_path, question_create


def make_question(
    n: int,
    *,
    category=("法律",),
    kind="single",
    correct=("B",),
    difficulty=2,
    audience=("junior",),
    language="zh-hans",
) -> Question:
    options = (
        ("正确", "错误") if kind == "true_false" else (f"选项甲{n}", f"选项乙{n}", f"选项丙{n}", f"选项丁{n}")
    )
    parsed = ParsedQuestion(
        type=kind,
        stem=f"第{n}题：哪一项正确？",
        options=options,
        correct=correct,
        explanation=f"解析{n}：因为乙是对的。",
        difficulty=difficulty,
        audience=audience,
        language=language,
        source="测试",
    )
    return question_create(
        parsed=parsed, category=category_for_path(names=category), user=None, status=Question.Status.READY
    )


@pytest.fixture
def bank(db):
    questions = [make_question(n) for n in range(1, 6)]
    questions.append(make_question(6, kind="multiple", correct=("A", "C")))
    questions += [make_question(n, category=("危害",), difficulty=4) for n in range(7, 10)]
    return questions


@pytest.fixture
def class_quiz(world, bank):
    quiz = Quiz.objects.create(
        title="班级测验",
        access=Quiz.Access.CLASS,
        target_class=world.class_a,
        owner_school=world.school_a,
        created_by=world.teacher_a,
        is_published=True,
        max_attempts=2,
        time_limit_minutes=10,
        shuffle_questions=False,
        shuffle_options=True,
    )
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=q, position=i) for i, q in enumerate(bank[:6])
    )
    return quiz


@pytest.fixture
def live_quiz(world, bank):
    """A published class quiz of three fixed questions, set by the teacher of school A, for live contests."""
    quiz = Quiz.objects.create(
        title="直播测验",
        access=Quiz.Access.CLASS,
        target_class=world.class_a,
        owner_school=world.school_a,
        created_by=world.teacher_a,
        is_published=True,
    )
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=q, position=i) for i, q in enumerate(bank[:3])
    )
    return quiz
