"""Passwords, API tokens and their commands; ``AuthDesk`` is a migrated desk with bare agents to act on."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from tests.desk_fixtures import SHIPPED, copy_shipped_desk


@dataclass
class AuthDesk:
    compiled: CompiledDesk
    engine: sa.Engine

    def add_agent(self, username: str, *, active: bool = True) -> int:
        now = dt.datetime.now(dt.UTC)
        agents = self.compiled.table("agents")
        with self.engine.begin() as connection:
            return int(connection.execute(sa.insert(agents).values(
                username=username, email=f"{username}@example.com", name=username.title(), roles=["agent"],
                skills=[], capacity=10, away=False, active=active, created_at=now, updated_at=now,
            ).returning(agents.c.id)).scalar_one())


def auth_desk(folder: Path, database_url: str) -> AuthDesk:
    """A copy of the shipped desk (with its committed migrations) migrated onto ``database_url``."""
    root = copy_shipped_desk(folder)
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    return AuthDesk(compiled, engine)
