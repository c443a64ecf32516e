"""Field values between the text of an HTML form and the payload the service validates.

Reading a form turns text into the types the service's models take (whole numbers, decimals, dates, times with
their zone, lists). Text that cannot be read as its kind is passed on as it is, so that the service refuses it
with its own reason: the pages never accept or refuse a value by rules of their own. The one exception is JSON,
which the model would take as a plain string.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import to_jsonable_python

from runtime.config import ir
from runtime.config.units import UNIT_SECONDS, parse_duration

TRUE = frozenset({"true", "on", "1", "yes"})
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_DECIMAL = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_DURATION = re.compile(r"^(\s*\d+\s*[wdhms])+\s*$")
# Emptied on an edit, these columns become an empty text or list: the database holds no null for them.
NOT_NULL_EMPTY: dict[str, Any] = {"description": "", "tags": []}
CORE_FILE = "core columns"  # the source named by the fields that stand for core columns


@dataclass(frozen=True)
class Parsed:
    payload: dict[str, Any]
    # Field → catalog key of why its text could not be read at all (only JSON; see the module's note).
    errors: dict[str, str] = field(default_factory=dict)


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def defaults(fields: tuple[ir.Field, ...], timezone: str) -> dict[str, Any]:
    """What a new ticket's form shows before anything is typed."""
    found: dict[str, Any] = {}
    for f in fields:
        if f.default == "today" and f.kind == "date":
            found[f.name] = dt.datetime.now(zone(timezone)).date()
        elif f.default == "now" and f.kind == "datetime":
            found[f.name] = dt.datetime.now(dt.UTC)
        elif f.default is not None:
            found[f.name] = f.default
    return found


def format_duration(seconds: int) -> str:
    """5400 → ``1h 30m``: the form the field's text box reads back."""
    if seconds == 0:
        return "0s"
    parts, rest = [], abs(seconds)
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return ("-" if seconds < 0 else "") + " ".join(parts)


def _text(value: Any, f: ir.Field, timezone: str) -> str:
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone(timezone)).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and f.kind == "duration":
        return format_duration(value)
    if f.kind == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def shown_value(f: ir.Field, value: Any, timezone: str) -> tuple[str, frozenset[str]]:
    """The text a field's control shows and, for choices, the values it shows selected. ``value`` is either
    what the visitor sent (text, kept exactly as typed) or what the ticket holds."""
    if value is None:
        return "", frozenset()
    if isinstance(value, list | tuple):
        items = [_text(v, f, timezone) for v in value if v is not None]
        return ", ".join(items), frozenset(items)
    text = _text(value, f, timezone)
    return text, frozenset({text})


def _last(raw: Any) -> str:
    """One text from a form value: browsers send a field once, a repeated one counts by its last value."""
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    return raw if isinstance(raw, str) else ""


def _all(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def _item(kind: str, text: str) -> Any:
    """A list item typed like the list's items, else the text as it is."""
    if kind == "integer" and _INTEGER.match(text):
        return int(text)
    if kind == "decimal" and _DECIMAL.match(text):
        return _decimal(text)
    if kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return text
    return text


def _decimal(text: str) -> Decimal | str:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return text


def _datetime(text: str, timezone: str) -> dt.datetime | str:
    """A browser's ``datetime-local`` value is a wall time in the zone the form said; an offset given wins."""
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone(timezone))


def read_value(f: ir.Field, text: str, timezone: str) -> Any:
    """One field's non-empty text as the value its model takes (or the text, for the model to refuse)."""
    kind = f.kind
    if kind in ("integer", "relation"):
        return int(text) if _INTEGER.match(text) else text
    if kind == "decimal":
        return _decimal(text) if _DECIMAL.match(text) else text
    if kind == "date":
        return _item("date", text)
    if kind == "datetime":
        return _datetime(text, timezone)
    if kind == "duration":
        if _INTEGER.match(text):
            return int(text)
        return parse_duration(text) if _DURATION.match(text) else text
    if kind == "list":
        return [_item(f.of or "string", part.strip()) for part in re.split(r"[,\n]", text) if part.strip()]
    return text


def parse_payload(fields: tuple[ir.Field, ...], data: Mapping[str, Any], timezone: str, *, editing: bool
                  ) -> Parsed:
    """The payload for the service from a submitted form of ``fields``. A field left empty is omitted from a new
    ticket (its default applies) and, on an edit, sent as null, which clears it; files are read by ``uploads``."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        raw = data.get(f.name)
        if f.kind == "attachment":
            continue
        if f.kind == "boolean":
            payload[f.name] = _last(raw).strip().lower() in TRUE
            continue
        if f.kind == "multichoice":
            chosen = _all(raw)
            if chosen or editing:
                payload[f.name] = chosen or None
            continue
        text = _last(raw)
        text = text if f.kind in ("text", "json") else text.strip()
        if not text.strip():
            if editing:
                payload[f.name] = NOT_NULL_EMPTY.get(f.name) if f.src.file == CORE_FILE else None
            continue
        if f.kind == "json":
            try:
                payload[f.name] = json.loads(text)
            except ValueError:
                errors[f.name] = "forms.error_json"
            continue
        payload[f.name] = read_value(f, text, timezone)
    return Parsed(payload, errors)


def uploads(fields: tuple[ir.Field, ...], data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The files chosen for each attachment field (multipart parts with a file name)."""
    found: dict[str, list[Any]] = {}
    for f in fields:
        if f.kind != "attachment":
            continue
        raw = data.get(f.name)
        parts = raw if isinstance(raw, list) else [raw]
        files = [p for p in parts if getattr(p, "filename", "") and hasattr(p, "file")]
        if files:
            found[f.name] = files if f.multiple else files[-1:]
    return found


def as_json(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as JSON values (decimals and dates as text), for a channel that stores the submission as JSON;
    the models read them back the same."""
    result: dict[str, Any] = to_jsonable_python(payload)
    return result
