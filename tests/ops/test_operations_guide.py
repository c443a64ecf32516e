"""docs/operations.md runs as written: each section's commands in order, through deploy/tessera, on a copy of a
seeded installation, with the data checked around them. (The install section and the units:
test_units.py.)"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db.engine import make_engine
from runtime.tickets.actors import agent_actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.desk_fixtures import add_it_support_field
from tests.ops.conftest import ATTACHMENT, Seeded, agent_id, table_rows
from tests.ops.guide import Install, sections

BACKUPS = "Backups"
MOVE = "Moving from SQLite to PostgreSQL"
UPGRADES = "Upgrades"
INSTALL = "One machine"
# Tables the seeded desk fills, so that comparing them is not comparing empty lists.
FILLED = ("agents", "teams", "contacts", "organizations", "tickets", "ticket_it_support", "comments",
          "attachments", "ticket_events", "sla_timers", "sla_events", "triage_jobs", "api_tokens", "kb_articles",
          "kb_article_versions", "kb_changes", "ticket_counters")


def test_every_section_with_commands_is_run() -> None:
    assert set(sections()) == {INSTALL, BACKUPS, MOVE, UPGRADES}


def test_the_guide_cannot_pass_vacuously() -> None:
    found = sections()
    assert [c.subcommand for c in found[BACKUPS]] == ["backup", "restore", "restore", "plan"]
    assert {"backup", "db", "plan"} <= {c.subcommand for c in found[MOVE]}
    assert {"validate", "plan", "generate", "migrate", "check", "backup", "restore"} <= \
        {c.subcommand for c in found[UPGRADES]}
    assert any(c.exit_code == 2 for c in found[BACKUPS])
    assert any(c.expected for c in found[MOVE])


class TicketWriter(threading.Thread):
    """Creates tickets one after another until stopped, as an agent at the API would."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        super().__init__(daemon=True)
        self.service = TicketService(compiled, engine)
        with engine.connect() as connection:
            self.actor = agent_actor(connection, compiled, agent_id(engine, compiled, "alex"))
        self.created = 0
        self.failure: BaseException | None = None
        self.stopping = threading.Event()
        self.changed = threading.Condition()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.service.create(self.actor, "it_support", {"title": f"Created while backing up {self.created}",
                                                               "description": "VPN drops every ten minutes"})
                with self.changed:
                    self.created += 1
                    self.changed.notify_all()
        except BaseException as exc:
            self.failure = exc
            with self.changed:
                self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.created >= count or self.failure is not None, timeout=60)
        if self.failure is not None:
            raise self.failure

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        if self.failure is not None:
            raise self.failure


def _keyed(rows: list[tuple[object, ...]]) -> set[str]:
    return {repr(row) for row in rows}


def test_backup_while_a_ticket_is_created_then_restore(tmp_path: Path, seeded: Seeded) -> None:
    install = Install(tmp_path).create(seeded.state)
    compiled = load_compiled(install.home)
    engine = make_engine(install.database_url, install.home)
    live: dict[str, list[tuple[object, ...]]] = {}
    for command in sections()[BACKUPS]:
        if command.subcommand == "backup":
            writer = TicketWriter(compiled, engine)
            writer.start()
            writer.wait_for(1)
            install.run(command)
            writer.wait_for(writer.created + 1)  # tickets after the backup's moment, which it must not hold
            writer.finish()
            live = table_rows(engine, compiled.metadata)
        elif command.subcommand == "restore" and "--force" in command.args:
            shutil.rmtree(install.state / "attachments")  # lost with the database: the restore brings them back
            engine.dispose()
            install.run(command)
        else:
            install.run(command)
    folder = install.backups / "manual"
    copy = sa.create_engine(f"sqlite:///{folder / 'database.sqlite3'}", poolclass=sa.pool.NullPool)
    in_backup = table_rows(copy, compiled.metadata)
    restored = table_rows(engine, compiled.metadata)
    assert restored == in_backup
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"] == {name: len(rows) for name, rows in restored.items()}
    for name, rows in restored.items():  # the database as of one moment: each row as the live desk has it
        if name != "ticket_counters":  # the one row every create changes, checked below
            assert _keyed(rows) <= _keyed(live[name]), f"{name}: rows in the backup that the desk never had"
    counters = {str(row[0]): int(str(row[1])) for row in restored["ticket_counters"]}
    numbers = [str(row[1]) for row in restored["tickets"]]
    assert counters["IT"] == max(int(n.split("-")[1]) for n in numbers if n.startswith("IT-")), \
        "the number counter and the tickets are of different moments"
    seeded_tickets = seeded.into_id
    assert seeded_tickets < len(restored["tickets"]) < len(live["tickets"])
    with_type_row = {row[0] for name in ("ticket_it_support", "ticket_customer_complaint", "ticket_admin_request",
                                         "ticket_equipment_maintenance") for row in restored[name]}
    assert {row[0] for row in restored["tickets"]} == with_type_row, "a ticket restored without its type's row"
    sha = seeded.attachment_sha256
    assert (install.state / "attachments" / sha[:2] / sha[2:4] / sha).read_bytes() == ATTACHMENT


def test_move_to_postgresql_keeps_every_row_and_the_desk_goes_on(tmp_path: Path, seeded: Seeded,
                                                                 pg_url: str) -> None:
    install = Install(tmp_path, pg_url).create(seeded.state)
    for command in sections()[MOVE]:
        install.run(command)
    compiled = load_compiled(install.home)
    sqlite_engine = make_engine(install.database_url, install.home)
    pg_engine = make_engine(pg_url, install.home)
    before, after = table_rows(sqlite_engine, compiled.metadata), table_rows(pg_engine, compiled.metadata)
    assert [name for name in FILLED if not before[name]] == []
    for name, rows in before.items():
        assert after[name] == rows, f"{name} differs after the copy"
    merged = next(row for row in after["tickets"] if row[0] == seeded.merged_id)
    assert seeded.into_id in merged, "the merged ticket lost its pointer to the later ticket"
    tickets = compiled.table("tickets")
    with sqlite_engine.connect() as connection:
        last_id = connection.execute(sa.select(sa.func.max(tickets.c.id))).scalar_one()
        last_number = connection.execute(sa.select(sa.func.max(tickets.c.number))
                                         .where(tickets.c.number.like("IT-%"))).scalar_one()
    headers = {"Authorization": f"Bearer {seeded.token}"}  # a token issued on SQLite
    with TestClient(app=create_app(compiled, pg_engine), raise_server_exceptions=True) as client:
        read = client.get(f"/api/v1/tickets/{seeded.merged_id}", headers=headers)
        assert read.status_code == 200, read.text
        assert read.json()["title"] == "Printer on floor 3 jams"
        found = client.get("/api/v1/tickets", params={"q": "duplex"}, headers=headers)
        assert [t["id"] for t in found.json()["items"]] == [seeded.merged_id]
        created = client.post("/api/v1/types/it_support/tickets", json={"title": "First ticket on PostgreSQL"},
                              headers=headers)
        assert created.status_code == 201, created.text
        comment = client.post(f"/api/v1/tickets/{created.json()['id']}/comments", json={"body": "On it"},
                              headers=headers)
        assert comment.status_code == 201, comment.text
    assert created.json()["id"] == last_id + 1
    prefix, digits = last_number.split("-")
    assert created.json()["number"] == f"{prefix}-{int(digits) + 1:0{len(digits)}d}"
    assert comment.json()["id"] == max(int(str(row[0])) for row in before["comments"]) + 1


def _columns(url: str, root: Path, table: str) -> set[str]:
    engine = make_engine(url, root)
    try:
        with engine.connect() as connection:
            return {c["name"] for c in sa.inspect(connection).get_columns(table)}
    finally:
        engine.dispose()


def test_upgrade_adds_the_column_and_the_rollback_takes_it_back(tmp_path: Path, seeded: Seeded) -> None:
    install = Install(tmp_path).create(seeded.state)
    add_it_support_field(install.home, "vpn_client")  # what the builder changed in the repository
    server = install.database_url
    migrated = False
    for command in sections()[UPGRADES]:
        install.run(command)
        if command.wrapper and command.subcommand == "migrate":
            assert "vpn_client" in _columns(server, install.home, "ticket_it_support")
            migrated = True
    assert migrated
    assert "vpn_client" not in _columns(server, install.home, "ticket_it_support"), "the rollback kept the column"
    manifest = json.loads((install.backups / "before-upgrade" / "manifest.json").read_text())
    engine = make_engine(server, install.home)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == \
            manifest["revision"]
    engine.dispose()


@pytest.mark.parametrize("section", [BACKUPS, MOVE, UPGRADES])
def test_commands_name_only_the_guides_paths(section: str) -> None:
    """Every path a command names is one the install section sets up, so the substitution covers it."""
    for command in sections()[section]:
        for word in command.args:
            if word.startswith("/"):
                assert word.startswith(("/var/backups/tessera/", "/opt/tessera")), f"{command}: {word}"
