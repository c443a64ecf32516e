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
index segment to merge later. Many rows per statement halve the database's CPU per imported ticket. On
PostgreSQL the rows go through COPY.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import UtcDateTime

Convert = Callable[[Any], Any]
# SQLite's default limit of bound variables per statement since 3.32 (SQLITE_MAX_VARIABLE_NUMBER); a library built
# with a lower one says so (sqlite3's getlimit), and its limit is taken instead.
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


def _row_reader(converters: Sequence[tuple[str, Convert | None]]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function that reads a row's values in the order of ``converters``, each through its converter: written
    out as one list display for the table's columns, it runs about three times faster than a loop over them, and it
    runs for every row the import writes."""
    scope: dict[str, Any] = {}
    items = []
    for place, (name, convert) in enumerate(converters):
        if convert is None:
            items.append(f"get({name!r})")
        else:
            scope[f"convert_{place}"] = convert
            items.append(f"convert_{place}(get({name!r}))")
    exec(f"def values(row):\n    get = row.get\n    return [{', '.join(items)}]\n", scope)
    reader: Callable[[Mapping[str, Any]], list[Any]] = scope["values"]
    return reader


class BulkInsert:
    """Rows of one table as lists of values in the statement's column order (``index`` gives each column's place),
    converted once when prepared, so that writing them adds ids by place and hands the lists on as they are."""

    def __init__(self, table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> None:
        self.order = tuple(columns)
        self.index = {name: place for place, name in enumerate(self.order)}
        self.converters = [(name, converter(table.c[name], dialect)) for name in self.order]
        self._by_name = dict(self.converters)
        # values(row): the row (by column name) as the statement's values, converted; a column it lacks is null.
        self.values: Callable[[Mapping[str, Any]], list[Any]] = _row_reader(self.converters)
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in self.order)}) VALUES "
        self._group = f"({', '.join(mark for _ in self.order)})"
        self.sql = self._head + self._group
        self.many_rows = dialect.name == "sqlite"
        columns_text = ", ".join(quote(name) for name in self.order)
        self._copy = f"COPY {quote(table.name)} ({columns_text}) FROM STDIN" if dialect.name == "postgresql" else None
        self._rows_per_statement: int | None = None
        self._statements: dict[int, str] = {}


    def convert_value(self, name: str, value: Any) -> Any:
        convert = self._by_name[name]
        return value if convert is None else convert(value)

    def execute(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` given by column name, converting them here."""
        self.execute_values(connection, [self.values(row) for row in rows])

    def execute_values(self, connection: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows that ``values`` made (and ids were put in)."""
        if not rows:
            return
        if self._copy is not None:
            self._copy_rows(connection, self._copy, rows)
            return
        if not self.many_rows:
            connection.exec_driver_sql(self.sql, [tuple(row) for row in rows])
            return
        step = self._rows_per_statement
        if step is None:
            driver = connection.connection.driver_connection
            limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if driver is not None else SQLITE_VARIABLES
            step = self._rows_per_statement = max(1, min(SQLITE_VARIABLES, limit) // max(len(self.order), 1))
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            connection.exec_driver_sql(self._rows_statement(len(chunk)), tuple([v for row in chunk for v in row]))

    @staticmethod
    def _copy_rows(connection: sa.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL: the rows through COPY on the transaction's own connection, which the server reads as one
        stream instead of parsing and planning a statement per row. Its error is raised as SQLAlchemy raises a
        statement's, so that a refused batch is written again row by row."""
        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            if not isinstance(exc, connection.dialect.loaded_dbapi.Error):
                raise
            raise sa.exc.DBAPIError.instance(sql, None, exc, connection.dialect.loaded_dbapi.Error) from exc

    def _rows_statement(self, count: int) -> str:
        """The insert of ``count`` rows in one statement (one for a full chunk and one for the last, in practice)."""
        sql = self._statements.get(count)
        if sql is None:
            sql = self._statements[count] = self._head + ", ".join([self._group] * count)
        return sql
