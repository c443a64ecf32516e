"""A consistent copy of a live database, and what the manifest says about it (revision, counts, files).

SQLite: the online backup API copies every page under one read transaction, so writers go on (WAL) and the copy
is the database as of one commit; copying the file with cp can tear a page or miss the WAL's content. The copy is
switched to rollback-journal mode, so that it is one self-contained file.

PostgreSQL: ``pg_dump --format=custom`` run on a snapshot exported from a REPEATABLE READ transaction that also
reads the revision, the counts and the attachment hashes: what the manifest says is exactly what the dump holds.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from runtime.db.migrations import revision_on
from runtime.ops import pg_tools
from runtime.ops.tables import row_counts

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"


@dataclass
class Snapshot:
    file: str
    revision: str | None
    counts: dict[str, int]
    sha256s: set[str]


class NotADesk(ValueError):
    """The database holds no desk yet: there is nothing to back up."""


def _described(connection: sa.Connection, metadata: sa.MetaData) -> tuple[str | None, dict[str, int], set[str]]:
    revision = revision_on(connection)
    if revision is None:
        raise NotADesk("the database has no desk in it (never migrated): nothing to back up")
    attachments = metadata.tables["attachments"]
    sha256s = {str(s) for s in connection.execute(sa.select(attachments.c.sha256).distinct()).scalars()}
    return revision, row_counts(connection, metadata), sha256s


def sqlite_path(engine: sa.Engine) -> Path:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError(f"not a SQLite database file: {engine.url!r}")
    return Path(database)


def copy_sqlite(source: Path, target: Path) -> None:
    """``source`` into ``target`` with the backup API, in one step (one read transaction on the source)."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as reader, \
            contextlib.closing(sqlite3.connect(target, timeout=30)) as writer:
        reader.backup(writer)


def snapshot_sqlite(engine: sa.Engine, metadata: sa.MetaData, folder: Path) -> Snapshot:
    source = sqlite_path(engine)
    if not source.is_file():  # sqlite3 would create an empty database there
        raise NotADesk(f"no database at {source}")
    partial = folder / (SQLITE_FILE + ".partial")
    partial.unlink(missing_ok=True)
    copy_sqlite(source, partial)
    with contextlib.closing(sqlite3.connect(partial)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")
        problem = copy.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise RuntimeError(f"the copy fails SQLite's quick_check: {problem}")
    reader = sa.create_engine(f"sqlite:///{partial}", poolclass=sa.pool.NullPool)
    try:
        with reader.connect() as connection:
            revision, counts, sha256s = _described(connection, metadata)
    except NotADesk:
        partial.unlink()
        raise
    finally:
        reader.dispose()
    partial.replace(folder / SQLITE_FILE)
    return Snapshot(SQLITE_FILE, revision, counts, sha256s)


def snapshot_postgresql(engine: sa.Engine, metadata: sa.MetaData, folder: Path) -> Snapshot:
    pg_dump = pg_tools.tool("pg_dump")
    partial = folder / (PG_FILE + ".partial")
    target, env = pg_tools.libpq_target(engine.url.render_as_string(hide_password=False))
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        exported = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        revision, counts, sha256s = _described(connection, metadata)
        # The transaction stays open while pg_dump runs: an exported snapshot lives as long as its transaction.
        done = subprocess.run([pg_dump, "--format=custom", f"--snapshot={exported}", f"--file={partial}",
                               f"--dbname={target}"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"pg_dump exited with {done.returncode}: {done.stderr.strip()}")
    partial.replace(folder / PG_FILE)
    return Snapshot(PG_FILE, revision, counts, sha256s)


def take(engine: sa.Engine, metadata: sa.MetaData, folder: Path) -> Snapshot:
    if engine.dialect.name == "sqlite":
        return snapshot_sqlite(engine, metadata, folder)
    if engine.dialect.name == "postgresql":
        return snapshot_postgresql(engine, metadata, folder)
    raise ValueError(f"no backup for {engine.dialect.name} databases")
