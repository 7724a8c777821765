"""Plain factory functions for tests: each makes one valid object, with overridable fields."""

import itertools

from campaigns.models import Campaign
from edu.models import Region, School, SchoolClass, User

_seq = itertools.count(1)


def region(
    *, code: str | None = None, name: str = "", level: int = 1, parent: Region | None = None, **fields
) -> Region:
    n = next(_seq)
    return Region.objects.create(
        code=code or f"R{n:05d}",
        name=name or f"地区{n}",
        name_en=fields.pop("name_en", f"Region {n}"),
        level=level,
        parent=parent,
        **fields,
    )


def school(*, region: Region, code: str | None = None, name: str = "", **fields) -> School:
    n = next(_seq)
    fields.setdefault("level", School.Level.JUNIOR)
    fields.setdefault("student_headcount", 600)
    return School.objects.create(code=code or f"S{n:06d}", name=name or f"第{n}中学", region=region, **fields)


def school_class(*, school: School, grade: int = 7, name: str = "", **fields) -> SchoolClass:
    n = next(_seq)
    fields.setdefault("headcount", 45)
    return SchoolClass.objects.create(school=school, grade=grade, name=name or f"{n}班", **fields)


def user(*, username: str | None = None, password: str = "correct-horse-battery", **fields) -> User:
    account = User.objects.create(username=username or f"user{next(_seq)}", **fields)
    account.set_password(password)
    account.save(update_fields=["password"])
    return account


def campaign(*, region: Region, title: str = "", **fields) -> Campaign:
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    fields.setdefault("starts_on", today - dt.timedelta(days=5))
    fields.setdefault("ends_on", today + dt.timedelta(days=25))
    return Campaign.objects.create(region=region, title=title or f"活动{next(_seq)}", **fields)


def roster_student(*, school_class: SchoolClass, real_name: str = "", student_number: str = "", **fields):
    """A student on the school's roster with their (unclaimed) account in the class."""
    from edu.models import Student

    n = next(_seq)
    number = student_number or f"2025{n:06d}"
    account = User.objects.create(
        username=f"s{number.lower()}", is_student=True, school_class=school_class, nickname=f"学{n % 10}"
    )
    account.set_unusable_password()
    account.save(update_fields=["password"])
    return Student.objects.create(
        user=account,
        school=school_class.school,
        real_name=real_name or f"学生{n}",
        student_number=number,
        **fields,
    )


def term(*, region: Region, grades=(7, 8, 9), title: str = "", **fields):
    """A second-classroom term: its campaign and its grades and targets."""
    from campaigns.models import Term

    campaign_keys = ("starts_on", "ends_on", "is_published")
    campaign_fields = {key: fields.pop(key) for key in campaign_keys if key in fields}
    owner = campaign(
        region=region,
        title=title or f"第二课堂{next(_seq)}",
        kind=Campaign.Kind.SECOND_CLASSROOM,
        **campaign_fields,
    )
    return Term.objects.create(campaign=owner, grades=list(grades), **fields)
