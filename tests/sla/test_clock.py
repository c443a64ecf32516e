"""One clock by hand on the shipped Berlin office calendar (Mon–Fri 08:00–12:30 and 13:15–18:00, holidays of
Berlin, 24 and 31 December closed): deadlines, pauses over nights and weekends, re-targeting, breaches and
escalation moments, each worked out from the calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from runtime.config import ir
from runtime.config.desk import load_desk
from runtime.sla import clock as clocks
from runtime.sla.calendar import BusinessCalendar
from tests.desk_fixtures import SHIPPED

BERLIN = ZoneInfo("Europe/Berlin")
HOUR, MINUTE = 3600, 60


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    desk = load_desk(SHIPPED)
    return BusinessCalendar.from_ir(next(c for c in desk.calendars if c.name == "berlin_office"))


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


def escalation(at_percent: float | None, offset: int = 0, metric: str = "resolution") -> ir.Escalation:
    return ir.Escalation(metric=metric, percent=at_percent, offset=offset, notify=(), updates=(), assign_team=None,
                         assign_agent=None, transition=None, src=ir.Src("sla.yaml", ()))


@pytest.mark.parametrize(("start", "target", "due"), [
    # Friday 27 Nov 2026, 17:00 + 1h: the last hour of the week; due at closing time.
    (local(11, 27, 17), HOUR, local(11, 27, 18)),
    # Friday 17:30 + 1h: half an hour on Friday, half an hour on Monday morning.
    (local(11, 27, 17, 30), HOUR, local(11, 30, 8, 30)),
    # Monday 12:00 + 1h: the lunch break (12:30–13:15) does not count.
    (local(11, 30, 12), HOUR, local(11, 30, 13, 45)),
    # Wednesday 23 Dec 17:00 + 4h: 24 Dec closed, 25/26 Dec holidays, a Sunday; Monday 28 Dec 08:00 + 3h.
    (local(12, 23, 17), 4 * HOUR, local(12, 28, 11)),
    # Friday 23 Oct 2026 17:00 CEST + 2h: clocks go back on Sunday; Monday 09:00 CET is 08:00 UTC.
    (local(10, 23, 17), 2 * HOUR, dt.datetime(2026, 10, 26, 8, tzinfo=dt.UTC)),
    # Thursday 25 Mar 2027 17:00 CET + 2h: Good Friday and Easter Monday are holidays and clocks go forward on
    # Sunday; Tuesday 09:00 CEST is 07:00 UTC.
    (local(3, 25, 17, year=2027), 2 * HOUR, dt.datetime(2027, 3, 30, 7, tzinfo=dt.UTC)),
    # Saturday 10:00 + 15m: counting starts at Monday's opening.
    (local(11, 28, 10), 15 * MINUTE, local(11, 30, 8, 15)),
])
def test_a_new_clock_is_due_after_its_target_in_business_time(office: BusinessCalendar, start: dt.datetime,
                                                               target: int, due: dt.datetime) -> None:
    clock = clocks.start("first_response", "standard", office, target, start)
    assert (clock.state, clock.due_at, clock.elapsed) == ("running", due, 0)


def test_a_pause_over_a_night_and_a_weekend_adds_nothing(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 8 * HOUR, local(11, 26, 17))  # Thursday
    clocks.pause(clock, local(11, 26, 17, 30), "waiting")
    assert (clock.state, clock.elapsed, clock.due_at) == ("paused", 30 * MINUTE, None)
    assert clock.elapsed_at(local(11, 30, 9)) == 30 * MINUTE  # paused: Monday morning counts nothing
    clocks.resume(clock, local(11, 30, 10))
    # 7.5h left from Monday 10:00: 2.5h to lunch, 4.75h in the afternoon, 15 minutes on Tuesday.
    assert clock.due_at == local(12, 1, 8, 15)
    assert clock.pauses == [{"from": local(11, 26, 17, 30).isoformat(), "to": local(11, 30, 10).isoformat(),
                             "reason": "waiting"}]
    assert clock.elapsed_at(local(11, 30, 12)) == 30 * MINUTE + 2 * HOUR


def test_pausing_twice_or_resuming_a_running_clock_changes_nothing(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 8 * HOUR, local(11, 30, 8))
    clocks.resume(clock, local(11, 30, 9))
    assert (clock.running_since, clock.pauses) == (local(11, 30, 8), [])
    clocks.pause(clock, local(11, 30, 9), "waiting")
    clocks.pause(clock, local(11, 30, 10), "waiting")
    assert (clock.elapsed, len(clock.pauses)) == (HOUR, 1)


def test_a_higher_priority_keeps_the_elapsed_time_and_shortens_the_deadline(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 24 * HOUR, local(11, 30, 8))
    clocks.retarget(clock, "standard", office, 8 * HOUR, local(11, 30, 10))
    # 2h counted; 6h left from 10:00: 2.5h to lunch, then 13:15 + 3.5h.
    assert (clock.elapsed, clock.target, clock.due_at) == (2 * HOUR, 8 * HOUR, local(11, 30, 16, 45))
    assert clock.breached_at is None


def test_a_target_already_used_up_is_breached_at_the_moment_of_the_change(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 24 * HOUR, local(11, 30, 8))
    clocks.retarget(clock, "standard", office, HOUR, local(11, 30, 10))
    assert clock.due_at == local(11, 30, 10)
    assert clocks.breach_due(clock, local(11, 30, 10))
    clocks.mark_breached(clock)
    assert (clock.breached_at, clock.outcome()) == (local(11, 30, 10), "breached")


def test_a_longer_target_lifts_a_breach_the_new_target_does_not_have(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, HOUR, local(11, 30, 8))
    clocks.mark_breached(clock)
    clocks.retarget(clock, "standard", office, 8 * HOUR, local(11, 30, 9, 30))
    # 1.5h counted, 6.5h left from 09:30: 3h to lunch, then 13:15 + 3.5h.
    assert (clock.breached_at, clock.outcome(), clock.due_at) == (None, "running", local(11, 30, 16, 45))


def test_switching_calendar_counts_the_past_on_the_old_one(office: BusinessCalendar) -> None:
    always = BusinessCalendar.around_the_clock()
    clock = clocks.start("resolution", "standard", office, 8 * HOUR, local(11, 27, 17))  # Friday
    clocks.retarget(clock, "standard", always, 2 * HOUR, local(11, 28, 12))  # Saturday noon
    assert clock.elapsed == HOUR  # Friday 17:00–18:00 only
    assert clock.due_at == local(11, 28, 13)  # an hour left, around the clock


def test_stopping_after_the_due_time_records_the_breach_at_the_due_time(office: BusinessCalendar) -> None:
    clock = clocks.start("first_response", "standard", office, HOUR, local(11, 30, 8))
    clocks.stop(clock, local(11, 30, 9, 30))
    assert (clock.state, clock.outcome(), clock.breached_at) == ("stopped", "breached", local(11, 30, 9))
    assert clock.elapsed == 90 * MINUTE


def test_stopping_in_time_is_met_and_stops_counting(office: BusinessCalendar) -> None:
    clock = clocks.start("first_response", "standard", office, HOUR, local(11, 30, 8))
    clocks.stop(clock, local(11, 30, 8, 40))
    assert (clock.outcome(), clock.elapsed, clock.due_at) == ("met", 40 * MINUTE, None)
    assert clock.elapsed_at(local(12, 4, 12)) == 40 * MINUTE


def test_a_paused_clock_stopped_closes_its_pause(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 8 * HOUR, local(11, 30, 8))
    clocks.pause(clock, local(11, 30, 9), "waiting")
    clocks.stop(clock, local(12, 2, 9))
    assert (clock.outcome(), clock.elapsed) == ("met", HOUR)
    assert clock.pauses[-1]["to"] == local(12, 2, 9).isoformat()


def test_reopening_goes_on_from_the_business_time_counted(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, 8 * HOUR, local(11, 30, 8))
    clocks.stop(clock, local(11, 30, 14, 15))  # 4.5h + 1h
    clocks.reopen(clock, local(12, 3, 8))
    assert (clock.state, clock.elapsed, clock.stopped_at) == ("running", 5.5 * HOUR, None)
    assert clock.due_at == local(12, 3, 10, 30)


def test_cancelled_clocks_stay_cancelled(office: BusinessCalendar) -> None:
    clock = clocks.start("next_response", "standard", office, HOUR, local(11, 30, 8))
    clocks.cancel(clock, local(11, 30, 8, 30))
    clocks.resume(clock, local(11, 30, 9))
    clocks.stop(clock, local(11, 30, 9))
    assert (clock.outcome(), clock.elapsed, clocks.next_check(clock, (escalation(80),))) == ("cancelled", 1800, None)


@pytest.mark.parametrize(("percent", "offset", "seconds"), [
    (80, 0, 48 * MINUTE), (100, 0, HOUR), (100, HOUR, 2 * HOUR), (None, -30 * MINUTE, 30 * MINUTE),
    (None, 0, HOUR), (50, -2 * HOUR, 0),
])
def test_escalation_thresholds(percent: float | None, offset: int, seconds: int) -> None:
    assert clocks.threshold(escalation(percent, offset), HOUR) == seconds


def test_the_sweep_is_next_needed_at_the_first_unfired_escalation_or_the_breach(office: BusinessCalendar) -> None:
    ladder = (escalation(80), escalation(100), escalation(100, HOUR), escalation(50, metric="first_response"))
    clock = clocks.start("resolution", "standard", office, HOUR, local(11, 30, 12))
    assert clocks.next_check(clock, ladder) == local(11, 30, 13, 33)  # 48 minutes, over lunch
    assert clocks.due_escalations(clock, ladder, local(11, 30, 13, 32)) == []
    assert clocks.due_escalations(clock, ladder, local(11, 30, 13, 33)) == [0]
    clock.fired.append(0)
    assert clocks.next_check(clock, ladder) == local(11, 30, 13, 45)  # the breach and the 100 % step
    assert clocks.due_escalations(clock, ladder, local(11, 30, 18)) == [1, 2]  # never another metric's
    clock.fired += [1, 2]
    clocks.mark_breached(clock)
    assert clocks.next_check(clock, ladder) is None


def test_downtime_catches_up_every_step_at_once(office: BusinessCalendar) -> None:
    ladder = (escalation(80), escalation(100), escalation(100, HOUR))
    clock = clocks.start("resolution", "standard", office, HOUR, local(11, 27, 17))
    # The worker was down from Friday evening until Tuesday: all three steps are due, and the breach.
    assert clocks.due_escalations(clock, ladder, local(12, 1, 9)) == [0, 1, 2]
    assert clocks.breach_due(clock, local(12, 1, 9))
    clocks.mark_breached(clock)
    assert clock.breached_at == local(11, 27, 18)  # the due time, not the time the worker noticed


def test_a_paused_clock_has_no_due_escalations(office: BusinessCalendar) -> None:
    clock = clocks.start("resolution", "standard", office, HOUR, local(11, 30, 8))
    clocks.pause(clock, local(11, 30, 8, 30), "waiting")
    assert clocks.due_escalations(clock, (escalation(80),), local(12, 4, 9)) == []
    assert not clocks.breach_due(clock, local(12, 4, 9))
    assert clocks.next_check(clock, (escalation(80),)) is None
