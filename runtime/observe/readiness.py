"""Whether this process can do its work now: the database answers at the definitions' revision, and
attachments can be written. ``/healthz`` says only that the process runs; a load balancer sends traffic by this."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.db import migrations

OK = "ok"
VERSION_TABLE = "alembic_version"


class Readiness:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        # The revision files do not change under a running process; reading them is the slow part of the check.
        self.head = migrations.head_revision(migration_paths(compiled))
        project = compiled.definitions.project
        self.attachments = Path(compiled.root) / project.attachments_dir

    def checks(self) -> dict[str, str]:
        """Each check's name → "ok" or what is wrong."""
        return {"database": self._database(), "attachments": self._attachments()}

    def _database(self) -> str:
        try:
            current = self._revision()
        except sa.exc.SQLAlchemyError as exc:
            return f"not reachable: {type(getattr(exc, 'orig', None) or exc).__name__}"
        if current == self.head:
            return OK
        if current is None:
            return f"empty (no Tessera tables); the definitions need revision {self.head}"
        return f"at revision {current}; the definitions need {self.head}"

    def _revision(self) -> str | None:
        # Read directly rather than through alembic's MigrationContext, which logs two lines per call: a load
        # balancer asks every few seconds.
        with self.engine.connect() as connection:
            if not sa.inspect(connection).has_table(VERSION_TABLE):
                return None
            found = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        return found[0] if len(found) == 1 else ",".join(sorted(found)) or None

    def _attachments(self) -> str:
        # Created and removed the way the attachment store writes (a temporary file in the folder): permissions,
        # a full or read-only filesystem and a file in the folder's place all fail here as they would there.
        try:
            self.attachments.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=".ready-", dir=self.attachments)
            os.close(descriptor)
            os.unlink(name)
        except OSError as exc:
            # The path stays out: the answer is public.
            return f"the attachment folder is not writable: {exc.strerror or type(exc).__name__}"
        return OK
