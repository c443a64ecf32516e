"""Calendars and SLA policies: real time zones and holidays, known types, full targets, no overlaps."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from functools import cache

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.core_columns import PRIORITIES, STATUS_CATEGORIES
from runtime.config.errors import did_you_mean, one_of
from runtime.config.units import parse_days

BUILTIN_CALENDARS = ("24x7",)
NOTIFY_TARGETS = ("assignee", "team", "team_lead", "requester", "supervisors")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _holiday_countries() -> dict[str, list[str]]:
    import holidays  # imported here: it is large and only calendars with a country need it

    return dict(holidays.list_supported_countries())


def _ranges(ranges: tuple[tuple[int, int], ...], src: ir.Src) -> Iterator[Problem]:
    last_end = -1
    for start, end in ranges:
        if end > 24 * 60 or start >= end:
            yield Problem(src, "opening hours run backwards or past midnight", expected="HH:MM-HH:MM with start < end "
                          "≤ 24:00", found=f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}",
                          hint="split a night shift into two days' ranges")
        elif start < last_end:
            yield Problem(src, "opening hours overlap", found=f"a range starting {start // 60:02d}:{start % 60:02d}",
                          hint="list ranges in order without overlap")
        last_end = max(last_end, end)


def _holidays_given(calendar: ir.Calendar) -> str | None:
    """What a calendar's ``holidays`` hold, for a builder to recognise, or None when nothing."""
    given = []
    if calendar.holiday_country is not None:
        subdiv = f" (subdivision {calendar.holiday_subdiv})" if calendar.holiday_subdiv else ""
        given.append(f"country {calendar.holiday_country}{subdiv}")
    for count, noun in ((len(calendar.holiday_dates), "date"), (len(calendar.half_days), "half day")):
        if count:
            given.append(f"{count} {noun}{'s' if count > 1 else ''}")
    if len(given) < 2:
        return given[0] if given else None
    return f"{', '.join(given[:-1])} and {given[-1]}"


def _calendar(calendar: ir.Calendar) -> Iterator[Problem]:
    if calendar.timezone not in _time_zones():
        zones = sorted(_time_zones())
        yield Problem(calendar.src.at("timezone"), "unknown time zone", expected="an IANA zone such as Europe/Berlin",
                      found=f"'{calendar.timezone}'", hint=did_you_mean(calendar.timezone, zones))
    # A deadline on a calendar that never opens can never be computed, and a 24x7 calendar ignores its holidays:
    # both are mistakes better told when the desk is validated than found out when a ticket's SLA misbehaves.
    holidays = _holidays_given(calendar)
    if calendar.always_open and holidays:
        yield Problem(calendar.src.at("holidays"), "holidays have no effect on a 24x7 calendar", found=holidays,
                      hint="remove them or give opening hours", at_key=True)
    elif not calendar.always_open and not calendar.hour_rules:
        yield Problem(calendar.src.at("hours"), "calendar never opens",
                      expected='opening hours for at least one weekday, such as {mon-fri: "09:00-17:00"}',
                      found="no hours (an empty mapping)",
                      hint="write 'hours: 24x7' for a calendar that is always open")
    covered: dict[int, str] = {}
    for key, ranges in calendar.hour_rules:
        days = parse_days(key)
        src = calendar.src.at("hours", key)
        if days is None:
            yield Problem(src, "unknown weekday", expected="mon, tue, … sun, a range such as mon-fri, or a list such "
                          "as sat,sun", found=f"'{key}'", at_key=True)
            continue
        for day in days:
            if day in covered:
                yield Problem(src, "weekday given opening hours twice", found=f"'{key}' and '{covered[day]}'",
                              hint="each weekday may appear in one key only", at_key=True)
                break
            covered[day] = key
        yield from _ranges(ranges, src)
    if calendar.holiday_country is not None:
        countries = _holiday_countries()
        if calendar.holiday_country not in countries:
            yield Problem(calendar.src.at("holidays", "country"), "unknown holiday country",
                          expected="an ISO 3166 country code such as DE or US", found=f"'{calendar.holiday_country}'",
                          hint=did_you_mean(calendar.holiday_country, countries))
        elif calendar.holiday_subdiv is not None and calendar.holiday_subdiv not in countries[calendar.holiday_country]:
            subdivs = countries[calendar.holiday_country]
            yield Problem(calendar.src.at("holidays", "subdiv"), "unknown subdivision for the holiday country",
                          expected=one_of(subdivs), found=f"'{calendar.holiday_subdiv}'",
                          hint=did_you_mean(calendar.holiday_subdiv, subdivs))
    for index, holiday in enumerate(calendar.holiday_dates):
        yield from _real_date(holiday, calendar.src.at("holidays", "dates", index))
    for index, half in enumerate(calendar.half_days):
        yield from _real_date(half.date, calendar.src.at("holidays", "half_days", index, "date"))


def _real_date(text: str, src: ir.Src) -> Iterator[Problem]:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        yield Problem(src, "not a calendar date", expected="an existing date as YYYY-MM-DD", found=f"'{text}'")


def _policy(desk: ir.Desk, policy: ir.Policy, calendars: list[str]) -> Iterator[Problem]:
    types = [t.name for t in desk.types]
    for index, name in enumerate(policy.types):
        if name not in types:
            yield Problem(policy.src.at("applies_to", "types", index), "SLA policy for an unknown ticket type",
                          expected=one_of(types), found=f"'{name}'", hint=did_you_mean(name, types))
    categories = [c.value for c in desk.categories]
    for index, name in enumerate(policy.categories):
        if name not in categories:
            yield Problem(policy.src.at("applies_to", "categories", index), "unknown category",
                          expected=one_of(categories), found=f"'{name}'", hint=did_you_mean(name, categories))
    master = [f.name for f in desk.master_fields]
    for name, _ in policy.field_matches:
        if name not in master:
            yield Problem(policy.src.at("applies_to", "fields", name), "policy matches an unknown master field",
                          expected=one_of(master) if master else "a field of _master.yaml", found=f"'{name}'",
                          at_key=True)
    for name, src in [(policy.calendar, policy.src.at("calendar"))] + [(t.calendar, t.src.at("calendar"))
                                                                       for t in policy.targets if t.calendar]:
        if name not in calendars:
            yield Problem(src, "unknown calendar", expected=one_of(calendars), found=f"'{name}'",
                          hint=did_you_mean(name, calendars) or "declare it under 'calendars:'")
    covered = {t.priority for t in policy.targets}
    for priority in policy.priorities or PRIORITIES:
        if priority not in covered:
            yield Problem(policy.src.at("targets"), f"priority {priority} has no target",
                          expected=f"targets for {', '.join(policy.priorities or PRIORITIES)}",
                          found=f"targets for {', '.join(sorted(covered)) or 'none'}",
                          hint=f"add '{priority}: {{first_response: …, resolution: …}}' or limit "
                          "applies_to.priorities", at_key=True)
    for target in policy.targets:
        if target.first_response is None and target.resolution is None and target.next_response is None:
            yield Problem(target.src, "target sets no time", expected="first_response, next_response or resolution",
                          found="an empty target", at_key=True)
    states = sorted({s.name for w in desk.workflows for s in w.states})
    for index, pause in enumerate(policy.pause_on):
        if pause not in STATUS_CATEGORIES and pause not in states:
            options = list(dict.fromkeys([*STATUS_CATEGORIES, *states]))  # a state may be named like a category
            yield Problem(policy.src.at("pause_on", index), "pause_on names neither a status category nor a state",
                          expected=one_of(options), found=f"'{pause}'", hint=did_you_mean(pause, options))
    if policy.valid_from and policy.valid_until and policy.valid_from > policy.valid_until:
        yield Problem(policy.src.at("valid_until"), "policy ends before it starts",
                      expected=f"a date on or after {policy.valid_from}", found=policy.valid_until)
    for escalation in policy.escalations:
        if not any(getattr(t, escalation.metric) is not None for t in policy.targets):
            yield Problem(escalation.src.at("metric"), "escalation on a metric without targets",
                          expected="a metric that the policy's targets set", found=f"'{escalation.metric}'")
        for index, who in enumerate(escalation.notify):
            if who not in NOTIFY_TARGETS and "@" not in who and not who.startswith(("https://", "http://")):
                yield Problem(escalation.src.at("notify", index), "unknown notification target",
                              expected=f"{one_of(NOTIFY_TARGETS)}, an email address or a webhook URL", found=f"'{who}'",
                              hint=did_you_mean(who, NOTIFY_TARGETS))


def _may_overlap(a: ir.Policy, b: ir.Policy) -> bool:
    """True when some ticket could match both policies at the same date."""
    for left, right in ((a.types, b.types), (a.priorities, b.priorities), (a.categories, b.categories),
                        (a.organizations, b.organizations)):
        if left and right and not set(left) & set(right):
            return False
    fields_b = dict(b.field_matches)
    if any(name in fields_b and fields_b[name] != value for name, value in a.field_matches):
        return False
    start = max(a.valid_from or "0000-01-01", b.valid_from or "0000-01-01")
    end = min(a.valid_until or "9999-12-31", b.valid_until or "9999-12-31")
    return start <= end


def check(desk: ir.Desk) -> Iterator[Problem]:
    calendars = [*BUILTIN_CALENDARS, *(c.name for c in desk.calendars)]
    seen_calendars: dict[str, ir.Calendar] = {}
    for calendar in desk.calendars:
        if calendar.name in seen_calendars:
            yield Problem(calendar.src, "calendar defined twice", found=f"'{calendar.name}'",
                          hint=f"the other one is in {seen_calendars[calendar.name].src.file}; "
                          "calendars are shared by all policy files", at_key=True)
        seen_calendars.setdefault(calendar.name, calendar)
        yield from _calendar(calendar)
    seen: dict[str, ir.Policy] = {}
    for policy in desk.policies:
        if policy.name in seen:
            yield Problem(policy.src.at("name"), "SLA policy name used twice", found=f"'{policy.name}'",
                          hint=f"the other one is in {seen[policy.name].src.file}")
        seen.setdefault(policy.name, policy)
        yield from _policy(desk, policy, calendars)
    for index, policy in enumerate(desk.policies):
        for other in desk.policies[:index]:
            ordered = policy.order is not None and other.order is not None and policy.order != other.order
            if not ordered and _may_overlap(policy, other):
                yield Problem(policy.src.at("applies_to"), "SLA policies overlap",
                              expected="policies that match disjoint tickets, or distinct 'order' values",
                              found=f"'{policy.name}' and '{other.name}' ({other.src.file}) can match the same ticket",
                              hint="narrow applies_to or give both an 'order' (lower wins)", at_key=True)
