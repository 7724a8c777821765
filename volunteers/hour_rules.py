"""Pure rules for volunteer service hours: which records are valid, who must approve them, star levels."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE = timedelta(minutes=1)


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the rules; always a programming error, never user input."""

    code = "naive_datetime"

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} must be a timezone-aware datetime")
        self.params = {"field": name}


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(name)


def _utc(value: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo compare and subtract as wall clocks, which is wrong across a DST
    # change; going through UTC makes every comparison and duration an elapsed-time one.
    return value.astimezone(UTC)


def _whole_minutes(start: datetime, end: datetime) -> int:
    return (_utc(end) - _utc(start)) // MINUTE


@dataclass(frozen=True)
class Interval:
    """A span [start, end) of actual service; start and end must be timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)

    @property
    def is_empty(self) -> bool:
        return _utc(self.end) <= _utc(self.start)

    @property
    def minutes(self) -> int:
        """Whole minutes served, rounded down; 0 for an empty or reversed interval."""
        return max(0, _whole_minutes(self.start, self.end))

    def overlaps(self, other: "Interval") -> bool:
        # Half-open intervals: 9:00-10:00 and 10:00-11:00 share no instant. An empty record holds no time, so
        # it cannot collide with anything even when it sits inside another record.
        if self.is_empty or other.is_empty:
            return False
        return _utc(self.start) < _utc(other.end) and _utc(other.start) < _utc(self.end)


class Approver(StrEnum):
    ACTIVITY = "activity"
    CAMPAIGN = "campaign"


_APPROVER_RANK = {Approver.ACTIVITY: 1, Approver.CAMPAIGN: 2}


class RuleCode(StrEnum):
    FUTURE = "future"
    NOT_POSITIVE = "not_positive"
    OVERLAP = "overlap"
    DAILY_LIMIT = "daily_limit"
    TOO_LONG = "too_long"
    BACKFILL_TOO_OLD = "backfill_too_old"
    NAIVE_DATETIME = "naive_datetime"


@dataclass(frozen=True)
class RuleError:
    """A broken rule as a stable code plus plain values, so the Django layer can word it in any language."""

    code: RuleCode
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class HourRules:
    """The configurable numbers behind the rules; the defaults follow the common Chinese practice."""

    # Up to this many minutes per person per local day the activity's organiser may approve.
    activity_max_daily_minutes: int = 8 * 60
    # Above the activity limit and up to this one the campaign's organiser must approve; beyond it, refused.
    max_daily_minutes: int = 12 * 60
    # Tolerates a check-out stamped by a device whose clock runs slightly ahead of the server's.
    max_clock_skew_minutes: int = 0
    # None lets a backfilled record be any age.
    backfill_window_days: int | None = 90
    time_zone: str = "Asia/Shanghai"
    star_threshold_hours: tuple[int, ...] = (100, 300, 600, 1000, 1500)

    def __post_init__(self) -> None:
        if not 0 < self.activity_max_daily_minutes <= self.max_daily_minutes:
            raise ValueError("need 0 < activity_max_daily_minutes <= max_daily_minutes")
        if self.max_clock_skew_minutes < 0:
            raise ValueError("max_clock_skew_minutes must not be negative")
        if self.backfill_window_days is not None and self.backfill_window_days < 0:
            raise ValueError("backfill_window_days must not be negative")
        thresholds = self.star_threshold_hours
        if any(hours <= 0 for hours in thresholds) or any(
            a >= b for a, b in zip(thresholds, thresholds[1:], strict=False)
        ):
            raise ValueError("star_threshold_hours must be positive and strictly increasing")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


DEFAULT_RULES = HourRules()


@dataclass(frozen=True)
class Verdict:
    """The outcome of check_record; approver is None exactly when the record is refused."""

    ok: bool
    approver: Approver | None
    errors: tuple[RuleError, ...]
    minutes: int
    by_day: dict[date, int]
    backfill: bool = False

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(error.code for error in self.errors)


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def minutes_by_day(*, start: datetime, end: datetime, tz: tzinfo) -> dict[date, int]:
    """Whole minutes of [start, end) on each calendar day of tz it touches; the values sum to the total."""
    _require_aware("start", start)
    _require_aware("end", end)
    result: dict[date, int] = {}
    if _utc(end) <= _utc(start):
        return result
    day = start.astimezone(tz).date()
    credited = 0
    while True:
        boundary = min(_local_midnight(day + timedelta(days=1), tz), end, key=_utc)
        # Round the running total, not each day's share, so an overnight record is worth exactly as many
        # minutes as the same record measured in one piece.
        elapsed = _whole_minutes(start, boundary)
        if elapsed > credited:
            result[day] = elapsed - credited
        credited = elapsed
        if _utc(boundary) >= _utc(end):
            return result
        # Taking the date from the boundary itself copes with zones that once skipped a whole calendar day.
        day = max(day + timedelta(days=1), boundary.astimezone(tz).date())


def day_window(*, interval: Interval, rules: HourRules = DEFAULT_RULES) -> Interval:
    """The local days interval touches, midnight to midnight: the only existing records check_record needs."""
    tz = rules.tz
    first = interval.start.astimezone(tz).date()
    last = max(interval.end, interval.start, key=_utc).astimezone(tz).date()
    return Interval(start=_local_midnight(first, tz), end=_local_midnight(last + timedelta(days=1), tz))


def approver_for_day(*, minutes: int, rules: HourRules = DEFAULT_RULES) -> Approver | None:
    """Who may approve a day on which a person has served this many minutes in total; None means refused."""
    if minutes <= rules.activity_max_daily_minutes:
        return Approver.ACTIVITY
    if minutes <= rules.max_daily_minutes:
        return Approver.CAMPAIGN
    return None


def check_record(
    *,
    new: Interval,
    existing: Sequence[Interval],
    now: datetime,
    rules: HourRules = DEFAULT_RULES,
    backfill: bool = False,
) -> Verdict:
    """Judge a new hour record against the person's pending and approved records (rejected ones left out).

    When a record is being edited, leave its old version out of existing. Records outside day_window(new)
    make no difference, so the caller may pass only those.
    """
    _require_aware("now", now)
    tz = rules.tz
    errors: list[RuleError] = []
    minutes = new.minutes

    # A record shorter than a minute earns nothing, so it is refused like an empty one, not stored as 0.
    if minutes == 0:
        errors.append(
            RuleError(RuleCode.NOT_POSITIVE, {"start": new.start.isoformat(), "end": new.end.isoformat()})
        )
    if _utc(new.end) > _utc(now) + rules.max_clock_skew_minutes * MINUTE:
        errors.append(
            RuleError(
                RuleCode.FUTURE,
                {
                    "end": new.end.isoformat(),
                    "now": now.isoformat(),
                    "max_skew_minutes": rules.max_clock_skew_minutes,
                },
            )
        )
    if minutes > rules.max_daily_minutes:
        errors.append(RuleError(RuleCode.TOO_LONG, {"minutes": minutes, "limit": rules.max_daily_minutes}))
    if backfill and rules.backfill_window_days is not None:
        # The service date is the local day the service began, which is how certificates and activities
        # name it.
        service_date = new.start.astimezone(tz).date()
        age_days = (now.astimezone(tz).date() - service_date).days
        if age_days > rules.backfill_window_days:
            errors.append(
                RuleError(
                    RuleCode.BACKFILL_TOO_OLD,
                    {
                        "service_date": service_date.isoformat(),
                        "days": age_days,
                        "limit": rules.backfill_window_days,
                    },
                )
            )

    by_day = minutes_by_day(start=new.start, end=new.end, tz=tz) if minutes else {}

    overlapping = [record for record in existing if record.overlaps(new)]
    if overlapping:
        first = min(overlapping, key=lambda record: _utc(record.start))
        errors.append(
            RuleError(
                RuleCode.OVERLAP,
                {"start": first.start.isoformat(), "end": first.end.isoformat(), "count": len(overlapping)},
            )
        )

    day_totals = dict(by_day)
    if by_day:
        window = day_window(interval=new, rules=rules)
        for record in existing:
            if not record.overlaps(window):
                continue
            for day, day_minutes in minutes_by_day(start=record.start, end=record.end, tz=tz).items():
                if day in day_totals:
                    day_totals[day] += day_minutes

    approver: Approver | None = None
    for day, total in sorted(day_totals.items()):
        needed = approver_for_day(minutes=total, rules=rules)
        if needed is None:
            errors.append(
                RuleError(
                    RuleCode.DAILY_LIMIT,
                    {"day": day.isoformat(), "minutes": total, "limit": rules.max_daily_minutes},
                )
            )
        elif approver is None or _APPROVER_RANK[needed] > _APPROVER_RANK[approver]:
            approver = needed

    ok = not errors
    return Verdict(
        ok=ok,
        approver=approver if ok else None,
        errors=tuple(errors),
        minutes=minutes,
        by_day=by_day,
        backfill=backfill,
    )


def star_level(*, approved_minutes: int, rules: HourRules = DEFAULT_RULES) -> int:
    """Stars (0 to 5 with the default thresholds) earned by this many approved minutes."""
    if approved_minutes < 0:
        raise ValueError("approved_minutes must not be negative")
    return sum(1 for hours in rules.star_threshold_hours if approved_minutes >= hours * 60)


def next_star(*, approved_minutes: int, rules: HourRules = DEFAULT_RULES) -> tuple[int, int] | None:
    """The next star level and the approved minutes still needed for it; None at the top level."""
    level = star_level(approved_minutes=approved_minutes, rules=rules)
    if level == len(rules.star_threshold_hours):
        return None
    return level + 1, rules.star_threshold_hours[level] * 60 - approved_minutes


def auto_checkout(*, check_in: datetime, shift_end: datetime) -> datetime:
    """Where a missed check-out closes: the shift's end, or check_in itself if the person came after the end.

    The second case gives an empty record, which check_record refuses as not_positive so a person looks at it.
    """
    _require_aware("check_in", check_in)
    _require_aware("shift_end", shift_end)
    return max(check_in, shift_end, key=_utc)


def credited_interval(
    *,
    check_in: datetime,
    check_out: datetime | None,
    shift_start: datetime,
    shift_end: datetime,
) -> Interval:
    """The time to credit for one check-in/out pair: the part of it that falls within the shift.

    Arriving early is not service, and neither is staying on after the shift: capping the end also keeps a
    check-out remembered hours later from crediting those hours. No check-out closes at the shift's end.
    An empty result (the pair misses the shift) is refused by check_record as not_positive.
    """
    for name, value in (("check_in", check_in), ("shift_start", shift_start), ("shift_end", shift_end)):
        _require_aware(name, value)
    if _utc(shift_end) <= _utc(shift_start):
        raise ValueError("shift_end must be after shift_start")
    if check_out is None:
        check_out = auto_checkout(check_in=check_in, shift_end=shift_end)
    _require_aware("check_out", check_out)
    if _utc(check_out) < _utc(check_in):
        raise ValueError("check_out must not be before check_in")
    start = max(check_in, shift_start, key=_utc)
    end = max(start, min(check_out, shift_end, key=_utc), key=_utc)
    return Interval(start=start, end=end)
