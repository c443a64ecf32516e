"""The app and the worker refuse to start on a database or generated files behind the definitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.errors import DatabaseBehind
from runtime.web.app import create_app
from runtime.worker.loop import Worker
from tests.desk_fixtures import SHIPPED, add_it_support_field, copy_shipped_desk


@pytest.fixture
def root(tmp_path: Path) -> Path:
    desk = copy_shipped_desk(tmp_path / "desk")
    shutil.copytree(SHIPPED / "generated", desk / "generated")
    return desk


@pytest.mark.parametrize("start", [create_app, Worker], ids=["app", "worker"])
def test_refuses_an_empty_database_and_names_migrate(root: Path, database_url: str, start: object) -> None:
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    with pytest.raises(DatabaseBehind, match=r"The database is empty .* Run `python cli.py migrate`\."):
        start(compiled, engine)  # type: ignore[operator]


@pytest.mark.parametrize("start", [create_app, Worker], ids=["app", "worker"])
def test_refuses_definitions_changed_since_the_last_migration(root: Path, database_url: str, start: object) -> None:
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(load_compiled(root)), engine)
    add_it_support_field(root)
    with pytest.raises(DatabaseBehind, match=r"add column ticket_it_support.vpn_client[\s\S]*cli.py generate"):
        start(load_compiled(root), engine)  # type: ignore[operator]


def test_refuses_a_database_migrated_by_newer_definitions(root: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/newer.db", root)
    compiled = load_compiled(root)
    migrations.upgrade(migration_paths(compiled), engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    with pytest.raises(DatabaseBehind, match="revision ffffffffffff, which this checkout"):
        create_app(compiled, engine)


def test_starts_on_a_migrated_database(root: Path, database_url: str) -> None:
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    assert create_app(compiled, engine) is not None
    assert Worker(compiled, engine).run_due() == 0
