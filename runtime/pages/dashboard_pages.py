"""The supervisor dashboard: SLA outcomes, backlog, workload, breaches, response and resolution times and
satisfaction over the last 7, 30 or 90 days, for supervisors (their teams' tickets) and admins (all)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from runtime.pages.dashboard_figures import DEFAULT_PERIOD, PERIODS, dashboard_figures, may_view
from runtime.pages.dashboard_view import dashboard_sections, dashboard_summary
from runtime.pages.render import Pages
from runtime.tickets.errors import Forbidden


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dashboard_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    periods = {str(days): days for days in PERIODS}

    @get("/dashboard", sync_to_thread=True)
    def dashboard(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        t, actor = visitor.t, visitor.actor
        assert actor is not None
        if not may_view(actor):
            raise Forbidden(t("dashboard.forbidden"))
        days = periods.get(request.query_params.get("days", str(DEFAULT_PERIOD)))
        if days is None:
            return pages.error(visitor, 400, t("common.status_400"),
                               t("dashboard.bad_period", periods=", ".join(periods)))
        with pages.engine.connect() as connection:
            figures = dashboard_figures(connection, pages.compiled, actor, days, _now(), t("dashboard.forbidden"))
        return pages.html("dashboard.html", visitor, title=t("dashboard.title"), figures=figures, periods=PERIODS,
                          summary=dashboard_summary(figures, visitor),
                          sections=dashboard_sections(pages.compiled, figures, visitor))

    return [dashboard]
