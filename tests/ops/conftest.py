"""A seeded installation to start from, built once per test process and copied into each test's folder."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.ai.training import train_desk_model
from runtime.artifacts import migration_paths
from runtime.auth.tokens import create_token
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.bitext import seed_bitext
from runtime.demo.seed import seed_demo
from runtime.tickets.actors import agent_actor
from runtime.tickets.files import TicketFiles
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService
from tests.conftest import REQUIRE_ALL
from tests.ops.guide import Install

ATTACHMENT = b"tray 2: paper jam at the fuser, cleared at 09:40\n" * 40


@dataclass(frozen=True)
class Seeded:
    """/var/lib/tessera of a desk with the demo's data and the knowledge base, a trained triage model, a file on a
    ticket, an API token for alex, and a ticket merged into a later one (a row pointing forward in its own
    table)."""

    state: Path
    token: str
    merged_id: int
    into_id: int
    attachment_sha256: str


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not on PATH (PostgreSQL's client programs)"
        if REQUIRE_ALL:
            pytest.fail(f"{message} (TESSERA_REQUIRE_ALL=1 forbids skipping)")
        pytest.skip(message)
    return found


def agent_id(engine: sa.Engine, compiled: CompiledDesk, username: str) -> int:
    agents = compiled.table("agents")
    with engine.connect() as connection:
        return int(connection.execute(sa.select(agents.c.id).where(agents.c.username == username)).scalar_one())


def _build(root: Path) -> Seeded:
    install = Install(root).create()
    compiled = load_compiled(install.home)
    engine = make_engine(install.database_url, install.home)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    seed_bitext(compiled, engine)
    train_desk_model(compiled, engine)  # the triage model under var/ai, which a backup carries
    alex_id = agent_id(engine, compiled, "alex")
    with engine.connect() as connection:
        alex = agent_actor(connection, compiled, alex_id)
    service = TicketService(compiled, engine)
    older = service.create(alex, "it_support", {"title": "Printer on floor 3 jams",
                                                "description": "Tray 2 jams on every duplex job"})
    newer = service.create(alex, "it_support", {"title": "Printer jams again"})
    service.comment(alex, older["id"], "Cleared the fuser; watching it", public=True)
    stored = TicketFiles(compiled, engine).attach(alex, newer["id"], ATTACHMENT, "jam.log", "text/plain")
    version = service.get(alex, older["id"])["version"]
    TicketRelations(compiled, engine).merge(alex, older["id"], newer["id"], version)
    with engine.begin() as connection:
        _, token = create_token(connection, compiled, alex_id, "ops test", ("tickets:read", "tickets:write"), None)
    engine.dispose()  # the last connection closes: the WAL is folded into the file before it is copied
    return Seeded(install.state, token, int(older["id"]), int(newer["id"]), str(stored["sha256"]))


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """Built once per test run: the xdist workers of one run share their parent folder, and the first to take the
    lock builds while the others wait (seeding and training cost seconds of CPU each time)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, described = shared / "ops-seeded", shared / "ops-seeded.json"
    with (shared / "ops-seeded.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not described.exists():
            built = _build(folder)
            described.write_text(json.dumps({**asdict(built), "state": str(built.state)}))
    fields = json.loads(described.read_text())
    return Seeded(**{**fields, "state": Path(fields["state"])})


def table_rows(engine: sa.Engine, metadata: sa.MetaData) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the desk, in primary-key order."""
    with engine.connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(
                    sa.select(table).order_by(*table.primary_key.columns))]
                for table in metadata.sorted_tables}
