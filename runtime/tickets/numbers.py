"""Human ticket numbers per type prefix (IT-000123), unique however many writers create at once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


class TicketNumbers:
    """Hands out the numbers of one counters table. Its statements are built once: every create runs them
    while it holds SQLite's write lock."""

    def __init__(self, counters: sa.Table) -> None:
        self._bump = (sa.update(counters).where(counters.c.prefix == sa.bindparam("counter_prefix"))
                      .values(last_number=counters.c.last_number + 1).returning(counters.c.last_number))
        self._starts: dict[str, Any] = {
            dialect: module.insert(counters).values(prefix=sa.bindparam("counter_prefix"), last_number=0)
            .on_conflict_do_nothing()
            for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))}

    def next(self, connection: sa.Connection, prefix: str) -> str:
        """Increment the prefix's counter in this transaction; the row lock serializes concurrent creators."""
        parameters = {"counter_prefix": prefix}
        number = connection.execute(self._bump, parameters).scalar()
        if number is None:
            start = self._starts["postgresql" if connection.dialect.name == "postgresql" else "sqlite"]
            connection.execute(start, parameters)
            number = connection.execute(self._bump, parameters).scalar_one()
        return f"{prefix}-{number:06d}"

