"""What the ops commands count and compare: the rows of every table the compiled desk describes."""

from __future__ import annotations

import sqlalchemy as sa


def desk_tables(metadata: sa.MetaData) -> list[sa.Table]:
    """The desk's tables, each after the tables its foreign keys point at (self-references aside)."""
    return list(metadata.sorted_tables)


def count_rows(connection: sa.Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def row_counts(connection: sa.Connection, metadata: sa.MetaData) -> dict[str, int]:
    return {table.name: count_rows(connection, table) for table in desk_tables(metadata)}


def nonempty(counts: dict[str, int]) -> dict[str, int]:
    return {name: count for name, count in counts.items() if count}


def existing_rows(engine: sa.Engine, metadata: sa.MetaData) -> dict[str, int]:
    """Rows in those of the desk's tables the database already has (a new database has none of them)."""
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        return nonempty({table.name: count_rows(connection, table) for table in desk_tables(metadata)
                         if table.name in present})


def describe_rows(counts: dict[str, int], limit: int = 5) -> str:
    """``tickets (208 rows), comments (200 rows), …`` for a refusal naming what is already there."""
    shown = [f"{name} ({count:,} rows)" for name, count in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]]
    more = len(counts) - len(shown)
    return ", ".join(shown) + (f" and {more} more tables" if more > 0 else "")


def count_differences(expected: dict[str, int], found: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Table → (rows expected, rows found), for every table where the two differ (a table absent counts 0)."""
    return {name: (expected.get(name, 0), found.get(name, 0)) for name in sorted(set(expected) | set(found))
            if expected.get(name, 0) != found.get(name, 0)}
