"""Refuse to run against a database or generated files that lag behind the definitions."""

from __future__ import annotations

import sqlalchemy as sa

from runtime.db import migrations
from runtime.errors import DatabaseBehind


def ensure_current(paths: migrations.Paths, schema: dict[str, object], engine: sa.Engine) -> None:
    """Raise DatabaseBehind, naming the command that fixes it, unless everything is in step."""
    changes = migrations.pending_changes(paths, schema)
    if changes:
        listed = "\n".join(f"  {c.describe()}" for c in changes[:10])
        more = f"\n  … and {len(changes) - 10} more" if len(changes) > 10 else ""
        msg = (f"The definitions changed since the last generated migration:\n{listed}{more}\n"
               "Run `python cli.py plan` to review, `python cli.py generate` to write the migration, "
               "then `python cli.py migrate`.")
        raise DatabaseBehind(msg)
    head = migrations.head_revision(paths)
    current = migrations.current_revision(engine)
    if current != head:
        where = f"at revision {current}" if current else "empty (no Tessera tables)"
        if current is not None and not migrations.is_known(paths, current):
            msg = (f"The database is at revision {current}, which this checkout's generated/migrations does not "
                   "contain; it was migrated by a newer version of the definitions.")
            raise DatabaseBehind(msg)
        pending = migrations.unapplied(paths, engine)
        msg = (f"The database is {where} but the definitions need revision {head} "
               f"({len(pending)} migration{'s' if len(pending) != 1 else ''} to apply). Run `python cli.py migrate`.")
        raise DatabaseBehind(msg)
