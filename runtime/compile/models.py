"""IR → pydantic request models per ticket type: the same rules for the API, the forms and intake.

The create model holds the editable core fields, the builder's master fields and the type's own
fields in one object; the update model makes every field optional and adds the ``version`` the
writer last saw.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StringConstraints,
    create_model,
)

from runtime.config import ir
from runtime.config.core_columns import PRIORITIES
from runtime.config.units import parse_duration

PHONE = r"^\+?[0-9 ()./-]{3,40}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL = r"^https?://\S+$"
BIGINT_MAX = 2**63 - 1  # the largest value a BIGINT column holds on both databases
RowId = Annotated[int, Field(strict=True, ge=1, le=BIGINT_MAX)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True, pattern=r"^[^\x00]*$")]



def _utc(value: dt.datetime) -> dt.datetime:
    """Normalize to UTC now, so a time the databases cannot hold is a validation error, not a 500."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        msg = "time out of range"
        raise ValueError(msg) from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters


class TicketInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _literal(values: list[str]) -> Any:
    return Literal[tuple(values)]


def _list_of(item: Any) -> Any:
    return list[item]


def _bounds(field: ir.Field) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for key, target in (("min", "ge"), ("max", "le")):
        value = getattr(field, key)
        if value is None:
            continue
        if field.kind == "duration":
            bounds[target] = parse_duration(str(value))
        elif field.kind == "date":
            bounds[target] = dt.date.fromisoformat(str(value))
        elif field.kind == "datetime":
            parsed = dt.datetime.fromisoformat(str(value))
            bounds[target] = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        else:
            bounds[target] = value
    return bounds


def _item_type(kind: str) -> Any:
    return {"integer": int, "decimal": Decimal, "date": dt.date, "email": Annotated[str, Field(pattern=EMAIL)],
            "url": Annotated[str, Field(pattern=URL)], "phone": Annotated[str, Field(pattern=PHONE)]}.get(kind, str)


def field_type(field: ir.Field) -> Any:
    """The pydantic type that accepts exactly the values the field may hold."""
    kind = field.kind
    if kind in ("string", "text", "email", "url", "phone"):
        # Patterns are searched, not anchored, as `validate` checks defaults against them.
        pattern = field.pattern or {"email": EMAIL, "url": URL, "phone": PHONE}.get(kind) or NO_NUL
        limit = field.max_length or (255 if kind == "string" else None)
        return Annotated[str, StringConstraints(max_length=limit, pattern=pattern)]
    if kind in ("integer", "duration", "relation"):
        if kind == "relation":
            return RowId
        limits: dict[str, Any] = {"ge": -BIGINT_MAX, "le": BIGINT_MAX, **_bounds(field)}
        return Annotated[int, Field(strict=True, **limits)]
    if kind == "decimal":
        options: dict[str, Any] = {"max_digits": field.precision or 18,
                                   "decimal_places": field.scale if field.scale is not None else 4, **_bounds(field)}
        return Annotated[Decimal, Field(**options)]
    if kind == "boolean":
        return StrictBool
    if kind == "date":
        return Annotated[dt.date, Field(**_bounds(field))]
    if kind == "datetime":
        return Annotated[UtcTime, Field(**_bounds(field))]
    if kind == "choice":
        return _literal([o.value for o in field.options])
    if kind == "multichoice":
        return Annotated[_list_of(_literal([o.value for o in field.options])), Field(max_length=len(field.options))]
    if kind == "list":
        return Annotated[_list_of(_item_type(field.of or "string")), Field(max_length=1000)]
    if kind == "attachment":
        return list[RowId] if field.multiple else RowId
    return JsonValue


def _description(field: ir.Field, language: str) -> str | None:
    return ir.label_for(field.help, language, "") or None


def _core_fields(desk: ir.Desk, ticket_type: ir.TicketType) -> dict[str, Any]:
    categories = list(ticket_type.categories) or [c.value for c in desk.categories]
    category: Any = _literal(categories) | None if categories else None
    return {
        "title": (Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True,
                                                   pattern=NO_NUL)], ...),
        "description": (Annotated[str, Field(max_length=100_000, pattern=NO_NUL)], ""),
        "priority": (_literal(list(PRIORITIES)), ticket_type.default_priority),
        "category": (category, None),
        "tags": (Annotated[list[Tag], Field(max_length=50)], []),
        "requester_id": (RowId | None, None),
        "assignee_id": (RowId | None, None),
        "team_id": (RowId | None, None),
        "language": (Annotated[str, Field(max_length=16)] | None, None),
    }


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def type_fields(desk: ir.Desk, ticket_type: ir.TicketType) -> list[ir.Field]:
    return [*desk.master_fields, *ticket_type.fields]


def create_model_for(desk: ir.Desk, ticket_type: ir.TicketType) -> type[TicketInput]:
    language = desk.project.default_language
    fields: dict[str, Any] = _core_fields(desk, ticket_type)
    for field in type_fields(desk, ticket_type):
        default = field.default if field.default not in (None, "today", "now") else None
        required = field.required and default is None
        annotation = field_type(field) if required else field_type(field) | None
        fields[field.name] = (annotation, Field(... if required else default,
                                               description=_description(field, language)))
    return create_model(f"{_pascal(ticket_type.name)}Create", __base__=TicketInput, **fields)


def update_model_for(desk: ir.Desk, ticket_type: ir.TicketType) -> type[TicketInput]:
    # Absent means unchanged. Columns that may not be empty accept no null either, so a client cannot
    # send one; the others may be cleared with null.
    not_null = ("title", "description", "priority", "tags")
    fields: dict[str, Any] = {name: (annotation if name in not_null else annotation | None, None)
                              for name, (annotation, _) in _core_fields(desk, ticket_type).items()}
    for field in type_fields(desk, ticket_type):
        fields[field.name] = (field_type(field) | None, None)
    fields["version"] = (Annotated[int, Field(strict=True, ge=1, description="the version this change is based on")],
                         ...)
    return create_model(f"{_pascal(ticket_type.name)}Update", __base__=TicketInput, **fields)
