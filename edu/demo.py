"""The demo that `loaddemo` builds: the core's part, and a registry where each app adds its own.

Apps put a `demo.py` module next to their models with a function decorated by `@demo_loader(order)`; the
command discovers them (as the admin discovers admin.py), so the core never imports an app.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from edu.models import Region, School, SchoolClass, User

DEMO_PASSWORD = "qingkong-demo"  # noqa: S105 — printed by loaddemo and in the README; refused when DEBUG is off


@dataclass
class DemoContext:
    today: dt.date
    regions: dict[str, Region] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (username, what the account shows)


_LOADERS: list[tuple[int, Callable[[DemoContext], None]]] = []


def demo_loader(order: int):
    def register(fn: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        if all(existing is not fn for _, existing in _LOADERS):
            _LOADERS.append((order, fn))
        return fn

    return register


def loaders() -> list[Callable[[DemoContext], None]]:
    return [fn for _, fn in sorted(_LOADERS, key=lambda item: item[0])]


# Hunan Province: the seeds' 2022 report (11,186 schools in one contest round) is Hunan's.
# The division codes are the real ones.
REGIONS = [
    ("430000", "湖南省", "Hunan Province", None),
    ("430100", "长沙市", "Changsha", "430000"),
    ("430102", "芙蓉区", "Furong District", "430100"),
    ("430103", "天心区", "Tianxin District", "430100"),
    ("430104", "岳麓区", "Yuelu District", "430100"),
    ("430105", "开福区", "Kaifu District", "430100"),
    ("430200", "株洲市", "Zhuzhou", "430000"),
    ("430202", "荷塘区", "Hetang District", "430200"),
    ("430203", "芦淞区", "Lusong District", "430200"),
    ("430211", "天元区", "Tianyuan District", "430200"),
    ("430300", "湘潭市", "Xiangtan", "430000"),
    ("430302", "雨湖区", "Yuhu District", "430300"),
    ("430304", "岳塘区", "Yuetang District", "430300"),
]

# (suffix, English suffix, level, grades with classes, classes per grade)
SCHOOL_KINDS = [
    ("实验小学", "Experimental Primary School", School.Level.PRIMARY, (4, 5, 6), 2),
    ("第一初级中学", "No. 1 Junior Middle School", School.Level.JUNIOR, (7, 8, 9), 2),
    ("第一中学", "No. 1 High School", School.Level.SENIOR, (10, 11), 2),
]
EXTRA_SCHOOLS = [
    ("430104", "岳麓区第二小学", "Yuelu No. 2 Primary School", School.Level.PRIMARY, (5, 6), 1),
    ("430102", "芙蓉区育才小学", "Furong Yucai Primary School", School.Level.PRIMARY, (5, 6), 1),
    (
        "430105",
        "长沙市开福职业中专学校",
        "Changsha Kaifu Vocational School",
        School.Level.VOCATIONAL,
        (10, 11),
        1,
    ),
    ("430104", "湘江师范学院", "Xiangjiang Normal College", School.Level.UNIVERSITY, (13, 14), 1),
]
DEMONSTRATION_CYCLE = [
    School.Demonstration.PROVINCIAL,
    School.Demonstration.NONE,
    School.Demonstration.CITY,
    School.Demonstration.DISTRICT,
    School.Demonstration.NONE,
]
STUDENT_NICKNAMES = [
    "小晴",
    "阳光男孩",
    "Kiwi",
    "星星",
    "云朵",
    "小禾",
    "Leo",
    "青柠",
    "飞鸟",
    "小满",
    "Mia",
    "远山",
]


def _region_en_short(region: Region) -> str:
    return region.name_en.replace(" District", "")


def _account(ctx: DemoContext, username: str, shows: str, **fields) -> User:
    user, _ = User.objects.update_or_create(username=username, defaults=fields)
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    ctx.users[username] = user
    ctx.accounts.append((username, shows))
    return user


@demo_loader(order=0)
def load_core(ctx: DemoContext) -> None:
    for code, name, name_en, parent_code in REGIONS:
        level = 1 if parent_code is None else (2 if code.endswith("00") else 3)
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "level": level,
                "parent": ctx.regions.get(parent_code),
            },
        )
        ctx.regions[code] = region

    specs = []
    for county in (r for r in ctx.regions.values() if r.level == Region.Level.COUNTY):
        for suffix, suffix_en, level, grades, per_grade in SCHOOL_KINDS:
            specs.append(
                (
                    county,
                    county.name + suffix,
                    f"{_region_en_short(county)} {suffix_en}",
                    level,
                    grades,
                    per_grade,
                )
            )
    for county_code, name, name_en, level, grades, per_grade in EXTRA_SCHOOLS:
        specs.append((ctx.regions[county_code], name, name_en, level, grades, per_grade))

    for index, (county, name, name_en, level, grades, per_grade) in enumerate(specs, start=1):
        code = f"{county.code}{index:04d}"
        headcount = 45 * len(grades) * per_grade * 6
        school, _ = School.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "level": level,
                "region": county,
                "student_headcount": headcount,
                "demonstration": DEMONSTRATION_CYCLE[index % len(DEMONSTRATION_CYCLE)],
                "address": f"{county.parent.parent.name}{county.parent.name}{county.name}",
            },
        )
        ctx.schools[code] = school
        for grade in grades:
            for number in range(1, per_grade + 1):
                SchoolClass.objects.get_or_create(
                    school=school,
                    grade=grade,
                    name=f"{number}班",
                    defaults={"headcount": 42 + (index + number) % 7},
                )

    def school_named(name: str) -> School:
        return next(s for s in ctx.schools.values() if s.name == name)

    yuelu_junior = school_named("岳麓区第一初级中学")
    kaifu_junior = school_named("开福区第一初级中学")
    _account(
        ctx,
        "admin",
        "site admin: Django admin, everything",
        is_staff=True,
        is_superuser=True,
        nickname="管理员",
    )
    _account(
        ctx,
        "province",
        "organiser, Hunan Province",
        is_organiser=True,
        region=ctx.regions["430000"],
        first_name="省禁毒办",
        nickname="省禁毒办",
    )
    _account(
        ctx,
        "changsha",
        "organiser, Changsha city",
        is_organiser=True,
        region=ctx.regions["430100"],
        first_name="长沙市禁毒办",
        nickname="市禁毒办",
    )
    _account(
        ctx,
        "yuelu",
        "organiser, Yuelu District (county level)",
        is_organiser=True,
        region=ctx.regions["430104"],
        first_name="岳麓区禁毒办",
        nickname="区禁毒办",
    )
    _account(
        ctx,
        "kaifu",
        "organiser of another county, Kaifu District",
        is_organiser=True,
        region=ctx.regions["430105"],
        first_name="开福区禁毒办",
        nickname="开福禁毒办",
    )
    _account(
        ctx,
        "teacher",
        f"teacher and school admin, {yuelu_junior.name}",
        is_teacher=True,
        is_school_admin=True,
        school=yuelu_junior,
        first_name="王老师",
        nickname="王老师",
    )
    _account(
        ctx,
        "teacher2",
        f"teacher at another school, {kaifu_junior.name}",
        is_teacher=True,
        school=kaifu_junior,
        first_name="李老师",
        nickname="李老师",
    )
    _account(ctx, "volunteer", "volunteer (a parent)", is_volunteer=True, nickname="热心家长")

    classes = list(yuelu_junior.classes.order_by("grade", "name"))
    _account(
        ctx,
        "student",
        f"student, {yuelu_junior.name} {classes[0].label}",
        is_student=True,
        school_class=classes[0],
        nickname="小晴",
    )
    for number, nickname in enumerate(STUDENT_NICKNAMES[1:], start=1):
        user, _ = User.objects.update_or_create(
            username=f"demo-student-{number:02d}",
            defaults={
                "is_student": True,
                "school_class": classes[number % len(classes)],
                "nickname": nickname,
            },
        )
        if not user.has_usable_password():
            continue
        user.set_unusable_password()
        user.save(update_fields=["password"])
