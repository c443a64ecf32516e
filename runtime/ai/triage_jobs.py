"""New tickets wait in ``triage_jobs`` for the worker; the worker triages them in batches.

A job is queued in the transaction that creates the ticket, so that no ticket escapes triage and none is triaged
twice. The worker claims a batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the one write lock does
it), marking the rows locked for a while, then asks the provider with no transaction open (an LLM endpoint may
take seconds, and on SQLite an open write transaction stops every other writer), then settles each ticket in a
short transaction of its own that also deletes its job. A failure is recorded on the job and retried later, up to
``MAX_ATTEMPTS``; a crashed worker's claim expires and another worker takes the job. Each of those transactions
first checks (and on PostgreSQL locks) that the claim is still the one this worker made: a worker whose claim
lapsed while the provider answered leaves the ticket to the worker that took it over, instead of triaging it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa

from runtime.ai.triage import Triage
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.driver_insert import RowDraft, RowInsert
from runtime.tickets.errors import TicketError

log = logging.getLogger("tessera.ai")
CLAIM_FOR = dt.timedelta(minutes=10)
RETRY_AFTER = dt.timedelta(minutes=1)
MAX_ATTEMPTS = 5
BATCH = 50


class TriageQueue:
    """The create hook: queue a new ticket for triage when the desk triages."""

    def __init__(self, compiled: CompiledDesk) -> None:
        self.enabled = compiled.definitions.project.ai.triage
        self._insert = RowInsert(compiled.table("triage_jobs"))

    def draft(self, dialect: sa.Dialect, ticket: Mapping[str, Any], given: Collection[str], now: dt.datetime
              ) -> RowDraft | None:
        """The job a new ticket queues, converted ahead of the ticket's insert (None: the desk does not triage)."""
        if not self.enabled:
            return None
        return self._insert.draft(dialect, {
            "given": sorted(given), "run_at": now, "attempts": 0,
            "initial": {name: ticket.get(name) for name in ("category", "priority", "language")}}, late=("ticket_id",))

    def write(self, connection: sa.Connection, job: RowDraft | None, ticket_id: int) -> None:
        if job is not None:
            self._insert.execute_draft(connection, job, {"ticket_id": ticket_id})

    def write_many(self, connection: sa.Connection, jobs: list[tuple[RowDraft | None, int]]) -> None:
        """The jobs of several new tickets (each with its ticket's key) in multi-row statements."""
        queued = [(job, ticket_id) for job, ticket_id in jobs if job is not None]
        if queued:
            self._insert.execute_drafts(connection, [job for job, _ in queued], [{"ticket_id": t} for _, t in queued])


class TriageWorker:
    """The worker's duty: triage every queued ticket that is due."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, triage: Triage) -> None:
        self.engine = engine
        self.triage = triage
        self.jobs = jobs = compiled.table("triage_jobs")
        self._delete = sa.delete(jobs).where(jobs.c.ticket_id == sa.bindparam("ticket"))

    def _claim(self, now: dt.datetime, limit: int) -> list[sa.Row[Any]]:
        jobs = self.jobs
        with write_transaction(self.engine) as connection:
            query = (sa.select(jobs).where(jobs.c.run_at <= now, sa.or_(jobs.c.locked_until.is_(None),
                                                                         jobs.c.locked_until < now))
                     .order_by(jobs.c.run_at, jobs.c.ticket_id).limit(limit))
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(connection.execute(query))
            if rows:
                connection.execute(sa.update(jobs).where(jobs.c.ticket_id.in_([r.ticket_id for r in rows]))
                                   .values(locked_until=now + CLAIM_FOR, attempts=jobs.c.attempts + 1))
            return rows

    def run_round(self, limit: int = BATCH) -> int:
        """Triage up to ``limit`` due tickets; returns how many were settled."""
        now = dt.datetime.now(dt.UTC)
        until = now + CLAIM_FOR
        done = 0
        for job in self._claim(now, limit):
            try:
                done += self._one(job, until)
            except TicketError as exc:
                # The ticket is gone or can no longer be read as it was: nothing left to triage.
                log.warning("triage of ticket %s dropped: %s", job.ticket_id, exc)
                with write_transaction(self.engine) as connection:
                    if self._still_claimed(connection, job.ticket_id, until):
                        connection.execute(self._delete, {"ticket": job.ticket_id})
            except Exception as exc:  # any failure is recorded on the job and retried
                self._failed(job, exc, now, until)
        return done

    def _still_claimed(self, connection: sa.Connection, ticket_id: int, until: dt.datetime) -> bool:
        query = sa.select(self.jobs.c.ticket_id).where(self.jobs.c.ticket_id == ticket_id,
                                                       self.jobs.c.locked_until == until)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()  # a worker taking the job over meanwhile waits for this one's outcome
        if connection.execute(query).first() is not None:
            return True
        log.warning("triage of ticket %s: the claim lapsed meanwhile; left to the worker that took it", ticket_id)
        return False

    def _one(self, job: sa.Row[Any], until: dt.datetime) -> int:
        """Triage one ticket; 1 when this worker settled it, 0 when its claim had lapsed."""
        with self.engine.connect() as connection:
            ticket = self.triage.read(connection, job.ticket_id)
        proposal = self.triage.propose(ticket)
        with write_transaction(self.engine) as connection:
            if not self._still_claimed(connection, job.ticket_id, until):
                return 0
            self.triage.settle(connection, ticket, proposal, now=dt.datetime.now(dt.UTC), given=job.given,
                               initial=job.initial)
            connection.execute(self._delete, {"ticket": job.ticket_id})
        return 1

    def _failed(self, job: sa.Row[Any], exc: Exception, now: dt.datetime, until: dt.datetime) -> None:
        attempts = job.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.exception("triage of ticket %s failed (attempt %s)", job.ticket_id, attempts)
        with write_transaction(self.engine) as connection:
            if not self._still_claimed(connection, job.ticket_id, until):
                return
            if attempts >= MAX_ATTEMPTS:
                # Given up: the ticket keeps what it has and waits in the triage queue for people, as without AI.
                connection.execute(self._delete, {"ticket": job.ticket_id})
                self.triage.record_failure(connection, job.ticket_id, error, now)
                return
            connection.execute(sa.update(self.jobs).where(self.jobs.c.ticket_id == job.ticket_id).values(
                run_at=now + RETRY_AFTER * attempts, locked_until=None, last_error=error))

    def pending(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(self.jobs)).scalar_one())
