"""Human ticket numbers per type prefix (IT-000123), unique however many writers create at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.db import driver


class TicketNumbers:
    """Hands out the numbers of one counters table. Its statements are built once: every create runs them
    while it holds SQLite's write lock."""

    def __init__(self, counters: sa.Table) -> None:
        self._bump = (sa.update(counters).where(counters.c.prefix == sa.bindparam("counter_prefix"))
                      .values(last_number=counters.c.last_number + 1).returning(counters.c.last_number))
        self._bump_by = (sa.update(counters).where(counters.c.prefix == sa.bindparam("counter_prefix"))
                         .values(last_number=counters.c.last_number + sa.bindparam("step", type_=sa.BigInteger))
                         .returning(counters.c.last_number))
        self._starts: dict[str, Any] = {
            dialect: module.insert(counters).values(prefix=sa.bindparam("counter_prefix"), last_number=0)
            .on_conflict_do_nothing()
            for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))}
        self._bump_sqls: dict[str, tuple[str, Callable[[str], Any]]] = {}

    def _bump_sql(self, dialect: sa.Dialect) -> tuple[str, Callable[[str], Any]]:
        """The bump as the driver's SQL and the maker of its parameters: run straight on the driver
        (runtime/db/driver.py), as every create runs it. Its values (the prefix, the literal 1) are a plain string and
        integer, which no dialect converts."""
        found = self._bump_sqls.get(dialect.name)
        if found is None:
            compiled = self._bump.compile(dialect=dialect)
            fixed = compiled.construct_params({"counter_prefix": ""})
            order = tuple(compiled.positiontup or ()) if compiled.positional else None

            def parameters(prefix: str) -> Any:
                values = {**fixed, "counter_prefix": prefix}
                return values if order is None else tuple(values[name] for name in order)

            found = self._bump_sqls[dialect.name] = (str(compiled), parameters)
        return found

    def next(self, connection: sa.Connection, prefix: str) -> str:
        """Increment the prefix's counter in this transaction; the row lock serializes concurrent creators."""
        sql, bump_parameters = self._bump_sql(connection.dialect)
        bumped = driver.execute(connection, sql, bump_parameters(prefix)).row
        number = bumped[0] if bumped is not None else None
        parameters = {"counter_prefix": prefix}
        if number is None:
            start = self._starts["postgresql" if connection.dialect.name == "postgresql" else "sqlite"]
            connection.execute(start, parameters)
            number = connection.execute(self._bump, parameters).scalar_one()
        return f"{prefix}-{number:06d}"

    def take(self, connection: sa.Connection, prefix: str, count: int) -> list[str]:
        """``count`` numbers of the prefix in a row, with one statement (a batch of creates of one type)."""
        if count == 1:
            return [self.next(connection, prefix)]
        found = connection.execute(self._bump_by, {"counter_prefix": prefix, "step": count}).scalar()
        if found is None:  # the prefix's first tickets: its counter row starts with the first of them
            first = int(self.next(connection, prefix).rsplit("-", 1)[1])
            found = connection.execute(self._bump_by, {"counter_prefix": prefix, "step": count - 1}).scalar_one()
            assert found == first + count - 1
        return [f"{prefix}-{number:06d}" for number in range(found - count + 1, found + 1)]
