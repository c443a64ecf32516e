"""Business-calendar arithmetic: hand-checked deadlines, then properties against the oracles of calendar_oracle.

Hand-checked cases use an office open Monday to Friday 08:00-18:00 in Berlin unless they say otherwise. Spans
of days are compared with the minute oracle, spans of years and across New Year with the day walk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.config import ir
from runtime.config.desk import load_desk
from runtime.config.units import DAY_NAMES, parse_ranges
from runtime.sla.calendar import BusinessCalendar, CalendarNeverOpens
from tests.desk_fixtures import FIXTURES, overlay_desk
from tests.sla.calendar_oracle import (
    day_walk_add,
    day_walk_between,
    oracle_add,
    oracle_open_minutes,
    weekly_minutes,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
MINUTE = dt.timedelta(minutes=1)
SRC = ir.Src("tests/sla/test_calendar.py", ())
OFFICE = {"mon-fri": "08:00-18:00"}


def definition(hours: dict[str, str] | str = "", *, timezone: str = "Europe/Berlin", country: str | None = None,
               subdiv: str | None = None, dates: tuple[str, ...] = (),
               half_days: dict[str, str] | None = None) -> ir.Calendar:
    hours = hours or OFFICE
    rules = () if isinstance(hours, str) else tuple((days, parse_ranges(text)) for days, text in hours.items())
    return ir.Calendar(name="office", timezone=timezone, always_open=hours == "24x7", hour_rules=rules,
                       holiday_country=country, holiday_subdiv=subdiv, holiday_dates=dates,
                       half_days=tuple(ir.HalfDay(d, parse_ranges(h)) for d, h in (half_days or {}).items()), src=SRC)


def calendar(hours: dict[str, str] | str = "", **options: Any) -> BusinessCalendar:
    return BusinessCalendar.from_ir(definition(hours, **options))


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


# --- hand-checked deadlines ------------------------------------------------------------------------

def test_friday_half_past_five_plus_one_hour_is_monday_half_past_eight_in_utc() -> None:
    due = calendar().add(berlin(2025, 6, 20, 17, 30), HOUR)
    assert due == utc(2025, 6, 23, 6, 30)
    assert due.tzinfo is dt.UTC


def test_a_deadline_may_fall_on_the_closing_time_which_is_itself_closed() -> None:
    office = calendar()
    assert office.add(berlin(2025, 6, 20, 17), HOUR) == berlin(2025, 6, 20, 18)
    assert not office.is_open(berlin(2025, 6, 20, 18))
    assert office.is_open(berlin(2025, 6, 20, 17, 59, 59))
    assert office.next_open(berlin(2025, 6, 20, 18)) == berlin(2025, 6, 23, 8)


def test_start_outside_hours_counts_from_the_next_opening() -> None:
    office = calendar()
    assert office.add(berlin(2025, 6, 21, 10), 0) == berlin(2025, 6, 23, 8)  # a Saturday
    assert office.add(berlin(2025, 6, 23, 7), 0) == berlin(2025, 6, 23, 8)
    assert office.add(berlin(2025, 6, 23, 9), 0) == berlin(2025, 6, 23, 9)
    assert office.add(berlin(2025, 6, 23, 7), 90 * 60) == berlin(2025, 6, 23, 9, 30)


def test_lunch_break_is_not_business_time() -> None:
    office = calendar({"mon-fri": "08:00-12:30, 13:15-18:00"})
    assert office.add(berlin(2025, 6, 17, 12), HOUR) == berlin(2025, 6, 17, 13, 45)
    assert office.add(berlin(2025, 6, 17, 12, 45), 30 * 60) == berlin(2025, 6, 17, 13, 45)
    assert office.between(berlin(2025, 6, 17, 12), berlin(2025, 6, 17, 14)) == 75 * 60
    assert not office.is_open(berlin(2025, 6, 17, 12, 30))


def test_between_counts_seconds_in_a_half_open_range_rounded_down() -> None:
    office = calendar()
    monday = berlin(2025, 6, 23, 9)
    assert office.between(monday, monday + dt.timedelta(seconds=1.9)) == 1
    assert office.between(monday, monday) == 0
    assert office.between(monday + dt.timedelta(hours=1), monday) == 0
    assert office.between(berlin(2025, 6, 20, 17), berlin(2025, 6, 23, 9)) == 2 * HOUR


def test_christmas_days_are_closed_in_germany() -> None:
    office = calendar(country="DE", subdiv="BE")
    # 24 December is a working day; 25 and 26 are holidays, then a weekend.
    assert office.add(berlin(2025, 12, 24, 17), 2 * HOUR) == utc(2025, 12, 29, 8)


def test_new_year_is_closed_across_the_year_end() -> None:
    office = calendar(country="DE", subdiv="BE")
    assert office.add(berlin(2025, 12, 31, 17), 2 * HOUR) == berlin(2026, 1, 2, 9)
    assert office.between(berlin(2025, 12, 31, 17), berlin(2026, 1, 2, 9)) == 2 * HOUR


def test_womens_day_is_closed_in_berlin_but_not_in_all_of_germany() -> None:
    thursday_evening = berlin(2024, 3, 7, 17)
    assert calendar(country="DE", subdiv="BE").add(thursday_evening, 2 * HOUR) == berlin(2024, 3, 11, 9)
    assert calendar(country="DE").add(thursday_evening, 2 * HOUR) == berlin(2024, 3, 8, 9)


def test_listed_dates_are_closed() -> None:
    office = calendar(country="DE", subdiv="BE", dates=("2025-12-23",))
    assert office.add(berlin(2025, 12, 22, 17), 2 * HOUR) == berlin(2025, 12, 24, 9)
    assert not office.is_open(berlin(2025, 12, 23, 10))


def test_half_day_shortens_the_hours_of_its_date() -> None:
    office = calendar(country="DE", subdiv="BE", half_days={"2025-12-23": "08:00-12:00"})
    assert office.add(berlin(2025, 12, 22, 17), 4 * HOUR) == berlin(2025, 12, 23, 11)
    assert office.add(berlin(2025, 12, 22, 17), 5 * HOUR) == berlin(2025, 12, 23, 12)
    assert office.add(berlin(2025, 12, 22, 17), 6 * HOUR) == berlin(2025, 12, 24, 9)
    assert office.between(berlin(2025, 12, 23), berlin(2025, 12, 24)) == 4 * HOUR


def test_half_day_opens_a_holiday_or_a_weekend_day() -> None:
    office = calendar(country="DE", subdiv="BE", half_days={"2025-12-26": "09:00-11:00", "2025-12-27": "09:00-11:00"})
    assert office.between(berlin(2025, 12, 25), berlin(2025, 12, 29)) == 4 * HOUR
    assert office.is_open(berlin(2025, 12, 27, 10))
    assert not office.is_open(berlin(2025, 12, 25, 10))


def test_leap_day_is_an_ordinary_day_unless_listed() -> None:
    wednesday_evening = berlin(2024, 2, 28, 17)
    assert calendar().add(wednesday_evening, 2 * HOUR) == berlin(2024, 2, 29, 9)
    assert calendar(dates=("2024-02-29",)).add(wednesday_evening, 2 * HOUR) == berlin(2024, 3, 1, 9)


def test_two_thousand_business_hours_are_forty_weeks_without_holidays() -> None:
    start = berlin(2025, 1, 6, 8)
    assert calendar().add(start, 2000 * HOUR) == utc(2025, 10, 10, 16)
    assert calendar().between(start, utc(2025, 10, 10, 16)) == 2000 * HOUR


def test_whole_weeks_ahead_end_at_the_last_closing_time_not_the_next_opening() -> None:
    # From a Sunday, without holidays or clock changes, 2000 hours are exactly the next 40 weeks: the
    # whole-week shortcut must stop short of them, or it would land on the Monday after.
    utc_office = calendar(timezone="UTC")
    assert utc_office.add(utc(2025, 1, 5, 12), 2000 * HOUR) == utc(2025, 10, 10, 18)
    assert utc_office.add(utc(2025, 1, 5, 12), 50 * HOUR) == utc(2025, 1, 10, 18)


def test_two_thousand_business_hours_skip_the_seven_weekday_holidays_of_berlin_2025() -> None:
    # Good Friday, Easter Monday, 1 May, 8 May (2025 only), Ascension, Whit Monday, 3 October.
    office = calendar(country="DE", subdiv="BE")
    start = berlin(2025, 1, 6, 8)
    assert office.add(start, 2000 * HOUR) == utc(2025, 10, 21, 16)
    assert office.between(start, utc(2025, 10, 21, 16)) == 2000 * HOUR
    assert office.between(berlin(2025, 1, 1), berlin(2026, 1, 1)) == (261 - 10) * 10 * HOUR


# --- clock changes (Europe/Berlin: 30 March and 26 October 2025) ------------------------------------

def test_office_hours_stay_ten_hours_on_both_clock_change_days() -> None:
    every_day = calendar({"mon-sun": "08:00-18:00"})
    assert every_day.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 10 * HOUR
    assert every_day.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 10 * HOUR
    assert every_day.add(berlin(2025, 3, 29, 17), 2 * HOUR) == utc(2025, 3, 30, 7)
    assert every_day.add(berlin(2025, 10, 25, 17), 2 * HOUR) == utc(2025, 10, 26, 8)


def test_friday_evening_to_monday_across_spring_forward() -> None:
    assert calendar().add(utc(2025, 3, 28, 16), 2 * HOUR) == utc(2025, 3, 31, 7)
    assert calendar().add(utc(2025, 10, 24, 15), 2 * HOUR) == utc(2025, 10, 27, 8)


def test_whole_days_are_real_time_so_23_and_25_hours_long_on_clock_change_days() -> None:
    every_hour = calendar({"mon-sun": "00:00-24:00"})
    assert every_hour.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 23 * HOUR
    assert every_hour.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 25 * HOUR
    assert every_hour.add(utc(2025, 3, 29, 12), 48 * HOUR) == utc(2025, 3, 31, 12)


def test_hours_spanning_the_changed_hour_follow_real_time() -> None:
    night = calendar({"sun": "01:00-04:00"})
    assert night.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 2 * HOUR
    assert night.add(utc(2025, 3, 30), HOUR) == utc(2025, 3, 30, 1)  # 03:00 summer time
    assert night.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 4 * HOUR


def test_an_opening_time_skipped_by_spring_forward_opens_when_the_clocks_jump() -> None:
    night = calendar({"sun": "02:30-05:00"})
    assert night.next_open(utc(2025, 3, 30)) == utc(2025, 3, 30, 1)
    assert not night.is_open(utc(2025, 3, 30, 0, 59))
    assert night.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == 2 * HOUR


def test_a_time_repeated_by_fall_back_is_reached_at_its_first_occurrence() -> None:
    # The clocks go from 03:00 summer time (01:00 UTC) back to 02:00; 02:15 winter time is 01:15 UTC.
    early = calendar({"sun": "01:00-02:30"})
    assert early.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 90 * 60
    assert not early.is_open(utc(2025, 10, 26, 1, 15))
    late = calendar({"sun": "02:30-05:00"})
    assert late.next_open(utc(2025, 10, 25, 12)) == utc(2025, 10, 26, 0, 30)
    assert late.is_open(utc(2025, 10, 26, 1, 15))
    assert late.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == 210 * 60


def test_a_clock_going_back_across_midnight_keeps_the_new_day() -> None:
    # Goose Bay, 29 October 2006: at 00:01 on Sunday the clocks went back to 23:01 on Saturday.
    weekend = calendar({"sat": "23:00-24:00", "sun": "00:00-02:00"}, timezone="America/Goose_Bay")
    assert weekend.between(utc(2006, 10, 28), utc(2006, 10, 30)) == 4 * HOUR
    assert weekend.is_open(utc(2006, 10, 29, 3, 30))
    assert weekend.add(utc(2006, 10, 29, 2, 30), HOUR) == utc(2006, 10, 29, 3, 30)
    saturday_night = calendar({"sat": "23:00-24:00"}, timezone="America/Goose_Bay")
    assert not saturday_night.is_open(utc(2006, 10, 29, 3, 30))  # the clock shows Saturday 23:31 again


# --- years: long spans, New Year, exact instants ------------------------------------------------------

def test_ten_years_of_business_weeks_end_on_the_friday_of_the_last_week() -> None:
    utc_office = calendar(timezone="UTC")
    start = utc(2024, 1, 1, 8)  # a Monday
    last_friday = utc(2024, 1, 5, 18) + 519 * dt.timedelta(weeks=1)
    assert utc_office.add(start, 520 * 50 * HOUR) == last_friday
    assert utc_office.between(start, last_friday) == 520 * 50 * HOUR
    assert utc_office.between(start, last_friday + dt.timedelta(days=2)) == 520 * 50 * HOUR


def test_six_years_in_berlin_hold_the_hours_of_their_working_days() -> None:
    office = calendar({"mon-fri": "08:00-12:30, 13:15-18:00"}, country="DE", subdiv="BE")
    closed = holidays.country_holidays("DE", subdiv="BE", years=range(2024, 2030))
    first, end = dt.date(2024, 1, 1), dt.date(2030, 1, 1)
    dates = (first + dt.timedelta(days=i) for i in range((end - first).days))
    total = sum(1 for d in dates if d.weekday() < 5 and d not in closed) * (9 * HOUR + 15 * 60)
    assert office.between(berlin(2024, 1, 1), berlin(2030, 1, 1)) == total
    assert office.add(berlin(2024, 1, 1), total) == berlin(2029, 12, 31, 18)  # a Monday, and not a holiday
    assert office.add(berlin(2024, 1, 1), total + 1) == berlin(2030, 1, 2, 8, 0, 1)
    assert office.add(berlin(2026, 6, 1), 0) == berlin(2026, 6, 1, 8)


def test_a_day_open_around_the_clock_runs_on_into_the_new_year() -> None:
    every_hour = calendar({"mon-sun": "00:00-24:00"})
    assert every_hour.add(berlin(2025, 12, 31, 23, 30), HOUR) == berlin(2026, 1, 1, 0, 30)
    assert every_hour.add(berlin(2025, 12, 31, 23), HOUR) == berlin(2026, 1, 1)
    assert every_hour.between(berlin(2025, 12, 31), berlin(2026, 1, 2)) == 48 * HOUR
    assert every_hour.is_open(berlin(2026, 1, 1))


def test_microseconds_are_kept_exactly_even_centuries_ahead() -> None:
    office = calendar()
    start = berlin(2025, 6, 23, 9) + dt.timedelta(microseconds=123_457)
    assert office.add(start, HOUR) == start + dt.timedelta(hours=1)
    assert office.add(start, 9 * HOUR) == berlin(2025, 6, 24, 8) + dt.timedelta(microseconds=123_457)
    assert office.between(start, start + dt.timedelta(seconds=2, microseconds=-1)) == 1
    assert office.next_open(berlin(2025, 6, 23, 7, 59, 59) + dt.timedelta(microseconds=999_999)) == berlin(
        2025, 6, 23, 8)
    assert office.is_open(berlin(2025, 6, 23, 17, 59, 59) + dt.timedelta(microseconds=999_999))
    # In 2400 a float timestamp no longer holds microseconds.
    far = berlin(2400, 6, 20, 9) + dt.timedelta(microseconds=999_999)  # a Tuesday
    assert office.add(far, 1) == far + dt.timedelta(seconds=1)
    assert office.between(far, far + dt.timedelta(hours=1)) == HOUR


def test_starts_in_any_zone_give_the_same_utc_deadline() -> None:
    office = calendar(country="DE", subdiv="BE")
    start = utc(2025, 12, 31, 15, 30)
    for zone in (dt.UTC, BERLIN, ZoneInfo("America/New_York"), dt.timezone(dt.timedelta(hours=5, minutes=45))):
        due = office.add(start.astimezone(zone), 2 * HOUR)
        assert due == berlin(2026, 1, 2, 8, 30)
        assert due.tzinfo is dt.UTC
        assert office.between(start.astimezone(zone), due.astimezone(zone)) == 2 * HOUR


def test_instants_before_1970_count_like_any_other() -> None:
    utc_office = calendar(timezone="UTC")
    assert utc_office.add(utc(1969, 12, 31, 17), 2 * HOUR) == utc(1970, 1, 1, 9)
    assert utc_office.between(utc(1969, 12, 31, 17), utc(1970, 1, 1, 9)) == 2 * HOUR
    assert utc_office.add(utc(1969, 12, 31, 17, 59, 59) + dt.timedelta(microseconds=1), 0) == utc(
        1969, 12, 31, 17, 59, 59, ) + dt.timedelta(microseconds=1)


def test_half_days_years_apart_are_found_across_the_empty_years_between() -> None:
    half_days = definition(half_days={"2025-12-23": "08:00-12:00", "2028-06-01": "09:00-10:00"})
    only_half_days = BusinessCalendar.from_ir(dataclasses.replace(half_days, hour_rules=()))
    assert only_half_days.add(berlin(2025, 12, 23, 11), 2 * HOUR) == berlin(2028, 6, 1, 10)
    assert only_half_days.between(berlin(2025, 1, 1), berlin(2029, 1, 1)) == 5 * HOUR
    with pytest.raises(CalendarNeverOpens):
        only_half_days.add(berlin(2025, 12, 23, 11), 2 * HOUR + 1)
    with pytest.raises(CalendarNeverOpens):
        only_half_days.next_open(berlin(2028, 6, 1, 10))


# --- around the clock, and refusals -------------------------------------------------------------------

def test_an_always_open_calendar_is_plain_utc_arithmetic_without_holidays() -> None:
    always = calendar("24x7", country="DE", dates=("2025-12-24",))
    assert always.always_open
    christmas_eve = utc(2025, 12, 24, 11)  # in UTC: adding to a Berlin time would be wall-clock arithmetic
    assert always.add(christmas_eve, 10**7) == christmas_eve + dt.timedelta(seconds=10**7)
    assert always.between(christmas_eve, christmas_eve + dt.timedelta(days=3, seconds=1.5)) == 3 * 86400 + 1
    assert always.is_open(christmas_eve)
    assert BusinessCalendar.around_the_clock().add(utc(2025, 3, 30), 5) == utc(2025, 3, 30, 0, 0, 5)


def test_naive_datetimes_and_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        calendar().add(dt.datetime(2025, 6, 23, 9), HOUR)
    with pytest.raises(ValueError, match="aware datetime"):
        calendar().between(utc(2025, 6, 23), dt.datetime(2025, 6, 24))
    with pytest.raises(ValueError, match="negative"):
        calendar().add(utc(2025, 6, 23), -1)


def test_a_calendar_without_weekly_hours_never_opens_after_its_last_half_day() -> None:
    half_day = definition(half_days={"2025-12-23": "08:00-12:00"})
    only_half_days = BusinessCalendar.from_ir(dataclasses.replace(half_day, hour_rules=()))
    assert only_half_days.add(berlin(2025, 12, 1), HOUR) == berlin(2025, 12, 23, 9)
    with pytest.raises(CalendarNeverOpens, match="office"):
        only_half_days.add(berlin(2025, 12, 23, 11), 2 * HOUR)


def test_calendars_of_a_loaded_desk_compile_with_their_half_days_and_dates(tmp_path: Path) -> None:
    desk = load_desk(overlay_desk(FIXTURES / "valid" / "always_open_calendar", tmp_path / "desk"))
    calendars = {c.name: BusinessCalendar.from_ir(c) for c in desk.calendars}
    assert calendars["always"].always_open
    office = calendars["office"]  # mon-thu 08-12 and 13-17, fri 08-14; half day 23 December; 24 and 31 closed
    assert office.add(berlin(2025, 12, 22, 16, 30), 2 * HOUR) == berlin(2025, 12, 23, 9, 30)
    assert office.add(berlin(2025, 12, 23, 11), 2 * HOUR) == berlin(2025, 12, 29, 9)
    assert office.add(berlin(2025, 12, 19, 13), 2 * HOUR) == berlin(2025, 12, 22, 9)


# --- properties against the oracle ----------------------------------------------------------------

ZONE_YEARS = {"Europe/Berlin": 2024, "America/New_York": 2024, "Australia/Lord_Howe": 2024, "Asia/Beirut": 2024,
              "America/Santiago": 2024, "Asia/Kathmandu": 2024, "UTC": 2024, "America/Goose_Bay": 2006}
HOLIDAYS = ((None, None), ("DE", "BE"), ("US", None))
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def interesting_days(zone_name: str) -> tuple[dt.date, ...]:
    """Clock-change days, year ends and the leap day in the zone's two sample years."""
    zone, year = ZoneInfo(zone_name), ZONE_YEARS[zone_name]
    days = [dt.date(year, 12, 31), dt.date(year + 1, 1, 1), dt.date(2024, 2, 29), dt.date(year, 12, 24)]
    instant = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    while instant.year < year + 2:
        following = instant + dt.timedelta(hours=1)
        if following.astimezone(zone).utcoffset() != instant.astimezone(zone).utcoffset():
            days.append(following.astimezone(zone).date())
        instant = following
    return tuple(days)


@st.composite
def cases(draw: st.DrawFn) -> tuple[ir.Calendar, dt.datetime]:
    """A random calendar (quarter-hour boundaries, often at midnight or near 02:00) and a minute near a hard day."""
    zone = draw(st.sampled_from(sorted(ZONE_YEARS)))
    day = draw(st.sampled_from(interesting_days(zone)))
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + draw(st.integers(-3 * 1440, 3 * 1440)) * MINUTE
    boundary = st.one_of(st.integers(0, 96).map(lambda quarter: quarter * 15),
                         st.sampled_from((0, 60, 90, 120, 150, 180, 210, 1440)))
    boundaries = st.lists(boundary, max_size=6, unique=True).map(sorted)
    rules = []
    for name in DAY_NAMES:
        points = draw(boundaries)
        ranges = tuple(zip(points[::2], points[1::2], strict=False))
        if ranges:
            rules.append((name, ranges))
    if not rules:
        rules.append(("sun", ((90, 210),)))
    country, subdiv = draw(st.sampled_from(HOLIDAYS))
    near = st.integers(-4, 4).map(lambda shift: (day + dt.timedelta(days=shift)).isoformat())
    dates = tuple(draw(st.lists(near, max_size=2)))
    half_days = tuple(ir.HalfDay(d, ((h * 15, h * 15 + length * 15),))
                      for d, h, length in draw(st.lists(st.tuples(near, st.integers(0, 80), st.integers(1, 16)),
                                                        max_size=2, unique_by=lambda half: half[0])))
    return ir.Calendar("random", zone, False, tuple(rules), country, subdiv, dates, half_days, SRC), start


@PROPERTY
@given(case=cases(), span=st.integers(0, 3 * 1440))
def test_between_matches_the_minute_by_minute_oracle(case: tuple[ir.Calendar, dt.datetime], span: int) -> None:
    definition, start = case
    expected = 60 * sum(itertools.islice(oracle_open_minutes(definition, start), span))
    assert BusinessCalendar.from_ir(definition).between(start, start + span * MINUTE) == expected


@PROPERTY
@given(case=cases(), fraction=st.floats(0, 2))
def test_add_matches_the_minute_by_minute_oracle(case: tuple[ir.Calendar, dt.datetime], fraction: float) -> None:
    definition, start = case
    minutes = min(3 * 1440, int(weekly_minutes(definition) * fraction))
    assert BusinessCalendar.from_ir(definition).add(start, minutes * 60) == oracle_add(definition, start, minutes)


@PROPERTY
@given(case=cases(), weeks=st.tuples(st.floats(0, 30), st.floats(0, 30)), microseconds=st.integers(0, 10**8))
def test_add_and_between_agree(case: tuple[ir.Calendar, dt.datetime], weeks: tuple[float, float],
                               microseconds: int) -> None:
    definition, start = case
    business = BusinessCalendar.from_ir(definition)
    week_seconds = weekly_minutes(definition) * 60
    first, second = int(weeks[0] * week_seconds), max(1, int(weeks[1] * week_seconds))
    start += dt.timedelta(microseconds=microseconds)
    after_first = business.add(start, first)
    assert business.between(start, after_first) == first
    assert business.add(after_first, second) == business.add(start, first + second)
    assert business.add(start, first + second) >= after_first
    assert business.add(start + dt.timedelta(minutes=7), first) >= after_first
    assert business.between(start, after_first + dt.timedelta(hours=5)) >= first
    assert business.is_open(start) == (business.next_open(start) == start)


@PROPERTY
@given(case=cases(), days=st.integers(8, 400))
def test_a_long_between_equals_the_sum_of_its_days(case: tuple[ir.Calendar, dt.datetime], days: int) -> None:
    definition, start = case
    business = BusinessCalendar.from_ir(definition)
    day_by_day = sum(business.between(start + i * dt.timedelta(days=1), start + (i + 1) * dt.timedelta(days=1))
                     for i in range(days))
    assert business.between(start, start + dt.timedelta(days=days)) == day_by_day


@PROPERTY
@given(case=cases(), steps=st.lists(st.floats(0.01, 1), min_size=1, max_size=40))
def test_a_long_add_equals_a_chain_of_adds_shorter_than_a_week(case: tuple[ir.Calendar, dt.datetime],
                                                              steps: list[float]) -> None:
    definition, start = case
    business = BusinessCalendar.from_ir(definition)
    seconds = [max(1, int(step * weekly_minutes(definition) * 60)) for step in steps]
    chained = start
    for step in seconds:
        chained = business.add(chained, step)
    assert business.add(start, sum(seconds)) == chained


# --- long spans against the day walk --------------------------------------------------------------

BERLIN_OFFICE = definition({"mon-fri": "08:00-12:30, 13:15-18:00"}, country="DE", subdiv="BE")
BUSINESS_DAY = 9 * HOUR + 15 * 60


@PROPERTY
@given(case=cases(), span=st.integers(0, 3 * 1440))
def test_the_day_walk_agrees_with_the_minute_oracle(case: tuple[ir.Calendar, dt.datetime], span: int) -> None:
    definition, start = case
    expected = 60 * sum(itertools.islice(oracle_open_minutes(definition, start), span))
    assert day_walk_between(definition, start, start + span * MINUTE) == expected


@PROPERTY
@given(case=cases(), weeks=st.floats(0, 160), microseconds=st.integers(0, 10**8))
def test_a_long_add_matches_the_day_walk(case: tuple[ir.Calendar, dt.datetime], weeks: float,
                                         microseconds: int) -> None:
    definition, start = case
    start += dt.timedelta(microseconds=microseconds)
    seconds = int(weeks * weekly_minutes(definition) * 60)
    assert BusinessCalendar.from_ir(definition).add(start, seconds) == day_walk_add(definition, start, seconds)


@PROPERTY
@given(case=cases(), span=st.timedeltas(dt.timedelta(0), dt.timedelta(days=3 * 366)))
def test_a_long_between_matches_the_day_walk(case: tuple[ir.Calendar, dt.datetime], span: dt.timedelta) -> None:
    definition, start = case
    expected = day_walk_between(definition, start, start + span)
    assert BusinessCalendar.from_ir(definition).between(start, start + span) == expected


@functools.cache
def berlin_office() -> BusinessCalendar:
    return BusinessCalendar.from_ir(BERLIN_OFFICE)  # shared, so that its years are laid out once and reused


@PROPERTY
@given(start=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC)),
       seconds=st.integers(0, 10 * BUSINESS_DAY), zone=st.sampled_from((dt.UTC, BERLIN, ZoneInfo("Asia/Tokyo"))))
def test_sla_deadlines_on_a_berlin_office_match_the_day_walk(start: dt.datetime, seconds: int,
                                                             zone: dt.tzinfo) -> None:
    due = berlin_office().add(start.astimezone(zone), seconds)
    assert due == day_walk_add(BERLIN_OFFICE, start, seconds)
    assert berlin_office().between(start.astimezone(zone), due) == seconds
