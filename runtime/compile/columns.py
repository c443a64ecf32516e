"""Field kind → database column: one place that decides how each kind is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.config import ir

RELATION_TABLES = {"contact": "contacts", "agent": "agents", "team": "teams", "organization": "organizations"}


def relation_table(target: str) -> str:
    return RELATION_TABLES.get(target, f"ref_{target}")


def Id() -> sa.types.TypeEngine[int]:  # noqa: N802 - reads like a type in table definitions
    """64-bit keys on PostgreSQL; SQLite needs exactly INTEGER for its rowid alias."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timestamps in UTC on both databases: SQLite keeps no offset, so values are stored as naive UTC
    and read back as aware UTC; naive input is refused rather than guessed at."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}: Tessera stores aware timestamps only"
            raise ValueError(msg)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def Json() -> sa.types.TypeEngine[Any]:  # noqa: N802
    """JSON everywhere, stored as JSONB on PostgreSQL so that it can be indexed and queried."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def storage_type(field: ir.Field) -> sa.types.TypeEngine[Any]:
    kind = field.kind
    if kind == "string":
        return sa.String(field.max_length or 255)
    if kind == "text":
        return sa.Text()
    if kind in ("integer", "duration"):  # durations are whole seconds
        return sa.BigInteger()
    if kind == "decimal":
        return sa.Numeric(field.precision or 18, field.scale if field.scale is not None else 4)
    if kind == "boolean":
        return sa.Boolean(create_constraint=False)
    if kind == "date":
        return sa.Date()
    if kind == "datetime":
        return UtcDateTime()
    if kind in ("email", "url", "phone", "choice"):
        return sa.String({"email": 320, "url": 2048, "phone": 40, "choice": 64}[kind])
    if kind == "relation" or (kind == "attachment" and not field.multiple):
        return Id()
    return Json()  # multichoice, list, json, several attachments


def field_info(field: ir.Field) -> dict[str, Any]:
    """What migrations need to know beyond the column type: kind, options, required, default, rename."""
    info: dict[str, Any] = {"kind": field.kind, "required": field.required}
    if field.options:
        info["options"] = [o.value for o in field.options]
    if field.default is not None:
        info["default"] = field.default
    if field.renamed_from:
        info["renamed_from"] = field.renamed_from
    return info


def column_for(field: ir.Field) -> sa.Column[Any]:
    args: list[Any] = []
    if field.kind == "relation" and field.to:
        args.append(sa.ForeignKey(f"{relation_table(field.to)}.id", ondelete="SET NULL"))
    elif field.kind == "attachment" and not field.multiple:
        args.append(sa.ForeignKey("attachments.id", ondelete="SET NULL"))
    # Unique fields get a unique index rather than a constraint, so that adding or dropping
    # uniqueness later is a plain index change on every database.
    return sa.Column(field.name, storage_type(field), *args, nullable=True, index=field.indexed or field.unique,
                     unique=field.unique or None, info=field_info(field))
