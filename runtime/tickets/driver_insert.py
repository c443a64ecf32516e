"""Inserts handed to the driver as SQL text and converted parameters: many rows of a fixed set of columns
(``DriverInsert``), or one row returning its key (``RowInsert``).

A create writes a dozen audit and ledger rows and a few others inside SQLite's one write lock; SQLAlchemy's
execute of a built statement spends more CPU per row (parameter construction, event and result set-up) than the
database does. The conversion of each value is still SQLAlchemy's: the same bind processors, resolved for the
connection's dialect (variants, the UTC timestamps and JSON of runtime/compile/columns.py included), applied here
once per column value, and the SQL is the statement SQLAlchemy compiles for that dialect.

Values can also be converted ahead (``draft``) and the rows written later with the few values only the write
knows (a new ticket's key, its number): a create converts its rows before it takes SQLite's one write lock, and
holds the lock only for the statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
        self.returning = returning
        # qmark (SQLite) takes a tuple in the order of the placeholders, pyformat (psycopg) a mapping.
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors: dict[str, Processor] = {
            name: _none_once(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns}

    def convert(self, row: Mapping[str, Any]) -> dict[str, Any]:
        processors = self.processors
        return {name: value if (p := processors[name]) is None else p(value) for name, value in row.items()}

    def bind(self, converted: Mapping[str, Any]) -> Any:
        """Converted values as the driver takes them: a mapping (pyformat) or a tuple in placeholder order (qmark)."""
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
        self.execute_draft(connection, self.draft(connection.dialect, shared, rows))

    def draft(self, dialect: sa.Dialect, shared: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
              ) -> list[dict[str, Any]]:
        """``rows`` (each with ``shared``) converted for ``dialect``; the columns they leave out are given to
        ``execute_draft``."""
        prepared = self._for(dialect)
        common = prepared.convert(shared)
        return [{**common, **prepared.convert(row)} for row in rows]

    def execute_draft(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]],
                      late: Sequence[Mapping[str, Any]] | Mapping[str, Any] = ()) -> None:
        """Insert converted ``rows``, completed with ``late`` values: the same for every row (a mapping) or one
        mapping per row."""
        prepared = self._for(connection.dialect)
        if isinstance(late, Mapping):
            extra = prepared.convert(late)
            rows = [{**row, **extra} for row in rows] if extra else rows
        elif late:
            rows = [{**row, **prepared.convert(more)} for row, more in zip(rows, late, strict=True)]
        driver.execute(connection, prepared.sql, [prepared.bind(row) for row in rows], many=True)


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
        return self.execute_draft(connection, self.draft(connection.dialect, row))

    def draft(self, dialect: sa.Dialect, row: Mapping[str, Any], late: Sequence[str] = ()) -> RowDraft:
        """``row`` converted for ``dialect``, to be written by ``execute_draft`` with the values of ``late``."""
        prepared = self._for(dialect, (*row, *late))
        return RowDraft(prepared, prepared.convert(row), dialect.name)

    def execute_draft(self, connection: sa.Connection, draft: RowDraft, late: Mapping[str, Any] | None = None
                      ) -> Any:
        """Insert a drafted row completed with ``late`` values; the new row's key (with ``key``), else None."""
        prepared = draft.prepared
        assert draft.dialect == connection.dialect.name, "a row drafted for another database"
        values = {**draft.converted, **prepared.convert(late)} if late else draft.converted
        done = driver.execute(connection, prepared.sql, prepared.bind(values))
        if self.key is None:
            return None
        if prepared.returning is None:
            return done.lastrowid
        assert done.row is not None  # an INSERT ... RETURNING that succeeded returns its row
        return done.row[0]

    def _for(self, dialect: sa.Dialect, columns: tuple[str, ...]) -> _Prepared:
        index = (dialect.name, columns)
        prepared = self._prepared.get(index)
        if prepared is None:
            # SQLite gives the key of the row just inserted without RETURNING; a trigger's own inserts do not change
            # it.
            returning = self.key if self.key is not None and dialect.name != "sqlite" else None
            prepared = self._prepared.setdefault(index, _Prepared(self.table, columns, dialect, returning=returning))
        return prepared


@dataclass(frozen=True, slots=True)
class RowDraft:
    """A row converted ahead of its insert (``RowInsert.draft``)."""

    prepared: _Prepared
    converted: dict[str, Any]
    dialect: str
