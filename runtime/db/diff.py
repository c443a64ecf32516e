"""Compare two schema snapshots and list the changes, each marked safe or destructive.

Renames are never guessed: a table or column counts as renamed only when the new definition says
``renamed_from`` and the old snapshot has that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.db.search import searched
from runtime.db.snapshot import describe_type

Entry = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One step of a migration; ``destructive`` ones need ``--allow-destructive``."""

    # create_table, drop_table, rename_table, add_column, drop_column, rename_column, alter_type, alter_nullable,
    # change_foreign_key, make_required, options, add_index, drop_index, add_unique, drop_unique, add_search
    # or drop_search (the full-text index over a table's searched columns)
    op: str
    table: str
    name: str = ""
    old: Any = None
    new: Any = None
    destructive: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def describe(self) -> str:
        mark = "!" if self.destructive else "+" if self.op in ("create_table", "add_column", "add_index",
                                                                "add_unique", "add_search") else "~"
        return f"{mark} {self._text()}" + (f" — {self.note}" if self.note else "")

    def _text(self) -> str:
        target = f"{self.table}.{self.name}" if self.name else self.table
        match self.op:
            case "create_table":
                return f"create table {self.table}"
            case "drop_table":
                return f"drop table {self.table} (rows archived)"
            case "rename_table":
                return f"rename table {self.old} → {self.table}"
            case "add_column":
                return f"add column {target} {describe_type(self.new['type'])}"
            case "drop_column":
                return f"drop column {target} (values archived)"
            case "rename_column":
                return f"rename column {self.table}.{self.old} → {self.name} (values kept)"
            case "alter_type":
                return f"change type of {target}: {describe_type(self.old)} → {describe_type(self.new)}"
            case "alter_nullable":
                return f"{'allow' if self.new else 'forbid'} NULL in {target}"
            case "change_foreign_key":
                return f"point {target} at {(self.new or {}).get('target')}"
            case "make_required":
                return f"make {target} required"
            case "options":
                return f"change options of {target}"
            case "add_index":
                unique = "unique " if self.new["unique"] else ""
                return f"create {unique}index {self.name} on {self.table} ({', '.join(self.new['columns'])})"
            case "drop_index":
                return f"drop index {self.name}"
            case "add_unique":
                return f"add unique constraint {self.name} ({', '.join(self.new)})"
            case "add_search":
                return f"create full-text index on {self.table} ({', '.join(self.new)})"
            case "drop_search":
                return f"drop full-text index on {self.table}"
            case _:
                return f"drop unique constraint {self.name}"


def _widening(old: Entry, new: Entry) -> bool | None:
    """True when every old value fits the new type, False when some may not, None when unchanged."""
    if old == new:
        return None
    a, b = old["name"], new["name"]
    if a == b == "string":
        return bool(new["length"] >= old["length"])
    if a == b == "numeric":
        return bool(new["scale"] >= old["scale"] and new["precision"] - new["scale"] >= old["precision"] - old["scale"])
    wider = {("string", "text"), ("integer", "bigint"), ("integer", "numeric"), ("bigint", "numeric"),
             ("integer", "id"), ("bigint", "id"), ("id", "bigint"), ("date", "datetime"), ("integer", "float")}
    return (a, b) in wider


def _column_changes(table: str, name: str, old: Entry, new: Entry) -> list[Change]:
    changes: list[Change] = []
    widening = _widening(old["type"], new["type"])
    if widening is not None:
        changes.append(Change("alter_type", table, name, old["type"], new["type"], destructive=not widening,
                              note="" if widening else "existing values may not fit; old values archived"))
    if old["nullable"] != new["nullable"]:
        changes.append(Change("alter_nullable", table, name, old["nullable"], new["nullable"],
                              destructive=not new["nullable"], note="" if new["nullable"] else "fails on NULL rows"))
    old_fk, new_fk = old.get("foreign_key"), new.get("foreign_key")
    if (old_fk or {}).get("target") != (new_fk or {}).get("target") or (old_fk or {}).get("ondelete") != (
            new_fk or {}).get("ondelete"):
        changes.append(Change("change_foreign_key", table, name, old_fk, new_fk, destructive=True,
                              note="existing values point at rows of another table; old values archived"))
    old_field, new_field = old.get("field", {}), new.get("field", {})
    if new_field.get("required") and not old_field.get("required"):
        default = new_field.get("default")
        changes.append(Change("make_required", table, name, None, default, destructive=default is None,
                              note=f"existing empty values set to {default!r}" if default is not None
                              else "tickets without a value stay empty and must be completed on their next edit"))
    old_options, new_options = old_field.get("options"), new_field.get("options")
    if old_options is not None and new_options is not None and old_options != new_options:
        added = [o for o in new_options if o not in old_options]
        removed = [o for o in old_options if o not in new_options]
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)} (stored values kept)"] if removed else []
        changes.append(Change("options", table, name, old_options, new_options, destructive=bool(removed),
                              note="; ".join(parts) or "reordered"))
    return changes


def _table_changes(table: str, old: Entry, new: Entry) -> list[Change]:
    changes: list[Change] = []
    old_cols, new_cols = dict(old["columns"]), new["columns"]
    for name, col in new_cols.items():
        source = col.get("field", {}).get("renamed_from")
        if name not in old_cols and source in old_cols and source not in new_cols:
            changes.append(Change("rename_column", table, name, old=source))
            old_cols[name] = old_cols.pop(source)
    for name, col in new_cols.items():
        if name not in old_cols:
            field_info = col.get("field", {})
            default = field_info.get("default")
            required_gap = field_info.get("required") and default is None
            changes.append(Change("add_column", table, name, new=col, destructive=bool(required_gap),
                                  note="existing tickets get no value for a required field" if required_gap else
                                  (f"existing rows set to {default!r}" if default is not None else "")))
        else:
            changes += _column_changes(table, name, old_cols[name], col)
    changes += [Change("drop_column", table, name, old=col, destructive=True)
                for name, col in old_cols.items() if name not in new_cols]
    for ix, spec in old["indexes"].items():
        if new["indexes"].get(ix) != spec:
            changes.append(Change("drop_index", table, ix, old=spec))
    for ix, spec in new["indexes"].items():
        if old["indexes"].get(ix) != spec:
            changes.append(Change("add_index", table, ix, new=spec))
    for uq, cols in old["uniques"].items():
        if new["uniques"].get(uq) != cols:
            changes.append(Change("drop_unique", table, uq, old=cols))
    for uq, cols in new["uniques"].items():
        if old["uniques"].get(uq) != cols:
            changes.append(Change("add_unique", table, uq, new=cols))
    return changes + _search_changes(table, old, new)


def _search_changes(table: str, old: Entry | None, new: Entry | None) -> list[Change]:
    """The index is derived from the rows, so replacing it loses nothing: never destructive."""
    before, after = searched(old or {}), searched(new or {})
    if before == after:
        return []
    return ([Change("drop_search", table, old=before)] if before else []) + (
        [Change("add_search", table, new=after)] if after else [])


def diff(old: Entry, new: Entry) -> list[Change]:
    """Changes that turn the ``old`` snapshot into the ``new`` one, in the order they must run."""
    old_tables, new_tables = dict(old.get("tables", {})), new["tables"]
    changes: list[Change] = []
    for name, entry in new_tables.items():
        source = entry["info"].get("renamed_from")
        if name not in old_tables and source in old_tables and source not in new_tables:
            changes.append(Change("rename_table", name, old=source))
            old_tables[name] = old_tables.pop(source)
    for name, entry in new_tables.items():
        if name not in old_tables:
            changes += [Change("create_table", name, new=entry), *_search_changes(name, None, entry)]
        else:
            changes += _table_changes(name, old_tables[name], entry)
    for name, entry in reversed(old_tables.items()):
        if name not in new_tables:
            changes += [*_search_changes(name, entry, None), Change("drop_table", name, old=entry, destructive=True)]
    return changes
