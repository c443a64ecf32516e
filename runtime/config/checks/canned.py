"""Canned responses: names fit for a link, and every body a Jinja2 template that compiles in the sandbox and uses
only names the ticket page fills in (a typo would otherwise show up as an error in front of an agent)."""

from __future__ import annotations

from collections.abc import Iterator

import jinja2

from runtime.config import ir
from runtime.config.canned import TOP_NAMES, environment, ticket_names, unknown_names
from runtime.config.checks import Problem
from runtime.config.checks.names import SNAKE
from runtime.config.errors import did_you_mean


def _body_problems(desk: ir.Desk, ticket_type: ir.TicketType, canned: ir.CannedResponse) -> Iterator[Problem]:
    env = environment()
    names = ticket_names(desk, ticket_type)
    for language, body in canned.body:
        src = canned.src.at("body", language)
        try:
            parsed = env.parse(body)
        except jinja2.TemplateSyntaxError as exc:
            yield Problem(src, f"the template does not compile (line {exc.lineno}): {exc.message}",
                          found=f"'{_line(body, exc.lineno)}'", hint="fix the Jinja2 syntax")
            continue
        for name, line in unknown_names(parsed, names):
            choices = [f"ticket.{n}" for n in names] if name.startswith("ticket.") else list(TOP_NAMES)
            yield Problem(src, f"the template uses an unknown name (line {line})", found=f"'{name}'",
                          expected="ticket.<a field of this type>, ticket.requester_name, … or agent_name",
                          hint=did_you_mean(name, choices) or "use one of the ticket's fields")


def _line(text: str, number: int | None) -> str:
    lines = text.splitlines() or [""]
    return lines[min(max((number or 1) - 1, 0), len(lines) - 1)].strip()


def check(desk: ir.Desk) -> Iterator[Problem]:
    for ticket_type in desk.types:
        for canned in ticket_type.canned_responses:
            if not SNAKE.match(canned.name):
                yield Problem(canned.src, "canned response name is not snake_case", found=f"'{canned.name}'",
                              expected="lowercase letters, digits and single underscores, starting with a letter",
                              hint="the name is part of the link that fills it in", at_key=True)
            yield from _body_problems(desk, ticket_type, canned)
