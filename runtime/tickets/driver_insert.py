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
# Rows in one multi-row INSERT at most: SQLite (3.32+) takes 32,766 parameters to a statement, and each count of
# rows is a statement of its own in the driver's cache.
ROWS_PER_STATEMENT = 100


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
        self.quote = dialect.identifier_preparer.quote
        self._rows_sql: dict[tuple[int, tuple[str, ...]], str] = {}

    def rows_sql(self, count: int, returning: tuple[str, ...] = ()) -> str:
        """The statement with ``count`` rows of placeholders after VALUES (positional styles only, without a
        RETURNING of its own), returning the columns ``returning`` of every row."""
        index = (count, returning)
        sql = self._rows_sql.get(index)
        if sql is None:
            head, _, placeholders = self.sql.rpartition(" VALUES ")
            assert placeholders.startswith("("), self.sql
            assert placeholders.endswith(")"), self.sql
            sql = f"{head} VALUES {', '.join([placeholders] * count)}"
            if returning:
                sql += f" RETURNING {', '.join(self.quote(name) for name in returning)}"
            sql = self._rows_sql.setdefault(index, sql)
        return sql

    def insert_rows(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]],
                    returning: tuple[str, ...] = ()) -> list[tuple[Sequence[Mapping[str, Any]], driver.Done]]:
        """Insert converted ``rows`` with multi-row statements of ``ROWS_PER_STATEMENT`` rows at most (positional
        styles only); each statement's rows with what it returned."""
        order = self.order
        assert order is not None, "multi-row inserts take positional parameters"
        done = []
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start:start + ROWS_PER_STATEMENT]
            values = [row[name] for row in chunk for name in order]
            done.append((chunk, driver.execute(connection, self.rows_sql(len(chunk), returning), values,
                                               every=bool(returning))))
        return done

    def convert(self, row: Mapping[str, Any]) -> dict[str, Any]:
        processors = self.processors
        return {name: value if (p := processors[name]) is None else p(value) for name, value in row.items()}

    def convert_late(self, late: Mapping[str, Any]) -> Mapping[str, Any]:
        """``convert`` for the few values only the write knows (keys, numbers), which mostly need no conversion:
        those are taken as they are, without a copy."""
        processors = self.processors
        for name in late:
            if processors[name] is not None:
                return self.convert(late)
        return late

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
            extra = prepared.convert_late(late)
            rows = [{**row, **extra} for row in rows] if extra else rows
        elif late:
            rows = [{**row, **prepared.convert_late(more)} for row, more in zip(rows, late, strict=True)]
        if prepared.order is None or len(rows) == 1:
            driver.execute(connection, prepared.sql, [prepared.bind(row) for row in rows], many=True)
            return
        # SQLite: one statement for all the rows. Each row of an executemany is a step of its own, and every step
        # lets go of the GIL; taking it back behind the process's other busy threads costs far more than the step.
        prepared.insert_rows(connection, rows)


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
        values = {**draft.converted, **prepared.convert_late(late)} if late else draft.converted
        done = driver.execute(connection, prepared.sql, prepared.bind(values))
        if self.key is None:
            return None
        if prepared.returning is None:
            return done.lastrowid
        assert done.row is not None  # an INSERT ... RETURNING that succeeded returns its row
        return done.row[0]

    def execute_drafts(self, connection: sa.Connection, drafts: Sequence[RowDraft], late: Sequence[Mapping[str, Any]],
                       match: tuple[str, ...] = ()) -> list[Any]:
        """Insert drafted rows, each completed with its ``late`` values, in multi-row statements (one per set of
        columns and ``ROWS_PER_STATEMENT`` rows; SQLite and other positional styles only). With ``key``: the new
        rows' keys in the order of ``drafts``, told apart by the columns ``match``, whose values must differ from
        row to row (SQLite returns the rows of a RETURNING in no promised order); else a list of None."""
        keys: list[Any] = [None] * len(drafts)
        groups: dict[int, list[int]] = {}
        for index, draft in enumerate(drafts):
            assert draft.dialect == connection.dialect.name, "a row drafted for another database"
            groups.setdefault(id(draft.prepared), []).append(index)
        returning = (self.key, *match) if self.key is not None else ()
        for indexes in groups.values():
            prepared = drafts[indexes[0]].prepared
            rows = [{**drafts[i].converted, **prepared.convert_late(late[i])} for i in indexes]
            where = {tuple(row[name] for name in match): i for row, i in zip(rows, indexes, strict=True)}
            for chunk, done in prepared.insert_rows(connection, rows, returning):
                if not returning:
                    continue
                returned = (done.row, *done.rest) if done.row is not None else ()
                if len(returned) != len(chunk) or len(where) != len(rows):
                    msg = f"{len(returned)} keys back for {len(chunk)} rows of {self.table.name}"
                    raise RuntimeError(msg)
                for key, *told in returned:
                    keys[where[tuple(told)]] = key
        return keys

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
