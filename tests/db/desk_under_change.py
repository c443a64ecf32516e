"""A scratch desk whose definitions a test edits step by step, generating and applying migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from runtime.artifacts import migration_paths, write_derived
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.diff import Change
from runtime.db.engine import make_engine
from runtime.db.search import is_search_object


class DeskUnderChange:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.engine = make_engine(database_url, root)

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text, encoding="utf-8")

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def compiled(self) -> CompiledDesk:
        return load_compiled(self.root)

    def plan(self) -> list[Change]:
        compiled = self.compiled()
        return migrations.pending_changes(migration_paths(compiled), compiled.schema_snapshot)

    def generate(self, *, allow_destructive: bool = False) -> Path | None:
        compiled = self.compiled()
        written = migrations.generate(migration_paths(compiled), compiled.schema_snapshot,
                                      allow_destructive=allow_destructive)
        write_derived(compiled)
        return written

    def migrate(self) -> None:
        migrations.upgrade(migration_paths(self.compiled()), self.engine)

    def drift(self) -> list[Any]:
        """Differences between the migrated database and the tables compiled from the definitions."""
        with self.engine.connect() as connection:
            def compiled_kind(name: str | None, type_: str, _parent: object) -> bool:
                # Archives are kept data, not schema. The full-text index (an FTS5 table and its shadow tables
                # on SQLite, a GIN expression index on PostgreSQL) is made by the revisions' own SQL, not
                # from the tables, which cannot express it; tests/db/test_search_migration.py checks it.
                return not ((type_ == "table" and str(name).startswith("arc_")) or is_search_object(str(name)))

            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "include_name": compiled_kind})
            return list(compare_metadata(context, self.compiled().metadata))

    def downgrade(self, target: str) -> None:
        migrations.downgrade(migration_paths(self.compiled()), self.engine, target)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(r) for r in connection.exec_driver_sql(sql)]

    def execute(self, sql: str) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql(sql)

    def columns(self, table: str) -> list[str]:
        return [c["name"] for c in sa.inspect(self.engine).get_columns(table)]

    def indexes(self, table: str) -> dict[str, list[str]]:
        return {str(i["name"]): [str(c) for c in i["column_names"]] for i in sa.inspect(self.engine).get_indexes(table)}

    def tables(self) -> list[str]:
        return sa.inspect(self.engine).get_table_names()
