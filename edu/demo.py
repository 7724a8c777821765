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


DEMO_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
DEMO_GIVEN_NAMES = [
    "子涵", "欣怡", "梓轩", "浩然", "雨桐", "一诺", "宇轩", "思琪", "俊熙", "可馨", "博文", "诗涵",
    "明轩", "佳怡", "天佑", "若曦", "嘉懿", "晨阳", "语桐", "皓轩",
]  # fmt: skip
DEMO_ROSTER_PER_CLASS = 12


@demo_loader(order=5)
def load_roster(ctx: DemoContext) -> None:
    """A roster for the demo teacher's school: 12 students a class, two thirds of them registered."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from edu.models import Student
    from edu.roster_parsing import ParsedStudent
    from edu.rosters import roster_import

    teacher = ctx.users["teacher"]
    school = teacher.school
    students = []
    for klass in school.classes.filter(graduated_on__isnull=True).order_by("grade", "name"):
        for number in range(1, DEMO_ROSTER_PER_CLASS + 1):
            seed = klass.grade * 31 + int(klass.name.rstrip("班") or 0) * 7 + number
            students.append(
                ParsedStudent(
                    row=len(students) + 2,
                    name=DEMO_SURNAMES[seed % len(DEMO_SURNAMES)]
                    + DEMO_GIVEN_NAMES[seed % len(DEMO_GIVEN_NAMES)],
                    student_number=f"{school.code}{klass.grade:02d}{klass.name.rstrip('班'):0>2}{number:02d}",
                    grade=klass.grade,
                    class_name=klass.name,
                    gender="F" if number % 2 else "M",
                    birth_date=dt.date(ctx.today.year - klass.grade - 6, 1 + number % 12, 1 + seed % 28),
                )
            )
    now = timezone.now()
    result = roster_import(school=school, students=students, by=teacher, now=now)
    if result.errors:
        raise RuntimeError(f"The demo roster does not import: {result.errors[:3]}")
    # Two thirds have claimed their account; they sign in with the demo password (hashed once for all).
    password = make_password(DEMO_PASSWORD)
    claimed = Student.objects.filter(
        school=school, claimed_at__isnull=True, student_number__regex=r"(0[1-8])$"
    )
    User.objects.filter(student_record__in=claimed).update(password=password)
    claimed.update(claimed_at=now)
    for klass in school.classes.filter(grade=7, graduated_on__isnull=True):
        klass.teachers.add(teacher)
    sample = Student.objects.filter(school=school).order_by("student_number").select_related("user").first()
    if sample is not None:
        ctx.accounts.append((sample.user.username, f"student on the roster of {school.name}"))
