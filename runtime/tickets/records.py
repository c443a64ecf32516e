"""Reading and writing a typed ticket as one object over the master row and its extension row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from runtime.compile.desk import CompiledDesk
from runtime.compile.models import TicketInput
from runtime.db import driver
from runtime.tickets.access import bound_visible, facets, visible_parameters
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket, TicketNotFound

RELATION_TABLES = {"requester_id": "contacts", "assignee_id": "agents", "team_id": "teams"}


def validate(model: type[TicketInput], payload: dict[str, Any] | BaseModel) -> TicketInput:
    """The payload as the type's model, or InvalidTicket listing every field and its reason."""
    if isinstance(payload, model):
        return payload
    try:
        return model.model_validate(payload.model_dump(exclude_unset=True) if isinstance(payload, BaseModel)
                                    else payload)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "reason": e["msg"]} for e in exc.errors()]
        msg = f"{len(errors)} field{'s' if len(errors) != 1 else ''} not valid"
        raise InvalidTicket(msg, errors) from None


def split(compiled: CompiledDesk, type_name: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate values into master-table and extension-table columns."""
    columns = compiled.memo(("records.extension_columns", type_name),
                            lambda: frozenset(compiled.table(f"ticket_{type_name}").c.keys()) - {"ticket_id"})
    own = {k: v for k, v in values.items() if k in columns}
    return {k: v for k, v in values.items() if k not in own}, own


def relation_targets(compiled: CompiledDesk, type_name: str) -> dict[str, str]:
    """Field → the table its ids must exist in, for every relation a ticket of this type can hold."""
    targets = dict(RELATION_TABLES)
    for table_name in ("tickets", f"ticket_{type_name}"):
        for column in compiled.table(table_name).columns:
            if column.info.get("kind") == "relation":
                targets[column.name] = next(iter(column.foreign_keys)).target_fullname.split(".")[0]
    return targets


def _existence_check(compiled: CompiledDesk, type_name: str, fields: tuple[str, ...],
                     organization: bool) -> driver.Statement:
    """One query for the ids of ``fields``, each looked up in its target table: a row with a column per field,
    null where that id points at nothing, and with ``organization`` the requester's organization last."""
    def build() -> driver.Statement:
        targets = relation_targets(compiled, type_name)
        found = []
        for i, name in enumerate(fields):
            table = compiled.table(targets[name])
            found.append(sa.select(table.c.id).where(table.c.id == sa.bindparam(f"relation_{name}"))
                         .scalar_subquery().label(f"found_{i}"))
        if organization:
            contacts = compiled.table("contacts")
            found.append(sa.select(contacts.c.organization_id)
                         .where(contacts.c.id == sa.bindparam("relation_requester_id")).scalar_subquery()
                         .label("organization"))
        # On the driver: every create runs it, and its parameters are ids.
        return driver.Statement(sa.select(*found))

    return compiled.memo(("records.existence_check", type_name, fields, organization), build)


def check_relations(connection: sa.Connection, compiled: CompiledDesk, type_name: str, values: dict[str, Any], *,
                    organization: bool = False) -> int | None:
    """Refuse ids that point at nothing, naming the field, before the database refuses them less clearly.

    With ``organization``, also return the organization of the requester (None without one), read by the same
    query: a create needs both."""
    targets = compiled.memo(("records.relation_targets", type_name), lambda: relation_targets(compiled, type_name))
    given = tuple(name for name in targets if values.get(name) is not None)
    organization = organization and "requester_id" in given
    if not given:
        return None
    found = _existence_check(compiled, type_name, given, organization).run(
        connection, {f"relation_{name}": values[name] for name in given}).row
    assert found is not None  # a SELECT of scalar subqueries without FROM returns one row
    errors = [{"field": name, "reason": f"no {targets[name]} record with id {values[name]}"}
              for i, name in enumerate(given) if found[i] is None]
    if errors:
        raise InvalidTicket("a referenced record does not exist", errors)
    requester_organization: int | None = found[-1] if organization else None
    return requester_organization


def _ticket_query(compiled: CompiledDesk, shape: tuple[str, ...]) -> sa.Select[Any]:
    def build() -> sa.Select[Any]:
        tickets = compiled.table("tickets")
        return sa.select(tickets).where(tickets.c.id == sa.bindparam("ticket_id"), bound_visible(tickets, shape))

    return compiled.memo(("records.ticket", shape), build)


def _extension_query(compiled: CompiledDesk, type_name: str) -> sa.Select[Any] | None:
    def build() -> sa.Select[Any] | None:
        extension = compiled.metadata.tables.get(f"ticket_{type_name}")
        if extension is None:
            return None
        return sa.select(extension).where(extension.c.ticket_id == sa.bindparam("ticket_id"))

    return compiled.memo(("records.extension", type_name), build)


def load(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, ticket_id: int) -> dict[str, Any]:
    """The whole ticket if ``actor`` may see it; TicketNotFound otherwise (existence does not leak)."""
    shape = facets(compiled, actor)
    row = connection.execute(_ticket_query(compiled, shape),
                             {"ticket_id": ticket_id, **visible_parameters(actor, shape)}).first()
    if row is None:
        msg = f"no ticket {ticket_id}"
        raise TicketNotFound(msg)
    ticket = dict(row._mapping)
    extension = _extension_query(compiled, ticket["type"])
    if extension is not None:
        own = connection.execute(extension, {"ticket_id": ticket_id}).first()
        if own is not None:
            ticket.update({k: v for k, v in own._mapping.items() if k != "ticket_id"})
    return ticket
