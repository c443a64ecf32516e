"""``cli.py db copy``: the whole desk from one database into another, e.g. from SQLite to PostgreSQL.

Every table of the compiled desk, every row and column as it is (ids included, so that every reference between
rows stays right), where ``export``/``import tickets`` carries tickets only. The target is migrated to the
revision the definitions need, must hold no rows, and receives everything in one transaction: a copy that fails
leaves it empty. The source is read in one transaction too, so the copy is the desk as of one moment; writes the
desk takes after that moment are not in it (stop the desk's processes first).

Tables go in foreign-key order. A column that refers to its own table (a ticket merged into another, an article
that translates another, an agent's manager) is written empty first and filled in once the whole table is there,
since such a row may point at a later one. On PostgreSQL the id sequences are then set past the largest id
copied, or the next ticket would collide with a copied one. The full-text index needs no step of its own: on
PostgreSQL it is an expression index the database maintains, on SQLite the FTS5 triggers fill it as rows arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runtime.db.engine import write_transaction
from runtime.ops.tables import count_differences, describe_rows, desk_tables, existing_rows, row_counts

Progress = Callable[[str, int], None]  # table, rows copied so far


class CopyRefused(Exception):
    """The target is not empty, or is the source itself."""


@dataclass
class CopyResult:
    source: dict[str, int]
    target: dict[str, int]
    sequences: int = 0
    left_behind: dict[str, int] = field(default_factory=dict)  # tables outside the desk's definitions, with rows

    @property
    def differences(self) -> dict[str, tuple[int, int]]:
        return count_differences(self.source, self.target)


def self_references(table: sa.Table) -> list[sa.Column[Any]]:
    return [fk.parent for fk in table.foreign_keys if fk.column.table is table]


@contextmanager
def snapshot_reader(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that sees the database as of its start for as long as the copy reads."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def _copy_table(table: sa.Table, reader: sa.Connection, writer: sa.Connection, batch: int,
                progress: Progress | None) -> int:
    later = self_references(table)
    key = list(table.primary_key.columns)
    result = reader.execution_options(yield_per=batch).execute(sa.select(table).order_by(*key))
    pending: list[dict[str, Any]] = []  # rows whose reference to their own table is written afterwards
    copied = 0
    for rows in result.partitions():
        values = [row._asdict() for row in rows]
        if later:
            pending.extend({**{c.key: v[c.key] for c in key}, **{c.key: v[c.key] for c in later}} for v in values
                           if any(v[c.key] is not None for c in later))
            values = [{**v, **{c.key: None for c in later}} for v in values]
        writer.execute(table.insert(), values)
        copied += len(values)
        if progress is not None:
            progress(table.name, copied)
    if pending:
        statement = table.update().where(*(c == sa.bindparam(f"key_{c.key}") for c in key)).values(
            {c.key: sa.bindparam(f"set_{c.key}") for c in later})
        writer.execute(statement, [{**{f"key_{c.key}": p[c.key] for c in key},
                                    **{f"set_{c.key}": p[c.key] for c in later}} for p in pending])
    return copied


def _set_sequences(writer: sa.Connection, tables: list[sa.Table]) -> int:
    """Each serial column's sequence to continue after the largest id copied; how many were set."""
    count = 0
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = writer.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))).scalar()
        if sequence is None:
            continue
        largest = writer.execute(sa.select(sa.func.max(column))).scalar()
        # setval(seq, n, false): the next value handed out is n itself.
        writer.execute(sa.select(sa.func.setval(sequence, (largest or 0) + 1, False)))
        count += 1
    return count


def other_tables(connection: sa.Connection, metadata: sa.MetaData) -> dict[str, int]:
    """Tables the definitions do not describe (the archives destructive migrations leave, ``arc_*``), with rows;
    the search index's own tables and Alembic's are not data and are left out."""
    inspector = sa.inspect(connection)
    found = {}
    for name in inspector.get_table_names():
        if name in metadata.tables or name == "alembic_version" or name.startswith("fts_"):
            continue
        rows = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        if rows:
            found[name] = int(rows)
    return found


def copy_desk(metadata: sa.MetaData, source: sa.Engine, target: sa.Engine, *, batch: int = 1000,
              progress: Progress | None = None) -> CopyResult:
    """Copy every row of the desk's tables from ``source`` into ``target`` (already migrated to the same
    revision); refuses a target that holds rows."""
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    tables = desk_tables(metadata)
    there = existing_rows(target, metadata)
    if there:
        raise CopyRefused(f"the target database is not empty: {describe_rows(there)}; copy only into a new, "
                          "empty database")
    with snapshot_reader(source) as reader:
        source_counts = row_counts(reader, metadata)
        left_behind = other_tables(reader, metadata)
        with write_transaction(target) as writer:
            for table in tables:
                _copy_table(table, reader, writer, batch, progress)
            sequences = _set_sequences(writer, tables) if target.dialect.name == "postgresql" else 0
    if target.dialect.name == "postgresql":
        with target.connect() as connection:
            connection.exec_driver_sql("ANALYZE")  # the planner's statistics, which a bulk load leaves empty
            connection.commit()
    with target.connect() as connection:
        target_counts = row_counts(connection, metadata)
    return CopyResult(source_counts, target_counts, sequences, left_behind)
