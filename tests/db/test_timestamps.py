"""Timestamps come back as the same instant in UTC on SQLite and PostgreSQL; naive ones are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.compile.columns import UtcDateTime
from runtime.db.engine import make_engine


def test_aware_timestamps_round_trip_as_utc(database_url: str, tmp_path: Path) -> None:
    md = sa.MetaData()
    table = sa.Table("stamps", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UtcDateTime()))
    engine = make_engine(database_url, tmp_path)
    md.create_all(engine)
    berlin = dt.datetime(2026, 3, 29, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with engine.begin() as connection:
        connection.execute(sa.insert(table).values(id=1, at=berlin))
        stored = connection.execute(sa.select(table.c.at)).scalar_one()
        later = connection.execute(sa.select(table.c.id).where(table.c.at < berlin + dt.timedelta(minutes=1))).all()
    assert stored == berlin
    assert stored.tzinfo == dt.UTC
    assert stored.hour == 1
    assert later == [(1,)]


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    md = sa.MetaData()
    table = sa.Table("stamps", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UtcDateTime()))
    engine = make_engine(f"sqlite:///{tmp_path}/t.db", tmp_path)
    md.create_all(engine)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as connection:
        connection.execute(sa.insert(table).values(id=1, at=dt.datetime(2026, 1, 1, 12, 0)))
