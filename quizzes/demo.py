"""The quizzes of the demo: the starter bank, and quizzes for a class, a campaign and a street event."""

import datetime as dt

from django.utils import timezone

from campaigns.models import Campaign
from edu.demo import DemoContext, demo_loader
from quizzes.models import Category, Question, Quiz, QuizQuestion, QuizRule
from quizzes.starter import starter_bank_load


@demo_loader(order=20)
def load_quizzes(ctx: DemoContext) -> None:
    starter_bank_load()
    now = timezone.now()
    teacher, province = ctx.users["teacher"], ctx.users["province"]
    first_class = teacher.school.classes.order_by("grade", "name").first()
    contest = Campaign.objects.filter(kind=Campaign.Kind.CONTEST_SEASON, region=ctx.regions["430000"]).first()

    class_quiz, _ = Quiz.objects.update_or_create(
        title="禁毒知识小测验：认识毒品",
        owner_school=teacher.school,
        defaults={
            "description": "10道题，限时10分钟。每答一题都会自动保存。",
            "language": "zh-hans",
            "access": Quiz.Access.CLASS,
            "target_class": first_class,
            "selection": Quiz.Selection.RANDOM,
            "time_limit_minutes": 10,
            "max_attempts": 3,
            "grading": Quiz.Grading.HIGHEST,
            "pass_mark": 60,
            "review": Quiz.Review.AFTER_SUBMIT,
            "is_published": True,
            "created_by": teacher,
            "closes_at": now + dt.timedelta(days=30),
        },
    )
    class_quiz.rules.all().delete()
    for slug, count in (("identification", 4), ("harms", 3), ("refusal", 3)):
        QuizRule.objects.create(
            quiz=class_quiz,
            category=Category.objects.get(slug=slug),
            count=count,
            difficulty_min=1,
            difficulty_max=3,
        )

    if contest is not None:
        contest_quiz, _ = Quiz.objects.update_or_create(
            title="全省青少年禁毒知识竞赛·线上初赛练习",
            owner_region=ctx.regions["430000"],
            defaults={
                "description": "从题库随机抽取20道题，限时10分钟，可反复练习。",
                "language": "zh-hans",
                "access": Quiz.Access.CAMPAIGN,
                "campaign": contest,
                "selection": Quiz.Selection.RANDOM,
                "time_limit_minutes": 10,
                "max_attempts": 0,
                "grading": Quiz.Grading.HIGHEST,
                "pass_mark": 60,
                "review": Quiz.Review.AFTER_SUBMIT,
                "is_published": True,
                "created_by": province,
                "closes_at": dt.datetime.combine(contest.ends_on, dt.time(23, 59), tzinfo=now.tzinfo),
            },
        )
        contest_quiz.rules.all().delete()
        for slug, count in (
            ("identification", 4),
            ("nps", 2),
            ("disguised", 2),
            ("harms", 3),
            ("law", 4),
            ("refusal", 2),
            ("help", 2),
            ("history", 1),
        ):
            QuizRule.objects.create(quiz=contest_quiz, category=Category.objects.get(slug=slug), count=count)

    for language, title, description in (
        ("zh-hans", "6·26街头禁毒知识问答", "扫码即可答题，无需登录。每答一题立即显示答案和解析。"),
        (
            "en",
            "Drugs: know the facts",
            "Five questions, no sign-in needed. The answer and why follow each question.",
        ),
    ):
        street, _ = Quiz.objects.update_or_create(
            title=title,
            owner_region=ctx.regions["430104"],
            defaults={
                "description": description,
                "language": language,
                "access": Quiz.Access.LINK,
                "selection": Quiz.Selection.FIXED,
                "max_attempts": 0,
                "review": Quiz.Review.AFTER_EACH,
                "shuffle_questions": False,
                "is_published": True,
                "created_by": ctx.users["yuelu"],
            },
        )
        picks = Question.objects.filter(
            language=language,
            status=Question.Status.READY,
            difficulty__lte=2,
            category__slug__in=["identification", "disguised", "refusal", "help", "history"],
        ).order_by("category_path", "pk")[:5]
        street.fixed_questions.all().delete()
        QuizQuestion.objects.bulk_create(
            QuizQuestion(quiz=street, question=question, position=i) for i, question in enumerate(picks)
        )
