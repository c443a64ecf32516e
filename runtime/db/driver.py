"""SQL text run straight on the driver's cursor, inside the caller's SQLAlchemy transaction.

For the few statements every ticket create runs while it holds SQLite's write lock: SQLAlchemy's execute, even of
plain SQL text (``exec_driver_sql``), sets up an execution context, a cursor wrapper and a result for each one,
which costs more than SQLite's own work on a short row. Errors come out as SQLAlchemy's (an IntegrityError is
still one), so that callers cannot tell the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class Done:
    row: tuple[Any, ...] | None  # the first row the statement returned (RETURNING), if any
    lastrowid: int | None  # SQLite's key of the row inserted last
    rest: tuple[tuple[Any, ...], ...] = ()  # the rows after the first, when asked for all


def execute(connection: sa.Connection, sql: str, parameters: Any, *, many: bool = False, every: bool = False
            ) -> Done:
    """Run ``sql`` (in the dialect's parameter style) with ``parameters``, or with each of them when ``many``;
    ``every``: keep all the rows it returns, not only the first."""
    cursor = connection.connection.cursor()
    error = connection.dialect.loaded_dbapi.Error
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        row = cursor.fetchone() if cursor.description is not None else None
        rest = tuple(tuple(r) for r in cursor.fetchall()) if every and row is not None else ()
        # psycopg's cursors have no lastrowid: PostgreSQL returns keys with RETURNING.
        return Done(tuple(row) if row is not None else None, getattr(cursor, "lastrowid", None), rest)
    except error as exc:
        raise sa.exc.DBAPIError.instance(sql, parameters, exc, error, dialect=connection.dialect) from exc
    finally:
        cursor.close()


class Statement:
    """A SQLAlchemy statement compiled once per dialect and run on the driver, for a hot path's plain values (ints,
    strings: the parameters are not passed through SQLAlchemy's type conversions). Run this way a read opens no
    transaction of its own: SQLAlchemy would begin one (a BEGIN, and a ROLLBACK when the connection goes back)."""

    def __init__(self, statement: sa.sql.expression.Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def run(self, connection: sa.Connection, parameters: Mapping[str, Any]) -> Done:
        found = self._compiled.get(connection.dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            # The statement's own fixed values (literals bound as parameters), the caller's to be filled in.
            fixed = compiled.construct_params(dict.fromkeys(compiled.binds))
            found = self._compiled.setdefault(connection.dialect.name, (str(compiled), fixed, order))
        sql, fixed, order = found
        values = {**fixed, **parameters}
        return execute(connection, sql, values if order is None else tuple(values[name] for name in order))
