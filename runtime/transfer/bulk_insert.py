"""One ``INSERT`` of fixed columns for many rows, handed to the driver's executemany with each value converted as
its column's type converts it.

An import writes about ten rows per ticket (the ticket, its extension row, an audit event, SLA clocks and their
ledger, comments); converting their values costs more than the database's work on them. So the conversion is
chosen once per column: SQLAlchemy's own bind processor for the dialect, except for two that the import's rows
are full of and that have a faster exact equivalent on SQLite: timestamps (UTC, stored as naive text in the
format SQLAlchemy's SQLite dialect writes) and JSON values that are empty.

On SQLite the rows go in as few statements as the bound-variable limit allows (``INSERT … VALUES (…), (…), …``)
rather than one statement per row: tickets and comments carry full-text triggers, and FTS5 writes out what it has
indexed at every statement's start (a statement savepoint), so one statement per row left every ticket its own
index segment to merge later. Many rows per statement halve the database's CPU per imported ticket.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import UtcDateTime

Convert = Callable[[Any], Any]
# SQLite's default limit of bound variables per statement since 3.32 (SQLITE_MAX_VARIABLE_NUMBER).
SQLITE_VARIABLES = 32766


def _sqlite_time(value: dt.datetime | None) -> str | None:
    """What ``UtcDateTime`` then SQLite's DATETIME make of an aware time: naive UTC as 2026-11-02 09:30:00.000000."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}: Tessera stores aware timestamps only"
            raise ValueError(msg)
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without its +00:00


def _sqlite_json(fallback: Convert) -> Convert:
    empty: dict[type, str] = {list: json.dumps([]), dict: json.dumps({})}

    def convert(value: Any) -> Any:
        if value is None:
            return "null"
        if not value and type(value) in empty:
            return empty[type(value)]
        return fallback(value)

    return convert


def converter(column: sa.Column[Any], dialect: sa.Dialect) -> Convert | None:
    processor: Convert | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite":
        return processor
    if isinstance(column.type, UtcDateTime):
        return _sqlite_time
    if isinstance(column.type, sa.JSON) and processor is not None:
        return _sqlite_json(processor)
    return processor


class BulkInsert:
    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> None:
        statement = sa.insert(table).values({name: sa.bindparam(name) for name in columns})
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.order = tuple(compiled.positiontup or ()) if self.positional else tuple(columns)
        self.converters = [(name, converter(table.c[name], dialect)) for name in self.order]
        self._by_name = dict(self.converters)
        self.many_rows = dialect.name == "sqlite" and self.positional
        if self.many_rows:
            quote = dialect.identifier_preparer.quote
            self._head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in self.order)}) VALUES "
            self._group = f"({', '.join('?' for _ in self.order)})"
            self.rows_per_statement = max(1, SQLITE_VARIABLES // max(len(self.order), 1))
            self._statements: dict[int, str] = {}

    def _rows_statement(self, count: int) -> str:
        """The insert of ``count`` rows in one statement (one for a full chunk and one for the last, in practice)."""
        sql = self._statements.get(count)
        if sql is None:
            sql = self._statements[count] = self._head + ", ".join([self._group] * count)
        return sql

    def _send(self, connection: sa.Connection, parameters: list[Any]) -> None:
        if not self.many_rows:
            connection.exec_driver_sql(self.sql, parameters)
            return
        step = self.rows_per_statement
        for start in range(0, len(parameters), step):
            chunk = parameters[start:start + step]
            connection.exec_driver_sql(self._rows_statement(len(chunk)), tuple([v for row in chunk for v in row]))

    def convert(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` converted for the driver, every column that needs converting included (a missing one as null):
        what ``execute(converted=True)`` takes, once the columns that need no conversion (ids, numbers) are added."""
        return {name: row.get(name) if convert is None else convert(row.get(name))
                for name, convert in self.converters if convert is not None or name in row}

    def convert_value(self, name: str, value: Any) -> Any:
        convert = self._by_name[name]
        return value if convert is None else convert(value)

    def execute(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]], *, converted: bool = False
                ) -> None:
        """Insert ``rows`` (already through ``convert`` when ``converted``); a column a row does not name is null."""
        if not rows:
            return
        if converted:
            order = self.order
            if self.positional:
                parameters: list[Any] = [tuple([row.get(name) for name in order]) for row in rows]
            else:
                parameters = [{name: row.get(name) for name in order} for row in rows]
            self._send(connection, parameters)
            return
        converters = self.converters
        if self.positional:
            parameters = [tuple([row.get(name) if convert is None else convert(row.get(name))
                                 for name, convert in converters]) for row in rows]
        else:
            parameters = [{name: row.get(name) if convert is None else convert(row.get(name))
                           for name, convert in converters} for row in rows]
        self._send(connection, parameters)
