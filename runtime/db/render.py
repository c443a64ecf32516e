"""Changes → the text of an Alembic revision: explicit, self-contained, the same bytes every time.

Revisions never import runtime code, so later changes to the runtime cannot change their meaning.
Dropped or narrowed data is first copied into an ``arc_<sequence>_…`` table; downgrade restores it.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.db import search
from runtime.db.diff import Change
from runtime.db.naming import short_name

Entry = dict[str, Any]
TYPE_CODE = {
    "id": "sa.BigInteger().with_variant(sa.Integer(), 'sqlite')",
    "json": "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')",
    "boolean": "sa.Boolean(create_constraint=False)",
    "bigint": "sa.BigInteger()",
    "integer": "sa.Integer()",
    "float": "sa.Float()",
    "text": "sa.Text()",
    "datetime": "sa.DateTime(timezone=True)",
    "date": "sa.Date()",
    "binary": "sa.LargeBinary()",
}
PG_CAST = {"id": "bigint", "bigint": "bigint", "integer": "integer", "text": "text", "date": "date",
           "datetime": "timestamptz", "boolean": "boolean", "float": "double precision", "json": "jsonb"}


def type_code(spec: Entry) -> str:
    if spec["name"] == "string":
        return f"sa.String(length={spec['length']})"
    if spec["name"] == "numeric":
        return f"sa.Numeric(precision={spec['precision']}, scale={spec['scale']})"
    return TYPE_CODE[spec["name"]]


def pg_cast(spec: Entry) -> str:
    if spec["name"] == "string":
        return f"varchar({spec['length']})"
    if spec["name"] == "numeric":
        return f"numeric({spec['precision']},{spec['scale']})"
    return PG_CAST[spec["name"]]


def column_code(name: str, col: Entry) -> str:
    args = [repr(name), type_code(col["type"])]
    fk = col.get("foreign_key")
    if fk:
        args.append(f"sa.ForeignKey({fk['target']!r}, name={fk['name']!r}, ondelete={fk['ondelete']!r})")
    args.append(f"nullable={col['nullable']}")
    if col.get("primary_key"):
        args.append("primary_key=True")
    return f"sa.Column({', '.join(args)})"


def sql_literal(value: Any) -> str:
    """A literal both SQLite and PostgreSQL read the same way."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return "'" + text.replace("'", "''") + "'"


class Revision:
    """Accumulates upgrade and downgrade lines for one generated revision."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence
        self.up: list[str] = []
        self.down: list[str] = []  # collected in upgrade order, emitted reversed

    def archive(self, table: str, suffix: str = "") -> str:
        return short_name(f"arc_{self.sequence:04d}_{table}{suffix}")

    def create_table(self, name: str, entry: Entry) -> None:
        parts = [column_code(c, col) for c, col in entry["columns"].items()]
        pk = entry["primary_key"]
        parts.append(f"sa.PrimaryKeyConstraint({', '.join(map(repr, pk['columns']))}, name={pk['name']!r})")
        parts += [f"sa.UniqueConstraint({', '.join(map(repr, cols))}, name={uq!r})" for uq, cols in
                  entry["uniques"].items()]
        body = "".join(f"        {p},\n" for p in parts)
        self.up.append(f"    op.create_table(\n        {name!r},\n{body}    )")
        for ix, spec in entry["indexes"].items():
            self.up.append(f"    op.create_index({ix!r}, {name!r}, {spec['columns']!r}, unique={spec['unique']})")
        self.down.append(f"    op.drop_table({name!r})")

    def drop_table(self, name: str, entry: Entry) -> None:
        archive = self.archive(name)
        self.up.append(f"    op.execute({f'CREATE TABLE {archive} AS SELECT * FROM {name}'!r})")
        self.up.append(f"    op.drop_table({name!r})")
        columns = ", ".join(entry["columns"])
        restore = Revision(self.sequence)
        restore.create_table(name, entry)
        refill = f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {archive}"
        # Once restored, the archive is dropped so that upgrading again can archive afresh.
        self.down.append("\n".join([*restore.up, f"    op.execute({refill!r})", f"    op.drop_table({archive!r})"]))

    def batch(self, table: str, entry: Entry, changes: list[Change], kept_search: search.Columns) -> None:
        """Column and index changes on one existing table, in a batch so that SQLite can apply them.

        SQLite's batch rebuild cannot alter a column renamed earlier in the same batch, so type changes
        run before renames (on the former name) and, going back, after the renames are undone.
        """
        keys = ", ".join(entry["primary_key"]["columns"])
        former = {c.name: c.old for c in changes if c.op == "rename_column"}
        by_op: dict[str, list[Change]] = {}
        for c in changes:
            by_op.setdefault(c.op, []).append(c)

        def each(*ops: str) -> list[Change]:
            return [c for op in ops for c in by_op.get(op, [])]

        archived = [former.get(c.name, c.name) for c in each("alter_type", "change_foreign_key", "drop_column")
                    if c.destructive]
        up: list[str] = []
        for c in each("drop_index"):
            up.append(f"batch.drop_index({c.name!r})")
        for c in each("drop_unique"):
            up.append(f"batch.drop_constraint({c.name!r}, type_='unique')")
        for c in each("alter_type"):
            up.append(_alter_type(former.get(c.name, c.name), c.old, c.new))
        for c in each("alter_nullable"):
            up.append(f"batch.alter_column({former.get(c.name, c.name)!r}, nullable={c.new})")
        up += [f"batch.alter_column({c.old!r}, new_column_name={c.name!r})" for c in each("rename_column")]
        up += [f"batch.add_column({column_code(c.name, c.new)})" for c in each("add_column")]
        for c in each("change_foreign_key"):
            up += _fk_swap(c.name, c.old, c.new)
        for c in each("drop_column"):
            if c.old.get("foreign_key"):
                up.append(f"batch.drop_constraint({c.old['foreign_key']['name']!r}, type_='foreignkey')")
            up.append(f"batch.drop_column({c.name!r})")
        up += [f"batch.create_index({c.name!r}, {c.new['columns']!r}, unique={c.new['unique']})"
               for c in each("add_index")]
        up += [f"batch.create_unique_constraint({c.name!r}, {c.new!r})" for c in each("add_unique")]

        down: list[str] = [f"batch.drop_index({c.name!r})" for c in each("add_index")]
        down += [f"batch.drop_constraint({c.name!r}, type_='unique')" for c in each("add_unique")]
        down += [f"batch.add_column({column_code(c.name, c.old)})" for c in each("drop_column")]
        for c in each("change_foreign_key"):
            down += _fk_swap(c.name, c.new, c.old)
        down += [f"batch.drop_column({c.name!r})" for c in each("add_column")]
        down += [_alter_type(c.name, c.new, c.old) for c in each("alter_type")]
        down += [f"batch.alter_column({c.name!r}, nullable={c.old})" for c in each("alter_nullable")]
        down += [f"batch.alter_column({c.name!r}, new_column_name={c.old!r})" for c in each("rename_column")]
        down += [f"batch.create_index({c.name!r}, {c.old['columns']!r}, unique={c.old['unique']})"
                 for c in each("drop_index")]
        down += [f"batch.create_unique_constraint({c.name!r}, {c.old!r})" for c in each("drop_unique")]

        backfills = [(c.name, c.new.get("field", {}).get("default")) for c in each("add_column")]
        backfills += [(c.name, c.new) for c in each("make_required")]
        for name in archived:
            copy = f"CREATE TABLE {self.archive(table, '_' + name)} AS SELECT {keys}, {name} FROM {table}"
            self.up.append(f"    op.execute({copy!r})")
        if up:
            self.up.append(_batch_block(table, up))
            if kept_search:
                self.up.append(_refresh_triggers(table, kept_search))
        for name, value in backfills:
            if value is not None and value not in ("today", "now"):
                fill = f"UPDATE {table} SET {name} = {sql_literal(value)} WHERE {name} IS NULL"
                self.up.append(f"    op.execute({fill!r})")
        restore = []
        for name in archived:
            archive = self.archive(table, "_" + name)
            restore += [f"    op.execute({_restore(table, keys, name, archive)!r})", f"    op.drop_table({archive!r})"]
        if down:
            # Downgrade blocks are emitted in reverse order of tables; within a table, in this order.
            refresh = [_refresh_triggers(table, kept_search)] if kept_search else []
            self.down.append("\n".join([_batch_block(table, down), *restore, *refresh]))

    def add_search(self, table: str, columns: search.Columns) -> None:
        self.up.append(_by_dialect(f"Full-text index on {table}", search.sqlite_create(table, columns),
                                   search.pg_create(table, columns)))
        self.down.append(_by_dialect(None, search.sqlite_drop(table), search.pg_drop(table)))

    def drop_search(self, table: str, columns: search.Columns) -> None:
        self.up.append(_by_dialect(f"Full-text index on {table}, no longer", search.sqlite_drop(table),
                                   search.pg_drop(table)))
        self.down.append(_by_dialect(None, search.sqlite_create(table, columns), search.pg_create(table, columns)))

    def search_setup(self, *, create: bool) -> None:
        """PostgreSQL's text search configuration, which every full-text index uses."""
        setup = _by_dialect("The text search configuration of the full-text indexes", [], search.pg_setup())
        teardown = _by_dialect(None, [], search.pg_teardown())
        self.up.append(setup if create else teardown)
        self.down.append(teardown if create else setup)

    def rename_table(self, old: str, new: str) -> None:
        self.up.append(f"    op.rename_table({old!r}, {new!r})")
        self.down.append(f"    op.rename_table({new!r}, {old!r})")

    def render(self, revision: str, down_revision: str | None, title: str, changes: list[Change]) -> str:
        summary = "\n".join(c.describe() for c in changes) or "(no change)"
        down = list(reversed(self.down))
        return (
            f'"""{title}\n\nGenerated by `python cli.py generate` from the definitions; review it, do not edit it.\n\n'
            f"Changes:\n{summary}\n\nRevision ID: {revision}\nRevises: {down_revision}\n\"\"\"\n\n"
            "import sqlalchemy as sa\nfrom alembic import op\nfrom sqlalchemy.dialects import postgresql\n\n"
            f"revision = {revision!r}\ndown_revision = {down_revision!r}\nbranch_labels = None\ndepends_on = None\n"
            f"# Keeps the import used even when no column in this revision is JSON.\n_JSONB = postgresql.JSONB\n\n\n"
            "def upgrade() -> None:\n" + ("\n".join(self.up) or "    pass") + "\n\n\n"
            "def downgrade() -> None:\n" + ("\n".join(down) or "    pass") + "\n"
        )


def _batch_block(table: str, ops: list[str]) -> str:
    lines = "".join(f"        {op}\n" for op in ops)
    return f"    with op.batch_alter_table({table!r}) as batch:\n{lines}".rstrip("\n")


def _by_dialect(comment: str | None, sqlite: list[str], postgresql: list[str]) -> str:
    lines = [f"    # {comment}"] if comment else []
    for name, statements in (("sqlite", sqlite), ("postgresql", postgresql)):
        if statements:
            lines.append(f"    if op.get_bind().dialect.name == {name!r}:")
            lines += [f"        op.execute({statement!r})" for statement in statements]
    return "\n".join(lines)


def _refresh_triggers(table: str, columns: search.Columns) -> str:
    return _by_dialect(f"SQLite drops {table}'s triggers when the batch rebuilds it; the search index needs them",
                       search.sqlite_triggers(table, columns), [])


def _alter_type(column: str, old: Entry, new: Entry) -> str:
    return (f"batch.alter_column({column!r}, type_={type_code(new)}, existing_type={type_code(old)}, "
            f"postgresql_using={f'{column}::{pg_cast(new)}'!r})")


def _fk_swap(column: str, old: Entry | None, new: Entry | None) -> list[str]:
    lines = []
    if old:
        lines.append(f"batch.drop_constraint({old['name']!r}, type_='foreignkey')")
    if new:
        target_table, target_column = new["target"].rsplit(".", 1)
        lines.append(f"batch.create_foreign_key({new['name']!r}, {target_table!r}, [{column!r}], [{target_column!r}], "
                     f"ondelete={new['ondelete']!r})")
    return lines


def _restore(table: str, keys: str, column: str, archive: str) -> str:
    match = " AND ".join(f"{archive}.{k} = {table}.{k}" for k in keys.split(", "))
    return f"UPDATE {table} SET {column} = (SELECT {archive}.{column} FROM {archive} WHERE {match})"


def render_revision(sequence: int, revision: str, down_revision: str | None, title: str, changes: list[Change],
                    old_tables: dict[str, Entry], new_tables: dict[str, Entry]) -> str:
    """The full revision file for ``changes`` (ordered as ``diff`` returns them)."""
    rev = Revision(sequence)
    searched_before = any(search.searched(e) for e in old_tables.values())
    searched_after = any(search.searched(e) for e in new_tables.values())
    # Full-text indexes go first and come last, so that their triggers never see a table half-changed.
    for c in changes:
        if c.op == "drop_search":
            rev.drop_search(c.table, c.old)
    if searched_before and not searched_after:
        rev.search_setup(create=False)
    for c in changes:
        if c.op == "rename_table":
            rev.rename_table(c.old, c.table)
    for c in changes:
        if c.op == "create_table":
            rev.create_table(c.table, c.new)
    by_table: dict[str, list[Change]] = {}
    for c in changes:
        if c.op not in ("create_table", "drop_table", "rename_table", "add_search", "drop_search"):
            by_table.setdefault(c.table, []).append(c)
    for table, table_changes in by_table.items():
        entry = old_tables.get(table) or new_tables[table]
        kept = search.searched(entry) if search.searched(entry) == search.searched(new_tables.get(table, {})) else {}
        rev.batch(table, entry, table_changes, kept)
    if searched_after and not searched_before:
        rev.search_setup(create=True)
    for c in changes:
        if c.op == "add_search":
            rev.add_search(c.table, c.new)
    for c in changes:
        if c.op == "drop_table":
            rev.drop_table(c.table, c.old)
    return rev.render(revision, down_revision, title, changes)
