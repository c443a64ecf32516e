"""The desk's figures for ``/metrics``, read from the database, so that every web process reports the same.

Each read is bounded: counts through an index (intake messages by state, jobs not done, SLA clocks by due
time) or over new rows only (``growing``). A scrape reuses the figures of the last ``CACHE_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from runtime.compile.desk import CompiledDesk
from runtime.observe.growing import GrowingTally

log = logging.getLogger("tessera.metrics")
CACHE_SECONDS = 5.0
# The share of a clock's target left from which it is at risk; the ticket page warns from the same share.
WARN_SHARE = 0.2
AT_RISK_READ_MAX = 100_000  # running clocks read to find those at risk; more are left out
# Seconds; a local model answers in milliseconds, an LLM endpoint in seconds.
AI_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAITING, QUARANTINED = "received", "quarantined"
METRICS = ("first_response", "next_response", "resolution")
# Every channel a ticket or an intake message can come through: each gets a series from the start, at zero, so that
# an alert on a rise need not wait for the first one.
CHANNELS = ("api", "email", "form", "webhook", "manual")


def _bucket(latency_ms: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """The index of the first bucket a latency falls in (len(AI_BUCKETS) for +Inf)."""
    whens = [(latency_ms <= bound * 1000, index) for index, bound in enumerate(AI_BUCKETS)]
    return sa.case(*whens, else_=len(AI_BUCKETS))


class DeskGauges:
    """A prometheus_client collector over one desk's database."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        tickets, decisions = compiled.table("tickets"), compiled.table("ai_decisions")
        self.messages, self.timers = compiled.table("intake_messages"), compiled.table("sla_timers")
        self.jobs, self.triage_jobs = compiled.table("jobs"), compiled.table("triage_jobs")
        self.created = GrowingTally(tickets, [tickets.c.source])
        # Every fallback is recorded with an explanation that begins so (triage, replies, knowledge capture).
        fallback = sa.case((decisions.c.explanation.like("llm failed:%"), 1), else_=0)
        self.decisions = GrowingTally(decisions, [decisions.c.kind, decisions.c.provider,
                                                  _bucket(decisions.c.latency_ms), fallback],
                                      value=decisions.c.latency_ms, where=decisions.c.latency_ms.is_not(None))
        longest = max((getattr(t, m) or 0 for p in compiled.definitions.policies for t in p.targets for m in METRICS),
                      default=0)
        self.at_risk_horizon = dt.timedelta(seconds=longest * WARN_SHARE)
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read_or_down())
            metrics = self._cached[1]
        yield from metrics

    def _read_or_down(self) -> list[Metric]:
        # A database that fails must not take the request figures down with it: they matter most just then.
        up = GaugeMetricFamily("tessera_desk_figures_up", "1 when the desk's figures below were read from the "
                               "database at this scrape, 0 when that failed (they are left out then)")
        try:
            figures = self._read()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: the desk's figures could not be read: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *figures]

    def _read(self) -> list[Metric]:
        now = dt.datetime.now(dt.UTC)
        with self.engine.connect() as connection:
            return [self._tickets(connection, now), *self._intake(connection), *self._sla(connection, now),
                    *self._ai(connection, now), self._jobs(connection)]

    def _tickets(self, connection: sa.Connection, now: dt.datetime) -> Metric:
        family = CounterMetricFamily("tessera_tickets_created", "Tickets created, by the channel they came "
                                     "through (api, email, form, webhook, manual)", labels=["channel"])
        counts = dict.fromkeys(CHANNELS, 0)
        for (channel,), (count, _) in self.created.read(connection, now).items():
            counts[channel] = count
        for channel, count in sorted(counts.items()):
            family.add_metric([channel], count)
        return family

    def _intake(self, connection: sa.Connection) -> list[Metric]:
        m = self.messages
        query = sa.select(m.c.channel, sa.func.count()).where(m.c.state == sa.bindparam("state")).group_by(
            m.c.channel)
        waiting = GaugeMetricFamily("tessera_intake_queue_depth", "Stored intake messages waiting to be made "
                                    "into tickets or comments, by channel", labels=["channel"])
        quarantined = GaugeMetricFamily("tessera_intake_quarantined_messages", "Intake messages held for a "
                                        "person (unparseable, too large, refused), by channel", labels=["channel"])
        for family, state in ((waiting, WAITING), (quarantined, QUARANTINED)):
            counts = dict.fromkeys(CHANNELS[:-1], 0)  # nothing manual passes through intake
            counts.update({channel: int(count) for channel, count in connection.execute(query, {"state": state})})
            for channel, count in sorted(counts.items()):
                family.add_metric([channel], count)
        return [waiting, quarantined]

    def _sla(self, connection: sa.Connection, now: dt.datetime) -> list[Metric]:
        t = self.timers
        # Only running clocks have a due time (pausing or stopping one clears it), so due_at's index finds them.
        breached = GaugeMetricFamily("tessera_sla_clocks_breached", "Running SLA clocks past their due time "
                                     "(open breaches), by metric", labels=["metric"])
        past_due = {metric: int(count) for metric, count in connection.execute(
            sa.select(t.c.metric, sa.func.count()).where(t.c.due_at <= now).group_by(t.c.metric))}
        soon = connection.execute(sa.select(t.c.metric, t.c.due_at, t.c.target_seconds).where(
            t.c.due_at > now, t.c.due_at <= now + self.at_risk_horizon).limit(AT_RISK_READ_MAX))
        risky: dict[str, int] = {}
        for metric, due_at, target in soon:
            if target and (due_at - now).total_seconds() <= target * WARN_SHARE:
                risky[metric] = risky.get(metric, 0) + 1
        at_risk = GaugeMetricFamily("tessera_sla_clocks_at_risk", f"Running SLA clocks not yet due whose time "
                                    f"left is at most {WARN_SHARE:.0%} of their target, by metric",
                                    labels=["metric"])
        for metric in METRICS:
            breached.add_metric([metric], past_due.get(metric, 0))
            at_risk.add_metric([metric], risky.get(metric, 0))
        return [at_risk, breached]

    def _ai(self, connection: sa.Connection, now: dt.datetime) -> list[Metric]:
        by_label: dict[tuple[str, str], list[float]] = {}  # (kind, provider) → counts per bucket, then the sum
        fallbacks: dict[str, float] = {}
        for (kind, provider, bucket, fell_back), (count, total) in self.decisions.read(connection, now).items():
            figures = by_label.setdefault((kind, provider), [0.0] * (len(AI_BUCKETS) + 2))
            figures[int(bucket)] += count
            figures[-1] += total / 1000
            if fell_back:
                fallbacks[kind] = fallbacks.get(kind, 0) + count
        latency = HistogramMetricFamily("tessera_ai_decision_latency_seconds", "Time the AI provider took per "
                                        "decision (triage, reply, kb_capture), by kind and the provider that "
                                        "answered", labels=["kind", "provider"])
        for (kind, provider), figures in sorted(by_label.items()):
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip((*map(str, AI_BUCKETS), "+Inf"), figures[:-1], strict=True):
                cumulative += in_bucket
                buckets.append((bound, cumulative))
            latency.add_metric([kind, provider], buckets, figures[-1])
        fell = CounterMetricFamily("tessera_ai_fallbacks", "Decisions the local provider made because the llm "
                                   "provider failed, by kind", labels=["kind"])
        for kind, fell_back_count in sorted(fallbacks.items()):
            fell.add_metric([kind], fell_back_count)
        return [latency, fell]

    def _jobs(self, connection: sa.Connection) -> Metric:
        j = self.jobs
        family = GaugeMetricFamily("tessera_worker_jobs_pending", "Background jobs not done yet (due or later), "
                                   "by kind; triage counts the new tickets waiting for triage", labels=["kind"])
        for kind, count in connection.execute(sa.select(j.c.kind, sa.func.count()).where(j.c.done_at.is_(None))
                                              .group_by(j.c.kind)):
            family.add_metric([kind], count)
        family.add_metric(["triage"], connection.execute(sa.select(sa.func.count()).select_from(
            self.triage_jobs)).scalar_one())
        return family
