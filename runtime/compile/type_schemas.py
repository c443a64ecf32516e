"""IR → one JSON Schema per ticket type: the typed ticket as clients send it (master + extension fields)."""

from __future__ import annotations

from typing import Any

from runtime.config import ir
from runtime.config.core_columns import PRIORITIES
from runtime.config.units import parse_duration

HEADER = "Generated from the ticket type definitions by `python cli.py generate`; do not edit."
FORMATS = {"date": "date", "datetime": "date-time", "email": "email", "url": "uri"}


def _labels(labels: ir.Labels) -> dict[str, str]:
    return dict(labels)


def _scalar(kind: str, field: ir.Field | None = None) -> dict[str, Any]:
    if kind in ("integer", "relation"):
        return {"type": "integer"}
    if kind == "decimal":
        return {"type": "number"}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "duration":
        return {"type": "integer", "minimum": 0, "description": "seconds"}
    schema: dict[str, Any] = {"type": "string"}
    if kind in FORMATS:
        schema["format"] = FORMATS[kind]
    if kind == "phone":
        schema["pattern"] = r"^\+?[0-9 ()./-]{3,40}$"
    if field is not None and field.max_length is not None:
        schema["maxLength"] = field.max_length
    if field is not None and field.pattern is not None:
        schema["pattern"] = field.pattern
    return schema


def field_schema(field: ir.Field, language: str) -> dict[str, Any]:
    kind = field.kind
    options = [o.value for o in field.options]
    if kind == "choice":
        schema: dict[str, Any] = {"type": "string", "enum": options}
    elif kind == "multichoice":
        schema = {"type": "array", "items": {"type": "string", "enum": options}, "uniqueItems": True}
    elif kind == "list":
        schema = {"type": "array", "items": _scalar(field.of or "string")}
    elif kind == "attachment":
        schema = {"type": "array", "items": {"type": "integer"}} if field.multiple else {"type": "integer"}
    elif kind == "json":
        schema = {}
    elif kind == "text":
        schema = {"type": "string", "contentMediaType": "text/markdown"}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
    else:
        schema = _scalar(kind, field)
    if kind in ("integer", "decimal") and field.min is not None:
        schema["minimum"] = field.min
    if kind in ("integer", "decimal") and field.max is not None:
        schema["maximum"] = field.max
    if kind == "duration":
        if field.min is not None:
            schema["minimum"] = parse_duration(str(field.min))
        if field.max is not None:
            schema["maximum"] = parse_duration(str(field.max))
    nullable = {"anyOf": [schema, {"type": "null"}]} if schema else {}
    result: dict[str, Any] = dict(nullable) if not field.required else dict(schema)
    label = dict(field.label)
    result["title"] = label.get(language, field.name.replace("_", " ").capitalize())
    if field.help:
        result["description"] = dict(field.help).get(language, field.help[0][1])
    if field.default is not None and field.default not in ("today", "now"):
        result["default"] = field.default
    result["x-tessera-kind"] = kind
    if field.label:
        result["x-labels"] = _labels(field.label)
    if kind == "relation":
        result["x-relation"] = field.to
    return result


def type_schema(desk: ir.Desk, ticket_type: ir.TicketType) -> dict[str, Any]:
    language = desk.project.default_language
    categories = list(ticket_type.categories) or [c.value for c in desk.categories]
    properties: dict[str, Any] = {
        "title": {"type": "string", "minLength": 1, "maxLength": 300, "title": "Title"},
        "description": {"type": "string", "contentMediaType": "text/markdown", "title": "Description"},
        "priority": {"type": "string", "enum": list(PRIORITIES), "default": ticket_type.default_priority,
                     "title": "Priority"},
        "category": {"anyOf": [{"type": "string", "enum": categories}, {"type": "null"}], "title": "Category"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 64}, "uniqueItems": True, "title": "Tags"},
    }
    fields = [*desk.master_fields, *ticket_type.fields]
    properties.update({f.name: field_schema(f, language) for f in fields})
    required = ["title", *(f.name for f in fields if f.required)]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"types/{ticket_type.name}.schema.json",
        "$comment": HEADER,
        "title": dict(ticket_type.label).get(language, ticket_type.name),
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required,
        "x-ticket-type": ticket_type.name,
        "x-number-prefix": ticket_type.number_prefix,
    }
