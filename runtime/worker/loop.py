"""The worker loop: refuse to start on a stale database, then claim and run due jobs until stopped.

Job kinds register a handler in ``HANDLERS``; later stages (SLA sweep, mailbox polling, AI) add theirs. Intake
(IMAP polling, stored mail turned into tickets) and triage of new tickets are duties of every round.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from runtime.ai.triage import Triage, provider_for
from runtime.ai.triage_jobs import BATCH, TriageWorker
from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.db.guard import ensure_current
from runtime.kb.capture import KIND as CAPTURE
from runtime.kb.capture import prepare_capture, run_capture
from runtime.notify.email import MailNotConfigured, send_email
from runtime.notify.outbox import EMAIL, WEBHOOK
from runtime.notify.webhook import post_webhook
from runtime.observe.context import log_fields
from runtime.sla.sweep import sweep
from runtime.tickets.service import TicketService
from runtime.tickets.timed import run_timed_transitions
from runtime.worker.intake_duty import IntakeDuty

log = logging.getLogger("tessera.worker")
Handler = Callable[[CompiledDesk, sa.Connection, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {EMAIL: send_email, WEBHOOK: post_webhook, CAPTURE: run_capture}
# Kinds whose slow part (a model's answer, say) runs first, with no transaction open; its result is the payload
# the handler then gets in the job's transaction.
Prepare = Callable[[CompiledDesk, sa.Engine, dict[str, Any]], dict[str, Any]]
PREPARE: dict[str, Prepare] = {CAPTURE: prepare_capture}
CLAIM_FOR = dt.timedelta(minutes=10)
RETRY_DELAY = dt.timedelta(minutes=1)
MAX_ATTEMPTS = 5


class Worker:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, poll_seconds: float = 1.0) -> None:
        ensure_current(migration_paths(compiled), compiled.schema_snapshot, engine)
        self.compiled = compiled
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.jobs = compiled.table("jobs")
        self.intake = IntakeDuty(compiled, engine)
        self.triage = TriageWorker(compiled, engine, Triage(compiled, provider_for(compiled),
                                                            TicketService(compiled, engine)))
        self.stopping = False

    def _claim(self, connection: sa.Connection, now: dt.datetime) -> sa.Row[Any] | None:
        query = (sa.select(self.jobs).where(self.jobs.c.done_at.is_(None), self.jobs.c.run_at <= now,
                                            sa.or_(self.jobs.c.locked_until.is_(None),
                                                   self.jobs.c.locked_until < now))
                 .order_by(self.jobs.c.run_at, self.jobs.c.id).limit(1))
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return connection.execute(query).first()

    def run_due(self) -> int:
        """Run every job that is due now; return how many ran (successfully or not)."""
        count = 0
        while not self.stopping:
            now = dt.datetime.now(dt.UTC)
            # Claimed in a writing transaction from the start: on SQLite a read that later writes loses the
            # race for the lock ("database is locked") whenever another worker wrote in between.
            with write_transaction(self.engine) as connection:
                job = self._claim(connection, now)
                if job is None:
                    return count
                if job.kind not in PREPARE:
                    self._run(connection, job, now)
                else:
                    # Claimed for a while, so that the slow first stage runs with no transaction open.
                    connection.execute(sa.update(self.jobs).where(self.jobs.c.id == job.id).values(
                        locked_until=now + CLAIM_FOR))
            if job.kind in PREPARE:
                self._prepared(job, now, now + CLAIM_FOR)
            count += 1
        return count

    def _prepared(self, job: sa.Row[Any], now: dt.datetime, claimed_until: dt.datetime) -> None:
        started = time.perf_counter()
        payload: dict[str, Any] | Exception
        try:
            with log_fields(job_id=job.id, job_kind=job.kind):
                payload = PREPARE[job.kind](self.compiled, self.engine, dict(job.payload))
        except Exception as exc:  # recorded on the job by _run, as a handler's failure would be
            payload = exc
        with write_transaction(self.engine) as connection:
            # The first stage may outlast the claim (a slow model, a worker paused for minutes), and another
            # worker may then have taken the job up: only the holder of the claim as it stands finishes it.
            if not self._still_claimed(connection, job.id, claimed_until):
                with log_fields(job_id=job.id, job_kind=job.kind):
                    log.warning("job %s (%s): its claim lapsed while it was prepared; left to the worker that took "
                                "it", job.id, job.kind, extra={"outcome": "lapsed"})
                return
            self._run(connection, job, now, payload, started)

    def _still_claimed(self, connection: sa.Connection, job_id: int, claimed_until: dt.datetime) -> bool:
        query = sa.select(self.jobs.c.id).where(self.jobs.c.id == job_id, self.jobs.c.done_at.is_(None),
                                                self.jobs.c.locked_until == claimed_until)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()  # a worker taking the job over meanwhile waits for this one's outcome
        return connection.execute(query).first() is not None

    def _run(self, connection: sa.Connection, job: sa.Row[Any], now: dt.datetime,
             prepared: dict[str, Any] | Exception | None = None, started: float | None = None) -> None:
        """Run the job's handler and log one line saying how it went; records made meanwhile carry the job."""
        started = time.perf_counter() if started is None else started
        with log_fields(job_id=job.id, job_kind=job.kind):
            outcome = self._attempt(connection, job, now, prepared)
            payload = job.payload if isinstance(job.payload, dict) else {}
            log.info("job %s (%s): %s", job.id, job.kind, outcome, extra={
                "ticket_id": payload.get("ticket_id"), "attempt": job.attempts + 1, "outcome": outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3)})

    def _attempt(self, connection: sa.Connection, job: sa.Row[Any], now: dt.datetime,
                 prepared: dict[str, Any] | Exception | None) -> str:
        """done, retry (failed, to be tried again later), failed (given up) or unknown kind."""
        handler = HANDLERS.get(job.kind)
        update = sa.update(self.jobs).where(self.jobs.c.id == job.id)
        if handler is None:
            connection.execute(update.values(done_at=now, attempts=job.attempts + 1,
                                             last_error=f"no handler for job kind '{job.kind}'"))
            log.error("job %s: no handler for kind %s", job.id, job.kind)
            return "unknown kind"
        try:
            if isinstance(prepared, Exception):
                raise prepared
            with connection.begin_nested():
                handler(self.compiled, connection, dict(job.payload) if prepared is None else prepared)
        except Exception as exc:
            attempts = job.attempts + 1
            # The claim of a prepared job is let go: its retry is due after RETRY_DELAY, not when the claim ends.
            values: dict[str, Any] = {"attempts": attempts, "last_error": f"{type(exc).__name__}: {exc}",
                                      "locked_until": None}
            values["done_at" if attempts >= MAX_ATTEMPTS else "run_at"] = now if attempts >= MAX_ATTEMPTS \
                else now + RETRY_DELAY * attempts
            connection.execute(update.values(**values))
            if isinstance(exc, MailNotConfigured | OSError):
                # A settings or network problem, not a bug: one line says it, the job's last_error keeps it.
                log.warning("job %s (%s) failed (attempt %s): %s", job.id, job.kind, attempts, exc)
            else:
                log.exception("job %s (%s) failed", job.id, job.kind)
            return "failed" if attempts >= MAX_ATTEMPTS else "retry"
        connection.execute(update.values(done_at=now, attempts=job.attempts + 1, last_error=None, locked_until=None))
        return "done"

    def run(self, *, once: bool = False) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        log.info("worker started")
        while not self.stopping:
            # The sweep first: a breach is recorded within one poll of its due time, and the deliveries it
            # queues go out in the same round.
            sweep(self.compiled, self.engine)
            self.run_due()
            run_timed_transitions(self.compiled, self.engine)
            backlog = self.intake.run_round()
            # Triage after intake, so that mail taken in this round is triaged in it too.
            started = time.perf_counter()
            triaged = self.triage.run_round()
            if triaged:
                log.info("triaged %s new tickets", triaged, extra={
                    "job_kind": "triage", "count": triaged, "outcome": "done",
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3)})
            backlog = triaged == BATCH or backlog
            if once:
                break
            if not backlog:
                self.intake.wait(self.poll_seconds)  # a pause that an idling mailbox's news cuts short
        self.intake.close()
