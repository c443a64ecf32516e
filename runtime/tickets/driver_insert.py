"""Inserts handed to the driver as SQL text and converted parameters: many rows of a fixed set of columns
(``DriverInsert``), or one row returning its key (``RowInsert``).

A create writes a dozen audit and ledger rows and a few others inside SQLite's one write lock; SQLAlchemy's
execute of a built statement spends more CPU per row (parameter construction, event and result set-up) than the
database does. The conversion of each value is still SQLAlchemy's: the same bind processors, resolved for the
connection's dialect (variants, the UTC timestamps and JSON of runtime/compile/columns.py included), applied here
once per column value, and the SQL is the statement SQLAlchemy compiles for that dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from runtime.db import driver

Processor = Callable[[Any], Any] | None


class _Prepared:
    def __init__(self, table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect, *,
                 returning: str | None = None) -> None:
        statement = sa.insert(table).values({name: sa.bindparam(name) for name in columns})
        compiled = (statement.returning(table.c[returning]) if returning else statement).compile(dialect=dialect)
        if compiled.escaped_bind_names:  # pragma: no cover - our column names need no escaping
            msg = f"columns of {table.name} need escaped parameter names"
            raise ValueError(msg)
        self.sql = str(compiled)
        # qmark (SQLite) takes a tuple in the order of the placeholders, pyformat (psycopg) a mapping.
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors: dict[str, Processor] = {
            name: _none_once(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns}

    def parameters(self, row: Mapping[str, Any]) -> Any:
        processors = self.processors
        converted = {name: value if (p := processors[name]) is None else p(value) for name, value in row.items()}
        return converted if self.order is None else tuple(converted[name] for name in self.order)


def _none_once(processor: Processor) -> Processor:
    """The processor, with its answer for None worked out once: a JSON column turns None into the text 'null' by
    calling the serializer, and most of an audit row's old values are None."""
    if processor is None:
        return None
    none = processor(None)
    if none is None:
        return processor
    convert = processor
    return lambda value: none if value is None else convert(value)


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
        driver.execute(connection, prepared.sql, parameters, many=True)


class RowInsert:
    """``INSERT INTO table (…) VALUES (…)`` of one row, its columns those the row names (one statement compiled per
    dialect and set of columns), returning the new row's ``key`` when asked to.

    No Python-side column defaults are applied, as our tables declare none."""

    def __init__(self, table: sa.Table, key: str | None = None) -> None:
        self.table = table
        self.key = key
        self._prepared: dict[tuple[str, tuple[str, ...]], _Prepared] = {}

    def execute(self, connection: sa.Connection, row: Mapping[str, Any]) -> Any:
        """The new row's key (with ``key``), else None."""
        dialect = connection.dialect
        # SQLite gives the key of the row just inserted without RETURNING; a trigger's own inserts do not change it.
        returning = self.key if self.key is not None and dialect.name != "sqlite" else None
        index = (dialect.name, tuple(row))
        prepared = self._prepared.get(index)
        if prepared is None:
            prepared = self._prepared.setdefault(index, _Prepared(self.table, index[1], dialect, returning=returning))
        done = driver.execute(connection, prepared.sql, prepared.parameters(row))
        if self.key is None:
            return None
        if returning is None:
            return done.lastrowid
        assert done.row is not None  # an INSERT ... RETURNING that succeeded returns its row
        return done.row[0]
