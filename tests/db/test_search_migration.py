"""The full-text index through migrations: created with the backfill, kept through table rebuilds, removed again."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.tickets.actors import SYSTEM
from runtime.tickets.listing import ListQuery, list_tickets
from runtime.tickets.service import TicketService
from tests.db.desk_under_change import DeskUnderChange
from tests.desk_fixtures import SHIPPED, copy_shipped_desk, overlay_desk

NOW = "'2026-11-26 10:00:00'"


def found(engine: sa.Engine, compiled: CompiledDesk, text: str) -> list[str]:
    with engine.connect() as connection:
        return [str(t["number"]) for t in list_tickets(connection, compiled, SYSTEM, ListQuery(text=text)).items]


def search_objects(engine: sa.Engine) -> list[str]:
    """Every table, trigger and index of the database, and PostgreSQL's text search configurations."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return sorted(f"{kind} {name}" for kind, name in connection.exec_driver_sql(
                "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
        indexes = connection.exec_driver_sql("SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public'")
        configs = connection.exec_driver_sql("SELECT 'config ' || cfgname FROM pg_ts_config WHERE cfgname <> 'simple' "
                                             "AND cfgnamespace = 'public'::regnamespace")
        return sorted([*indexes.scalars(), *configs.scalars()])


def search_revision(compiled: CompiledDesk) -> tuple[str, str]:
    """(revision, the revision before it) of the shipped revision that created the full-text index."""
    for path in sorted(migration_paths(compiled).migrations.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "+ create full-text index on tickets" in text:
            revision = re.search(r"^revision = '(\w+)'", text, re.MULTILINE)
            before = re.search(r"^down_revision = '(\w+)'", text, re.MULTILINE)
            assert revision
            assert before
            return revision[1], before[1]
    msg = "no shipped revision creates the full-text index"
    raise AssertionError(msg)


def test_upgrading_indexes_existing_tickets_and_downgrading_removes_every_search_object(
        tmp_path: Path, database_url: str) -> None:
    root = copy_shipped_desk(tmp_path / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    # Tickets are written below by today's code into the schema of an older revision: without SLA policies
    # it writes nothing into the SLA tables, which that revision does not have yet in their current shape.
    for policy_file in (root / "sla_policies").glob("*.yaml"):
        policy_file.unlink()
    # Nor does it queue triage, whose table that revision does not have.
    (root / "tessera.yaml").write_text((root / "tessera.yaml").read_text() + "ai: {triage: {enabled: false}}\n")
    compiled = load_compiled(root)
    paths = migration_paths(compiled)
    engine = make_engine(database_url, root)
    _, before = search_revision(compiled)
    migrations.upgrade(paths, engine, before)
    seed_demo(compiled, engine)
    service = TicketService(compiled, engine)
    ticket = service.create(SYSTEM, "it_support", {"title": "Toner smudges"})
    # The service reads tickets whole, columns of later revisions included: the note goes in as that revision has it.
    comments = compiled.table("comments")
    with engine.begin() as connection:
        connection.execute(sa.insert(comments).values(
            ticket_id=ticket["id"], public=False, direction="outbound", channel="api", body="Cartridge from Lübeck.",
            created_at=sa.func.current_timestamp()))
    without_search = search_objects(engine)

    migrations.upgrade(paths, engine)
    assert found(engine, compiled, "VPN authentication") == ["IT-000002"]  # a demo ticket
    assert found(engine, compiled, "lubeck toner") == [ticket["number"]]
    assert search_objects(engine) != without_search

    migrations.downgrade(paths, engine, before)
    assert search_objects(engine) == without_search
    migrations.upgrade(paths, engine)
    assert found(engine, compiled, "lubeck") == [ticket["number"]]
    engine.dispose()


def test_rebuilding_the_master_table_keeps_the_search_index_in_step(tmp_path: Path, database_url: str) -> None:
    empty = tmp_path / "no_changes"
    empty.mkdir()
    desk = DeskUnderChange(overlay_desk(empty, tmp_path / "desk"), database_url)
    desk.generate()
    desk.migrate()
    insert = ("INSERT INTO tickets (id, number, type, title, description, status, status_category, priority, source, "
              "tags, created_at, updated_at, version, impact) VALUES ({id}, 'RP-00000{id}', 'repair', '{title}', '', "
              f"'open', 'open', 'P2', 'manual', '[]', {NOW}, {NOW}, 1, 'low')")
    desk.execute(insert.format(id=1, title="Pump leaks"))
    # On SQLite a change of a master field's type rebuilds `tickets` by copy, drop and rename, and dropping a
    # table drops its triggers: the revision has to put the search index's triggers back, both ways.
    desk.edit("ticket_types/_master.yaml", "    kind: choice\n    options: [low, high]\n",
              "    kind: string\n    max_length: 10\n")
    desk.generate(allow_destructive=True)
    desk.migrate()
    assert desk.drift() == []
    desk.execute(insert.format(id=2, title="Valve sticks"))
    desk.execute("UPDATE tickets SET title = 'Pump drips' WHERE id = 1")
    compiled = desk.compiled()
    assert found(desk.engine, compiled, "valve") == ["RP-000002"]
    assert found(desk.engine, compiled, "drips") == ["RP-000001"]
    assert found(desk.engine, compiled, "leaks") == []
    desk.downgrade("-1")
    desk.execute(insert.format(id=3, title="Valve hums"))
    assert found(desk.engine, compiled, "valve") == ["RP-000003", "RP-000002"]
    if desk.engine.dialect.name == "sqlite":
        desk.execute("INSERT INTO fts_tickets(fts_tickets, rank) VALUES ('integrity-check', 1)")


def test_a_revision_that_drops_the_search_index_restores_it_on_downgrade(tmp_path: Path, database_url: str) -> None:
    # Today's tables always declare the index; a later runtime might not, and its revision must work both ways.
    empty = tmp_path / "no_changes"
    empty.mkdir()
    desk = DeskUnderChange(overlay_desk(empty, tmp_path / "desk"), database_url)
    desk.generate()
    desk.migrate()
    with_search = search_objects(desk.engine)
    compiled = desk.compiled()
    unsearched = copy.deepcopy(compiled.schema_snapshot)
    for entry in unsearched["tables"].values():
        entry["info"].pop("search", None)
    paths = migration_paths(compiled)
    assert [c.describe() for c in migrations.pending_changes(paths, unsearched)] == [
        "~ drop full-text index on tickets", "~ drop full-text index on comments"]
    migrations.generate(paths, unsearched)
    desk.migrate()
    assert not any("fts_" in name or "tessera_search" in name for name in search_objects(desk.engine))
    desk.execute(f"INSERT INTO tickets (id, number, type, title, description, status, status_category, priority, "
                 f"source, tags, created_at, updated_at, version, impact) VALUES (1, 'RP-000001', 'repair', "
                 f"'Gearbox whines', '', 'open', 'open', 'P2', 'manual', '[]', {NOW}, {NOW}, 1, 'low')")
    desk.downgrade("-1")
    assert search_objects(desk.engine) == with_search
    assert found(desk.engine, compiled, "gearbox") == ["RP-000001"]  # indexed again when restored
