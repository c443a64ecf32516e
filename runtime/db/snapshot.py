"""Compiled tables ⇄ a plain, JSON-able description of the schema that migrations are planned against.

The last generated snapshot is committed as ``generated/schema.json``; planning compares it with the
tables compiled from the current definitions, so a plan needs no database and is reproducible.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import Id, Json

TypeSpec = dict[str, Any]


def type_spec(sa_type: sa.types.TypeEngine[Any]) -> TypeSpec:
    """Describe a column type by name and size; variants collapse to the names we use them for."""
    if isinstance(sa_type, sa.types.TypeDecorator):
        return type_spec(sa_type.impl_instance)
    variants = getattr(sa_type, "_variant_mapping", {})
    if "sqlite" in variants and isinstance(sa_type, sa.BigInteger):
        return {"name": "id"}
    if "postgresql" in variants and isinstance(sa_type, sa.JSON):
        return {"name": "json"}
    if isinstance(sa_type, sa.Boolean):
        return {"name": "boolean"}
    if isinstance(sa_type, sa.BigInteger):
        return {"name": "bigint"}
    if isinstance(sa_type, sa.Integer):
        return {"name": "integer"}
    if isinstance(sa_type, sa.Numeric) and not isinstance(sa_type, sa.Float):
        return {"name": "numeric", "precision": sa_type.precision, "scale": sa_type.scale}
    if isinstance(sa_type, sa.Float):
        return {"name": "float"}
    if isinstance(sa_type, sa.Text):
        return {"name": "text"}
    if isinstance(sa_type, sa.String):
        return {"name": "string", "length": sa_type.length}
    if isinstance(sa_type, sa.DateTime):
        return {"name": "datetime"}
    if isinstance(sa_type, sa.Date):
        return {"name": "date"}
    if isinstance(sa_type, sa.LargeBinary):
        return {"name": "binary"}
    msg = f"no snapshot form for column type {sa_type!r}"
    raise TypeError(msg)


def sa_type(spec: TypeSpec) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type a snapshot entry stands for (inverse of ``type_spec``)."""
    name = spec["name"]
    simple: dict[str, Any] = {
        "id": Id, "json": Json, "boolean": lambda: sa.Boolean(create_constraint=False), "bigint": sa.BigInteger,
        "integer": sa.Integer, "float": sa.Float, "text": sa.Text, "datetime": lambda: sa.DateTime(timezone=True),
        "date": sa.Date, "binary": sa.LargeBinary,
    }
    if name in simple:
        return simple[name]()  # type: ignore[no-any-return]
    if name == "string":
        return sa.String(spec["length"])
    if name == "numeric":
        return sa.Numeric(spec["precision"], spec["scale"])
    msg = f"unknown snapshot type {name}"
    raise ValueError(msg)


def describe_type(spec: TypeSpec) -> str:
    """SQL-ish text for plans: VARCHAR(64), NUMERIC(12,2), JSON…"""
    name = spec["name"]
    if name == "string":
        return f"VARCHAR({spec['length']})"
    if name == "numeric":
        return f"NUMERIC({spec['precision']},{spec['scale']})"
    special = {"id": "BIGINT", "json": "JSON", "datetime": "TIMESTAMP WITH TIME ZONE"}
    return special.get(name, str(name).upper())


def _column(column: sa.Column[Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": type_spec(column.type), "nullable": bool(column.nullable)}
    if column.primary_key:
        entry["primary_key"] = True
    for fk in column.foreign_keys:
        entry["foreign_key"] = {"target": fk.target_fullname, "ondelete": fk.ondelete, "name": str(fk.constraint.name)
                                if fk.constraint is not None else None}
    if column.info:
        entry["field"] = dict(column.info)
    return entry


def _table(table: sa.Table) -> dict[str, Any]:
    indexes = {str(ix.name): {"columns": [c.name for c in ix.columns], "unique": bool(ix.unique)}
               for ix in sorted(table.indexes, key=lambda i: str(i.name))}
    uniques = {str(c.name): [col.name for col in c.columns] for c in sorted(
        (c for c in table.constraints if isinstance(c, sa.UniqueConstraint)), key=lambda c: str(c.name))}
    pk = table.primary_key
    return {
        "info": dict(table.info),
        "primary_key": {"name": str(pk.name), "columns": [c.name for c in pk.columns]},
        "columns": {c.name: _column(c) for c in table.columns},
        "indexes": indexes,
        "uniques": uniques,
    }


def snapshot(md: sa.MetaData) -> dict[str, Any]:
    """The schema as data, tables in dependency order so that creating them in order works."""
    return {"tables": {t.name: _table(t) for t in md.sorted_tables}}


def build_table(md: sa.MetaData, name: str, entry: dict[str, Any]) -> sa.Table:
    """Rebuild a table from its snapshot entry (used to render create_table in revisions)."""
    columns = []
    for col_name, col in entry["columns"].items():
        args: list[Any] = []
        fk = col.get("foreign_key")
        if fk:
            args.append(sa.ForeignKey(fk["target"], ondelete=fk["ondelete"], name=fk["name"]))
        columns.append(sa.Column(col_name, sa_type(col["type"]), *args, nullable=col["nullable"],
                                 primary_key=col.get("primary_key", False)))
    pk = sa.PrimaryKeyConstraint(*entry["primary_key"]["columns"], name=entry["primary_key"]["name"])
    uniques = [sa.UniqueConstraint(*cols, name=uq) for uq, cols in entry["uniques"].items()]
    indexes = [sa.Index(ix, *spec["columns"], unique=spec["unique"]) for ix, spec in entry["indexes"].items()]
    return sa.Table(name, md, *columns, pk, *uniques, *indexes)

