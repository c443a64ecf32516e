"""Canned responses on the ticket page: the ones the ticket's type declares, and one filled in for a ticket.

Bodies are Jinja2 templates compiled in the sandbox of ``runtime.config.canned`` (the check at load time used the
same one), filled with the ticket as the agent sees it plus the names people read instead of ids. A template that
still fails (a filter refused by the sandbox, say) gives the agent a message, never a server error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.config.canned import environment
from runtime.pages.ticket_names import Names


@dataclass(frozen=True)
class Canned:
    name: str
    label: str


class CannedFailed(Exception):
    """The response could not be filled in for this ticket; the message says why, for the agent."""


def offered(ticket_type: ir.TicketType | None, language: str) -> list[Canned]:
    if ticket_type is None:
        return []
    return [Canned(c.name, ir.label_for(c.label, language, c.name.replace("_", " ").capitalize()))
            for c in ticket_type.canned_responses]


def _template(compiled: CompiledDesk, type_name: str, name: str, language: str) -> jinja2.Template | None:
    def build() -> jinja2.Template | None:
        ticket_type = compiled.definitions.ticket_type(type_name)
        canned = ticket_type.canned_response(name) if ticket_type else None
        if canned is None:
            return None
        return environment().from_string(ir.label_for(canned.body, language, ""))

    return compiled.memo(("pages.canned", type_name, name, language), build)


def context(connection: sa.Connection, compiled: CompiledDesk, ticket: Mapping[str, Any], names: Names
            ) -> dict[str, Any]:
    """The ticket as a template sees it: its fields, and who and what its ids and codes stand for."""
    contacts = compiled.table("contacts")
    requester = connection.execute(sa.select(contacts.c.name, contacts.c.email).where(
        contacts.c.id == ticket.get("requester_id"))).first() if ticket.get("requester_id") is not None else None
    return {**ticket,
            "requester_name": (requester.name or requester.email) if requester else None,
            "requester_email": requester.email if requester else None,
            "assignee_name": names.record("agents", ticket.get("assignee_id")) or None,
            "team_name": names.record("teams", ticket.get("team_id")) or None,
            "type_label": names.type_label(), "status_label": names.state(ticket.get("status"))}


def fill(compiled: CompiledDesk, ticket: Mapping[str, Any], name: str, language: str, agent_name: str) -> str:
    """The response ``name`` of the ticket's type in ``language`` (else the first written), filled in."""
    template = _template(compiled, str(ticket["type"]), name, language)
    if template is None:
        msg = f"no canned response '{name}'"
        raise CannedFailed(msg)
    try:
        return template.render(ticket=dict(ticket), agent_name=agent_name).strip()
    except Exception as exc:  # a builder's template may fail in any way (a filter on a wrong type, say)
        raise CannedFailed(str(exc) or type(exc).__name__) from None
