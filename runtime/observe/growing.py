"""Counts over a table that only grows (tickets, AI decisions), kept up to date by reading its new rows only.

A full ``GROUP BY`` over a million tickets takes a second on SQLite; a scrape every few seconds cannot pay that.
The first read counts everything once; later reads count the rows above the last id counted. On PostgreSQL ids
are handed out before commit, so a row may become visible after a higher id did: rows of the last ``SETTLE``
(by their ``created_at``) are therefore counted afresh on every read and folded into the kept totals only
once older. A row committed more than ``SETTLE`` after it was stamped, or deleted after it was counted, makes
the processes that counted it and those that did not differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

SETTLE = dt.timedelta(minutes=1)
Key = tuple[Any, ...]


class GrowingTally:
    """Per key (the values of ``keys``): the number of rows and the sum of ``value`` over them."""

    def __init__(self, table: sa.Table, keys: Sequence[sa.ColumnElement[Any]],
                 value: sa.ColumnElement[Any] | None = None, where: sa.ColumnElement[bool] | None = None) -> None:
        self.width = len(keys)
        old = sa.case((table.c.created_at < sa.bindparam("cutoff"), 1), else_=0).label("old")
        aggregates = [sa.func.count(), sa.func.sum(value if value is not None else sa.literal(0)),
                      sa.func.min(table.c.id), sa.func.max(table.c.id)]
        query = sa.select(*keys, old, *aggregates).where(table.c.id > sa.bindparam("above"))
        if where is not None:
            query = query.where(where)
        self._query = query.group_by(*keys, old)
        self._above = 0  # every row up to this id is in _kept
        self._kept: dict[Key, list[float]] = {}

    def read(self, connection: sa.Connection, now: dt.datetime) -> dict[Key, tuple[int, float]]:
        rows = connection.execute(self._query, {"above": self._above, "cutoff": now - SETTLE}).all()
        width = self.width
        settled = [r for r in rows if r[width]]
        recent = [r for r in rows if not r[width]]
        newest_settled = max((r[width + 4] for r in settled), default=None)
        oldest_recent = min((r[width + 3] for r in recent), default=None)
        # Fold the settled rows in only when none of the recent ones sits below them, which would otherwise be
        # skipped by the next read's "above".
        fold = newest_settled is not None and (oldest_recent is None or oldest_recent > newest_settled)
        totals = {key: list(kept) for key, kept in self._kept.items()}
        for row in rows:
            total = totals.setdefault(tuple(row[:width]), [0, 0.0])
            total[0] += row[width + 1]
            total[1] += float(row[width + 2] or 0)
        if fold:
            for row in settled:
                kept = self._kept.setdefault(tuple(row[:width]), [0, 0.0])
                kept[0] += row[width + 1]
                kept[1] += float(row[width + 2] or 0)
            self._above = int(newest_settled)  # type: ignore[arg-type]
        return {key: (int(count), total) for key, (count, total) in totals.items()}
