"""``cli.py backup``, ``cli.py restore`` and ``cli.py db copy``: see docs/operations.md."""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

from runtime.command_types import LoadDesk, OpenDatabase


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def add_ops_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                     open_any: OpenDatabase, open_current: OpenDatabase) -> None:
    """``open_any`` opens the desk's database whatever its revision (a backup is taken before an upgrade too);
    ``open_current`` only once it is at the definitions' revision."""
    text = "a consistent backup of the running desk: database, attachment files, triage model and a manifest"
    backup = sub.add_parser("backup", help=text, description=text)
    backup.set_defaults(handler=partial(cmd_backup, load_desk=load_desk, open_database=open_any))
    backup.add_argument("--to", dest="folder", required=True, metavar="DIR",
                        help="the backup folder; again into the same folder copies only new attachment files")
    text = "put a backup back: the database (refused when it holds rows, unless --force) and the files"
    restore = sub.add_parser("restore", help=text, description=text)
    restore.set_defaults(handler=partial(cmd_restore, load_desk=load_desk, open_database=open_any))
    restore.add_argument("--from", dest="folder", required=True, metavar="DIR", help="a folder `backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace a database that holds rows")
    text = "the whole desk from one database into another (e.g. SQLite to PostgreSQL)"
    db = sub.add_parser("db", help=text, description=text).add_subparsers(dest="action", required=True)
    copy = db.add_parser("copy", help="copy every table of the desk into a new, empty database",
                         description="Migrate the target to the desk's revision, then copy every row of every "
                                     "table of the desk into it, in one transaction, and compare the counts.")
    copy.set_defaults(handler=partial(cmd_db_copy, load_desk=load_desk, open_database=open_current))
    copy.add_argument("--to", dest="target", required=True, metavar="URL",
                      help="the target database, e.g. postgresql+psycopg://tessera@db.example.org/tessera")
    copy.add_argument("--batch", type=int, default=1000, metavar="N", help="rows per insert (default 1000)")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def _rows(counts: dict[str, int]) -> str:
    biggest = sorted(((n, t) for t, n in counts.items() if n), reverse=True)[:3]
    shown = ", ".join(f"{n:,} {t}" for n, t in biggest)
    return f"{shown} … ({sum(counts.values()):,} rows in {len(counts)} tables)"


def cmd_backup(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.ops.backup import MANIFEST, make_backup
    from runtime.ops.pg_tools import ToolMissing
    from runtime.ops.snapshot import NotADesk

    compiled = load_desk(args)
    engine = open_database(args, compiled)
    folder = Path(args.folder).resolve()
    started = time.monotonic()
    try:
        made = make_backup(compiled, engine, folder)
    except (ToolMissing, NotADesk) as exc:
        return refuse(str(exc))
    manifest = made.manifest
    print(f"backup of the {manifest['dialect']} database at revision {manifest['revision']} in {folder} "
          f"({time.monotonic() - started:.1f} s)")
    print(f"  database: {manifest['database_file']}")
    print(f"  rows: {_rows(manifest['counts'])}")
    print(f"  attachments: {made.attachments.files:,} files, {_size(made.attachments.bytes)} "
          f"({made.attachments.copied:,} new in this folder)")
    print(f"  triage model: {manifest['ai_model'] or 'none trained'}")
    print(f"  manifest: {folder / MANIFEST}")
    if made.missing:
        print(f"{len(made.missing)} attachment files the database refers to are missing from the attachment "
              f"folder (listed in the manifest), e.g. {made.missing[0]}", file=sys.stderr)
        return 1
    return 0


def cmd_restore(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.ops.pg_tools import ToolMissing
    from runtime.ops.restore import RestoreRefused, restore

    compiled = load_desk(args)
    engine = open_database(args, compiled)
    folder = Path(args.folder).resolve()
    try:
        restored = restore(compiled, engine, folder, force=args.force)
    except (RestoreRefused, ToolMissing, FileNotFoundError, ValueError) as exc:
        return refuse(str(exc))
    manifest = restored.manifest
    print(f"restored the {manifest['dialect']} database at revision {manifest['revision']} from {folder} "
          f"(backup of {manifest['finished_at']})")
    print(f"  attachments: {restored.attachments.files:,} files ({restored.attachments.copied:,} new in the "
          f"desk's folder)")
    print(f"  triage model: {'restored' if restored.model else 'none in the backup'}")
    if restored.differences:
        for name, (expected, found) in restored.differences.items():
            print(f"  {name}: the manifest lists {expected:,} rows, the database has {found:,}", file=sys.stderr)
        return 1
    print(f"  rows: as the manifest lists, {_rows(restored.counts)}")
    return 0


def cmd_db_copy(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    import sqlalchemy as sa

    from runtime.artifacts import migration_paths
    from runtime.db import migrations
    from runtime.db.engine import make_engine
    from runtime.ops.copy import CopyRefused, copy_desk
    from runtime.ops.tables import describe_rows, existing_rows

    if args.batch < 1:
        return refuse(f"--batch {args.batch}: give at least 1")
    compiled = load_desk(args)
    source = open_database(args, compiled)
    try:
        target = make_engine(args.target, compiled.root)
    except (sa.exc.ArgumentError, ImportError) as exc:
        return refuse(f"--to {args.target!r}: {exc}")
    shown = target.url.render_as_string(hide_password=True)
    # Refused before migrating: a database that holds another desk's rows is not ours to change.
    try:
        there = existing_rows(target, compiled.metadata)
    except sa.exc.OperationalError as exc:
        return refuse(f"{shown}: cannot connect ({str(exc.orig).strip().splitlines()[0]})")
    if there:
        return refuse(f"{shown} is not empty: {describe_rows(there)}; copy only into a new, empty database")
    migrations.upgrade(migration_paths(compiled), target)
    print(f"{shown}: migrated to revision {migrations.current_revision(target)}")
    started = time.monotonic()
    try:
        result = copy_desk(compiled.metadata, source, target, batch=args.batch)
    except CopyRefused as exc:
        return refuse(str(exc))
    width = max(len(name) for name in result.source)
    print(f"{'table':<{width}}  {'source':>9}  {'target':>9}")
    for name, count in result.source.items():
        print(f"{name:<{width}}  {count:>9,}  {result.target.get(name, 0):>9,}")
    total = sum(result.source.values())
    print(f"copied {total:,} rows in {len(result.source)} tables in {time.monotonic() - started:.1f} s"
          + (f"; {result.sequences} id sequences set past the largest id" if result.sequences else ""))
    for name, count in result.left_behind.items():
        print(f"  not copied: {name} ({count:,} rows), a table the definitions do not describe")
    if result.differences:
        for name, (expected, found) in result.differences.items():
            print(f"{name}: {expected:,} rows in the source, {found:,} in the target", file=sys.stderr)
        return 1
    print("counts match")
    return 0
