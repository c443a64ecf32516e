"""Two slow, obvious models of a business calendar that the tests compare BusinessCalendar with.

Both read the calendar's definition (its IR) and the holidays package directly and share nothing with the code
under test.

- The minute oracle knows nothing of intervals: it steps a UTC minute at a time, reads the local clock, keeps the
  highest reading so far (the rule that the calendar's clock never runs backwards) and looks that reading up in
  the date's opening hours. Exact, and slow enough for spans of days only.
- The day walk lists each local date's opening ranges as UTC instants, each the first instant the local clock
  reaches the time, and walks them date by date in whole microseconds. It takes years in its stride, so the
  tests can check long spans and spans across New Year with it; the minute oracle vouches for its reading of the
  clock on the days where that is hard.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import holidays

from runtime.config import ir
from runtime.config.units import parse_days

MINUTE = dt.timedelta(minutes=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = 1_000_000


def weekly_minutes(definition: ir.Calendar) -> int:
    return sum((end - start) * len(parse_days(days) or ()) for days, ranges in definition.hour_rules
               for start, end in ranges)


@functools.cache
def official_holidays(country: str | None, subdiv: str | None, year: int) -> frozenset[dt.date]:
    if country is None:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


@functools.cache
def oracle_hours(definition: ir.Calendar, day: dt.date) -> tuple[tuple[int, int], ...]:
    for half_day in definition.half_days:
        if half_day.date == day.isoformat():
            return half_day.hours
    if day.isoformat() in definition.holiday_dates or day in official_holidays(
            definition.holiday_country, definition.holiday_subdiv, day.year):
        return ()
    for days, ranges in definition.hour_rules:
        if day.weekday() in (parse_days(days) or ()):
            return ranges
    return ()


# --- the minute oracle ------------------------------------------------------------------------------

def oracle_open_minutes(definition: ir.Calendar, start: dt.datetime) -> Iterator[bool]:
    """Whether each UTC minute from ``start`` on is business time, read off the never-backwards local clock."""
    zone = ZoneInfo(definition.timezone)
    instant = start - dt.timedelta(hours=3)  # long enough before to know the highest reading at ``start``
    highest = instant.astimezone(zone).replace(tzinfo=None)
    while True:
        highest = max(highest, instant.astimezone(zone).replace(tzinfo=None))
        if instant >= start:
            minute = highest.hour * 60 + highest.minute
            yield any(opens <= minute < closes for opens, closes in oracle_hours(definition, highest.date()))
        instant += MINUTE


def oracle_add(definition: ir.Calendar, start: dt.datetime, minutes: int) -> dt.datetime:
    counted = 0
    for index, is_open in enumerate(itertools.islice(oracle_open_minutes(definition, start), 60 * 1440)):
        if is_open and minutes == 0:
            return start + index * MINUTE
        counted += is_open
        if is_open and counted == minutes:
            return start + (index + 1) * MINUTE
    raise AssertionError("the oracle found no deadline within 60 days")


# --- the day walk -----------------------------------------------------------------------------------

def microseconds(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def instant(at: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=at)


def reached(zone: ZoneInfo, day: dt.date, minute: int) -> int:
    """The first instant, in UTC microseconds, at which the local clock shows ``minute`` past ``day``'s midnight."""
    wall = dt.datetime.combine(day, dt.time()) + minute * MINUTE
    first = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return microseconds(first)
    # Skipped by a clock change: find, to the second, the jump that carried the clock past ``wall``. The wall
    # time read with the offset from after the jump lies before it, the one read with the offset from before
    # the jump after it.
    low = microseconds(wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)) // US
    high = microseconds(first) // US
    while high - low > 1:
        middle = (low + high) // 2
        if instant(middle * US).astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high * US


@functools.cache
def day_intervals(definition: ir.Calendar, day: dt.date) -> tuple[tuple[int, int], ...]:
    zone = ZoneInfo(definition.timezone)
    spans = ((reached(zone, day, start), reached(zone, day, end)) for start, end in oracle_hours(definition, day))
    return tuple((opens, closes) for opens, closes in spans if opens < closes)


def walk(definition: ir.Calendar, start: int, *, years: int) -> Iterator[tuple[int, int]]:
    """Every opening interval that ends after ``start``, clipped to begin at it, for up to ``years`` years."""
    zone = ZoneInfo(definition.timezone)
    # A day before the local date: that day's hours may still run at ``start`` where clocks went back at midnight.
    day = instant(start).astimezone(zone).date() - dt.timedelta(days=1)
    for _ in range(366 * years + 2):
        for opens, closes in day_intervals(definition, day):
            if closes > start:
                yield max(opens, start), closes
        day += dt.timedelta(days=1)


def day_walk_add(definition: ir.Calendar, start: dt.datetime, seconds: int, *, years: int = 12) -> dt.datetime:
    remaining = seconds * US
    for opens, closes in walk(definition, microseconds(start), years=years):
        if remaining == 0:
            return instant(opens)
        if remaining <= closes - opens:
            return instant(opens + remaining)
        remaining -= closes - opens
    msg = f"the day walk found no deadline within {years} years"
    raise AssertionError(msg)


def day_walk_between(definition: ir.Calendar, earlier: dt.datetime, later: dt.datetime) -> int:
    end = microseconds(later)
    total = 0
    for opens, closes in walk(definition, microseconds(earlier), years=(later - earlier).days // 365 + 2):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total // US
