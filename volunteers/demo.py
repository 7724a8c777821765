"""The volunteers of the demo: the `volunteer` account's profile and team, activities with past and coming
shifts in Yuelu's campaign, approved and pending hours, and a certificate.

Past service is built through the services with the clock set back (sign up, check in, check out, approve),
so the rollups and rules hold exactly as on a live site. The loader is idempotent: once its first activity
exists it leaves everything alone.
"""

import datetime as dt

from django.utils import timezone

from campaigns.models import Campaign
from edu.demo import DemoContext, demo_loader
from edu.models import User
from volunteers import services
from volunteers.models import Activity, Skill, Team, VolunteerProfile

ACTIVITY_TITLE = "禁毒宣传进社区：麓山南路社区广场"
SCHOOL_ACTIVITY_TITLE = "校园禁毒知识宣讲志愿服务"
TEAM_NAME = "岳麓区禁毒宣传志愿服务队"

# (username, nickname, real name, year of birth, skills)
EXTRA_VOLUNTEERS = [
    ("demo-volunteer-01", "湘江晨跑", "李娜", 1990, [Skill.FIRST_AID]),
    ("demo-volunteer-02", "麓山红枫", "王磊", 1978, [Skill.PHOTOGRAPHY, Skill.DRIVING]),
    ("demo-volunteer-03", "橘子洲头", "陈思", 1996, [Skill.DESIGN]),
]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _profile(user: User, *, real_name: str, born: int, skills, region, now: dt.datetime) -> VolunteerProfile:
    existing = VolunteerProfile.objects.filter(user=user).first()
    if existing is not None:
        return existing
    return services.volunteer_register(
        user=user,
        real_name=real_name,
        phone=f"1390731{user.pk % 10000:04d}",
        birth_date=dt.date(born, 5, 12),
        region=region,
        skills=skills,
        emergency_contact_name="家属",
        emergency_contact_phone="13807310000",
        now=now,
    )


def _served(*, shift, volunteer: VolunteerProfile, organiser: User, approve: bool) -> None:
    """Sign up two days before, get ticked in, check out at the end and, if asked, be approved a day later."""
    signup = services.shift_signup(
        shift=shift, volunteer=volunteer, now=shift.starts_at - dt.timedelta(days=2)
    )
    services.checkin_by_organiser(signup=signup, by=organiser, now=shift.starts_at - dt.timedelta(minutes=10))
    signup.refresh_from_db()
    record = services.checkout(signup=signup, by=volunteer.user, now=shift.ends_at + dt.timedelta(minutes=5))
    if approve:
        services.hour_record_approve(
            record=record, approver=organiser, now=shift.ends_at + dt.timedelta(days=1)
        )


@demo_loader(order=30)
def load_volunteers(ctx: DemoContext) -> None:
    campaign = Campaign.objects.filter(region=ctx.regions["430104"], kind=Campaign.Kind.SEVEN_ENTRIES).first()
    if campaign is None or Activity.objects.filter(campaign=campaign, title=ACTIVITY_TITLE).exists():
        return
    now = timezone.now()
    today = ctx.today
    yuelu, organiser, teacher = ctx.regions["430104"], ctx.users["yuelu"], ctx.users["teacher"]
    opens_at = _at(campaign.starts_on, 0)
    closes_at = _at(campaign.ends_on, 20)

    volunteer = _profile(
        ctx.users["volunteer"],
        real_name="周敏",
        born=1983,
        skills=[Skill.PUBLIC_SPEAKING, Skill.FIRST_AID],
        region=yuelu,
        now=now,
    )
    extras = []
    for username, nickname, real_name, born, skills in EXTRA_VOLUNTEERS:
        user, _ = User.objects.update_or_create(username=username, defaults={"nickname": nickname})
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        extras.append(_profile(user, real_name=real_name, born=born, skills=skills, region=yuelu, now=now))

    team = Team.objects.filter(name=TEAM_NAME).first() or services.team_create(
        name=TEAM_NAME, kind=Team.Kind.COMMUNITY, region=yuelu, leader=volunteer
    )
    for member in extras:
        if not team.memberships.filter(volunteer=member).exists():
            services.team_member_add(team=team, volunteer=member, by=volunteer.user)

    first_day = max(campaign.starts_on, today - dt.timedelta(days=8))
    past_days = [
        first_day + dt.timedelta(days=2),
        first_day + dt.timedelta(days=5),
        today - dt.timedelta(days=1),
    ]
    coming_days = [today + dt.timedelta(days=3), today + dt.timedelta(days=10)]
    community = services.activity_create(
        campaign=campaign,
        created_by=organiser,
        title=ACTIVITY_TITLE,
        description="在社区广场设置禁毒宣传展板，发放宣传资料，开展禁毒知识有奖问答，引导居民识毒、防毒、拒毒。",
        address="长沙市岳麓区麓山南路社区文化广场",
        region=yuelu,
        shifts=[
            {"role": "宣传员", "starts_at": _at(day, 9), "ends_at": _at(day, 12), "capacity": 6}
            for day in past_days + coming_days
        ]
        + [
            {
                "role": "问答主持",
                "starts_at": _at(coming_days[0], 14),
                "ends_at": _at(coming_days[0], 17),
                "capacity": 2,
            }
        ],
        signup_opens_at=opens_at,
        signup_closes_at=closes_at,
        latitude="28.173200",
        longitude="112.943100",
    )
    school = teacher.school
    talks = services.activity_create(
        campaign=campaign,
        created_by=organiser,
        title=SCHOOL_ACTIVITY_TITLE,
        description="家长和教师志愿者走进课堂，结合案例讲解新型毒品的伪装与危害。",
        address=school.address or school.name,
        region=school.region,
        shifts=[
            {
                "role": "宣讲员",
                "starts_at": _at(coming_days[0], 15),
                "ends_at": _at(coming_days[0], 16),
                "capacity": 3,
            }
        ],
        min_age=18,
        skills_required=[Skill.PUBLIC_SPEAKING],
        signup_opens_at=opens_at,
        signup_closes_at=closes_at,
    )
    services.activity_organiser_add(activity=talks, user=teacher, by=organiser)

    shifts = list(community.shifts.order_by("starts_at"))
    past = [shift for shift in shifts if shift.ends_at < now]
    for index, shift in enumerate(past):
        last = index == len(past) - 1
        # The most recent shift waits in the organiser's queue; the earlier ones are approved.
        _served(shift=shift, volunteer=volunteer, organiser=organiser, approve=not last)
        for member in extras[: 1 + index % len(extras)]:
            _served(shift=shift, volunteer=member, organiser=organiser, approve=not last)
    coming = [shift for shift in shifts if shift.starts_at > now]
    if coming:
        services.shift_signup(shift=coming[0], volunteer=volunteer, now=now)
    services.shift_signup(shift=talks.shifts.get(), volunteer=volunteer, now=now)

    if not volunteer.certificates.exists() and VolunteerProfile.objects.get(pk=volunteer.pk).approved_minutes:
        services.certificate_issue(volunteer=volunteer, issued_by=volunteer.user, now=now)
