"""Field definitions: constraints that fit the kind, defaults that obey them, known relation targets."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.core_columns import BUILTIN_RELATION_TARGETS, CORE_COLUMNS
from runtime.config.errors import a_or_an, did_you_mean, one_of
from runtime.config.units import parse_duration

TEXTUAL = {"string", "text", "email", "url", "phone"}
ORDERED = {"integer", "decimal", "date", "datetime", "duration"}
# Constraint key → the kinds it means something for.
APPLIES = {
    "max_length": TEXTUAL,
    "pattern": {"string", "email", "url", "phone"},
    "min": ORDERED,
    "max": ORDERED,
    "options": {"choice", "multichoice"},
    "of": {"list"},
    "to": {"relation"},
    "precision": {"decimal"},
    "scale": {"decimal"},
    "multiple": {"attachment"},
    "unique": {"string", "integer", "decimal", "date", "datetime", "email", "url", "phone", "relation"},
    "indexed": {"string", "integer", "decimal", "boolean", "date", "datetime", "duration", "email", "url",
                "phone", "choice", "relation"},
    "default": set().union(TEXTUAL, ORDERED, {"boolean", "choice", "multichoice", "list", "json"}),
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DURATION = re.compile(r"^\s*(\d+\s*[wdhms]\s*)+$")
RESERVED_EXTENSION = {"ticket_id"}


def _ordered_value(kind: str, value: Any) -> Any:
    """The comparable form of a min/max/default for an ordered kind, or None when it does not fit."""
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "decimal":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "duration":
        return parse_duration(value) if isinstance(value, str) and DURATION.match(value) else None
    parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
    try:
        return parse(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _default_problem(field: ir.Field) -> Problem | None:
    value, kind, src = field.default, field.kind, field.src.at("default")
    options = [o.value for o in field.options]
    if kind == "choice":
        if value not in options:
            return Problem(src, "default is not among the options", expected=one_of(options), found=repr(value),
                           hint=did_you_mean(value, options) or "add it to options or pick one of them")
        return None
    if kind == "multichoice":
        stray = [v for v in value if v not in options] if isinstance(value, list) else [value]
        if stray:
            return Problem(src, "default is not among the options", expected=f"a list of {one_of(options)}",
                           found=repr(stray[0]), hint=did_you_mean(stray[0], options))
        return None
    if kind in ORDERED:
        if kind in ("date", "datetime") and value in ("today", "now"):
            return None
        if _ordered_value(kind, value) is None:
            return Problem(src, f"default does not fit {a_or_an(kind)} field", expected=f"{a_or_an(kind)} value",
                           found=repr(value))
        return None
    if kind == "boolean" and not isinstance(value, bool):
        return Problem(src, "default does not fit a boolean field", expected="true or false", found=repr(value))
    if kind == "list" and not isinstance(value, list):
        return Problem(src, "default does not fit a list field", expected="a list", found=repr(value))
    if kind in TEXTUAL:
        if not isinstance(value, str):
            return Problem(src, f"default does not fit {a_or_an(kind)} field", expected="text", found=repr(value))
        if field.max_length is not None and len(value) > field.max_length:
            return Problem(src, "default is longer than max_length", expected=f"at most {field.max_length} characters",
                           found=f"{len(value)} characters")
        if field.pattern and _compiles(field.pattern) and not re.search(field.pattern, value):
            return Problem(src, "default does not match the pattern", expected=field.pattern, found=repr(value))
        if kind == "email" and not EMAIL.match(value):
            return Problem(src, "default is not an email address", expected="name@example.org", found=repr(value))
    return None


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _field_problems(field: ir.Field, targets: list[str]) -> Iterator[Problem]:
    for key in sorted(field.written & APPLIES.keys()):
        if field.kind not in APPLIES[key]:
            kinds = sorted(APPLIES[key])
            yield Problem(field.src.at(key), f"'{key}' does not apply to {a_or_an(field.kind)} field",
                          expected=f"'{key}' only on {', '.join(kinds)} fields", found=f"kind {field.kind}",
                          hint=f"remove '{key}' or change the kind", at_key=True)
    if field.kind in ("choice", "multichoice"):
        if not field.options:
            yield Problem(field.src.at("kind"), f"{a_or_an(field.kind)} field needs options",
                          expected="options: [a, b, …]", found="no options",
                          hint="list the allowed values under 'options'")
        seen: set[str] = set()
        for option in field.options:
            if option.value in seen:
                yield Problem(option.src, "option listed twice", found=f"'{option.value}'", hint="remove one of them")
            seen.add(option.value)
    if field.kind == "relation":
        if field.to is None:
            yield Problem(field.src.at("kind"), "a relation field needs a target", expected=f"to: {one_of(targets)}",
                          found="no 'to'", hint="name what the field points at with 'to:'")
        elif field.to not in targets:
            yield Problem(field.src.at("to"), "relation to an unknown collection", expected=one_of(targets),
                          found=f"'{field.to}'", hint=did_you_mean(field.to, targets)
                          or "declare the collection in ticket_types/_collections.yaml")
    if field.pattern is not None and not _compiles(field.pattern):
        try:
            re.compile(field.pattern)
        except re.error as exc:
            yield Problem(field.src.at("pattern"), "pattern is not a valid regular expression",
                          expected="a Python regular expression", found=f"'{field.pattern}' ({exc})")
    if field.kind in ORDERED:
        low, high = (_ordered_value(field.kind, v) if v is not None else None for v in (field.min, field.max))
        for key, raw, value in (("min", field.min, low), ("max", field.max, high)):
            if raw is not None and value is None:
                yield Problem(field.src.at(key), f"{key} does not fit {a_or_an(field.kind)} field",
                              expected=f"{a_or_an(field.kind)} value", found=repr(raw))
        if low is not None and high is not None and low > high:
            yield Problem(field.src.at("min"), "min is greater than max", expected=f"min ≤ {field.max!r}",
                          found=repr(field.min))
    if field.scale is not None and field.precision is not None and field.scale > field.precision:
        yield Problem(field.src.at("scale"), "scale is larger than precision",
                      expected=f"at most {field.precision} decimals", found=str(field.scale))
    if field.default is not None and field.kind in APPLIES["default"]:
        problem = _default_problem(field)
        if problem:
            yield problem


def _renames(fields: tuple[ir.Field, ...]) -> Iterator[Problem]:
    names = {f.name for f in fields}
    for field in fields:
        if field.renamed_from is not None and field.renamed_from in names:
            yield Problem(field.src.at("renamed_from"), "renamed_from names a field that still exists",
                          found=f"'{field.renamed_from}'", hint="a rename needs the old field removed from the file")


def check(desk: ir.Desk) -> Iterator[Problem]:
    targets = [*BUILTIN_RELATION_TARGETS, *(c.name for c in desk.collections)]
    master_names = {f.name for f in desk.master_fields}
    groups: list[tuple[tuple[ir.Field, ...], set[str]]] = [(desk.master_fields, set())]
    groups += [(c.fields, {"id"}) for c in desk.collections]
    groups += [(t.fields, RESERVED_EXTENSION) for t in desk.types]
    for fields, reserved in groups:
        yield from _renames(fields)
        for field in fields:
            yield from _field_problems(field, targets)
            if field.name in reserved:
                yield Problem(field.src, f"'{field.name}' is reserved for the runtime's key column",
                              found=f"'{field.name}'", hint="choose another name", at_key=True)
    for field in desk.master_fields:
        if field.name in CORE_COLUMNS:
            yield _core_collision(field)
    for ticket_type in desk.types:
        for field in ticket_type.fields:
            if field.name in CORE_COLUMNS:
                yield _core_collision(field)
            elif field.name in master_names:
                yield Problem(field.src, "duplicate field: already defined on the master table",
                              expected="a name not used by ticket_types/_master.yaml", found=f"'{field.name}'",
                              hint="every ticket already has this field; remove it here or rename it", at_key=True)
    for collection in desk.collections:
        if collection.display not in {f.name for f in collection.fields}:
            names = [f.name for f in collection.fields]
            yield Problem(collection.src.at("display"), "display names an unknown field", expected=one_of(names),
                          found=f"'{collection.display}'", hint=did_you_mean(collection.display, names))


def _core_collision(field: ir.Field) -> Problem:
    return Problem(field.src, "field collides with a master column", expected="a name not owned by the runtime",
                   found=f"'{field.name}'", hint=f"'{field.name}' is a core column of every ticket; "
                   f"use it as is or pick a more specific name", at_key=True)
