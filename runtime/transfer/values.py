"""Text from another desk's file turned into the Python values the ticket models expect.

A CSV holds only text, and the API's models take integers strictly (so that ``"5"`` in a JSON body is an error):
each field's text is converted by its kind first. What cannot be converted is passed on unchanged, so that the
model's own message says what is wrong with it, exactly as the API would.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from runtime.config.spec import DURATION_PATTERN
from runtime.config.units import parse_duration

_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"true", "yes", "y", "1", "on", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "off", ""})
LIST_KINDS = frozenset({"list", "multichoice"})
# The kinds ``coerce`` converts text for; text of any other kind goes to the model as it is.
COERCED_KINDS = frozenset({"integer", "relation", "duration", "boolean", "json", *LIST_KINDS})
# Formats that say ISO 8601 in strptime's words: read by fromisoformat, forty times faster, and as strictly.
ISO_FORMATS = frozenset({"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"})


class BadValue(ValueError):
    """A value that cannot be what its column is for (a time that is no time)."""


def parse_time(value: Any, time_format: str | None, zone: dt.tzinfo) -> dt.datetime | None:
    """An aware UTC instant from ISO 8601 text (or ``time_format``), Unix seconds, or a datetime; None when empty.
    Values without an offset are read in ``zone``."""
    if value is None or value == "":
        return None
    if value.__class__ is str and (time_format is None or time_format in ISO_FORMATS):
        text = value.strip()
        if len(text) >= 10 and text[4] == "-":  # the common case, taken first: ISO 8601 text (not Unix seconds)
            try:
                parsed = dt.datetime.fromisoformat(text)
                return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)).astimezone(dt.UTC)
            except (ValueError, OverflowError):
                pass  # the general way below says what is wrong with it
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if time_format is not None and time_format not in ISO_FORMATS:
                parsed = dt.datetime.strptime(text, time_format)
            elif _INTEGER.match(text) and len(text) > 8:  # Unix seconds, not a compact date like 20260105
                return dt.datetime.fromtimestamp(int(text), dt.UTC)
            else:
                parsed = dt.datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError):
            expected = f"the format {time_format}" if time_format else "ISO 8601 (2026-11-02T09:30:00+01:00)"
            msg = f"'{text}' is not a time in {expected}"
            raise BadValue(msg) from None
    else:
        msg = f"{value!r} is not a time"
        raise BadValue(msg)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        msg = f"'{value}' is out of range"
        raise BadValue(msg) from None


def as_list(value: Any, separator: str) -> Any:
    """A list from a JSON array in text, or text split at ``separator``; anything else as it is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return [part.strip() for part in text.split(separator) if part.strip()]


def coerce(kind: str, value: Any, separator: str) -> Any:
    """``value`` (text from a file, or a JSON value) as the field kind ``kind`` holds it, where that is clear."""
    if not isinstance(value, str):
        return value
    if kind in ("integer", "relation") and _INTEGER.match(value.strip()):
        return int(value)
    if kind == "duration":
        text = value.strip()
        if _INTEGER.match(text):
            return int(text)
        return parse_duration(text) if re.match(DURATION_PATTERN, text) else value
    if kind == "boolean":
        lowered = value.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    if kind in LIST_KINDS:
        return as_list(value, separator)
    if kind == "json":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
