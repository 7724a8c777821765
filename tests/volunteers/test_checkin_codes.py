"""The rotating check-in token: pure, so tested without a database."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volunteers.checkin_codes import TOKEN_LENGTH, current_token, minute_of, token_for, token_valid

SECRET = "s3cret-of-the-activity"
NOW = datetime(2026, 6, 26, 9, 30, 15, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_token_is_ten_base32_characters_and_depends_on_everything():
    token = token_for(SECRET, 7, 1000)

    assert re.fullmatch(r"[A-Z2-7]{10}", token)
    assert len(token) == TOKEN_LENGTH
    assert token == token_for(SECRET, 7, 1000)
    assert token != token_for(SECRET, 8, 1000)
    assert token != token_for(SECRET, 7, 1001)
    assert token != token_for("another secret", 7, 1000)


def test_the_minute_is_the_same_whatever_the_time_zone():
    assert minute_of(NOW) == minute_of(NOW.astimezone(UTC))
    assert minute_of(NOW + timedelta(seconds=44)) == minute_of(NOW)
    assert minute_of(NOW + timedelta(seconds=45)) == minute_of(NOW) + 1


def test_the_current_token_is_accepted_and_so_is_the_previous_minutes():
    token = current_token(SECRET, 7, NOW)

    assert token_valid(SECRET, 7, token, NOW)
    assert token_valid(SECRET, 7, token, NOW + timedelta(seconds=50))  # scanned at :59, sent at :00
    assert not token_valid(SECRET, 7, token, NOW + timedelta(minutes=2))


def test_a_token_of_another_activity_or_secret_is_refused():
    assert not token_valid(SECRET, 8, current_token(SECRET, 7, NOW), NOW)
    assert not token_valid(SECRET, 7, current_token("another secret", 7, NOW), NOW)


def test_a_typed_token_may_be_lower_case_or_spaced():
    token = current_token(SECRET, 7, NOW)

    assert token_valid(SECRET, 7, f" {token[:5].lower()} {token[5:]} ", NOW)


@pytest.mark.parametrize("token", ["", "ABC", "A" * 11, None])
def test_malformed_tokens_are_refused(token):
    assert not token_valid(SECRET, 7, token, NOW)


def test_naive_datetimes_are_a_programming_error():
    with pytest.raises(ValueError):
        minute_of(datetime(2026, 6, 26, 9, 30))


@given(minute=st.integers(min_value=0, max_value=10**8), offset=st.integers(min_value=-5, max_value=5))
def test_a_token_is_valid_exactly_in_its_minute_and_the_next(minute, offset):
    token = token_for(SECRET, 7, minute)
    scanned = datetime.fromtimestamp((minute + offset) * 60 + 30, tz=UTC)

    assert token_valid(SECRET, 7, token, scanned) is (offset in (0, 1))
