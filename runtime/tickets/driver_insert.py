"""Inserts of a fixed set of columns, handed to the driver as SQL text and converted parameters.

A create writes a dozen audit and ledger rows inside SQLite's one write lock; SQLAlchemy's execute of a built
statement spends more CPU per row (parameter construction, event and result set-up) than the database does.
The conversion of each value is still SQLAlchemy's: the same bind processors, resolved for the connection's
dialect (variants, the UTC timestamps and JSON of runtime/compile/columns.py included), applied here once per
column value, and the SQL is the statement SQLAlchemy compiles for that dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None


class _Prepared:
    def __init__(self, table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect) -> None:
        compiled = sa.insert(table).values({name: sa.bindparam(name) for name in columns}).compile(dialect=dialect)
        if compiled.escaped_bind_names:  # pragma: no cover - our column names need no escaping
            msg = f"columns of {table.name} need escaped parameter names"
            raise ValueError(msg)
        self.sql = str(compiled)
        # qmark (SQLite) takes a tuple in the order of the placeholders, pyformat (psycopg) a mapping.
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors: dict[str, Processor] = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns}


class DriverInsert:
    """``INSERT INTO table (columns) VALUES (…)`` for many rows in one driver call (executemany)."""

    def __init__(self, table: sa.Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._prepared: dict[str, _Prepared] = {}

    def _for(self, dialect: sa.Dialect) -> _Prepared:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared.setdefault(dialect.name, _Prepared(self.table, self.columns, dialect))
        return prepared

    def execute(self, connection: sa.Connection, shared: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
                ) -> None:
        """Insert ``rows``, each with the values of ``shared`` too (converted once, not per row); together they
        must name every column."""
        prepared = self._for(connection.dialect)
        processors = prepared.processors
        common = {name: value if (p := processors[name]) is None else p(value) for name, value in shared.items()}
        converted = [{**common, **{name: value if (p := processors[name]) is None else p(value)
                                   for name, value in row.items()}} for row in rows]
        order = prepared.order
        parameters: list[Any] = converted if order is None else [tuple(row[name] for name in order)
                                                                 for row in converted]
        connection.exec_driver_sql(prepared.sql, parameters)
