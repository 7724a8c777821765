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
