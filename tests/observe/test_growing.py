"""GrowingTally: counts by key over a table that only grows, read by new rows only, right also when a lower id
becomes visible after a higher one (as PostgreSQL's ids may, committed out of order)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from runtime.compile.columns import UtcDateTime
from runtime.observe.growing import SETTLE, GrowingTally

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def setup() -> tuple[sa.Engine, sa.Table, GrowingTally]:
    engine = sa.create_engine("sqlite://")
    rows = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("source", sa.String(8)), sa.Column("cost", sa.Float),
                    sa.Column("created_at", UtcDateTime()))
    rows.metadata.create_all(engine)
    return engine, rows, GrowingTally(rows, [rows.c.source], value=rows.c.cost)


def add(engine: sa.Engine, rows: sa.Table, row_id: int, source: str, cost: float, at: dt.datetime) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(rows), {"id": row_id, "source": source, "cost": cost, "created_at": at})


def read(engine: sa.Engine, tally: GrowingTally, now: dt.datetime) -> dict[str, tuple[int, float]]:
    with engine.connect() as connection:
        return {key[0]: figures for key, figures in tally.read(connection, now).items()}


def test_old_rows_are_kept_and_only_new_ones_read_again() -> None:
    engine, rows, tally = setup()
    for row_id in (1, 2, 3):
        add(engine, rows, row_id, "api" if row_id < 3 else "email", 1.5, NOW - dt.timedelta(hours=1))
    assert read(engine, tally, NOW) == {"api": (2, 3.0), "email": (1, 1.5)}
    assert tally._above == 3
    # A kept row deleted later stays counted: the tally reads nothing at or below what it kept.
    with engine.begin() as connection:
        connection.execute(sa.delete(rows).where(rows.c.id == 1))
    add(engine, rows, 4, "api", 2.0, NOW)
    assert read(engine, tally, NOW) == {"api": (3, 5.0), "email": (1, 1.5)}
    assert tally._above == 3  # row 4 is recent: read again next time


def test_a_lower_id_that_appears_late_is_still_counted() -> None:
    engine, rows, tally = setup()
    add(engine, rows, 10, "api", 1.0, NOW - dt.timedelta(seconds=5))
    assert read(engine, tally, NOW) == {"api": (1, 1.0)}
    # Row 7 was stamped before row 10 but committed after it.
    add(engine, rows, 7, "form", 1.0, NOW - dt.timedelta(seconds=6))
    assert read(engine, tally, NOW + dt.timedelta(seconds=1)) == {"api": (1, 1.0), "form": (1, 1.0)}
    later = NOW + SETTLE + dt.timedelta(seconds=1)
    assert read(engine, tally, later) == {"api": (1, 1.0), "form": (1, 1.0)}
    assert tally._above == 10
    assert read(engine, tally, later) == {"api": (1, 1.0), "form": (1, 1.0)}


def test_settled_rows_wait_while_a_recent_one_sits_below_them() -> None:
    engine, rows, tally = setup()
    add(engine, rows, 1, "api", 1.0, NOW)  # recent
    add(engine, rows, 2, "email", 1.0, NOW - dt.timedelta(hours=2))  # an import's old timestamp, a higher id
    assert read(engine, tally, NOW) == {"api": (1, 1.0), "email": (1, 1.0)}
    assert tally._above == 0  # folding row 2 would skip row 1 for good
    assert read(engine, tally, NOW + SETTLE * 2) == {"api": (1, 1.0), "email": (1, 1.0)}
    assert tally._above == 2
