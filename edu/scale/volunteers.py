"""The volunteers part: 2.53 million volunteers, their teams, campaigns, activities, sign-ups and 5.38 million
hour records over the past five years, with the rollups recomputed in SQL at the end.

How the history is made, county by county (a county's rows are built in memory, then copied):

- the county's share of the volunteers (by its schools' headcounts); 45 % of them attached to one of its
  schools (students, teachers and parents), the rest community volunteers;
- teams: every school with 50 or more attached volunteers has a school team of them; about half of the
  community volunteers are in community, organisation or recovery-peer teams;
- activities in three kinds of pools, open to anyone in the county, to one school or to one team, dated
  over the past years (busier each year, in June around 6·26 and in term time), each with 1–3 shifts, hung
  on the county's campaign that covers the date;
- each volunteer serves k shifts (none for 30 %, a long tail for the core volunteers), on k different days
  after they registered: so their records never overlap. A past shift gives a check-in sign-up and its
  record (or, for 8 %, a record entered afterwards); a shift still to come gives a confirmed or waitlisted
  sign-up; a few sign-ups were cancelled or missed;
- records are approved (most), rejected (some) or pending (the last weeks'), decided by the county's
  organisers; a few approved records have an approved or rejected correction.

Rollups: VolunteerProfile.approved_minutes is written with the rows, then recomputed in SQL from the
counting records (approved, not superseded) and any disagreement fixed (the command reports how many: 0);
RegionHourTotal and the school, team, activity and campaign rollups are computed in SQL
(volunteers.rollups.rollups_rebuild). NumberSequence("volunteer:<code>") moves past the numbers issued, so a
volunteer registering on the site later gets the next one.
"""

import bisect
import datetime as dt
import math
import secrets
from collections import Counter, defaultdict

from django.db import connection
from django.db.models import F

from campaigns.models import Campaign
from edu.models import Region, School, User
from edu.scale import (
    CHINA_TZ,
    GENERATED_USERNAME_PREFIX,
    PROVINCE_PATH,
    Context,
    Part,
    Table,
    delete_where,
    json_list,
    register,
    weighted_split,
)
from edu.scale import names as N
from edu.selectors import LIKE, like_prefix
from volunteers import models as vm
from volunteers.rollups import rollups_rebuild

UNUSABLE_PASSWORD = "!"  # noqa: S105 - Django's marker for "no password": nobody signs in as these users
SCHOOL_SHARE = 0.45
STUDENT_SHARE = 0.65  # of the volunteers attached to a school; the rest are its teachers and parents
COMMUNITY_TEAM_SHARE = 0.55
INACTIVE_SHARE = 0.30
CORE_SHARE = 0.01
MEAN_ATTENDANCE = 22  # volunteers per shift, on average
SCHOOL_POOL_SHARE = 0.5  # of a school team member's shifts, at their school's own activities
TEAM_POOL_SHARE = 0.35
BACKFILL_SHARE = 0.08
MISSED_CHECKOUT_SHARE = 0.03
NO_SHOW_SHARE = 0.02
CANCELLED_SHARE = 0.04
CORRECTION_SHARE = 0.004
ORGANISERS_PER_REGION = 2
TEAM_SUFFIX = "禁毒志愿服务队"

LEVEL_AGES = {
    School.Level.PRIMARY: (9, 12),
    School.Level.JUNIOR: (12, 15),
    School.Level.SENIOR: (15, 18),
    School.Level.VOCATIONAL: (15, 19),
    School.Level.UNIVERSITY: (18, 22),
}

# (start, end) local times of a shift, minutes after midnight, and how often each is used.
SHIFT_TIMES = [
    ((8 * 60 + 30, 11 * 60 + 30), 5),
    ((9 * 60, 12 * 60), 5),
    ((14 * 60, 17 * 60), 5),
    ((14 * 60 + 30, 17 * 60 + 30), 3),
    ((19 * 60, 21 * 60), 2),
    ((9 * 60, 16 * 60), 2),
    ((8 * 60 + 30, 18 * 60), 0.3),  # over 8 hours: the campaign's organiser approves
]
SCHOOL_SHIFT_TIMES = [
    ((14 * 60 + 30, 16 * 60 + 30), 4),
    ((15 * 60 + 40, 17 * 60 + 10), 3),
    ((8 * 60, 11 * 60), 1),
]
ROLES = ["宣传引导", "资料发放", "现场秩序", "讲解员", "签到引导", "摄影记录", "咨询答疑", ""]
COUNTY_TITLES = [
    ("社区禁毒知识宣讲", 0),
    ("禁毒宣传进家庭入户走访", 0),
    ("禁毒主题文艺汇演志愿服务", 0),
    ("禁毒展览讲解服务", 0),
    ("广场禁毒宣传咨询", 0),
    ("禁毒宣传进企业", 0),
    ("禁毒宣传进农村集市", 0),
    ("娱乐场所禁毒宣传", 16),
    ("社区戒毒康复人员帮扶走访", 18),
    ("校园周边环境巡查", 18),
]
JUNE_TITLES = ["“6·26”国际禁毒日广场宣传", "“6·26”禁毒宣传月进社区", "“6·26”禁毒签名承诺活动"]
SCHOOL_TITLES = [
    "禁毒“第二课堂”助教",
    "禁毒主题班会协助",
    "禁毒知识竞赛组织服务",
    "校园禁毒手抄报评比",
    "禁毒教育基地参观引导",
    "家长禁毒知识宣讲",
]
TEAM_TITLES = {
    "community": ["月度禁毒宣传服务", "社区禁毒宣传栏更新", "禁毒宣传进小区"],
    "organisation": ["行业禁毒宣传服务", "禁毒法律咨询", "禁毒知识进单位"],
    "recovery": ["同伴互助分享会", "戒毒康复人员结对帮扶", "康复人员就业指导"],
}
ORGANISATIONS = ["妇联", "团委", "青年志愿者协会", "律师协会", "人民医院", "供电公司", "邮政分公司", "工商联"]
REJECT_REASONS = [
    "签到时间与活动记录不符，请联系组织者核实。",
    "未在岗位服务，时长不予认定。",
    "重复提交的服务记录。",
    "补录记录缺少活动组织者确认。",
]
CORRECTION_REASONS = ["签退时间记录有误", "实际提前离岗", "忘记按时签退", "签到设备时间有误"]


class PlannedShift:
    __slots__ = ("id", "starts_at", "ends_at", "role", "capacity", "signups", "future", "taken")

    def __init__(self, starts_at, ends_at, role, capacity, future) -> None:
        self.id = 0
        self.starts_at, self.ends_at, self.role, self.capacity = starts_at, ends_at, role, capacity
        # (created_at, volunteer) for a shift still to come: confirmed or waitlisted, in this order.
        self.signups: list = []
        self.future = future
        self.taken = 0  # volunteers assigned


class PlannedActivity:
    __slots__ = (
        "id",
        "day",
        "title",
        "address",
        "campaign",
        "min_age",
        "open_to",
        "team_id",
        "school_id",
        "shifts",
        "opens_at",
        "weight",
        "place",
    )


class Pool:
    """Activities that a group of volunteers can serve at, sorted by day, drawn by size."""

    def __init__(self, activities: list[PlannedActivity]) -> None:
        activities.sort(key=lambda activity: activity.day)
        self.activities = activities
        self.days = [activity.day.toordinal() for activity in activities]
        self.cumulative = []
        total = 0.0
        for activity in activities:
            total += activity.weight
            self.cumulative.append(total)

    def draw(self, rng, after_day: int) -> PlannedActivity | None:
        low = bisect.bisect_right(self.days, after_day)
        if low >= len(self.activities):
            return None
        base = self.cumulative[low - 1] if low else 0.0
        target = base + rng.random() * (self.cumulative[-1] - base)
        index = min(bisect.bisect_left(self.cumulative, target, low), len(self.activities) - 1)
        return self.activities[index]


class Volunteer:
    __slots__ = (
        "user_id",
        "id",
        "registered",
        "birth",
        "school",
        "school_team",
        "team",
        "shifts",
        "days",
        "approved",
        "adult",
        "most",
    )

    def __init__(self) -> None:
        self.school_team = self.team = None
        self.shifts = 0
        self.days: set[int] = set()
        self.approved = 0


TABLES = {}


def tables() -> dict[str, Table]:
    """The tables written, built once (after the apps are ready)."""
    if not TABLES:
        TABLES.update(
            user=Table(
                User,
                [
                    "id",
                    "password",
                    "username",
                    "nickname",
                    "is_active",
                    "date_joined",
                    "is_volunteer",
                    "is_organiser",
                    "region_id",
                ],
            ),
            profile=Table(
                vm.VolunteerProfile,
                [
                    "id",
                    "user_id",
                    "real_name",
                    "phone",
                    "birth_date",
                    "region_id",
                    "region_path",
                    "school_id",
                    "skills",
                    "emergency_contact_name",
                    "emergency_contact_phone",
                    "volunteer_number",
                    "guardian_name",
                    "guardian_phone",
                    "guardian_consent_at",
                    "guardian_consent_recorded_by_id",
                    "language",
                    "approved_minutes",
                    "created_at",
                ],
            ),
            team=Table(
                vm.Team, ["id", "name", "kind", "region_id", "region_path", "school_id", "created_at"]
            ),
            membership=Table(vm.TeamMembership, ["team_id", "volunteer_id", "is_leader", "joined_at"]),
            campaign=Table(
                Campaign,
                [
                    "id",
                    "title",
                    "kind",
                    "region_id",
                    "starts_on",
                    "ends_on",
                    "description",
                    "is_published",
                    "created_by_id",
                    "created_at",
                    "updated_at",
                ],
            ),
            campaign_organiser=Table(Campaign.organisers.through, ["campaign_id", "user_id"]),
            activity=Table(
                vm.Activity,
                [
                    "id",
                    "campaign_id",
                    "title",
                    "description",
                    "address",
                    "latitude",
                    "longitude",
                    "region_id",
                    "region_path",
                    "min_age",
                    "signup_opens_at",
                    "signup_closes_at",
                    "open_to",
                    "team_id",
                    "school_id",
                    "is_published",
                    "checkin_secret",
                    "created_by_id",
                    "created_at",
                ],
            ),
            activity_organiser=Table(vm.Activity.organisers.through, ["activity_id", "user_id"]),
            shift=Table(vm.Shift, ["id", "activity_id", "role", "starts_at", "ends_at", "capacity"]),
            signup=Table(
                vm.Signup,
                [
                    "id",
                    "shift_id",
                    "volunteer_id",
                    "status",
                    "created_at",
                    "cancelled_at",
                    "checked_in_at",
                    "checked_out_at",
                    "checkin_method",
                    "auto_closed",
                ],
            ),
            record=Table(
                vm.HourRecord,
                [
                    "id",
                    "volunteer_id",
                    "activity_id",
                    "signup_id",
                    "started_at",
                    "ended_at",
                    "minutes",
                    "content",
                    "place",
                    "source",
                    "flagged",
                    "flag_reason",
                    "status",
                    "reject_reason",
                    "approver_level",
                    "recorded_by_id",
                    "decided_by_id",
                    "decided_at",
                    "corrects_id",
                    "created_at",
                    "correction_reason",
                ],
            ),
        )
    return TABLES


@register
class VolunteersPart(Part):
    name = "volunteers"
    order = 30
    requires = ("regions", "schools")

    def models(self):
        return [
            User,
            vm.VolunteerProfile,
            vm.Team,
            vm.TeamMembership,
            Campaign,
            Campaign.organisers.through,
            vm.Activity,
            vm.Activity.organisers.through,
            vm.Shift,
            vm.Signup,
            vm.HourRecord,
            vm.RegionHourTotal,
            vm.SchoolHourTotal,
            vm.TeamHourTotal,
            vm.ActivityHourTotal,
            vm.CampaignHourTotal,
            vm.NumberSequence,
        ]

    # -- what is there, and deleting it -------------------------------------------------------------------

    @staticmethod
    def _generated_users() -> tuple[str, list[str]]:
        return f"username {LIKE}", [like_prefix(GENERATED_USERNAME_PREFIX)]

    @staticmethod
    def _generated_campaigns() -> tuple[str, list[str]]:
        # The campaigns this part made: in the generated province, created by a generated organiser.
        quote = connection.ops.quote_name
        return (
            f"region_id IN (SELECT id FROM {quote(Region._meta.db_table)} WHERE path {LIKE}) "  # noqa: S608
            f"AND created_by_id IN (SELECT id FROM {quote(User._meta.db_table)} WHERE username {LIKE})",
            [like_prefix(PROVINCE_PATH), like_prefix(GENERATED_USERNAME_PREFIX)],
        )

    def existing(self) -> dict[str, int]:
        counts = {
            User._meta.db_table: User.objects.filter(username__startswith=GENERATED_USERNAME_PREFIX).count(),
            vm.Team._meta.db_table: vm.Team.objects.filter(region_path__startswith=PROVINCE_PATH).count(),
            Campaign._meta.db_table: Campaign.objects.filter(
                region__path__startswith=PROVINCE_PATH,
                created_by__username__startswith=GENERATED_USERNAME_PREFIX,
            ).count(),
        }
        return {table: count for table, count in counts.items() if count}

    def delete(self) -> Counter:
        deleted: Counter = Counter()
        # The rollups of the province (schools belong to another part and stay: their rows go here).
        for rollup in (vm.RegionHourTotal, vm.SchoolHourTotal):
            delete_where(rollup, f"region_path {LIKE}", [like_prefix(PROVINCE_PATH)], deleted)
        # Campaigns first, while their creators still name them; their activities, shifts, sign-ups and
        # records go with them.
        delete_where(Campaign, *self._generated_campaigns(), deleted)
        delete_where(vm.Team, f"region_path {LIKE}", [like_prefix(PROVINCE_PATH)], deleted)
        delete_where(User, *self._generated_users(), deleted)
        return deleted

    # -- generating ---------------------------------------------------------------------------------------

    def generate(self, ctx: Context) -> None:
        Builder(ctx).build()


class Builder:
    """One run of the volunteers part; the county loop and its helpers."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("volunteers")
        self.tables = tables()
        self.now = ctx.now.astimezone(CHINA_TZ)
        self.today = self.now.date()
        self.first_day = self.today - dt.timedelta(days=365 * ctx.figures.years)
        self.last_day = self.today + dt.timedelta(days=30)  # activities already planned

    # -- the run ------------------------------------------------------------------------------------------

    def build(self) -> None:
        ctx = self.ctx
        counties = list(
            Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY)
            .select_related("parent")
            .order_by("path")
        )
        regions = list(Region.objects.filter(path__startswith=PROVINCE_PATH).order_by("path"))
        schools = defaultdict(list)
        for school in School.objects.filter(region_path__startswith=PROVINCE_PATH).order_by("pk"):
            schools[school.region_id].append(school)
        self.organisers = self._organisers(regions)
        self.campaigns = self._campaigns(regions, counties)

        headcounts = {county.pk: sum(s.student_headcount for s in schools[county.pk]) for county in counties}
        average = (sum(headcounts.values()) / len(counties)) if counties else 0
        weights = [headcounts[county.pk] + 0.15 * average + 1 for county in counties]
        volunteers = weighted_split(ctx.figures.volunteers, weights)
        records = weighted_split(ctx.figures.hour_records, volunteers)
        self.progress = ctx.progress("volunteers", ctx.figures.volunteers, unit="volunteers")
        for county, count, target in zip(counties, volunteers, records, strict=True):
            if count:
                County(self, county, schools[county.pk], count, target).build()
        self.progress.finish()
        self._rollups()

    # -- organisers and campaigns (the whole province, first) ---------------------------------------------

    def _organisers(self, regions: list[Region]) -> dict[int, list[int]]:
        """Two organisers per region (province, cities, counties): users with unusable passwords."""
        ids = iter(self.ctx.reserve_ids(User, ORGANISERS_PER_REGION * len(regions)))
        rows, organisers = [], {}
        joined = dt.datetime.combine(self.first_day - dt.timedelta(days=400), dt.time(9), tzinfo=CHINA_TZ)
        for region in regions:
            organisers[region.pk] = []
            for number in range(1, ORGANISERS_PER_REGION + 1):
                pk = next(ids)
                organisers[region.pk].append(pk)
                rows.append(
                    (
                        pk,
                        UNUSABLE_PASSWORD,
                        f"{GENERATED_USERNAME_PREFIX}org_{region.code}_{number}",
                        f"{region.name}禁毒办{number}",
                        True,
                        joined,
                        False,
                        True,
                        region.pk,
                    )
                )
        self.ctx.write(self.tables["user"], rows)
        return organisers

    def _campaigns(self, regions: list[Region], counties: list[Region]) -> dict:
        """Per county and year: 6·26 (June), "seven entries" (March–November) and the second-classroom
        school year (September–July); per city, a June publicity month; per province, a contest season."""
        rng = self.rng
        first_year, last_year = self.first_day.year - 1, self.last_day.year
        plan = []  # (region, kind, title, starts_on, ends_on)
        by_code = {region.pk: region for region in regions}
        for year in range(first_year, last_year + 1):
            for region in regions:
                if region.level == Region.Level.PROVINCE:
                    plan.append(
                        (
                            region,
                            Campaign.Kind.CONTEST_SEASON,
                            f"{year}年{region.name}青少年禁毒知识竞赛季",
                            dt.date(year, 4, 1),
                            dt.date(year, 6, 30),
                        )
                    )
                elif region.level == Region.Level.CITY:
                    plan.append(
                        (
                            region,
                            Campaign.Kind.OTHER,
                            f"{year}年{region.name}全民禁毒宣传月",
                            dt.date(year, 6, 1),
                            dt.date(year, 6, 30),
                        )
                    )
                else:
                    plan += [
                        (
                            region,
                            Campaign.Kind.DAY_626,
                            f"{year}年{region.name}“6·26”国际禁毒日志愿服务",
                            dt.date(year, 6, 1),
                            dt.date(year, 6, 30),
                        ),
                        (
                            region,
                            Campaign.Kind.SEVEN_ENTRIES,
                            f"{year}年{region.name}禁毒宣传“七进”志愿服务",
                            dt.date(year, 3, 1),
                            dt.date(year, 11, 30),
                        ),
                        (
                            region,
                            Campaign.Kind.SECOND_CLASSROOM,
                            f"{year}—{year + 1}学年{region.name}禁毒“第二课堂”",
                            dt.date(year, 9, 1),
                            dt.date(year + 1, 7, 10),
                        ),
                    ]
        ids = iter(self.ctx.reserve_ids(Campaign, len(plan)))
        rows, through, campaigns = [], [], defaultdict(list)
        for region, kind, title, starts_on, ends_on in plan:
            pk = next(ids)
            organisers = self.organisers[region.pk]
            created = dt.datetime.combine(
                starts_on - dt.timedelta(days=rng.randint(10, 40)), dt.time(10), tzinfo=CHINA_TZ
            )
            parent = by_code.get(region.parent_id)
            description = f"{parent.name if parent else ''}{region.name}禁毒委员会办公室组织。"
            rows.append(
                (
                    pk,
                    title,
                    kind,
                    region.pk,
                    starts_on,
                    ends_on,
                    description,
                    True,
                    organisers[0],
                    created,
                    created,
                )
            )
            through += [(pk, user) for user in organisers]
            campaigns[(region.pk, kind)].append((starts_on, ends_on, pk))
        self.ctx.write(self.tables["campaign"], rows)
        self.ctx.write(self.tables["campaign_organiser"], through)
        return campaigns

    def campaign_for(self, county: Region, day: dt.date, school: bool) -> int:
        if day.month == 6 and not school:
            kinds = [Campaign.Kind.DAY_626, Campaign.Kind.SEVEN_ENTRIES, Campaign.Kind.SECOND_CLASSROOM]
        elif school:
            kinds = [Campaign.Kind.SECOND_CLASSROOM, Campaign.Kind.SEVEN_ENTRIES, Campaign.Kind.DAY_626]
        else:
            kinds = [Campaign.Kind.SEVEN_ENTRIES, Campaign.Kind.SECOND_CLASSROOM, Campaign.Kind.DAY_626]
        for kind in kinds:
            for starts_on, ends_on, pk in self.campaigns[(county.pk, kind)]:
                if starts_on <= day <= ends_on:
                    return pk
        raise RuntimeError(f"no campaign covers {day} in {county.code}")  # the three kinds cover every day

    # -- rollups, in SQL ------------------------------------------------------------------------------------

    def _rollups(self) -> None:
        # The same SQL as `manage.py rebuild_volunteer_rollups`: approved_minutes checked against the records
        # (a difference is fixed and counted: 0 expected), then every rollup the organisers' totals page
        # reads (region, school, team, activity, campaign) computed from the counting records.
        progress = self.ctx.progress("rollups (SQL)", 1, unit="steps")
        written = rollups_rebuild(region_path=PROVINCE_PATH)
        self.ctx.rows["rollup fixes: approved_minutes"] += written.pop("approved_minutes fixed")
        for table, rows in written.items():
            self.ctx.rows[table] += rows
        progress.advance()
        progress.finish()


class County:
    """One county's volunteers, teams, activities and history, built in memory and then copied."""

    def __init__(self, builder: Builder, county: Region, schools: list[School], count: int, target: int):
        self.b, self.county, self.schools, self.count, self.target = builder, county, schools, count, target
        self.rng = builder.rng
        self.ctx = builder.ctx
        self.organisers = builder.organisers[county.pk]
        self.place = f"{county.parent.name}{county.name}"
        # The county's centre, for the activities' map pins.
        self.centre = (self.rng.uniform(25.0, 29.8), self.rng.uniform(109.5, 114.0))

    def build(self) -> None:
        volunteers = self._volunteers()
        teams, memberships = self._teams(volunteers)
        pools, activities = self._activities(volunteers, teams)
        signups, records = self._history(volunteers, pools, activities)
        self._write(volunteers, teams, memberships, activities, signups, records)
        self.b.progress.advance(len(volunteers))

    # -- volunteers -----------------------------------------------------------------------------------------

    def _volunteers(self) -> list[Volunteer]:
        rng, b = self.rng, self.b
        span = (b.today - b.first_day).days + 365
        weights = [school.student_headcount for school in self.schools]
        volunteers = []
        for _ in range(self.count):
            v = Volunteer()
            # Registrations grow year by year: more of them recently.
            v.registered = min(
                dt.datetime.combine(
                    b.first_day
                    - dt.timedelta(days=365)
                    + dt.timedelta(days=int(span * rng.random() ** 0.85)),
                    dt.time(rng.randint(8, 21), rng.randint(0, 59)),
                    tzinfo=CHINA_TZ,
                ),
                b.now - dt.timedelta(hours=1),
            )
            if self.schools and rng.random() < SCHOOL_SHARE:
                v.school = rng.choices(self.schools, weights=weights)[0]
                if rng.random() < STUDENT_SHARE:
                    low, high = LEVEL_AGES[v.school.level]
                    age = rng.randint(low, high)
                else:
                    age = rng.randint(24, 55)
            else:
                v.school = None
                age = (
                    rng.randint(14, 17)
                    if rng.random() < 0.08
                    else min(75, 18 + int(rng.gammavariate(2.2, 9)))
                )
            v.birth = v.registered.date() - dt.timedelta(days=age * 365 + rng.randint(0, 364))
            v.adult = age >= 18
            # At most a shift a fortnight since they registered: newcomers have served little yet.
            v.most = 1 + (b.last_day - v.registered.date()).days // 14
            draw = rng.random()
            if draw < INACTIVE_SHARE:
                v.shifts = 0
            elif draw < INACTIVE_SHARE + CORE_SHARE:
                v.shifts = rng.randint(15, 60)
            else:
                v.shifts = 1 + int(rng.expovariate(1 / 1.45))
            v.shifts = min(v.shifts, v.most)
            volunteers.append(v)
        # Trim or top up the planned shifts to the county's share of the records (a few more, for the shifts
        # still to come, the no-shows and the days a volunteer cannot take).
        planned = sum(v.shifts for v in volunteers)
        wanted = round(self.target * 1.06)
        active = [v for v in volunteers if v.shifts] or volunteers
        for _ in range(50 * abs(wanted - planned)):
            if planned == wanted:
                break
            v = rng.choice(active)
            if planned < wanted and v.shifts < v.most:
                v.shifts += 1
                planned += 1
            elif planned > wanted and v.shifts > 1:
                v.shifts -= 1
                planned -= 1
        user_ids = self.ctx.reserve_ids(User, len(volunteers))
        profile_ids = self.ctx.reserve_ids(vm.VolunteerProfile, len(volunteers))
        for v, user_id, profile_id in zip(volunteers, user_ids, profile_ids, strict=True):
            v.user_id, v.id = user_id, profile_id
        return volunteers

    # -- teams ---------------------------------------------------------------------------------------------

    def _teams(self, volunteers: list[Volunteer]):
        rng, b = self.rng, self.b
        teams = []  # [name, kind, school_id, members]
        by_school = defaultdict(list)
        for v in volunteers:
            if v.school is not None:
                by_school[v.school.pk].append(v)
        for school in self.schools:
            members = by_school.get(school.pk, [])
            if len(members) >= self.ctx.figures.school_team_minimum:
                teams.append([f"{school.name}{TEAM_SUFFIX}", "school", school.pk, members])
        community = [v for v in volunteers if v.school is None and rng.random() < COMMUNITY_TEAM_SHARE]
        rng.shuffle(community)
        names = Counter()
        position = 0
        while position < len(community):
            draw = rng.random()
            if draw < 0.7:
                kind, size = "community", max(20, int(rng.lognormvariate(math.log(110), 0.5)))
                name = f"{self.county.name}{rng.choice(N.COMMUNITIES)[0]}社区{TEAM_SUFFIX}"
            elif draw < 0.9:
                kind, size = "organisation", max(20, int(rng.lognormvariate(math.log(90), 0.5)))
                name = f"{self.county.name}{rng.choice(ORGANISATIONS)}{TEAM_SUFFIX}"
            else:
                kind, size = "recovery", max(8, int(rng.lognormvariate(math.log(30), 0.4)))
                name = f"{self.county.name}“阳光”同伴互助队"
            if len(community) - (position + size) < size // 3:
                size = len(community) - position  # no team of a handful left over at the end
            members = community[position : position + size]
            if kind == "recovery":
                members = [v for v in members if v.adult] or members
            position += size
            names[name] += 1
            if names[name] > 1:
                name += f"第{names[name]}分队"
            teams.append([name, kind, None, members])

        team_ids = self.ctx.reserve_ids(vm.Team, len(teams))
        rows, memberships = [], []
        for (name, kind, school_id, members), pk in zip(teams, team_ids, strict=True):
            created = min(v.registered for v in members) - dt.timedelta(days=rng.randint(1, 60))
            rows.append([pk, name, kind, school_id, members, created])
            adults = [v for v in members if v.adult] or members
            leaders = {
                v.id
                for v in rng.sample(adults, min(len(adults), 2 if kind == "school" else rng.randint(1, 3)))
            }
            for v in members:
                if kind == "school":
                    v.school_team = pk
                else:
                    v.team = pk
                joined = min(max(created, v.registered) + dt.timedelta(hours=rng.randint(1, 24 * 20)), b.now)
                memberships.append((pk, v.id, v.id in leaders, joined))
        return rows, memberships

    # -- activities ----------------------------------------------------------------------------------------

    def _activities(self, volunteers: list[Volunteer], teams: list):
        """Activities sized to the demand of each pool (the county, each school team, each other team)."""
        demand, busiest = Counter(), Counter()
        for v in volunteers:
            own, share = None, 0.0
            if v.school_team:
                own, share = ("school", v.school_team), SCHOOL_POOL_SHARE
            elif v.team:
                own, share = ("team", v.team), TEAM_POOL_SHARE
            if own:
                demand[own] += v.shifts * share
                busiest[own] = max(busiest[own], v.shifts * share)
            demand[("county", 0)] += v.shifts * (1 - share)
            busiest[("county", 0)] = max(busiest[("county", 0)], v.shifts * (1 - share))
        team_info = {row[0]: row for row in teams}
        pools, activities = {}, []
        for key, wanted in demand.items():
            kind, team_id = key
            # A little slack: full shifts and the days a volunteer already serves turn some draws away; and
            # enough days for the busiest volunteer, whose shifts must all fall on different days.
            shifts_wanted = max(2, math.ceil(wanted * 1.1 / MEAN_ATTENDANCE))
            days_wanted = math.ceil(busiest[key] * 1.5)
            made, pool = 0, []
            while made < shifts_wanted or len(pool) < days_wanted:
                activity = self._activity(kind, team_info.get(team_id))
                made += len(activity.shifts)
                pool.append(activity)
            pools[key] = Pool(pool)
            activities += pool
        activity_ids = self.ctx.reserve_ids(vm.Activity, len(activities))
        shift_ids = iter(self.ctx.reserve_ids(vm.Shift, sum(len(a.shifts) for a in activities)))
        for activity, pk in zip(activities, activity_ids, strict=True):
            activity.id = pk
            for shift in activity.shifts:
                shift.id = next(shift_ids)
        return pools, activities

    def _day(self, *, school: bool) -> dt.date:
        """A day in the window: busier every year, in June and in term time; school days for schools."""
        rng, b = self.rng, self.b
        span = (b.last_day - b.first_day).days
        for _ in range(50):
            day = b.first_day + dt.timedelta(days=int(span * rng.random() ** 0.95))
            month_weight = {6: 1.0, 1: 0.35, 2: 0.3, 7: 0.5, 8: 0.45}.get(day.month, 0.7)
            if school and day.weekday() >= 5:
                continue
            if not school and day.weekday() >= 5:
                month_weight = min(1.0, month_weight * 1.4)
            if rng.random() < month_weight:
                return day
        return day

    def _activity(self, kind: str, team: list | None) -> PlannedActivity:
        rng, b = self.rng, self.b
        activity = PlannedActivity()
        activity.team_id = activity.school_id = None
        activity.min_age = 0
        school = kind == "school"
        activity.day = day = self._day(school=school)
        community = rng.choice(N.COMMUNITIES)[0]
        if school:
            activity.open_to = "school"
            activity.school_id = team[3]
            school_name = team[1].removesuffix(TEAM_SUFFIX)
            activity.title = f"{school_name}{rng.choice(SCHOOL_TITLES)}"
            activity.place = f"{self.place}{school_name}"
            times = SCHOOL_SHIFT_TIMES
        elif kind == "team":
            activity.open_to = "team"
            activity.team_id = team[0]
            activity.title = f"{team[1].removesuffix(TEAM_SUFFIX)}{rng.choice(TEAM_TITLES[team[2]])}"
            activity.place = f"{self.place}{community}社区服务中心"
            activity.min_age = 18 if team[2] == "recovery" else 0
            times = SHIFT_TIMES
        else:
            activity.open_to = "anyone"
            if day.month == 6 and rng.random() < 0.6:
                title, activity.min_age = rng.choice(JUNE_TITLES), 0
            else:
                title, activity.min_age = rng.choice(COUNTY_TITLES)
            activity.title = f"{self.county.name}{community}社区{title}"
            activity.place = f"{self.place}{community}社区{rng.choice(N.STREETS)}{rng.randint(1, 299)}号"
            times = SHIFT_TIMES
        activity.address = activity.place
        activity.campaign = self.b.campaign_for(self.county, day, school)
        count = 1 if rng.random() < 0.55 else (2 if rng.random() < 0.78 else 3)
        first = rng.choices([t for t, _ in times], weights=[w for _, w in times])[0]
        slots = [first]
        if count >= 2 and first[1] <= 12 * 60:
            slots.append((14 * 60, 17 * 60))
        if count >= 3 and slots[-1][1] <= 18 * 60:
            slots.append((19 * 60, 21 * 60))
        activity.shifts = []
        for start, end in slots:
            starts_at = dt.datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=CHINA_TZ)
            ends_at = dt.datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=CHINA_TZ)
            capacity = max(5, round(rng.lognormvariate(math.log(MEAN_ATTENDANCE * 1.15), 0.45)))
            activity.shifts.append(
                PlannedShift(starts_at, ends_at, rng.choice(ROLES), capacity, future=ends_at > b.now)
            )
        activity.weight = sum(shift.capacity for shift in activity.shifts)
        opens = activity.shifts[0].starts_at - dt.timedelta(days=rng.randint(7, 25), hours=rng.randint(0, 8))
        activity.opens_at = opens
        return activity

    # -- history ------------------------------------------------------------------------------------------

    def _history(self, volunteers: list[Volunteer], pools: dict, activities: list[PlannedActivity]):
        """Assign every volunteer's shifts on different days, then make the sign-ups and the records."""
        rng = self.rng
        county_pool = pools.get(("county", 0))
        assignments = []  # (volunteer, activity, shift)
        produced = 0

        def assign(v: Volunteer) -> bool:
            if len(v.days) >= v.most:
                return False
            after = v.registered.date().toordinal()
            for _ in range(6):
                pool = county_pool
                if v.school_team and rng.random() < SCHOOL_POOL_SHARE:
                    pool = pools.get(("school", v.school_team), county_pool)
                elif v.team and rng.random() < TEAM_POOL_SHARE:
                    pool = pools.get(("team", v.team), county_pool)
                if pool is None:
                    return False
                activity = pool.draw(rng, after)
                if activity is None:
                    if pool is county_pool:
                        return False
                    continue
                day = activity.day.toordinal()
                if day in v.days or vm.age_on(v.birth, activity.day) < activity.min_age:
                    continue
                if activity.opens_at > self.b.now:
                    continue  # sign-up has not opened yet
                shift = rng.choice(activity.shifts)
                # A full shift turns people away; one to come keeps a short waiting list.
                if shift.taken >= (shift.capacity * 1.2 if shift.future else shift.capacity):
                    continue
                shift.taken += 1
                v.days.add(day)
                assignments.append((v, activity, shift))
                return True
            return False

        for v in volunteers:
            for _ in range(v.shifts):
                assign(v)
        produced = sum(1 for _, _, shift in assignments if not shift.future)
        # Top up to the county's records: the days some could not take go to others.
        active = [v for v in volunteers if v.shifts] or volunteers
        attempts = 0
        # The no-shows give no record and the corrections one more.
        wanted = round(self.target * (1 - CORRECTION_SHARE) / (1 - NO_SHOW_SHARE))
        limit = 20 * max(1, wanted - produced)
        while produced < wanted and attempts < limit:
            attempts += 1
            if assign(rng.choice(active)) and not assignments[-1][2].future:
                produced += 1

        signups, records = [], []
        for v, activity, shift in assignments:
            if shift.future:
                shift.signups.append((self._signed_up_at(activity, shift, v), v))
                continue
            self._served(v, activity, shift, signups, records)
        # A few sign-ups were cancelled before the day (and some volunteers signed up again elsewhere).
        for _ in range(round(len(assignments) * CANCELLED_SHARE)):
            v, activity, shift = rng.choice(assignments)
            created = self._signed_up_at(activity, shift, v)
            cancelled = created + (min(shift.starts_at, self.b.now) - created) * rng.random()
            signups.append([shift.id, v.id, "cancelled", created, cancelled, None, None, "", False])
        # Shifts to come: confirmed up to the places, then the waiting list, in the order they signed up.
        for activity in activities:
            for shift in activity.shifts:
                if not shift.future:
                    continue
                shift.signups.sort(key=lambda item: item[0])
                for position, (created, v) in enumerate(shift.signups):
                    status = "confirmed" if position < shift.capacity else "waitlisted"
                    signups.append([shift.id, v.id, status, created, None, None, None, "", False])
        return signups, records

    def _signed_up_at(self, activity: PlannedActivity, shift: PlannedShift, v: Volunteer) -> dt.datetime:
        opens = max(activity.opens_at, v.registered)
        closes = shift.starts_at - dt.timedelta(hours=2)
        if closes <= opens:
            return opens
        return min(opens + (closes - opens) * self.rng.random() ** 2, self.b.now)

    def _served(
        self, v: Volunteer, activity: PlannedActivity, shift: PlannedShift, signups: list, records: list
    ) -> None:
        rng, now = self.rng, self.b.now
        created = self._signed_up_at(activity, shift, v)
        organiser = self.organisers[0] if rng.random() < 0.6 else self.organisers[-1]
        shift_minutes = int((shift.ends_at - shift.starts_at).total_seconds() // 60)
        draw = rng.random()
        content = f"{activity.title}（{shift.role}）" if shift.role else activity.title
        if draw < NO_SHOW_SHARE:
            signups.append([shift.id, v.id, "confirmed", created, None, None, None, "", False])
            return
        if draw < NO_SHOW_SHARE + BACKFILL_SHARE:
            # Recorded afterwards by the organiser, within the 90 days the rules allow; no sign-up.
            started, ended = shift.starts_at, shift.ends_at
            recorded_at = min(ended + dt.timedelta(days=rng.uniform(0.5, 30)), now)
            record = [
                None,
                v,
                activity.id,
                None,
                started,
                ended,
                shift_minutes,
                content,
                activity.place,
                "backfill",
                True,
                "backfill",
                organiser,
                recorded_at,
            ]
            records.append(record)
            return
        # Checked in by QR code (or by the organiser) up to 15 minutes early, some a little late.
        late = rng.randint(1, 20) if rng.random() < 0.15 else -rng.randint(0, 15)
        checked_in = shift.starts_at + dt.timedelta(minutes=late)
        missed = rng.random() < MISSED_CHECKOUT_SHARE
        if missed:
            checked_out = shift.ends_at
        else:
            early = rng.randint(1, 30) if rng.random() < 0.1 else -rng.randint(0, 10)
            checked_out = shift.ends_at - dt.timedelta(minutes=early)
        started = max(checked_in, shift.starts_at)
        ended = min(checked_out, shift.ends_at)
        method = "qr" if rng.random() < 0.85 else "organiser"
        signup = [shift.id, v.id, "confirmed", created, None, checked_in, checked_out, method, missed]
        signups.append(signup)
        recorded_by = v.user_id if not missed and rng.random() < 0.8 else organiser
        records.append(
            [
                signup,
                v,
                activity.id,
                None,
                started,
                ended,
                int((ended - started).total_seconds() // 60),
                content,
                activity.place,
                "checkin",
                missed,
                "missed_checkout" if missed else "",
                recorded_by,
                checked_out,
            ]
        )

    # -- rows ----------------------------------------------------------------------------------------------

    def _write(self, volunteers, teams, memberships, activities, signups, records) -> None:
        ctx, rng, b = self.ctx, self.rng, self.b
        county, tables = self.county, self.b.tables
        now = b.now

        signup_ids = iter(ctx.reserve_ids(vm.Signup, len(signups)))
        for signup in signups:
            signup.insert(0, next(signup_ids))

        # Decide the records (and a few corrections), so that each volunteer's approved minutes are known
        # before their profile is written.
        record_rows, corrections = [], []
        record_ids = iter(ctx.reserve_ids(vm.HourRecord, len(records)))
        for (
            signup,
            v,
            activity_id,
            _,
            started,
            ended,
            minutes,
            content,
            place,
            source,
            flagged,
            flag,
            by,
            at,
        ) in records:
            pk = next(record_ids)
            age_days = (now - ended).total_seconds() / 86400
            rejected_share = 0.14 if flagged else 0.035
            if age_days < 3:
                status = "pending" if rng.random() < 0.9 else "approved"
            elif age_days < 21:
                draw = rng.random()
                status = (
                    "pending" if draw < 0.5 else "rejected" if draw < 0.5 + rejected_share else "approved"
                )
            else:
                status = "rejected" if rng.random() < rejected_share else "approved"
            level = "campaign" if minutes > 480 else "activity"
            decided_by = decided_at = None
            reason = ""
            if status != "pending":
                decided_at = min(at + dt.timedelta(days=rng.uniform(0.1, min(age_days, 10))), now)
                decided_by = self.organisers[0] if level == "campaign" else rng.choice(self.organisers)
                if status == "rejected":
                    reason = rng.choice(REJECT_REASONS)
            if status == "approved":
                v.approved += minutes
            record_rows.append(
                (
                    pk,
                    v.id,
                    activity_id,
                    signup[0] if signup else None,
                    started,
                    ended,
                    minutes,
                    content,
                    place,
                    source,
                    flagged,
                    flag,
                    status,
                    reason,
                    level,
                    by,
                    decided_by,
                    decided_at,
                    None,
                    at,
                    "",
                )
            )
            if (
                status == "approved"
                and source == "checkin"
                and age_days > 60
                and rng.random() < CORRECTION_SHARE
            ):
                corrections.append(
                    (pk, v, activity_id, signup, started, ended, minutes, content, place, decided_at)
                )
        correction_ids = iter(ctx.reserve_ids(vm.HourRecord, len(corrections)))
        for pk, v, activity_id, signup, started, ended, minutes, content, place, decided_at in corrections:
            # The volunteer left earlier than the check-out says (a forgotten check-out, a wrong clock).
            new_end = ended - dt.timedelta(minutes=rng.randint(10, 60))
            new_minutes = int((new_end - started).total_seconds() // 60)
            if new_minutes < 30:
                continue
            asked = min(decided_at + dt.timedelta(days=rng.uniform(1, 20)), now)
            approved = rng.random() < 0.85
            decided = min(asked + dt.timedelta(days=rng.uniform(0.5, 5)), now)
            if approved:
                v.approved += new_minutes - minutes
            record_rows.append(
                (
                    next(correction_ids),
                    v.id,
                    activity_id,
                    signup[0],
                    started,
                    new_end,
                    new_minutes,
                    content,
                    place,
                    "correction",
                    False,
                    "",
                    "approved" if approved else "rejected",
                    "" if approved else "签到记录显示服务至原签退时间，更正不予认定。",
                    "activity",
                    v.user_id,
                    self.organisers[0],
                    decided,
                    pk,
                    asked,
                    rng.choice(CORRECTION_REASONS),
                )
            )

        # Volunteer numbers: the county's sequence moves past the ones issued here, in the same transaction.
        name = f"volunteer:{county.code}"
        sequence = vm.NumberSequence.objects
        if sequence.filter(name=name).update(last_value=F("last_value") + len(volunteers)):
            last = sequence.values_list("last_value", flat=True).get(name=name)
        else:
            sequence.create(name=name, last_value=len(volunteers))
            last = len(volunteers)
        first_number = last - len(volunteers) + 1

        user_rows, profile_rows = [], []
        skills = [skill for skill in vm.Skill.values]
        for number, v in enumerate(volunteers, first_number):
            user_rows.append(
                (
                    v.user_id,
                    "!",
                    f"{GENERATED_USERNAME_PREFIX}v{county.code}{number:06d}",
                    N.nickname(rng),
                    True,
                    v.registered,
                    True,
                    False,
                    None,
                )
            )
            real_name = N.person_name(rng)
            age = vm.age_on(v.birth, v.registered.date())
            guardian_name = guardian_phone = ""
            consent_at = consent_by = None
            if age < 14:
                guardian_name, guardian_phone = real_name[0] + N.person_name(rng)[1:], N.phone(rng)
                consent_at = v.registered + dt.timedelta(hours=rng.randint(1, 48))
                consent_by = self.organisers[0]
            elif age < 18:
                consent_at, consent_by = v.registered, v.user_id
            emergency = guardian_name or N.person_name(rng)
            profile_rows.append(
                (
                    v.id,
                    v.user_id,
                    real_name,
                    N.phone(rng),
                    v.birth,
                    county.pk,
                    county.path,
                    v.school.pk if v.school is not None else None,
                    json_list(rng.sample(skills, rng.choice((0, 0, 1, 1, 2, 3)))),
                    emergency,
                    guardian_phone or N.phone(rng),
                    f"V{county.code}{number:06d}",
                    guardian_name,
                    guardian_phone,
                    consent_at,
                    consent_by,
                    "zh-hans" if rng.random() < 0.97 else "en",
                    v.approved,
                    v.registered,
                )
            )
        ctx.write(tables["user"], user_rows)
        ctx.write(tables["profile"], profile_rows)
        ctx.write(
            tables["team"],
            (
                (pk, name, kind, county.pk, county.path, school_id, created)
                for pk, name, kind, school_id, _, created in teams
            ),
        )
        ctx.write(tables["membership"], memberships)

        activity_rows, organiser_rows, shift_rows = [], [], []
        confirmed = Counter(signup[1] for signup in signups if signup[3] == "confirmed")
        lat, lon = self.centre
        for a in activities:
            pinned = rng.random() < 0.6
            first_start = a.shifts[0].starts_at
            creator = self.organisers[rng.randrange(len(self.organisers))]
            activity_rows.append(
                (
                    a.id,
                    a.campaign,
                    a.title,
                    f"{a.title}。请穿志愿者马甲，提前15分钟到达签到。",
                    a.address,
                    f"{lat + rng.uniform(-0.2, 0.2):.6f}" if pinned else None,
                    f"{lon + rng.uniform(-0.2, 0.2):.6f}" if pinned else None,
                    county.pk,
                    county.path,
                    a.min_age,
                    a.opens_at,
                    first_start - dt.timedelta(hours=2),
                    a.open_to,
                    a.team_id,
                    a.school_id,
                    True,
                    secrets.token_urlsafe(32),
                    creator,
                    min(a.opens_at - dt.timedelta(days=rng.randint(0, 5)), now),
                )
            )
            organiser_rows += [(a.id, user) for user in self.organisers]
            for shift in a.shifts:
                # A past shift took everyone who came; one to come keeps its places and a waiting list.
                capacity = shift.capacity if shift.future else max(shift.capacity, confirmed[shift.id])
                shift_rows.append((shift.id, a.id, shift.role, shift.starts_at, shift.ends_at, capacity))
        ctx.write(tables["activity"], activity_rows)
        ctx.write(tables["activity_organiser"], organiser_rows)
        ctx.write(tables["shift"], shift_rows)
        ctx.write(tables["signup"], (tuple(row) for row in signups))
        ctx.write(tables["record"], record_rows)
