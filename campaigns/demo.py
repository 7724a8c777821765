"""The campaigns of the demo, dated around today so that some are always under way."""

import datetime as dt

from campaigns.models import Campaign
from edu.demo import DemoContext, demo_loader


def _school_term(today: dt.date) -> tuple[dt.date, dt.date, str]:
    if today.month >= 9:
        return dt.date(today.year, 9, 1), dt.date(today.year + 1, 1, 20), f"{today.year}年秋季学期"
    if today.month == 1:
        return dt.date(today.year - 1, 9, 1), dt.date(today.year, 1, 20), f"{today.year - 1}年秋季学期"
    return dt.date(today.year, 2, 20), dt.date(today.year, 7, 10), f"{today.year}年春季学期"


@demo_loader(order=10)
def load_campaigns(ctx: DemoContext) -> None:
    today = ctx.today
    last_626 = today.year if today >= dt.date(today.year, 6, 26) else today.year - 1
    term_start, term_end, term_name = _school_term(today)
    province, yuelu, kaifu = ctx.regions["430000"], ctx.regions["430104"], ctx.regions["430105"]
    specs = [
        (
            f"{last_626}年“6·26”国际禁毒日全省集中宣传活动",
            Campaign.Kind.DAY_626,
            province,
            dt.date(last_626, 6, 1),
            dt.date(last_626, 6, 30),
            "province",
            "围绕“6·26”国际禁毒日，全省各地开展禁毒宣传进学校、进社区、进家庭等集中宣传活动。",
        ),
        (
            f"{term_name}青少年毒品预防教育“第二课堂”",
            Campaign.Kind.SECOND_CLASSROOM,
            province,
            term_start,
            term_end,
            "province",
            "全省中小学组织学生在平台注册，按年级完成毒品预防课程并参加期末考试。",
        ),
        (
            f"{today.year}年全省青少年禁毒知识竞赛",
            Campaign.Kind.CONTEST_SEASON,
            province,
            today - dt.timedelta(days=20),
            today + dt.timedelta(days=40),
            "province",
            "全省五年级至高二学生参加线上初赛，优胜学校代表队参加市级和省级决赛。",
        ),
        (
            "岳麓区禁毒宣传“七进”活动",
            Campaign.Kind.SEVEN_ENTRIES,
            yuelu,
            today - dt.timedelta(days=10),
            today + dt.timedelta(days=50),
            "yuelu",
            "禁毒宣传进学校、进家庭、进社区、进单位、进农村、进场所、进网络。",
        ),
        (
            "开福区禁毒志愿服务月",
            Campaign.Kind.OTHER,
            kaifu,
            today + dt.timedelta(days=15),
            today + dt.timedelta(days=45),
            "kaifu",
            "组织学生、家长和教师志愿者开展禁毒宣传志愿服务。",
        ),
        (
            f"{last_626 + 1}年“6·26”国际禁毒日宣传月",
            Campaign.Kind.DAY_626,
            province,
            dt.date(last_626 + 1, 6, 1),
            dt.date(last_626 + 1, 6, 30),
            "province",
            "1987年12月，联合国大会决定将每年的6月26日定为“禁止药物滥用和非法贩运国际日”。",
        ),
    ]
    for title, kind, region, starts_on, ends_on, organiser, description in specs:
        campaign, _ = Campaign.objects.update_or_create(
            title=title,
            region=region,
            defaults={
                "kind": kind,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "description": description,
                "is_published": True,
                "created_by": ctx.users[organiser],
            },
        )
        campaign.organisers.set([ctx.users[organiser]])


@demo_loader(order=11)
def load_second_classroom(ctx: DemoContext) -> None:
    """The province's second-classroom term: the demo teacher's school enrolled, another invited."""
    from django.utils import timezone

    from campaigns.models import Enrollment, Term

    campaign = Campaign.objects.filter(
        kind=Campaign.Kind.SECOND_CLASSROOM, region=ctx.regions["430000"], title__endswith="“第二课堂”"
    ).first()
    if campaign is None:
        return
    term, _ = Term.objects.update_or_create(
        campaign=campaign,
        defaults={
            "grades": list(range(4, 12)),
            "target_registration_pct": 90,
            "target_participation_pct": 90,
            "pass_mark_pct": 60,
        },
    )
    now = timezone.now()
    enrolled, invited = ctx.users["teacher"].school, ctx.users["teacher2"].school
    for school, status, organiser in (
        (enrolled, Enrollment.Status.ENROLLED, "yuelu"),
        (invited, Enrollment.Status.INVITED, "kaifu"),
    ):
        decided = status == Enrollment.Status.ENROLLED
        Enrollment.objects.get_or_create(
            term=term,
            school=school,
            defaults={
                "status": status,
                "invited_by": ctx.users[organiser],
                "invited_at": now,
                "decided_by": ctx.users["teacher"] if decided else None,
                "decided_at": now if decided else None,
            },
        )


# Three lessons of every grade of the demo term, written from the facts of the starter bank (its
# explanations cite the Anti-Drug Law and the National Narcotics Control Commission's warnings).
DEMO_LESSONS = [
    (
        "认识毒品",
        10,
        "《禁毒法》第二条规定的毒品，是指鸦片、海洛因、甲基苯丙胺（冰毒）、吗啡、大麻、可卡因，"
        "以及国家规定管制的其他能够使人形成瘾癖的麻醉药品和精神药品。\n\n"
        "大麻、鸦片、海洛因来自大麻、罂粟等植物或由其加工而成，属于传统毒品；冰毒、摇头丸、K粉"
        "等新型毒品是用化学方法人工合成的，主要作用于人的中枢神经系统。\n\n"
        "毒品直接作用于大脑，会损害记忆、判断和情绪，还会伤害心脏等器官。吸毒不仅伤害自己，"
        "也会让家庭陷入经济和情感上的困境。",
        [],
    ),
    (
        "当心伪装成零食的毒品",
        10,
        "不法分子会把毒品做成奶茶、糖果、饼干、果冻等样子，降低人们的警惕。国家禁毒办提醒青少年"
        "警惕“咔哇潮饮”“小树枝”“彩虹烟”“咖啡包”等伪装型新型毒品。\n\n"
        "这些迹象说明一包“零食”或“饮料”可能有问题：没有生产厂家、成分表和生产日期；"
        "有人私下推销，夸大“提神”“解压”的效果；故作神秘，说“只有小圈子里才买得到”。\n\n"
        "来历不明的东西不吃不喝，并告诉老师或家长。",
        [],
    ),
    (
        "学会拒绝，学会求助",
        15,
        "很多人第一次接触毒品，正是朋友或熟人递过来的。用“大家都这样”“不够朋友”来逼你做不想做的事，"
        "就是同伴压力；真正的朋友会尊重你的拒绝。\n\n"
        "直接拒绝、说明理由、转移话题和离开现场都是常用的拒毒技巧。也可以用“破唱片法”："
        "平静而坚定地重复“不，我不要”，不争辩、不解释太多。\n\n"
        "发现有人贩卖毒品，拨打110报警；有人昏迷不醒、呼吸困难，立即拨打120。遇到烦恼需要"
        "心理疏导或法律帮助时，可以拨打共青团开设的青少年服务热线12355。",
        ["refusal-002", "refusal-004", "refusal-013", "help-005"],
    ),
]
DEMO_EXAM_KEYS = [
    "identification-001",
    "identification-002",
    "identification-011",
    "disguised-001",
    "disguised-004",
    "disguised-011",
    "harms-001",
    "harms-002",
    "refusal-003",
    "refusal-008",
    "help-001",
    "help-005",
]


@demo_loader(order=25)
def load_second_classroom_lessons(ctx: DemoContext) -> None:
    """Lessons and a final exam for every grade of the demo term, from the starter bank."""
    import uuid

    from campaigns import lessons as lesson_services
    from campaigns.models import Lesson, Term, TermExam
    from quizzes.models import Question, Quiz, QuizQuestion
    from quizzes.starter import GROUP_NAMESPACE

    term = Term.objects.filter(
        campaign__region=ctx.regions["430000"], campaign__title__endswith="“第二课堂”"
    ).first()
    if term is None:
        return
    organiser, province = ctx.users["province"], ctx.regions["430000"]
    term.campaign.organisers.add(organiser)

    def quiz_of(title: str, keys: list[str], **fields) -> Quiz:
        quiz, _ = Quiz.objects.update_or_create(
            title=title,
            owner_region=province,
            defaults={
                "language": "zh-hans",
                "access": Quiz.Access.CAMPAIGN,
                "campaign": term.campaign,
                "selection": Quiz.Selection.FIXED,
                "is_published": True,
                "created_by": organiser,
                "pass_mark": term.pass_mark_pct,
                "review": Quiz.Review.AFTER_SUBMIT,
                **fields,
            },
        )
        groups = [uuid.uuid5(GROUP_NAMESPACE, key) for key in keys]
        by_group = {
            question.translation_group: question
            for question in Question.objects.filter(translation_group__in=groups, language="zh-hans")
        }
        quiz.fixed_questions.all().delete()
        QuizQuestion.objects.bulk_create(
            QuizQuestion(quiz=quiz, question=by_group[group], position=n)
            for n, group in enumerate(groups)
            if group in by_group
        )
        return quiz

    quizzes = {
        title: quiz_of(
            f"第二课堂课后小测：{title}",
            keys,
            max_attempts=0,
            description="答完即可完成本课，分数不计入期末成绩。",
        )
        for title, _minutes, _body, keys in DEMO_LESSONS
        if keys
    }
    exam = quiz_of(
        "第二课堂期末考试",
        DEMO_EXAM_KEYS,
        max_attempts=2,
        time_limit_minutes=20,
        grading=Quiz.Grading.HIGHEST,
        description="完成本年级全部课程后开放。共12题，限时20分钟，可考两次，取最高分。",
    )
    for grade in term.grades:
        for position, (title, minutes, body, _keys) in enumerate(DEMO_LESSONS, start=1):
            Lesson.objects.update_or_create(
                term=term,
                grade=grade,
                position=position,
                defaults={"title": title, "minutes": minutes, "body": body, "quiz": quizzes.get(title)},
            )
        TermExam.objects.update_or_create(term=term, grade=grade, defaults={"quiz": exam})
    for school in {enrollment.school for enrollment in term.enrollments.filter(status="enrolled")}:
        lesson_services.progress_ensure_for_school(term=term, school=school)
