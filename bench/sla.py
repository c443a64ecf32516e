"""How fast business-calendar arithmetic is: SLA deadlines and elapsed business time per second on one core.

Run with ``.venv/bin/python bench/sla.py`` (``--quick`` for a short run). Everything runs in this process on one
core, on a Berlin office open Monday to Friday 08:00-12:30 and 13:15-18:00, closed on Berlin's public holidays.
Prints one markdown table:

- ``add`` of a typical SLA duration (log-uniform from 15 minutes to 10 business days) to a random instant in
  2025-2026, with UTC starts (as read from the database) and with Berlin starts;
- ``between`` two random instants from 15 minutes to three weeks apart; target for both ≥ 200,000 per second;
- ``add`` of 2000 business hours and ``between`` over the whole of 2025, the long cases;
- what a first call costs: on a new calendar (it lays out its first year, and finds the clock changes of the
  years around it), in a further year of a calendar in use, and in a fresh process (which also imports the
  holiday tables);

the random-input figures as the best of several runs over the same inputs with the per-year caches filled, as
in the running service, and their ratio to a baseline measured in the same run on the same inputs: plain
``datetime + timedelta``, so that figures from different machines compare. The single-call figures are medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from runtime.config import ir
    from runtime.sla.calendar import BusinessCalendar

REPO = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")
HOURS = {"mon-fri": "08:00-12:30, 13:15-18:00"}
BUSINESS_DAY = (4 * 60 + 30 + 4 * 60 + 45) * 60  # seconds of business time on a working day
TARGET_PER_SECOND = 200_000
FIRST = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN = dt.datetime(2027, 1, 1, tzinfo=dt.UTC) - FIRST
YEAR_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
YEAR_END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEADLINE_START = dt.datetime(2025, 1, 6, 8, tzinfo=BERLIN)
LONG_SECONDS = 2000 * 3600


@dataclass(frozen=True)
class Row:
    name: str
    seconds_per_call: float
    baseline: float | None = None  # seconds per call of the baseline it compares with
    target: int | None = None  # calls per second

    def cells(self) -> tuple[str, ...]:
        per_second = 1 / self.seconds_per_call
        ratio = "—" if self.baseline is None else f"{self.seconds_per_call / self.baseline:.1f}"
        target = "—" if self.target is None else f"≥ {self.target:,}/s"
        met = "—" if self.target is None else ("yes" if per_second >= self.target else "**no**")
        return (self.name, f"{per_second:,.0f}", f"{self.seconds_per_call * 1e6:,.2f}", ratio, target, met)


def office_definition() -> ir.Calendar:
    from runtime.config import ir
    from runtime.config.units import parse_ranges

    return ir.Calendar(name="berlin_office", timezone="Europe/Berlin", always_open=False,
                       hour_rules=tuple((days, parse_ranges(text)) for days, text in HOURS.items()),
                       holiday_country="DE", holiday_subdiv="BE", holiday_dates=(), half_days=(),
                       src=ir.Src("bench/sla.py", ()))


def random_instant(rng: random.Random) -> dt.datetime:
    return FIRST + dt.timedelta(microseconds=rng.randrange(SPAN // dt.timedelta(microseconds=1)))


def sla_duration(rng: random.Random) -> int:
    """Whole seconds, log-uniform between 15 minutes and 10 business days: short targets are the common ones."""
    return int(math.exp(rng.uniform(math.log(15 * 60), math.log(10 * BUSINESS_DAY))))


def per_call(actions: dict[str, Callable[[], object]], calls: int, runs: int) -> dict[str, float]:
    """Seconds per call of each action, best of ``runs`` rounds.

    Each round runs every action once, so that a busy spell on the machine slows them alike and the ratios to
    the baseline hold; the best round is the closest to the code's own cost.
    """
    best = dict.fromkeys(actions, math.inf)
    for _ in range(runs):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / calls for name, seconds in best.items()}


def median_of(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_call_in_a_fresh_process() -> float:
    """Seconds for one add() in a new interpreter, imports done except the holiday tables the calendar loads."""
    script = ("import sys, time, datetime as dt; sys.path.insert(0, sys.argv[1]); import bench.sla as b; "
              "from runtime.sla.calendar import BusinessCalendar; office = BusinessCalendar.from_ir("
              "b.office_definition()); start = time.perf_counter(); office.add(b.DEADLINE_START, 3600); "
              "print(time.perf_counter() - start)")
    result = subprocess.run([sys.executable, "-c", script, str(REPO)], capture_output=True, text=True, check=True)
    return float(result.stdout)


def further_years(office: BusinessCalendar) -> list[float]:
    """Seconds for the first add() in each of the years 2031-2050 on a calendar already in use."""
    times = []
    for year in range(2031, 2051):
        start = dt.datetime(year, 6, 1, 12, tzinfo=dt.UTC)
        began = time.perf_counter()
        office.add(start, 3600)
        times.append(time.perf_counter() - began)
    return times


def table(rows: list[Row]) -> str:
    header = ("benchmark", "calls/s", "µs/call", "× baseline time", "target", "met")
    lines = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(line: tuple[str, ...]) -> str:
        cells = [line[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True))]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (widths[0] + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--calls", type=int, default=20_000, help="random inputs per figure (default 20000)")
    options.add_argument("--runs", type=int, default=7, help="runs per figure, the best counts (default 7)")
    options.add_argument("--seed", type=int, default=2025)
    options.add_argument("--quick", action="store_true", help="fewer inputs and runs")
    args = options.parse_args(argv)
    if args.quick:
        args.calls, args.runs = 2000, 3
    sys.path.insert(0, str(REPO))
    from runtime.sla.calendar import BusinessCalendar

    rng = random.Random(args.seed)
    starts = [random_instant(rng) for _ in range(args.calls)]
    berlin_starts = [start.astimezone(BERLIN) for start in starts]
    durations = [sla_duration(rng) for _ in range(args.calls)]
    ends = [start + dt.timedelta(seconds=rng.uniform(15 * 60, 21 * 86400)) for start in starts]
    deltas = [dt.timedelta(seconds=seconds) for seconds in durations]
    pairs = list(zip(starts, durations, strict=True))
    berlin_pairs = list(zip(berlin_starts, durations, strict=True))
    spans = list(zip(starts, ends, strict=True))

    office = BusinessCalendar.from_ir(office_definition())
    cold_in_process = first_call_in_a_fresh_process()
    # One pass fills the per-year caches and checks that add and between agree on every input.
    for start, seconds in pairs:
        if office.between(start, office.add(start, seconds)) != seconds:
            msg = f"between(start, add(start, {seconds})) != {seconds} from {start.isoformat()}"
            raise RuntimeError(msg)

    def baseline() -> None:
        for start, delta in zip(starts, deltas, strict=True):
            start + delta  # the addition is what is measured

    def add_utc() -> None:
        add = office.add
        for start, seconds in pairs:
            add(start, seconds)

    def add_berlin() -> None:
        add = office.add
        for start, seconds in berlin_pairs:
            add(start, seconds)

    def between() -> None:
        between = office.between
        for earlier, later in spans:
            between(earlier, later)

    calls, runs = args.calls, args.runs
    timed = per_call({"baseline": baseline, "add_utc": add_utc, "add_berlin": add_berlin, "between": between},
                     calls, runs)
    plain = timed["baseline"]
    long_runs = max(runs, 21)
    rows = [
        Row("datetime + timedelta (baseline)", plain, plain),
        Row("add(UTC start, 15 min … 10 business days), warm", timed["add_utc"], plain, TARGET_PER_SECOND),
        Row("add(Berlin start, 15 min … 10 business days), warm", timed["add_berlin"], plain, TARGET_PER_SECOND),
        Row("between(two instants ≤ 3 weeks apart), warm", timed["between"], plain, TARGET_PER_SECOND),
        Row("add(2000 business hours), warm", median_of(lambda: office.add(DEADLINE_START, LONG_SECONDS), long_runs)),
        Row("between(2025-01-01, 2026-01-01), warm", median_of(lambda: office.between(YEAR_START, YEAR_END),
                                                                long_runs)),
        Row("first add() on a new calendar (lays out its year)",
            median_of(lambda: BusinessCalendar.from_ir(office_definition()).add(DEADLINE_START, 3600), long_runs)),
        Row("first add() in a further year (lays it out)", statistics.median(further_years(office))),
        Row("first add() in a fresh process (+ holiday tables)", cold_in_process),
    ]
    from bench.results import Figure, record

    for row in rows[1:4]:
        record(Figure(bench="sla", name=row.name, value=1 / row.seconds_per_call, unit="calls/s",
                      target=float(row.target) if row.target is not None else None,
                      baseline=1 / plain, baseline_name="datetime + timedelta"))
    print(table(rows))
    due = office.add(DEADLINE_START, LONG_SECONDS)
    print(f"\n{calls:,} random inputs, best of {runs} runs; 2000 business hours from {DEADLINE_START.isoformat()} "
          f"end at {due.astimezone(BERLIN).isoformat()}; 2025 holds "
          f"{office.between(YEAR_START, YEAR_END) / 3600:g} business hours; "
          f"python {sys.version.split()[0]} on {sys.platform}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
