"""The statistics of the demo: the second-classroom campaign's knowledge survey before and after, a term's
worth of practice by the demo school's registered students (taken through the quiz services, so every
attempt has its answers), and the rollups rebuilt over the demo's whole history.

Idempotent: the attempts are made once (when the survey before has none yet); the rebuild runs every time.
"""

import datetime as dt
import random

from django.utils import timezone

from campaigns.models import Campaign
from edu.demo import DemoContext, demo_loader
from edu.models import Student
from quizzes import services
from quizzes.access import AttemptOwner
from quizzes.models import Question, Quiz, QuizQuestion
from stats import rollups, surveys

SURVEY_QUESTIONS = 10


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _survey(ctx: DemoContext, campaign: Campaign, phase: str, title: str, questions) -> Quiz:
    quiz, _ = Quiz.objects.update_or_create(
        title=title,
        campaign=campaign,
        defaults={
            "description": "10道题，了解同学们对毒品知识的掌握情况。只计第一次作答。",
            "language": "zh-hans",
            "survey_phase": phase,
            "access": Quiz.Access.CAMPAIGN,
            "selection": Quiz.Selection.FIXED,
            "max_attempts": 1,
            "review": Quiz.Review.AFTER_SUBMIT,
            "shuffle_questions": False,
            "is_published": True,
            "owner_region": campaign.region,
            "created_by": ctx.users["province"],
        },
    )
    quiz.fixed_questions.all().delete()
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=question, position=i) for i, question in enumerate(questions)
    )
    return quiz


def _take(quiz: Quiz, user, *, when: dt.datetime, skill: float, rng: random.Random) -> None:
    """Take the quiz at `when` through the services: each question answered right with probability `skill`."""
    attempt = services.attempt_start(quiz=quiz, user=user, now=when, rng=rng)
    for item in attempt.items.select_related("version").order_by("position"):
        version = item.version
        shown = item.option_order
        right = [shown.index(index) for index in version.correct]
        wrong = [position for position in range(len(shown)) if position not in right] or right
        selected = right if rng.random() < skill else [rng.choice(wrong)]
        services.attempt_answer(
            attempt_id=attempt.pk,
            owner=AttemptOwner(user_id=user.pk),
            position=item.position,
            selected=selected,
            now=when,
        )
    services.attempt_submit(attempt=attempt, now=when + dt.timedelta(minutes=6))


@demo_loader(order=90)
def load_statistics(ctx: DemoContext) -> None:
    today = ctx.today
    campaign = Campaign.objects.filter(
        kind=Campaign.Kind.SECOND_CLASSROOM, region=ctx.regions["430000"]
    ).first()
    teacher = ctx.users["teacher"]
    if campaign is not None:
        questions = list(
            Question.objects.filter(
                language="zh-hans",
                status=Question.Status.READY,
                current_version__type__in=["single", "true_false"],
                category__slug__in=["identification", "disguised", "harms", "law", "refusal"],
            ).order_by("category_path", "pk")[:SURVEY_QUESTIONS]
        )
        before = _survey(ctx, campaign, "before", "禁毒知识知晓率问卷（课程开始前）", questions)
        after = _survey(ctx, campaign, "after", "禁毒知识知晓率问卷（课程结束后）", questions)
        if not before.attempts.exists():
            practice = Quiz.objects.filter(
                owner_school=teacher.school, title="禁毒知识小测验：认识毒品"
            ).first()
            _history(today=today, school=teacher.school, before=before, after=after, practice=practice)
    rollups.rebuild(start=today - dt.timedelta(days=400), end=today)
    surveys.surveys_rebuild()


def _history(*, today: dt.date, school, before: Quiz, after: Quiz, practice: Quiz | None) -> None:
    """The registered students of the demo school: the survey before some ten weeks ago, practice spread over
    the weeks since (more of it near the end), and the survey after in the last ten days."""
    rng = random.Random(626)
    students = Student.objects.filter(school=school, claimed_at__isnull=False).select_related("user")
    for student in students.order_by("student_number"):
        user = student.user
        skill = rng.uniform(0.45, 0.8)
        start = today - dt.timedelta(days=70 + rng.randrange(7))
        _take(before, user, when=_at(start, 9 + rng.randrange(8), rng.randrange(60)), skill=skill, rng=rng)
        if practice is not None and user.school_class_id == practice.target_class_id:
            for _ in range(rng.choice([0, 1, 2, 2, 3])):
                day = today - dt.timedelta(days=int(rng.triangular(1, 63, 8)))
                skill = min(0.95, skill + 0.04)
                _take(
                    practice,
                    user,
                    when=_at(day, 16 + rng.randrange(5), rng.randrange(60)),
                    skill=skill,
                    rng=rng,
                )
        if rng.random() < 0.85:
            day = today - dt.timedelta(days=rng.randrange(1, 10))
            _take(
                after,
                user,
                when=_at(day, 10 + rng.randrange(8), rng.randrange(60)),
                skill=skill + 0.1,
                rng=rng,
            )
