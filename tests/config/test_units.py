"""The small text formats of definitions: durations, escalation points, opening hours and weekdays."""

from __future__ import annotations

import pytest

from runtime.config.units import parse_days, parse_duration, parse_escalation_point, parse_ranges


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h30m", 5400), ("2d", 172800), ("1w", 604800),
                                               (" 1h 5s ", 3605)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "point"), [("80%", (80.0, 0)), ("100% + 1h", (100.0, 3600)),
                                             ("50%-15m", (50.0, -900)), ("-30m", (None, -1800)), ("2h", (None, 7200))])
def test_escalation_points(text: str, point: tuple[float | None, int]) -> None:
    assert parse_escalation_point(text) == point


def test_opening_hours_with_a_lunch_break() -> None:
    assert parse_ranges("08:00-12:30, 13:15-18:00") == ((480, 750), (795, 1080))


@pytest.mark.parametrize(("key", "days"), [("mon-fri", (0, 1, 2, 3, 4)), ("sat,sun", (5, 6)), ("wed", (2,)),
                                           ("mon,thu-fri", (0, 3, 4)), ("fri-mon", None), ("mo", None)])
def test_weekday_keys(key: str, days: tuple[int, ...] | None) -> None:
    assert parse_days(key) == days
