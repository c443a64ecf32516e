"""SLA figures for agents: compliance and business times per group, and the clocks closest to their deadline.
The rules (what counts, who sees what) live in runtime/sla/metrics.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from litestar import get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, QueryParameter

from runtime.compile.desk import CompiledDesk
from runtime.sla.metrics import AT_RISK_LIMIT, at_risk, instant, sla_metrics
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket
from runtime.web.auth import actor_dependency
from runtime.web.tickets_api import Json, as_json

Who = NamedDependency[Actor]
Grouping = Literal["policy", "type", "team", "agent", "priority"]
Limit = Annotated[int, QueryParameter(ge=1, le=AT_RISK_LIMIT)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return instant(value)
    except ValueError:
        raise InvalidTicket(f"bad parameter '{name}'", [{"field": name, "reason": "an ISO 8601 date or time"}]
                            ) from None


def sla_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    dependencies = {"actor": actor_dependency(compiled, engine)}
    common: dict[str, Any] = {"sync_to_thread": True, "dependencies": dependencies, "tags": ["sla"]}

    @get("/api/v1/sla/metrics", **common)
    def metrics_route(actor: Who, group_by: FromQuery[Grouping] = "policy", since: FromQuery[str | None] = None,
                      until: FromQuery[str | None] = None) -> Json:
        """Per group: met, breached and open clocks of each metric, compliance, mean and median business
        seconds to respond and resolve, breaches; over tickets created in [since, until) that the caller may
        see (agents only)."""
        now = _now()
        start, end = _time("since", since), _time("until", until)
        with engine.connect() as connection:
            groups = sla_metrics(connection, compiled, actor, group_by, start, end, now)
        return {"group_by": group_by, "since": start and start.isoformat(), "until": end and end.isoformat(),
                "computed_at": now.isoformat(), "groups": [group.as_json() for group in groups]}

    @get("/api/v1/sla/at-risk", **common)
    def at_risk_route(actor: Who, limit: Limit = 20) -> Json:
        """Running clocks, soonest due first, with the business seconds left (negative when overdue); only
        tickets the caller may see (agents only)."""
        now = _now()
        with engine.connect() as connection:
            items = at_risk(connection, compiled, actor, limit, now)
        return {"computed_at": now.isoformat(), "items": [as_json(item) for item in items]}

    return [metrics_route, at_risk_route]
