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
