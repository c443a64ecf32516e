"""Parsing of the small text formats used in definitions: durations, hours, escalation points."""

from __future__ import annotations

import re

UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"(\d+)\s*([wdhms])")


def parse_duration(text: str) -> int:
    """``1h30m`` → 5400 seconds. The Spec pattern has already vouched for the format."""
    return sum(int(n) * UNIT_SECONDS[u] for n, u in _PART.findall(text))


def parse_escalation_point(text: str) -> tuple[float | None, int]:
    """``80%`` → (80, 0); ``100% + 1h`` → (100, 3600); ``-30m`` → (None, -1800)."""
    text = text.replace(" ", "")
    if "%" in text:
        percent, _, rest = text.partition("%")
        sign = -1 if rest.startswith("-") else 1
        return float(percent), sign * parse_duration(rest)
    sign = -1 if text.startswith("-") else 1
    return None, sign * parse_duration(text)


def parse_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """``08:00-12:00, 13:00-17:00`` → minute ranges ((480, 720), (780, 1020))."""
    ranges = []
    for chunk in text.split(","):
        start, _, end = chunk.strip().partition("-")
        ranges.append((_minutes(start), _minutes(end)))
    return tuple(ranges)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.strip().partition(":")
    return int(hours) * 60 + int(minutes)


def parse_days(key: str) -> tuple[int, ...] | None:
    """``mon-fri`` → (0, 1, 2, 3, 4); ``sat,sun`` → (5, 6); None when a name is not a weekday."""
    days: list[int] = []
    for chunk in key.lower().replace(" ", "").split(","):
        first, _, last = chunk.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            return None
        start = DAY_NAMES.index(first)
        stop = DAY_NAMES.index(last) if last else start
        if stop < start:
            return None
        days.extend(range(start, stop + 1))
    return tuple(days)
