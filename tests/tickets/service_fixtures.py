"""A migrated, seeded copy of the shipped desk and its people, for service and API tests."""

from __future__ import annotations

import shutil
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


def seeded_desk(tmp: Path, database_url: str) -> SeededDesk:
    root = copy_shipped_desk(tmp / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    return SeededDesk(compiled, engine, TicketService(compiled, engine))
