"""The records a relation field of a form may point at, as (id, label) pairs for a select.

Reference collections, teams, active agents and organizations are short lists; a table longer than ``LIMIT``
(contacts, usually) gets no list, and its field takes an id instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import relation_table
from runtime.compile.desk import CompiledDesk
from runtime.config import ir

LIMIT = 200


def _query(compiled: CompiledDesk, target: str) -> sa.Select[Any] | None:
    table = compiled.metadata.tables.get(relation_table(target))
    if table is None:
        return None
    if target == "agent":
        return sa.select(table.c.id, table.c.name).where(table.c.active.is_(True)).order_by(table.c.name)
    if target == "team":
        return sa.select(table.c.id, table.c.label).order_by(table.c.label)
    if target == "contact":
        shown = sa.func.coalesce(table.c.name + " <" + table.c.email + ">", table.c.email, table.c.name)
        return sa.select(table.c.id, shown).order_by(table.c.email)
    if target == "organization":
        return sa.select(table.c.id, table.c.name).order_by(table.c.name)
    collection = next((c for c in compiled.definitions.collections if c.name == target), None)
    display = collection.display if collection is not None and collection.display in table.c else "id"
    return sa.select(table.c.id, table.c[display]).order_by(table.c[display])


def relation_choices(compiled: CompiledDesk, engine: sa.Engine, fields: Iterable[ir.Field]
                     ) -> dict[str, list[tuple[int, str]]]:
    """Field name → its records' ids and labels, for the relation fields among ``fields`` with short targets."""
    targets: dict[str, str] = {f.name: f.to for f in fields if f.kind == "relation" and f.to}
    if not targets:
        return {}
    by_target: dict[str, list[tuple[int, str]] | None] = {}
    with engine.connect() as connection:
        for target in set(targets.values()):
            query = compiled.memo(("pages.relation_choices", target), partial(_query, compiled, target))
            if query is None:
                by_target[target] = None
                continue
            rows = connection.execute(query.limit(LIMIT + 1)).all()
            by_target[target] = None if len(rows) > LIMIT else [(int(r[0]), str(r[1] or f"#{r[0]}")) for r in rows]
    return {name: listed for name, target in targets.items() if (listed := by_target[target]) is not None}
