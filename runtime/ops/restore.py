"""``cli.py restore``: a backup folder back into the desk's database and folders.

Only into a database without rows, unless forced: a restore replaces everything in it. The database must be of
the backup's kind (SQLite from a SQLite backup, PostgreSQL from a dump); to change kind, restore, then copy with
``cli.py db copy``."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.ops import files, pg_tools, snapshot
from runtime.ops.backup import ATTACHMENTS, attachment_store, model_folder, read_manifest
from runtime.ops.tables import count_differences, describe_rows, existing_rows, row_counts


class RestoreRefused(Exception):
    """The target holds rows and --force was not given, or the backup does not fit the target."""


@dataclass
class Restored:
    manifest: dict[str, Any]
    counts: dict[str, int]
    attachments: files.FileCopy
    model: bool

    @property
    def differences(self) -> dict[str, tuple[int, int]]:
        """Table → (rows the manifest lists, rows the restored database has), where they differ."""
        return count_differences(self.manifest["counts"], self.counts)


def restore(compiled: CompiledDesk, engine: sa.Engine, folder: Path, *, force: bool) -> Restored:
    manifest = read_manifest(folder)
    if manifest["dialect"] != engine.dialect.name:
        msg = (f"the backup is of a {manifest['dialect']} database and the target is {engine.dialect.name}: "
               f"restore into {manifest['dialect']}, then move with `cli.py db copy`")
        raise RestoreRefused(msg)
    there = existing_rows(engine, compiled.metadata)
    if there and not force:
        raise RestoreRefused(f"the target database is not empty: {describe_rows(there)}; "
                             "give --force to replace everything in it")
    dump = folder / manifest["database_file"]
    if engine.dialect.name == "sqlite":
        engine.dispose()  # no pooled connection of ours may hold the file while its pages are replaced
        snapshot.copy_sqlite(dump, snapshot.sqlite_path(engine))
    else:
        _pg_restore(engine, dump)
    copied = files.copy_new_files(folder / ATTACHMENTS, attachment_store(compiled))
    model = files.copy_folder(folder / manifest["ai_model"], model_folder(compiled)) if manifest["ai_model"] else False
    with engine.connect() as connection:
        counts = row_counts(connection, compiled.metadata)
    return Restored(manifest, counts, copied, model)


def _pg_restore(engine: sa.Engine, dump: Path) -> None:
    pg_restore = pg_tools.tool("pg_restore")
    target, env = pg_tools.libpq_target(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        has_tables = bool(sa.inspect(connection).get_table_names())
    engine.dispose()
    # --clean drops what the dump is about to create (an empty migrated desk, or the rows --force replaces);
    # one transaction, so that a failed restore leaves the database as it was.
    clean = ["--clean", "--if-exists"] if has_tables else []
    done = subprocess.run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                           *clean, f"--dbname={target}", str(dump)], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pg_restore exited with {done.returncode}: {done.stderr.strip()}")
