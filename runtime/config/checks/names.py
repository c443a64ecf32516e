"""Identifiers that become tables, columns or API keys: snake_case, not reserved, short enough."""

from __future__ import annotations

import re
from collections.abc import Iterator

from runtime.config import ir
from runtime.config.checks import Problem

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PG_MAX_IDENTIFIER = 63
# Reserved in PostgreSQL or SQLite: usable only when quoted, which generated SQL and ad-hoc
# reports would then always need.
_RESERVED_WORDS = """
all analyse analyze and any array as asc asymmetric authorization between binary both case cast
check collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc
distinct do else end except exists false fetch for foreign freeze from full grant group having
ilike in initially inner intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
references returning right select session_user similar some symmetric table tablesample then to
trailing true union unique user using variadic verbose when where window with abort autoincrement
conflict delete drop escape exclusive glob index indexed insert match pragma raise regexp reindex
rename replace restrict rowid savepoint temp temporary transaction trigger update vacuum values view
virtual
"""
RESERVED = frozenset(_RESERVED_WORDS.split())


def _snake(name: str) -> str:
    """A snake_case suggestion for a name written otherwise: ``Team Lead`` → ``team_lead``."""
    return re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()).strip("_")


def _name_problems(name: str, src: ir.Src, what: str, physical: str | None = None) -> Iterator[Problem]:
    if not SNAKE.match(name):
        yield Problem(src, f"{what} name is not snake_case",
                      expected="lowercase letters, digits and single underscores, starting with a letter",
                      found=f"'{name}'", hint=f"rename it to '{_snake(name)}'", at_key=True)
        return
    if name in RESERVED:
        yield Problem(src, f"{what} name is a reserved SQL word", expected="a name that is not reserved in SQL",
                      found=f"'{name}'", hint=f"choose a more specific name such as '{name}_name' or 'ticket_{name}'",
                      at_key=True)
    identifier = physical or name
    size = len(identifier.encode())
    if size > PG_MAX_IDENTIFIER:
        room = PG_MAX_IDENTIFIER - (size - len(name.encode()))
        yield Problem(src, f"{what} name is too long for a database identifier",
                      expected=f"at most {PG_MAX_IDENTIFIER} bytes for '{identifier}'", found=f"{size} bytes",
                      hint=f"PostgreSQL cuts identifiers at 63 bytes; shorten the name to at most {room} characters",
                      at_key=True)


def _field_names(fields: tuple[ir.Field, ...]) -> Iterator[Problem]:
    for field in fields:
        yield from _name_problems(field.name, field.src, "field")


def check(desk: ir.Desk) -> Iterator[Problem]:
    yield from _field_names(desk.master_fields)
    for collection in desk.collections:
        yield from _name_problems(collection.name, collection.src, "collection", f"ref_{collection.name}")
        yield from _field_names(collection.fields)
    for ticket_type in desk.types:
        yield from _name_problems(ticket_type.name, ticket_type.src.at("type"), "ticket type", ticket_type.table_name)
        yield from _field_names(ticket_type.fields)
    for workflow in desk.workflows:
        if not workflow.name.endswith("(inline)"):
            yield from _name_problems(workflow.name, workflow.src, "workflow")
        for state in workflow.states:
            yield from _name_problems(state.name, state.src, "state")
        for transition in workflow.transitions:
            yield from _name_problems(transition.name, transition.src, "transition")
    for index, role in enumerate(desk.project.roles):
        if not SNAKE.match(role):
            yield Problem(desk.project.src.at("roles", index), "role name is not snake_case", found=f"'{role}'",
                          expected="lowercase letters, digits and single underscores, starting with a letter",
                          hint=f"rename it to '{_snake(role)}'")
