"""How long business-calendar arithmetic takes: a long SLA deadline and a year of elapsed business time.

Run with ``.venv/bin/python bench/sla_calendar.py``. Prints one table for a Berlin office (Monday to Friday
08:00-12:30 and 13:15-18:00, Berlin's public holidays):

- ``add`` of 2000 business hours from the first working Monday of 2025, on a calendar whose per-year caches
  are warm (as in the running service) and on a new one (its first call computes holidays and clock changes);
- ``between`` over the whole of 2025, warm;

each as the median of several runs, with its speed-up over a baseline measured in the same run: the same year
counted the obvious way, a minute at a time through the local clock, so that figures from different machines
compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
HOURS = {"mon-fri": "08:00-12:30, 13:15-18:00"}
YEAR_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
YEAR_END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEADLINE_START = dt.datetime(2025, 1, 6, 8, tzinfo=ZoneInfo("Europe/Berlin"))


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def minute_by_minute(open_on: Callable[[dt.date], tuple[tuple[int, int], ...]], zone: ZoneInfo) -> int:
    """The baseline: business seconds of 2025 counted one UTC minute at a time."""
    total, instant, minute = 0, YEAR_START, dt.timedelta(minutes=1)
    while instant < YEAR_END:
        local = instant.astimezone(zone)
        of_day = local.hour * 60 + local.minute
        if any(start <= of_day < end for start, end in open_on(local.date())):
            total += 60
        instant += minute
    return total


def table(rows: list[tuple[str, float]], baseline: float) -> str:
    lines = [("benchmark", "median ms", "speed-up")]
    lines += [(name, f"{seconds * 1000:.3f}", f"{baseline / seconds:,.0f}×") for name, seconds in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    rendered = [f"{a.ljust(widths[0])} | {b.rjust(widths[1])} | {c.rjust(widths[2])}" for a, b, c in lines]
    return "\n".join([rendered[0], "-+-".join("-" * w for w in widths), *rendered[1:]])


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--runs", type=int, default=21, help="runs per calendar figure (default 21)")
    options.add_argument("--baseline-runs", type=int, default=3, help="runs of the minute loop (default 3)")
    args = options.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from runtime.config import ir
    from runtime.config.units import parse_ranges
    from runtime.sla.calendar import BusinessCalendar

    office = ir.Calendar(name="berlin_office", timezone="Europe/Berlin", always_open=False,
                         hour_rules=tuple((days, parse_ranges(text)) for days, text in HOURS.items()),
                         holiday_country="DE", holiday_subdiv="BE", holiday_dates=(), half_days=(),
                         src=ir.Src("bench/sla_calendar.py", ()))
    warm = BusinessCalendar.from_ir(office)
    seconds = 2000 * 3600
    due = warm.add(DEADLINE_START, seconds)
    counted = warm.between(YEAR_START, YEAR_END)

    import holidays

    closed = set(holidays.country_holidays("DE", subdiv="BE", years=2025))
    weekday_hours = parse_ranges(HOURS["mon-fri"])

    def hours_on(day: dt.date) -> tuple[tuple[int, int], ...]:
        return () if day.weekday() >= 5 or day in closed else weekday_hours

    baseline_total = 0

    def baseline() -> None:
        nonlocal baseline_total
        baseline_total = minute_by_minute(hours_on, ZoneInfo(office.timezone))

    baseline_seconds = median_seconds(baseline, args.baseline_runs)
    if baseline_total != counted:
        msg = f"between() counted {counted} s in 2025, the minute loop {baseline_total} s"
        raise RuntimeError(msg)
    rows = [
        ("minute-by-minute count of 2025 (baseline)", baseline_seconds),
        ("between(2025-01-01, 2026-01-01), warm", median_seconds(lambda: warm.between(YEAR_START, YEAR_END),
                                                                 args.runs)),
        ("add(2000 business hours), warm", median_seconds(lambda: warm.add(DEADLINE_START, seconds), args.runs)),
        ("add(2000 business hours), new calendar",
         median_seconds(lambda: BusinessCalendar.from_ir(office).add(DEADLINE_START, seconds), args.runs)),
    ]
    print(table(rows, baseline_seconds))
    print(f"\n2000 business hours from {DEADLINE_START.isoformat()} end at "
          f"{due.astimezone(DEADLINE_START.tzinfo).isoformat()}; 2025 holds {counted / 3600:g} business hours; "
          f"python {sys.version.split()[0]} on {sys.platform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
