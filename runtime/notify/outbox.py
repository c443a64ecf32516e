"""Deliveries to the outside world are queued as jobs in the same transaction as the change that causes them,
and sent by the worker after it commits: a rolled-back change sends nothing, and a failed send is retried."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.notify.email import MailHeaders

EMAIL, WEBHOOK = "email", "webhook"


class Outbox:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.jobs = compiled.table("jobs")

    def email(self, connection: sa.Connection, to: str, subject: str, body: str, now: dt.datetime,
              headers: MailHeaders | None = None) -> None:
        payload = {"to": to, "subject": subject, "body": body}
        self._queue(connection, EMAIL, {**payload, **headers.payload()} if headers else payload, now)

    def webhook(self, connection: sa.Connection, url: str, payload: dict[str, Any], now: dt.datetime) -> None:
        self._queue(connection, WEBHOOK, {"url": url, "body": payload}, now)

    def queue_many(self, connection: sa.Connection, jobs: list[tuple[str, dict[str, Any]]], now: dt.datetime) -> None:
        """Queue (kind, payload) deliveries with one statement."""
        if jobs:
            connection.execute(sa.insert(self.jobs), [{"kind": kind, "payload": payload, "run_at": now, "attempts": 0}
                                                      for kind, payload in jobs])

    def queue(self, connection: sa.Connection, kind: str, payload: dict[str, Any], now: dt.datetime) -> None:
        """A job of any kind for the worker, due now."""
        self._queue(connection, kind, payload, now)

    def _queue(self, connection: sa.Connection, kind: str, payload: dict[str, Any], now: dt.datetime) -> None:
        connection.execute(sa.insert(self.jobs).values(kind=kind, payload=payload, run_at=now, attempts=0))
