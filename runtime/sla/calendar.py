"""Business-calendar arithmetic: when a number of business seconds runs out, and how many lie between two instants.

The rules, which SLA timers rely on:

- Instants go in as aware datetimes (any zone) and come out in UTC. Durations go in as whole seconds;
  ``between`` counts the exact business time between its inputs and returns it in whole seconds, rounded down.
- Business time is the union of every local date's opening ranges, each half-open ``[opens, closes)``. A date's
  ranges are its half-day hours if it is listed as a half day (this wins over a holiday and opens a weekend day),
  none if it is a holiday (of the country and subdivision, or a listed date), and its weekday's hours otherwise.
- Clock changes: opening and closing times are read off a local clock that never runs backwards. Each is the
  first instant the wall clock reaches that time: a time skipped by spring-forward is reached at the instant of
  the jump, a time repeated by fall-back at its first occurrence. Between an opening and its closing the
  business time is the real time that passes, so the repeated hour belongs to the range that was open just
  before the clocks went back. Thus 08:00-18:00 is ten hours on every day, while 00:00-24:00 is 23 hours on a
  spring-forward day and 25 on a fall-back day, and in Berlin 01:00-03:00 on a fall-back day is three hours.
- ``add(start, 0)`` is ``start`` when start is inside business hours, else the next opening. For more seconds the
  result is the instant the last second completes: that may be a closing time (due "Friday 18:00"), never the
  opening that follows it. Hence ``add(add(a, x), y) == add(a, x + y)`` for every ``y > 0``.
- An always-open calendar (``24x7``) is plain UTC arithmetic; it has no holidays.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from dataclasses import dataclass

from runtime.config import ir
from runtime.config.units import parse_days
from runtime.errors import TesseraError

Ranges = tuple[tuple[int, int], ...]  # local minutes after midnight, each [start, end)
Interval = tuple[dt.datetime, dt.datetime]  # UTC, [opens, closes)

ZERO = dt.timedelta(0)
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(weeks=1)
MICROSECOND = dt.timedelta(microseconds=1)


class CalendarNeverOpens(TesseraError):
    """A calendar without weekly hours has no opening hours left after the instant asked about."""


@dataclass(frozen=True)
class _Year:
    closed: frozenset[dt.date]  # holidays and listed dates; a half day among them still opens
    irregular: tuple[dt.date, ...]  # sorted: dates whose business time may differ from their weekday's


class BusinessCalendar:
    """Opening hours in a time zone, less holidays, with arithmetic on business seconds (rules in the module doc).

    Build one per calendar when the desk compiles and reuse it: it caches each year's holidays and clock changes.
    """

    def __init__(self, name: str, *, zone: zoneinfo.ZoneInfo | None, week: tuple[Ranges, ...] = ((),) * 7,
                 holiday_country: str | None = None, holiday_subdiv: str | None = None,
                 holiday_dates: frozenset[dt.date] = frozenset(),
                 half_days: dict[dt.date, Ranges] | None = None) -> None:
        """``zone=None`` makes the calendar always open; ``week`` holds Monday's to Sunday's hours."""
        self.name = name
        self.always_open = zone is None
        self._zone = zone or zoneinfo.ZoneInfo("UTC")
        self._week = week
        self._week_business = sum(((end - start) * dt.timedelta(minutes=1)
                                   for hours in week for start, end in hours), ZERO)
        self._holiday_country = holiday_country
        self._holiday_subdiv = holiday_subdiv
        self._holiday_dates = holiday_dates
        self._half_days = dict(half_days or {})
        self._last_half_day = max(self._half_days, default=dt.date.min)
        self._years: dict[int, _Year] = {}
        self._clock_changes_by_year: dict[int, tuple[dt.datetime, ...]] = {}

    @classmethod
    def from_ir(cls, calendar: ir.Calendar) -> BusinessCalendar:
        """The calendar a desk defines; its IR has passed the SLA checks (real zone, weekdays and dates)."""
        if calendar.always_open:
            return cls.around_the_clock(calendar.name)
        week: list[Ranges] = [()] * 7
        for days, hours in calendar.hour_rules:
            for weekday in parse_days(days) or ():
                week[weekday] = hours
        return cls(calendar.name, zone=zoneinfo.ZoneInfo(calendar.timezone), week=tuple(week),
                   holiday_country=calendar.holiday_country, holiday_subdiv=calendar.holiday_subdiv,
                   holiday_dates=frozenset(dt.date.fromisoformat(d) for d in calendar.holiday_dates),
                   half_days={dt.date.fromisoformat(h.date): h.hours for h in calendar.half_days})

    @classmethod
    def around_the_clock(cls, name: str = "24x7") -> BusinessCalendar:
        """The built-in ``24x7`` calendar that policies may name without declaring it."""
        return cls(name, zone=None)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r})"

    # --- the arithmetic -------------------------------------------------------------------------------

    def add(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """The instant at which ``seconds`` of business time have passed, counting from ``start``."""
        start = _utc(start)
        if seconds < 0:
            msg = f"business seconds to add must not be negative, got {seconds}"
            raise ValueError(msg)
        if self.always_open:
            return start + seconds * SECOND
        remaining = seconds * SECOND
        day = first = self._business_day(start)
        while True:
            if day > first and remaining > self._week_business > ZERO:
                # Keep some time back so that the walk ends inside a day and not at the start of the next one.
                weeks = self._regular_weeks(day, (remaining - MICROSECOND) // self._week_business)
                day += weeks * WEEK
                remaining -= weeks * self._week_business
            for opens, closes in self._intervals(day):
                opens = max(opens, start)
                if opens >= closes:
                    continue
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
            day += DAY
            if self._week_business == ZERO and day > self._last_half_day:
                msg = f"calendar '{self.name}' has no opening hours after {start.isoformat()}"
                raise CalendarNeverOpens(msg)

    def between(self, earlier: dt.datetime, later: dt.datetime) -> int:
        """Whole seconds of business time in ``[earlier, later)``; 0 when ``later`` is not after ``earlier``."""
        earlier, later = _utc(earlier), _utc(later)
        if later <= earlier:
            return 0
        if self.always_open:
            return (later - earlier) // SECOND
        total = ZERO
        day = first = self._business_day(earlier)
        last = self._business_day(later)
        while day <= last:
            if day > first and self._week_business > ZERO:
                weeks = self._regular_weeks(day, (last - day).days // 7)
                day += weeks * WEEK
                total += weeks * self._week_business
            for opens, closes in self._intervals(day):
                overlap = min(closes, later) - max(opens, earlier)
                if overlap > ZERO:
                    total += overlap
            day += DAY
        return total // SECOND

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` lies inside business hours."""
        at = _utc(at)
        if self.always_open:
            return True
        return any(opens <= at < closes for opens, closes in self._intervals(self._business_day(at)))

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when it is inside business hours, else the next opening; same as ``add(at, 0)``."""
        return self.add(at, 0)

    # --- days -----------------------------------------------------------------------------------------

    def _hours_on(self, day: dt.date) -> Ranges:
        half_day = self._half_days.get(day)
        if half_day is not None:
            return half_day
        if day in self._year(day.year).closed:
            return ()
        return self._week[day.weekday()]

    def _intervals(self, day: dt.date) -> list[Interval]:
        intervals = [(self._reached(day, start), self._reached(day, end)) for start, end in self._hours_on(day)]
        return [(opens, closes) for opens, closes in intervals if opens < closes]

    def _reached(self, day: dt.date, minute: int) -> dt.datetime:
        """The first instant at which the local clock reaches ``minute`` past the midnight that starts ``day``."""
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
        instant = wall.replace(tzinfo=self._zone).astimezone(dt.UTC)  # fold=0: a repeated time's first occurrence
        if instant.astimezone(self._zone).replace(tzinfo=None) == wall:
            return instant
        # The clock never shows ``wall``: it jumped over it, and zoneinfo placed it after the jump.
        return self._last_clock_change(instant)

    def _business_day(self, at: dt.datetime) -> dt.date:
        """The date whose span of business day, from its midnight to the next as reached, holds ``at``."""
        day: dt.date = at.astimezone(self._zone).date()
        # Where clocks went back across midnight (St. John's and Goose Bay at 00:01 until 2010), the clock showed
        # yesterday again after today had begun.
        if self._reached(day + DAY, 0) <= at:
            day += DAY
        return day

    def _regular_weeks(self, day: dt.date, wanted: int) -> int:
        """How many of ``wanted`` whole weeks from ``day`` on hold exactly the weekly business time."""
        if wanted <= 0:
            return 0
        limit = day + wanted * WEEK
        for year in range(day.year, limit.year + 1):
            irregular = self._year(year).irregular
            index = bisect.bisect_left(irregular, day)
            if index < len(irregular):
                return min(wanted, (irregular[index] - day).days // 7)
        return wanted

    # --- per-year caches ------------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            closed = {d for d in self._holiday_dates if d.year == year}
            if self._holiday_country is not None:
                import holidays  # imported here: it is large and only calendars with a country need it

                official = holidays.country_holidays(self._holiday_country, subdiv=self._holiday_subdiv, years=year)
                closed.update(d for d in official if d.year == year)
            # A clock change can move the business time of the local dates around its UTC date.
            near_changes = {(change + shift).date() for y in (year - 1, year, year + 1)
                            for change in self._clock_changes(y) for shift in (-DAY, ZERO, DAY)}
            irregular = closed | {d for d in (*self._half_days, *near_changes) if d.year == year}
            cached = self._years[year] = _Year(frozenset(closed), tuple(sorted(irregular)))
        return cached

    def _clock_changes(self, year: int) -> tuple[dt.datetime, ...]:
        """The instants in ``(Jan 1, next Jan 1]`` UTC at which the zone's UTC offset changes."""
        cached = self._clock_changes_by_year.get(year)
        if cached is None:
            changes = []
            # Daily samples find every change: since 1970 no zone has changed its offset twice within six days.
            sample = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
            offset = self._offset(sample)
            while sample.year == year:
                following = sample + DAY
                following_offset = self._offset(following)
                if following_offset != offset:
                    changes.append(self._pinpoint_change(sample, following, offset))
                sample, offset = following, following_offset
            cached = self._clock_changes_by_year[year] = tuple(changes)
        return cached

    def _pinpoint_change(self, before: dt.datetime, after: dt.datetime, offset: dt.timedelta) -> dt.datetime:
        """Bisect to the whole second in ``(before, after]`` where the offset stops being ``offset``."""
        while after - before > SECOND:
            middle = before + (after - before) // SECOND // 2 * SECOND
            if self._offset(middle) == offset:
                before = middle
            else:
                after = middle
        return after

    def _last_clock_change(self, at: dt.datetime) -> dt.datetime:
        for year in (at.year, at.year - 1):
            changes = self._clock_changes(year)
            index = bisect.bisect_right(changes, at)
            if index:
                return changes[index - 1]
        msg = f"no clock change in {self._zone.key} shortly before {at.isoformat()}"
        raise AssertionError(msg)

    def _offset(self, at: dt.datetime) -> dt.timedelta:
        return at.astimezone(self._zone).utcoffset() or ZERO  # never None: the datetime carries a ZoneInfo


def _utc(at: dt.datetime) -> dt.datetime:
    if at.utcoffset() is None:
        msg = f"business-calendar arithmetic needs an aware datetime, got {at.isoformat()}"
        raise ValueError(msg)
    return at.astimezone(dt.UTC)
