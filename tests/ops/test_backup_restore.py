"""``backup`` and ``restore`` on PostgreSQL (pg_dump and pg_restore), through deploy/tessera as the guide runs
them, and what both refuse or report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.ops.copy import copy_desk
from runtime.ops.restore import RestoreRefused, restore
from runtime.tickets.actors import agent_actor
from runtime.tickets.service import TicketService
from tests.ops.conftest import Seeded, agent_id, require_tool, table_rows
from tests.ops.guide import Command, Install


def tessera(*words: str, exit_code: int = 0) -> Command:
    """A command as the guide would write it (with its machine paths)."""
    return Command(0, ["tessera", *words], exit_code)


def test_backup_and_restore_on_postgresql(tmp_path: Path, seeded: Seeded, pg_url: str) -> None:
    require_tool("pg_dump")
    require_tool("pg_restore")
    install = Install(tmp_path, pg_url).create(seeded.state)
    compiled = load_compiled(install.home)
    sqlite_engine = make_engine(install.database_url, install.home)
    engine = make_engine(pg_url, install.home)
    migrations.upgrade(migration_paths(compiled), engine)
    copy_desk(compiled.metadata, sqlite_engine, engine)
    install.env_file.write_text(f"TESSERA_DATABASE_URL={pg_url}\n")
    folder = install.backups / "pg"

    install.run(tessera("backup", "--to", "/var/backups/tessera/pg"))
    at_backup = table_rows(engine, compiled.metadata)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["dialect"], manifest["database_file"]) == ("postgresql", "database.dump")
    assert manifest["counts"] == {name: len(rows) for name, rows in at_backup.items()}

    service = TicketService(compiled, engine)
    with engine.connect() as connection:
        alex = agent_actor(connection, compiled, agent_id(engine, compiled, "alex"))
    later = service.create(alex, "it_support", {"title": "Written after the backup"})
    install.run(tessera("restore", "--from", "/var/backups/tessera/pg", exit_code=2))
    engine.dispose()
    install.run(tessera("restore", "--from", "/var/backups/tessera/pg", "--force"))
    assert table_rows(engine, compiled.metadata) == at_backup
    again = service.create(alex, "it_support", {"title": "Written after the restore"})
    assert (again["id"], again["number"]) == (later["id"], later["number"])  # the sequences came back too


def test_restore_refuses_a_backup_of_another_kind(tmp_path: Path, seeded: Seeded, pg_url: str) -> None:
    install = Install(tmp_path).create(seeded.state)
    compiled = load_compiled(install.home)
    install.run(tessera("backup", "--to", "/var/backups/tessera/sqlite"))
    with pytest.raises(RestoreRefused, match="backup is of a sqlite database"):
        restore(compiled, make_engine(pg_url, install.home), install.backups / "sqlite", force=True)


def test_restore_names_a_folder_without_a_finished_backup(tmp_path: Path) -> None:
    install = Install(tmp_path).create()
    (install.backups / "half").mkdir()
    result = install.run(tessera("restore", "--from", "/var/backups/tessera/half", exit_code=2))
    assert "no manifest" in result.stderr


@pytest.mark.parametrize("empty_file", [False, True], ids=["no file", "never migrated"])
def test_backup_refuses_a_database_without_a_desk(tmp_path: Path, empty_file: bool) -> None:
    install = Install(tmp_path).create()
    database = install.state / "tessera.db"
    if empty_file:
        database.touch()  # an empty SQLite file: no tables
    result = install.run(tessera("backup", "--to", "/var/backups/tessera/none", exit_code=2))
    assert "nothing to back up" in result.stderr or "no database at" in result.stderr
    assert database.exists() == empty_file, "backup created a database file"
    assert not (install.backups / "none" / "manifest.json").exists()


def test_backup_reports_attachment_files_the_database_names_but_the_folder_lacks(tmp_path: Path,
                                                                                   seeded: Seeded) -> None:
    install = Install(tmp_path).create(seeded.state)
    sha = seeded.attachment_sha256
    (install.state / "attachments" / sha[:2] / sha[2:4] / sha).unlink()
    result = install.run(tessera("backup", "--to", "/var/backups/tessera/incomplete", exit_code=1))
    assert sha in result.stderr
    manifest = json.loads((install.backups / "incomplete" / "manifest.json").read_text())
    assert manifest["attachments"]["missing"] == [sha]


def test_restore_fails_when_the_restored_database_does_not_hold_what_the_manifest_lists(tmp_path: Path,
                                                                                      seeded: Seeded) -> None:
    install = Install(tmp_path).create(seeded.state)
    install.run(tessera("backup", "--to", "/var/backups/tessera/checked"))
    manifest_file = install.backups / "checked" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    listed = manifest["counts"]["tickets"]
    manifest["counts"]["tickets"] = listed + 1  # as if the dump had lost a ticket on the way
    manifest_file.write_text(json.dumps(manifest))
    result = install.run(tessera("restore", "--from", "/var/backups/tessera/checked", "--force", exit_code=1))
    assert f"tickets: the manifest lists {listed + 1:,} rows, the database has {listed:,}" in result.stderr
