"""A migrated, seeded copy of the shipped desk and its people, for service and API tests."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.tickets.actors import Actor, agent_actor, contact_actor
from runtime.tickets.service import TicketService
from tests.desk_fixtures import SHIPPED, copy_shipped_desk


@dataclass
class SeededDesk:
    compiled: CompiledDesk
    engine: sa.Engine
    service: TicketService

    def id_of(self, table: str, column: str, value: str) -> int:
        t = self.compiled.table(table)
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(t.c.id).where(t.c[column] == value)).scalar_one())

    def agent(self, username: str) -> Actor:
        with self.engine.connect() as connection:
            return agent_actor(connection, self.compiled, self.id_of("agents", "username", username))

    def contact(self, email: str) -> Actor:
        with self.engine.connect() as connection:
            return contact_actor(connection, self.compiled, self.id_of("contacts", "email", email))

    def execute(self, sql: str) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql(sql)


def migrated_desk(tmp: Path, database_url: str, settings: str = "", *, seed: bool = True,
                  files: Mapping[str, str] | None = None) -> tuple[Path, CompiledDesk, sa.Engine]:
    """A copy of the shipped desk with ``settings`` appended to its tessera.yaml and ``files`` (path relative to
    the desk → text) written beside it, migrated, and (``seed``) with the demo's sample data: (root, compiled
    desk, engine)."""
    root = copy_shipped_desk(tmp / "desk")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    if settings:
        (root / "tessera.yaml").write_text((root / "tessera.yaml").read_text() + settings)
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    if seed:
        seed_demo(compiled, engine)
    return root, compiled, engine


def seeded_desk(tmp: Path, database_url: str) -> SeededDesk:
    _, compiled, engine = migrated_desk(tmp, database_url)
    return SeededDesk(compiled, engine, TicketService(compiled, engine))
