"""The dashboard's figures as panels: a chart and the table of the same figures, with the words of the page's
language. Charts are for the eye; the tables are what screen readers (and tests) read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from runtime.compile.desk import CompiledDesk
from runtime.config.core_columns import PRIORITIES
from runtime.config.ir import label_for
from runtime.pages import charts
from runtime.pages.charts import Series
from runtime.pages.dashboard_figures import OUTCOME_METRICS, Figures, Outcome
from runtime.pages.formatting import duration, number, percent, short_day
from runtime.pages.visitors import Visitor
from runtime.sla.policies import METRICS

GOOD, BAD, LATE, CAPACITY = "#1e6b34", "#b3261e", "#8a5a00", "#6b6b6b"
PRIORITY_COLOURS = {"P0": "#b3261e", "P1": "#8a5a00", "P2": "#0b57d0", "P3": "#555555"}
METRIC_COLOURS = {"first_response": "#0b57d0", "next_response": "#6b3fa0", "resolution": "#b3261e"}


@dataclass(frozen=True)
class Panel:
    ident: str
    title: str
    note: str
    chart: Markup
    head: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    ident: str
    title: str
    note: str
    panels: list[Panel]


def dashboard_sections(compiled: CompiledDesk, figures: Figures, visitor: Visitor) -> list[Section]:
    t = visitor.t
    return [
        Section("compliance", t("dashboard.compliance"), t("dashboard.compliance_note", days=figures.days),
                [_compliance(figures, metric, visitor) for metric in OUTCOME_METRICS]),
        Section("backlog", t("dashboard.backlog"), t("dashboard.backlog_note"),
                [_backlog_by_status(compiled, figures, visitor), _backlog_by_priority(figures, visitor)]),
        Section("workload", t("dashboard.workload"), t("dashboard.workload_note"), [_workload(figures, visitor)]),
        Section("breaches", t("dashboard.breaches"), t("dashboard.breaches_note", zone=figures.timezone),
                [_breaches(figures, visitor)]),
        Section("times", t("dashboard.times"), t("dashboard.times_note"),
                [_times(figures, metric, visitor) for metric in OUTCOME_METRICS]),
        Section("satisfaction", t("dashboard.satisfaction"), _satisfaction_note(figures, visitor),
                [_satisfaction(figures, visitor)]),
    ]


def _fmt(visitor: Visitor) -> Callable[[float], str]:
    return lambda value: number(value, visitor.t)


def _priorities(outcomes: list[Outcome], metric: str) -> list[Outcome]:
    return [o for o in outcomes if o.metric == metric]


def _compliance(figures: Figures, metric: str, visitor: Visitor) -> Panel:
    t = visitor.t
    rows = _priorities(figures.outcomes, metric)
    labels = [o.priority or t("common.none") for o in rows]
    title = t(f"dashboard.metric_{metric}")
    chart = charts.stacked_bar_chart(
        f"chart-compliance-{metric}", title, t("dashboard.compliance_desc", metric=title), labels,
        [Series(t("dashboard.met"), tuple(o.met for o in rows), GOOD),
         Series(t("dashboard.breached"), tuple(o.breached for o in rows), BAD),
         Series(t("dashboard.overdue"), tuple(o.overdue for o in rows), LATE)],
        fmt=_fmt(visitor), empty=t("dashboard.no_clocks"))
    head = [t("dashboard.priority"), t("dashboard.met"), t("dashboard.breached"), t("dashboard.overdue"),
            t("dashboard.compliance_rate")]
    table = [[label, str(o.met), str(o.breached), str(o.overdue), percent(o.compliance, t)]
             for label, o in zip(labels, rows, strict=True)]
    return Panel(f"compliance-{metric}", title, "", chart, head, table)


def _status_labels(compiled: CompiledDesk, language: str) -> dict[str, str]:
    """Each status's label from the first workflow (in the order of the types) that has it."""
    found: dict[str, str] = {}
    for ticket_type in compiled.definitions.types:
        workflow = compiled.definitions.workflow(ticket_type.workflow)
        for state in workflow.states if workflow else ():
            found.setdefault(state.name, label_for(state.label, language, state.name))
    return found


def _backlog_by_status(compiled: CompiledDesk, figures: Figures, visitor: Visitor) -> Panel:
    t = visitor.t
    names = _status_labels(compiled, visitor.language)
    order = {name: i for i, name in enumerate(names)}
    statuses = sorted({status for status, _ in figures.backlog}, key=lambda s: (order.get(s, len(order)), s))
    priorities = _backlog_priorities(figures)
    labels = [names.get(status, status) for status in statuses]
    series = [Series(priority, tuple(figures.backlog.get((status, priority), 0) for status in statuses),
                     PRIORITY_COLOURS.get(priority, CAPACITY)) for priority in priorities]
    chart = charts.stacked_bar_chart("chart-backlog-status", t("dashboard.by_status"),
                                     t("dashboard.by_status_desc"), labels, series, fmt=_fmt(visitor),
                                     empty=t("dashboard.no_backlog"))
    head = [t("dashboard.status"), *priorities, t("dashboard.total")]
    table = [[label, *(str(figures.backlog.get((status, p), 0)) for p in priorities),
              str(sum(figures.backlog.get((status, p), 0) for p in priorities))]
             for label, status in zip(labels, statuses, strict=True)]
    return Panel("backlog-status", t("dashboard.by_status"), "", chart, head, table)


def _backlog_priorities(figures: Figures) -> list[str]:
    present = {priority for _, priority in figures.backlog}
    return [p for p in PRIORITIES if p in present] + sorted(p for p in present if p not in PRIORITIES)


def _backlog_by_priority(figures: Figures, visitor: Visitor) -> Panel:
    t = visitor.t
    priorities = _backlog_priorities(figures)
    counts = [sum(n for (_, p), n in figures.backlog.items() if p == priority) for priority in priorities]
    chart = charts.bar_chart("chart-backlog-priority", t("dashboard.by_priority"), t("dashboard.by_priority_desc"),
                             priorities, counts, fmt=_fmt(visitor), empty=t("dashboard.no_backlog"))
    table = [[priority, str(n)] for priority, n in zip(priorities, counts, strict=True)]
    return Panel("backlog-priority", t("dashboard.by_priority"), "", chart,
                 [t("dashboard.priority"), t("dashboard.tickets")], table)


def _workload(figures: Figures, visitor: Visitor) -> Panel:
    t = visitor.t
    loads = figures.workload
    labels = [f"{a.name} ({t('dashboard.away')})" if a.away else a.name for a in loads]
    chart = charts.grouped_bar_chart(
        "chart-workload", t("dashboard.workload"), t("dashboard.workload_desc"), labels,
        [Series(t("dashboard.open_assigned"), tuple(a.open for a in loads), "#0b57d0"),
         Series(t("dashboard.capacity"), tuple(a.capacity for a in loads), CAPACITY)],
        fmt=_fmt(visitor), empty=t("dashboard.no_agents"))
    head = [t("dashboard.agent"), t("dashboard.open_assigned"), t("dashboard.capacity"), t("dashboard.load"),
            t("dashboard.away_column")]
    table = [[a.name, str(a.open), str(a.capacity), percent(a.open / a.capacity if a.capacity else None, t),
              t("dashboard.is_away") if a.away else t("dashboard.not_away")] for a in loads]
    return Panel("workload", t("dashboard.workload"), "", chart, head, table)


def _breaches(figures: Figures, visitor: Visitor) -> Panel:
    t = visitor.t
    days = [short_day(day, t) for day in figures.breach_days]
    series = [Series(t(f"dashboard.metric_{metric}"), tuple(figures.breaches[metric]), METRIC_COLOURS[metric])
              for metric in METRICS]
    chart = charts.line_chart("chart-breaches", t("dashboard.breaches"), t("dashboard.breaches_desc",
                                                                            days=figures.days),
                              days, series, fmt=_fmt(visitor), empty=t("dashboard.no_clocks"))
    head = [t("dashboard.day"), *(t(f"dashboard.metric_{metric}") for metric in METRICS), t("dashboard.total")]
    table = [[day.isoformat(), *(str(figures.breaches[m][i]) for m in METRICS),
              str(sum(figures.breaches[m][i] for m in METRICS))] for i, day in enumerate(figures.breach_days)]
    return Panel("breaches", t("dashboard.breaches_per_day"), "", chart, head, table)


def _times(figures: Figures, metric: str, visitor: Visitor) -> Panel:
    t = visitor.t
    rows = [o for o in _priorities(figures.outcomes, metric) if o.median_seconds is not None]
    labels = [o.priority or t("common.none") for o in rows]
    title = t(f"dashboard.time_{metric}")

    def hours(seconds: int | None) -> float:
        return round((seconds or 0) / 3600, 2)

    chart = charts.grouped_bar_chart(
        f"chart-times-{metric}", title, t("dashboard.times_desc", metric=title), labels,
        [Series(t("dashboard.median"), tuple(hours(o.median_seconds) for o in rows), "#0b57d0"),
         Series(t("dashboard.p90"), tuple(hours(o.p90_seconds) for o in rows), LATE)],
        fmt=lambda value: t("dashboard.hours_value", h=number(value, t)), empty=t("dashboard.no_times"),
        whole=False)
    head = [t("dashboard.priority"), t("dashboard.clocks"), t("dashboard.median"), t("dashboard.p90")]
    table = [[label, str(o.met + o.breached), duration(o.median_seconds, t), duration(o.p90_seconds, t)]
             for label, o in zip(labels, rows, strict=True)]
    return Panel(f"times-{metric}", title, "", chart, head, table)


def _satisfaction_note(figures: Figures, visitor: Visitor) -> str:
    t = visitor.t
    average = figures.rating_average
    if average is None:
        return t("dashboard.no_ratings", days=figures.days)
    return t("dashboard.satisfaction_note", average=number(round(average, 2), t, 2), count=figures.rating_count,
             days=figures.days)


def _satisfaction(figures: Figures, visitor: Visitor) -> Panel:
    t = visitor.t
    scores = [1, 2, 3, 4, 5]
    labels = [t("dashboard.score", score=score) for score in scores]
    counts = [figures.ratings.get(score, 0) for score in scores]
    chart = charts.bar_chart("chart-satisfaction", t("dashboard.satisfaction"), t("dashboard.satisfaction_desc"),
                             labels if figures.rating_count else [], counts if figures.rating_count else [],
                             colour=GOOD, fmt=_fmt(visitor), empty=t("dashboard.no_ratings", days=figures.days))
    table = [[label, str(n)] for label, n in zip(labels, counts, strict=True)]
    return Panel("satisfaction", t("dashboard.ratings"), "", chart, [t("dashboard.rating"), t("dashboard.ratings")],
                 table)


def dashboard_summary(figures: Figures, visitor: Visitor) -> list[tuple[str, str]]:
    """The headline figures above the panels: (what, value)."""
    t = visitor.t
    items = [(t("dashboard.unresolved"), str(sum(figures.backlog.values()))),
             (t("dashboard.breaches_in_period"), str(sum(sum(days) for days in figures.breaches.values())))]
    for metric in OUTCOME_METRICS:
        rows = _priorities(figures.outcomes, metric)
        met, finished = sum(o.met for o in rows), sum(o.met + o.breached for o in rows)
        items.append((t(f"dashboard.compliance_{metric}"), percent(met / finished if finished else None, t)))
    average = figures.rating_average
    items.append((t("dashboard.csat"), t("common.none") if average is None else
                  t("dashboard.csat_value", average=number(round(average, 2), t, 2), count=figures.rating_count)))
    return items
