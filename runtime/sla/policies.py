"""Which SLA policy governs a ticket, and what it promises: the compiled form of ``sla_policies/*.yaml``.

Policies are tried in their ``order`` (unordered ones after, in the order of the files); validation has
already refused overlaps that no order settles, so the first match is the only sensible one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from runtime.config import ir
from runtime.sla.calendar import BusinessCalendar

METRICS = ("first_response", "next_response", "resolution")
AROUND_THE_CLOCK = "24x7"


@dataclass(frozen=True)
class Goal:
    """One metric's promise under a policy for a priority."""

    policy: str
    metric: str
    seconds: int  # business seconds on ``calendar``
    calendar: BusinessCalendar


@dataclass(frozen=True)
class Facts:
    """What selection looks at: the ticket's master and extension fields, and its organization's name."""

    fields: Mapping[str, Any]
    organization: str | None
    created_at: dt.datetime


class PolicyBook:
    """The desk's policies and calendars, built once per compiled desk."""

    def __init__(self, desk: ir.Desk) -> None:
        self.calendars: dict[str, BusinessCalendar] = {AROUND_THE_CLOCK: BusinessCalendar.around_the_clock()}
        self.calendars |= {c.name: BusinessCalendar.from_ir(c) for c in desk.calendars}
        self._zones = {c.name: ZoneInfo(c.timezone) for c in desk.calendars}
        indexed = list(enumerate(desk.policies))
        self.policies = tuple(p for _, p in sorted(indexed, key=lambda ip: (ip[1].order is None,
                                                                           ip[1].order or 0, ip[0])))
        self.by_name = {p.name: p for p in self.policies}
        self._targets = {(p.name, t.priority): t for p in self.policies for t in p.targets}

    def select(self, facts: Facts) -> ir.Policy | None:
        """The first policy that applies to the ticket on the day it was created (in the policy's time zone)."""
        for policy in self.policies:
            if self._applies(policy, facts):
                return policy
        return None

    def goal(self, policy: ir.Policy, priority: str | None, metric: str) -> Goal | None:
        """The target for ``metric`` at ``priority``; None when the policy sets none."""
        target = self._targets.get((policy.name, priority or ""))
        seconds = getattr(target, metric, None) if target is not None else None
        if target is None or seconds is None:
            return None
        return Goal(policy.name, metric, seconds, self.calendars[target.calendar or policy.calendar])

    def pauses(self, policy: ir.Policy, status: str, status_category: str) -> bool:
        """True when the ticket's state stops the policy's clocks (a status category or a named status)."""
        return status in policy.pause_on or status_category in policy.pause_on

    def _applies(self, policy: ir.Policy, facts: Facts) -> bool:
        fields = facts.fields
        if policy.types and fields.get("type") not in policy.types:
            return False
        if policy.priorities and fields.get("priority") not in policy.priorities:
            return False
        if policy.categories and fields.get("category") not in policy.categories:
            return False
        if policy.organizations and facts.organization not in policy.organizations:
            return False
        if any(fields.get(name) != value for name, value in policy.field_matches):
            return False
        if policy.valid_from or policy.valid_until:
            zone = self._zones.get(policy.calendar, dt.UTC)
            day = facts.created_at.astimezone(zone).date().isoformat()
            if (policy.valid_from and day < policy.valid_from) or (policy.valid_until and day > policy.valid_until):
                return False
        return True
