"""Tests for the pure volunteer hour rules: worked examples first, then properties over many cases."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volunteers.hour_rules import (
    DEFAULT_RULES,
    Approver,
    HourRules,
    Interval,
    NaiveDatetimeError,
    RuleCode,
    approver_for_day,
    auto_checkout,
    check_record,
    credited_interval,
    day_window,
    minutes_by_day,
    next_star,
    star_level,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0, second: int = 0, *, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


def span(start: datetime, end: datetime) -> Interval:
    return Interval(start=start, end=end)


# --- worked examples -------------------------------------------------------------------------------------


def test_a_normal_three_hour_shift_is_approved_by_the_activity_organiser():
    verdict = check_record(new=span(at(26, 9), at(26, 12)), existing=[], now=NOW)

    assert verdict.ok
    assert verdict.approver is Approver.ACTIVITY
    assert verdict.errors == ()
    assert verdict.minutes == 180
    assert verdict.by_day == {date(2026, 6, 26): 180}
    assert verdict.backfill is False


def test_exactly_eight_hours_stays_with_the_activity_organiser():
    verdict = check_record(new=span(at(26, 8), at(26, 16)), existing=[], now=NOW)

    assert verdict.approver is Approver.ACTIVITY


def test_nine_hours_in_one_record_needs_the_campaign_organiser():
    verdict = check_record(new=span(at(26, 8), at(26, 17)), existing=[], now=NOW)

    assert verdict.ok
    assert verdict.approver is Approver.CAMPAIGN


def test_nine_hours_over_two_records_on_one_day_needs_the_campaign_organiser():
    morning = span(at(26, 8), at(26, 12))

    verdict = check_record(new=span(at(26, 13), at(26, 18)), existing=[morning], now=NOW)

    assert verdict.ok
    assert verdict.approver is Approver.CAMPAIGN


def test_thirteen_hours_in_one_day_is_refused_with_the_day_total():
    morning = span(at(26, 6), at(26, 12))

    verdict = check_record(new=span(at(26, 13), at(26, 20)), existing=[morning], now=NOW)

    assert not verdict.ok
    assert verdict.approver is None
    assert [(error.code, error.params) for error in verdict.errors] == [
        (RuleCode.DAILY_LIMIT, {"day": "2026-06-26", "minutes": 780, "limit": 720}),
    ]


def test_a_single_thirteen_hour_record_is_too_long_as_well():
    verdict = check_record(new=span(at(26, 7), at(26, 20)), existing=[], now=NOW)

    assert verdict.codes == {"too_long", "daily_limit"}
    too_long = next(error for error in verdict.errors if error.code == RuleCode.TOO_LONG)
    assert too_long.params == {"minutes": 780, "limit": 720}


def test_an_overnight_record_longer_than_the_ceiling_is_too_long_even_if_each_day_is_fine():
    # 18:00 to 08:00 is 6 h + 8 h: no single day is over, but nobody serves 14 h in one go.
    verdict = check_record(new=span(at(25, 18), at(26, 8)), existing=[], now=NOW)

    assert verdict.codes == {"too_long"}


def test_an_overnight_shift_splits_its_minutes_across_the_two_days():
    new = span(at(25, 22), at(26, 2))

    assert minutes_by_day(start=new.start, end=new.end, tz=SHANGHAI) == {
        date(2026, 6, 25): 120,
        date(2026, 6, 26): 120,
    }
    verdict = check_record(new=new, existing=[], now=NOW)
    assert verdict.ok
    assert verdict.minutes == 240
    assert verdict.by_day == {date(2026, 6, 25): 120, date(2026, 6, 26): 120}


def test_the_calendar_day_is_the_configured_zone_not_utc():
    # 22:00-02:00 in Shanghai is 14:00-18:00 UTC: a single UTC day, but two days where the volunteer lives.
    new = Interval(start=datetime(2026, 6, 25, 14, tzinfo=UTC), end=datetime(2026, 6, 25, 18, tzinfo=UTC))

    assert minutes_by_day(start=new.start, end=new.end, tz=SHANGHAI) == {
        date(2026, 6, 25): 120,
        date(2026, 6, 26): 120,
    }


def test_an_overnight_record_takes_the_highest_approver_over_the_days_it_touches():
    # The 26th already has 10 h; adding 22:00-02:00 leaves the 25th light but makes the 26th 12 h.
    long_day = span(at(26, 8), at(26, 18))

    verdict = check_record(new=span(at(25, 22), at(26, 2)), existing=[long_day], now=NOW)

    assert verdict.ok
    assert verdict.approver is Approver.CAMPAIGN


def test_an_overnight_record_is_refused_when_its_second_day_goes_over():
    long_day = span(at(26, 8), at(26, 19))

    verdict = check_record(new=span(at(25, 22), at(26, 2)), existing=[long_day], now=NOW)

    assert [(error.code, error.params["day"]) for error in verdict.errors] == [
        (RuleCode.DAILY_LIMIT, "2026-06-26")
    ]


def test_records_on_other_days_do_not_count_towards_the_day():
    other_days = [span(at(24, 8), at(24, 19)), span(at(27, 8), at(27, 19))]

    verdict = check_record(new=span(at(26, 9), at(26, 12)), existing=other_days, now=NOW)

    assert verdict.approver is Approver.ACTIVITY


def test_touching_records_do_not_overlap():
    existing = [span(at(26, 9), at(26, 10)), span(at(26, 11), at(26, 12))]

    verdict = check_record(new=span(at(26, 10), at(26, 11)), existing=existing, now=NOW)

    assert verdict.ok


def test_an_overlapping_record_is_refused_naming_the_first_clash():
    existing = [span(at(26, 13), at(26, 15)), span(at(26, 9), at(26, 11))]

    verdict = check_record(new=span(at(26, 10), at(26, 14)), existing=existing, now=NOW)

    assert not verdict.ok
    assert [(error.code, error.params) for error in verdict.errors] == [
        (
            RuleCode.OVERLAP,
            {"start": "2026-06-26T09:00:00+08:00", "end": "2026-06-26T11:00:00+08:00", "count": 2},
        ),
    ]


def test_overlap_is_judged_on_instants_whatever_zone_each_record_was_written_in():
    in_utc = Interval(start=datetime(2026, 6, 26, 1, tzinfo=UTC), end=datetime(2026, 6, 26, 3, tzinfo=UTC))

    verdict = check_record(new=span(at(26, 10), at(26, 12)), existing=[in_utc], now=NOW)

    assert verdict.codes == {"overlap"}


def test_hours_in_the_future_are_refused():
    verdict = check_record(new=span(at(30, 9), at(30, 13)), existing=[], now=NOW)

    assert [(error.code, error.params) for error in verdict.errors] == [
        (
            RuleCode.FUTURE,
            {"end": "2026-06-30T13:00:00+08:00", "now": "2026-06-30T12:00:00+08:00", "max_skew_minutes": 0},
        ),
    ]


def test_a_record_ending_now_is_not_in_the_future():
    assert check_record(new=span(at(30, 9), NOW), existing=[], now=NOW).ok


def test_the_clock_skew_allowance_tolerates_a_device_a_little_ahead():
    new = span(at(30, 9), NOW + timedelta(minutes=2))
    lenient = HourRules(max_clock_skew_minutes=2)

    assert check_record(new=new, existing=[], now=NOW, rules=lenient).ok
    assert check_record(new=new, existing=[], now=NOW).codes == {"future"}


@pytest.mark.parametrize(
    ("start", "end"),
    [(at(26, 10), at(26, 10)), (at(26, 11), at(26, 10)), (at(26, 10), at(26, 10, 0, 59))],
    ids=["zero length", "reversed", "under a minute"],
)
def test_a_record_without_a_whole_minute_is_refused(start, end):
    verdict = check_record(new=span(start, end), existing=[], now=NOW)

    assert verdict.codes == {"not_positive"}
    assert verdict.minutes == 0
    assert verdict.by_day == {}


def test_part_minutes_are_rounded_down():
    verdict = check_record(new=span(at(26, 9, 0, 30), at(26, 10, 0, 10)), existing=[], now=NOW)

    assert verdict.minutes == 59


def test_a_recent_backfill_is_allowed_and_flagged():
    verdict = check_record(
        new=span(at(1, 9, month=4), at(1, 12, month=4)), existing=[], now=NOW, backfill=True
    )

    assert verdict.ok
    assert verdict.backfill is True


def test_a_backfill_older_than_the_window_is_refused():
    # 2026-06-30 is 90 days after 2026-04-01 and 91 days after 2026-03-31.
    new = span(at(31, 9, month=3), at(31, 12, month=3))

    verdict = check_record(new=new, existing=[], now=NOW, backfill=True)

    assert [(error.code, error.params) for error in verdict.errors] == [
        (RuleCode.BACKFILL_TOO_OLD, {"service_date": "2026-03-31", "days": 91, "limit": 90}),
    ]


def test_the_backfill_window_only_applies_to_backfills_and_can_be_switched_off():
    new = span(at(1, 9, month=1), at(1, 12, month=1))

    assert check_record(new=new, existing=[], now=NOW).ok
    assert check_record(
        new=new, existing=[], now=NOW, backfill=True, rules=HourRules(backfill_window_days=None)
    ).ok


def test_naive_datetimes_are_a_programming_error():
    with pytest.raises(NaiveDatetimeError) as excinfo:
        Interval(start=datetime(2026, 6, 26, 9), end=at(26, 10))
    assert excinfo.value.code == RuleCode.NAIVE_DATETIME
    assert isinstance(excinfo.value, ValueError)

    with pytest.raises(ValueError, match="now"):
        check_record(new=span(at(26, 9), at(26, 10)), existing=[], now=datetime(2026, 6, 30, 12))
    with pytest.raises(ValueError, match="end"):
        minutes_by_day(start=at(26, 9), end=datetime(2026, 6, 26, 10), tz=SHANGHAI)
    with pytest.raises(ValueError, match="check_out"):
        credited_interval(
            check_in=at(26, 9),
            check_out=datetime(2026, 6, 26, 10),
            shift_start=at(26, 9),
            shift_end=at(26, 12),
        )


def test_an_early_check_in_is_credited_from_the_shift_start():
    credited = credited_interval(
        check_in=at(26, 8, 30), check_out=at(26, 11, 45), shift_start=at(26, 9), shift_end=at(26, 12)
    )

    assert credited == span(at(26, 9), at(26, 11, 45))
    assert credited.minutes == 165


def test_a_late_check_out_is_credited_up_to_the_shift_end():
    credited = credited_interval(
        check_in=at(26, 9, 10), check_out=at(26, 17), shift_start=at(26, 9), shift_end=at(26, 12)
    )

    assert credited == span(at(26, 9, 10), at(26, 12))


def test_a_missed_check_out_closes_at_the_shift_end():
    assert auto_checkout(check_in=at(26, 9, 5), shift_end=at(26, 12)) == at(26, 12)

    credited = credited_interval(
        check_in=at(26, 9, 5), check_out=None, shift_start=at(26, 9), shift_end=at(26, 12)
    )

    assert credited == span(at(26, 9, 5), at(26, 12))
    assert check_record(new=credited, existing=[], now=NOW).ok


def test_a_check_in_after_the_shift_end_gives_an_empty_record_that_is_flagged():
    assert auto_checkout(check_in=at(26, 12, 30), shift_end=at(26, 12)) == at(26, 12, 30)

    credited = credited_interval(
        check_in=at(26, 12, 30), check_out=None, shift_start=at(26, 9), shift_end=at(26, 12)
    )

    assert credited.is_empty
    assert check_record(new=credited, existing=[], now=NOW).codes == {"not_positive"}


def test_credited_interval_refuses_impossible_input():
    with pytest.raises(ValueError, match="shift_end"):
        credited_interval(
            check_in=at(26, 9), check_out=at(26, 10), shift_start=at(26, 12), shift_end=at(26, 9)
        )
    with pytest.raises(ValueError, match="check_out"):
        credited_interval(
            check_in=at(26, 10), check_out=at(26, 9), shift_start=at(26, 9), shift_end=at(26, 12)
        )


@pytest.mark.parametrize(("level", "hours"), list(enumerate([100, 300, 600, 1000, 1500], start=1)))
def test_star_levels_change_exactly_at_each_threshold(level, hours):
    assert star_level(approved_minutes=hours * 60 - 1) == level - 1
    assert star_level(approved_minutes=hours * 60) == level
    assert next_star(approved_minutes=hours * 60 - 1) == (level, 1)


def test_star_levels_at_the_ends():
    assert star_level(approved_minutes=0) == 0
    assert next_star(approved_minutes=0) == (1, 6000)
    assert star_level(approved_minutes=99 * 60 + 59) == 0
    assert star_level(approved_minutes=100 * 60) == 1
    assert next_star(approved_minutes=100 * 60) == (2, 200 * 60)
    assert star_level(approved_minutes=10_000 * 60) == 5
    assert next_star(approved_minutes=1500 * 60) is None
    with pytest.raises(ValueError):
        star_level(approved_minutes=-1)


def test_minutes_count_elapsed_time_across_a_daylight_saving_change():
    # New York springs forward at 02:00 on 2026-03-08: midnight to 04:00 that day is three real hours.
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, 0, tzinfo=new_york)
    end = datetime(2026, 3, 8, 4, tzinfo=new_york)

    assert Interval(start=start, end=end).minutes == 180
    assert minutes_by_day(start=start, end=end, tz=new_york) == {date(2026, 3, 8): 180}
    # The day it falls back has 25 hours.
    fall_back = date(2026, 11, 1)
    day_start = datetime(2026, 11, 1, tzinfo=new_york)
    day_end = datetime(2026, 11, 2, tzinfo=new_york)
    assert minutes_by_day(start=day_start, end=day_end, tz=new_york) == {fall_back: 25 * 60}


def test_day_window_covers_the_local_days_of_the_record():
    window = day_window(interval=span(at(25, 22), at(26, 2)))

    assert window == span(at(25, 0), at(27, 0))


def test_rules_refuse_inconsistent_configuration():
    with pytest.raises(ValueError):
        HourRules(activity_max_daily_minutes=13 * 60)
    with pytest.raises(ValueError):
        HourRules(star_threshold_hours=(100, 100))
    with pytest.raises(ValueError):
        HourRules(time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        HourRules(max_clock_skew_minutes=-1)


# --- properties ------------------------------------------------------------------------------------------

# Zones with DST changes, half-hour DST and odd offsets, as well as the default one.
ZONES = [
    "Asia/Shanghai",
    "UTC",
    "America/New_York",
    "Europe/London",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
]
# New York springs forward on 2026-03-08, inside the three days the record strategies crowd into.
ORIGIN = datetime(2026, 3, 7, tzinfo=UTC)


def _minute_grid_interval(start_minute: int, length: int) -> Interval:
    return Interval(
        start=ORIGIN + timedelta(minutes=start_minute), end=ORIGIN + timedelta(minutes=start_minute + length)
    )


def _minute_set(interval: Interval) -> set[int]:
    first = (interval.start.astimezone(UTC) - ORIGIN) // timedelta(minutes=1)
    return set(range(first, first + interval.minutes))


def _day_totals(records: list[Interval], tz: ZoneInfo) -> dict[date, int]:
    # Independent of minutes_by_day: count every served minute by the local date it starts in.
    totals: dict[date, int] = {}
    for record in records:
        for minute in _minute_set(record):
            day = (ORIGIN + timedelta(minutes=minute)).astimezone(tz).date()
            totals[day] = totals.get(day, 0) + 1
    return totals


# Three days of starts and up to 16 h per record crowd records together, so overlaps and full days are common.
grid_intervals = st.builds(_minute_grid_interval, st.integers(0, 3 * 24 * 60), st.integers(1, 16 * 60))


@st.composite
def rules_strategy(draw: st.DrawFn) -> HourRules:
    activity = draw(st.integers(30, 10 * 60))
    hard = draw(st.integers(activity, 14 * 60))
    return HourRules(
        activity_max_daily_minutes=activity, max_daily_minutes=hard, time_zone=draw(st.sampled_from(ZONES))
    )


any_instant = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2040, 1, 1),
    timezones=st.sampled_from([ZoneInfo(name) for name in ZONES]),
)


@given(
    start=any_instant,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
    zone=st.sampled_from(ZONES),
)
def test_minutes_by_day_sums_to_the_total_over_the_local_days_touched(start, length, zone):
    tz = ZoneInfo(zone)
    end = (start.astimezone(UTC) + length).astimezone(start.tzinfo)
    interval = Interval(start=start, end=end)

    by_day = minutes_by_day(start=start, end=end, tz=tz)

    assert sum(by_day.values()) == interval.minutes
    assert all(0 < minutes <= 25 * 60 for minutes in by_day.values())
    if by_day:
        first = start.astimezone(tz).date()
        last = (end - timedelta(microseconds=1)).astimezone(tz).date()
        assert first <= min(by_day) and max(by_day) <= last


@given(
    start_minute=st.integers(0, 365 * 24 * 60),
    length=st.integers(0, 3 * 24 * 60),
    zone=st.sampled_from(ZONES),
)
def test_minutes_by_day_matches_counting_each_minute_by_its_local_date(start_minute, length, zone):
    interval = _minute_grid_interval(start_minute, length)

    by_day = minutes_by_day(start=interval.start, end=interval.end, tz=ZoneInfo(zone))

    assert by_day == _day_totals([interval], ZoneInfo(zone))


@given(new=grid_intervals, existing=st.lists(grid_intervals, max_size=6))
def test_overlap_is_reported_exactly_when_the_record_shares_a_minute_with_another(new, existing):
    verdict = check_record(new=new, existing=existing, now=ORIGIN + timedelta(days=30))

    clashes = sum(1 for record in existing if _minute_set(record) & _minute_set(new))
    assert ("overlap" in verdict.codes) == (clashes > 0)
    if verdict.ok:
        assert all(not (_minute_set(record) & _minute_set(new)) for record in existing)


@settings(max_examples=200)
@given(candidates=st.lists(grid_intervals, min_size=1, max_size=25), rules=rules_strategy())
def test_accepting_records_one_by_one_never_puts_a_day_over_the_limit(candidates, rules):
    accepted: list[Interval] = []
    for candidate in candidates:
        verdict = check_record(new=candidate, existing=accepted, now=ORIGIN + timedelta(days=30), rules=rules)
        if verdict.ok:
            accepted.append(candidate)

    totals = _day_totals(accepted, rules.tz)
    assert all(total <= rules.max_daily_minutes for total in totals.values())
    seen: set[int] = set()
    for record in accepted:
        assert not (seen & _minute_set(record))
        seen |= _minute_set(record)


def _rank(approver: Approver | None) -> int:
    return {Approver.ACTIVITY: 1, Approver.CAMPAIGN: 2, None: 3}[approver]


@given(smaller=st.integers(0, 48 * 60), extra=st.integers(0, 48 * 60), rules=rules_strategy())
def test_the_approver_level_never_drops_as_the_days_total_grows(smaller, extra, rules):
    assert _rank(approver_for_day(minutes=smaller, rules=rules)) <= _rank(
        approver_for_day(minutes=smaller + extra, rules=rules)
    )


@given(already=st.integers(0, 10 * 60), shorter=st.integers(1, 12 * 60), longer_by=st.integers(0, 12 * 60))
def test_a_longer_record_on_the_same_day_never_needs_a_lower_approver(already, shorter, longer_by):
    # An earlier record from midnight, then the new one straight after it, kept within the same local day.
    day_start = at(26, 0)
    existing = [span(day_start, day_start + timedelta(minutes=already))] if already else []
    begin = day_start + timedelta(minutes=already)

    def judged(length: int) -> int:
        end = min(begin + timedelta(minutes=length), at(27, 0))
        verdict = check_record(new=span(begin, end), existing=existing, now=NOW)
        return _rank(verdict.approver) if verdict.ok else 3

    assert judged(shorter) <= judged(shorter + longer_by)


@given(minutes=st.integers(0, 3000 * 60), more=st.integers(0, 3000 * 60))
def test_star_level_never_drops_and_next_star_is_exact(minutes, more):
    assert star_level(approved_minutes=minutes) <= star_level(approved_minutes=minutes + more)
    upcoming = next_star(approved_minutes=minutes)
    if upcoming is None:
        assert star_level(approved_minutes=minutes) == len(DEFAULT_RULES.star_threshold_hours)
    else:
        level, to_go = upcoming
        assert to_go > 0
        assert star_level(approved_minutes=minutes + to_go) == level
        assert star_level(approved_minutes=minutes + to_go - 1) == level - 1
