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
- Instants keep their microseconds: all arithmetic is exact, on whole microseconds since the epoch.

How: the first time an instant in a local calendar year is asked about, that year's business time is laid out
once as sorted UTC intervals with running sums of their lengths. ``add`` then bisects the intervals for the start
and the running sums for the deadline, ``between`` subtracts two running sums, and either steps from year to
year only when its span crosses a New Year.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo

from runtime.config import ir
from runtime.config.units import parse_days
from runtime.errors import TesseraError

Ranges = tuple[tuple[int, int], ...]  # local minutes after midnight, each [start, end)
Interval = tuple[dt.datetime, dt.datetime]  # UTC, [opens, closes)

ZERO = dt.timedelta(0)
SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_ORDINAL = EPOCH.date().toordinal()
US = 1_000_000  # microseconds in a second
MINUTE_US = 60 * US
DAY_US = 86_400 * US
MEAN_YEAR_US = 31_556_952 * US  # 365.2425 days: a first guess at an instant's year, which _span_at corrects


class CalendarNeverOpens(TesseraError):
    """A calendar without weekly hours has no opening hours left after the instant asked about."""


class _Span:
    """One local calendar year's business time: every open interval of its dates, in UTC microseconds.

    ``start`` and ``end`` are the instants its first date begins and the next year's first date begins; the
    intervals lie between them, sorted, apart or merged where one closes as the next opens. ``before[i]`` is the
    business time in the intervals ahead of ``i``, so ``before[-1]`` is the year's ``total``.
    """

    __slots__ = ("before", "closes", "end", "opens", "start", "total", "year")

    def __init__(self, year: int, start: int, end: int, opens: list[int], closes: list[int]) -> None:
        self.year, self.start, self.end, self.opens, self.closes = year, start, end, opens, closes
        self.before = [0] * (len(opens) + 1)
        running = 0
        for index, (opening, closing) in enumerate(zip(opens, closes, strict=True)):
            running += closing - opening
            self.before[index + 1] = running
        self.total = running

    def elapsed(self, at: int) -> int:
        """Business microseconds from the start of the year to ``at`` (an instant inside the span)."""
        index = bisect.bisect_right(self.closes, at)
        elapsed = self.before[index]
        if index < len(self.opens) and self.opens[index] < at:
            elapsed += at - self.opens[index]
        return elapsed


class BusinessCalendar:
    """Opening hours in a time zone, less holidays, with arithmetic on business seconds (rules in the module doc).

    Build one per calendar when the desk compiles and reuse it: it keeps each year's intervals once laid out
    (a few milliseconds per year and calendar, a few hundred intervals).
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
        self._opens_weekly = any(start < end for hours in week for start, end in hours)
        self._holiday_country = holiday_country
        self._holiday_subdiv = holiday_subdiv
        self._holiday_dates = holiday_dates
        self._half_days = dict(half_days or {})
        self._last_half_day = max(self._half_days, default=dt.date.min)
        self._spans: dict[int, _Span] = {}
        self._year_starts: dict[int, int] = {}
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
        at = _microseconds(start)
        if seconds < 0:
            msg = f"business seconds to add must not be negative, got {seconds}"
            raise ValueError(msg)
        if self.always_open:
            return _instant(at + seconds * US)
        remaining = seconds * US
        span = self._span_at(at)
        while True:
            closes = span.closes
            index = bisect.bisect_right(closes, at)
            if index < len(closes):
                opens, before = span.opens, span.before
                first_open = opens[index]
                if not remaining:
                    return _instant(at if at > first_open else first_open)
                target = before[index] + remaining
                if at > first_open:
                    target += at - first_open
                if target <= span.total:
                    # The first interval whose running sum reaches the target: on a tie its closing time,
                    # never the opening of the next one.
                    index = bisect.bisect_left(before, target, index + 1) - 1
                    return _instant(opens[index] + target - before[index])
                remaining = target - span.total
            if not self._opens_weekly and span.year >= self._last_half_day.year:
                msg = f"calendar '{self.name}' has no opening hours after {_utc(start).isoformat()}"
                raise CalendarNeverOpens(msg)
            span = self._span(span.year + 1)
            at = span.start

    def between(self, earlier: dt.datetime, later: dt.datetime) -> int:
        """Whole seconds of business time in ``[earlier, later)``; 0 when ``later`` is not after ``earlier``."""
        start, end = _microseconds(earlier), _microseconds(later)
        if end <= start:
            return 0
        if self.always_open:
            return (end - start) // US
        first, last = self._span_at(start), self._span_at(end)
        total = last.elapsed(end) - first.elapsed(start)
        for year in range(first.year, last.year):
            total += self._span(year).total
        return total // US

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` lies inside business hours."""
        instant = _microseconds(at)
        if self.always_open:
            return True
        span = self._span_at(instant)
        index = bisect.bisect_right(span.closes, instant)
        return index < len(span.opens) and span.opens[index] <= instant

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when it is inside business hours, else the next opening; same as ``add(at, 0)``."""
        return self.add(at, 0)

    # --- years laid out as intervals ------------------------------------------------------------------

    def _span_at(self, at: int) -> _Span:
        year = 1970 + at // MEAN_YEAR_US
        span = self._spans.get(year) or self._span(year)
        while at < span.start:
            span = self._span(span.year - 1)
        while at >= span.end:
            span = self._span(span.year + 1)
        return span

    def _span(self, year: int) -> _Span:
        span = self._spans.get(year)
        if span is None:
            span = self._spans[year] = self._lay_out(year)
        return span

    def _lay_out(self, year: int) -> _Span:
        closed = self._closed(year)
        # Every clock change that can touch a date of the year, with the UTC offset it brings in.
        changes = [c for y in (year - 1, year, year + 1) for c in self._clock_changes(y)]
        change_at = [_microseconds(change) for change in changes]
        offset_from = [_offset_us(self._offset(change)) for change in changes]
        offset_first = _offset_us(self._offset(dt.datetime(year - 1, 1, 1, tzinfo=dt.UTC)))
        opens: list[int] = []
        closes: list[int] = []
        for ordinal in range(dt.date(year, 1, 1).toordinal(), dt.date(year + 1, 1, 1).toordinal()):
            day = dt.date.fromordinal(ordinal)
            hours = self._half_days.get(day)
            if hours is None:
                hours = () if day in closed else self._week[day.weekday()]
            if not hours:
                continue
            midnight = (ordinal - EPOCH_ORDINAL) * DAY_US  # local midnight, its wall reading taken as UTC
            # Offsets are under a day, so the date lies within a day of its wall reading; the margin beyond that
            # keeps hours repeated by a recent fall-back off the plain path.
            index = bisect.bisect_right(change_at, midnight + 3 * DAY_US)
            if index and change_at[index - 1] >= midnight - 2 * DAY_US:
                intervals = [(_microseconds(opening), _microseconds(closing))
                             for opening, closing in self._intervals(day, hours)]
            else:
                local = midnight - (offset_from[index - 1] if index else offset_first)
                intervals = [(local + opening * MINUTE_US, local + closing * MINUTE_US)
                             for opening, closing in hours if opening < closing]
            for opening, closing in intervals:
                if closes and opening <= closes[-1]:
                    closes[-1] = max(closes[-1], closing)  # one closes as the next opens: one interval
                else:
                    opens.append(opening)
                    closes.append(closing)
        return _Span(year, self._year_start(year), self._year_start(year + 1), opens, closes)

    def _year_start(self, year: int) -> int:
        """When the clock first reaches the year's first midnight: where clocks went back across midnight (St.
        John's and Goose Bay at 00:01 until 2010), the old year's last day showed again after the new one began."""
        start = self._year_starts.get(year)
        if start is None:
            start = self._year_starts[year] = _microseconds(self._reached(dt.date(year, 1, 1), 0))
        return start

    def _closed(self, year: int) -> frozenset[dt.date]:
        """Holidays and listed dates in ``year``; a half day among them still opens."""
        closed = {d for d in self._holiday_dates if d.year == year}
        if self._holiday_country is not None:
            import holidays  # imported here: it is large and only calendars with a country need it

            official = holidays.country_holidays(self._holiday_country, subdiv=self._holiday_subdiv, years=year)
            closed.update(d for d in official if d.year == year)
        return frozenset(closed)

    # --- days, read off the local clock ---------------------------------------------------------------

    def _intervals(self, day: dt.date, hours: Ranges) -> list[Interval]:
        intervals = [(self._reached(day, start), self._reached(day, end)) for start, end in hours]
        return [(opens, closes) for opens, closes in intervals if opens < closes]

    def _reached(self, day: dt.date, minute: int) -> dt.datetime:
        """The first instant at which the local clock reaches ``minute`` past the midnight that starts ``day``."""
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
        instant = wall.replace(tzinfo=self._zone).astimezone(dt.UTC)  # fold=0: a repeated time's first occurrence
        if instant.astimezone(self._zone).replace(tzinfo=None) == wall:
            return instant
        # The clock never shows ``wall``: it jumped over it, and zoneinfo placed it after the jump.
        return self._last_clock_change(instant)

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


def _microseconds(at: dt.datetime) -> int:
    """``at`` as whole microseconds since the epoch: exact, unlike a float timestamp."""
    if at.tzinfo is not dt.UTC:  # the usual case, instants read from the database, skips the conversion
        at = _utc(at)
    since = at - EPOCH
    return (since.days * 86_400 + since.seconds) * US + since.microseconds


def _instant(microseconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(0, 0, microseconds)  # positional: keywords take a slower path for big numbers


def _offset_us(offset: dt.timedelta) -> int:
    return (offset.days * 86_400 + offset.seconds) * US + offset.microseconds
