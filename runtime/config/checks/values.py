"""Literal values written in workflows and policies (``set``, ``when``, ``applies_to.fields``) fit their field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.core_columns import CORE_COLUMNS, PRIORITIES, SOURCES
from runtime.config.errors import a_or_an, did_you_mean, one_of

# Core columns a transition or escalation may not write: the runtime keeps them consistent itself.
RUNTIME_MANAGED = ("id", "number", "type", "status", "status_category", "created_at", "updated_at", "version",
                   "first_response_at", "resolved_at", "closed_at", "source_name", "external_ref")
CONDITION_WORDS = ("set", "empty")
PRIORITY_STEPS = ("raise", "lower")


def _allowed(name: str, desk: ir.Desk, fields: dict[str, ir.Field]) -> tuple[str, list[str] | None]:
    """The kind of ``name`` and, for choice-like fields, its allowed values."""
    if name == "priority":
        return "choice", list(PRIORITIES)
    if name == "source":
        return "choice", list(SOURCES)
    if name == "category":
        return "choice", [c.value for c in desk.categories]
    if name in fields:
        field = fields[name]
        return field.kind, [o.value for o in field.options] if field.options else None
    return CORE_COLUMNS.get(name, "json"), None


def _fits(kind: str, allowed: list[str] | None, value: Any) -> bool:
    if value is None:
        return True
    if allowed is not None:
        return value in allowed
    if kind in ("integer", "duration", "relation"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "decimal":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str) if kind not in ("json", "list", "multichoice") else True


def _value(src: ir.Src, name: str, value: Any, desk: ir.Desk, fields: dict[str, ir.Field],
           extra_words: tuple[str, ...] = ()) -> Iterator[Problem]:
    if isinstance(value, str) and value in extra_words:
        return
    kind, allowed = _allowed(name, desk, fields)
    if not _fits(kind, allowed, value):
        choices = [*extra_words, *(allowed or [])]
        noun = "an id" if kind == "relation" else f"{a_or_an(kind)} value"
        expected = one_of(choices) if allowed is not None else noun + (
            f" or {one_of(list(extra_words))}" if extra_words else "")
        yield Problem(src, f"value does not fit the field '{name}'", expected=expected, found=repr(value),
                      hint=did_you_mean(value, choices))


def check(desk: ir.Desk) -> Iterator[Problem]:
    master = {f.name: f for f in desk.master_fields}
    for workflow in desk.workflows:
        for ticket_type in [t for t in desk.types if t.workflow == workflow.name]:
            fields = {**master, **{f.name: f for f in ticket_type.fields}}
            for transition in workflow.transitions:
                for name, value in transition.when:
                    yield from _value(transition.src.at("when", name), name, value, desk, fields, CONDITION_WORDS)
                for name, value in transition.updates:
                    if name in RUNTIME_MANAGED:
                        yield Problem(transition.src.at("set", name), f"'{name}' is kept by the runtime",
                                      expected="a field the workflow may change", found=f"'{name}'",
                                      hint="the transition's target state sets status; timestamps are automatic",
                                      at_key=True)
                    else:
                        yield from _value(transition.src.at("set", name), name, value, desk, fields)
    for policy in desk.policies:
        for name, value in policy.field_matches:
            if name in master:
                yield from _value(policy.src.at("applies_to", "fields", name), name, value, desk, master)
        for escalation in policy.escalations:
            for name, value in escalation.updates:
                writable = [n for n in (*CORE_COLUMNS, *master) if n not in RUNTIME_MANAGED]
                if name not in writable:
                    hint = "the runtime keeps it itself" if name in RUNTIME_MANAGED else did_you_mean(name, writable)
                    yield Problem(escalation.src.at("set", name), "escalation sets a field it may not change",
                                  expected="a master field such as priority, assignee_id, team_id or tags",
                                  found=f"'{name}'", hint=hint, at_key=True)
                else:
                    steps = PRIORITY_STEPS if name == "priority" else ()
                    yield from _value(escalation.src.at("set", name), name, value, desk, master, steps)
