"""Fill an empty demo database with the people, reference data and tickets in ``sample.yaml``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ruamel.yaml import YAML

from runtime.compile.desk import CompiledDesk
from runtime.sla.timers import clocks_for

SAMPLE = Path(__file__).with_name("sample.yaml")


def _insert(connection: sa.Connection, table: sa.Table, row: dict[str, Any]) -> int:
    result = connection.execute(sa.insert(table).values(**row))
    key = result.inserted_primary_key
    return int(key[0]) if key else 0


def _next_number(connection: sa.Connection, counters: sa.Table, prefix: str) -> str:
    current = connection.execute(sa.select(counters.c.last_number).where(counters.c.prefix == prefix)).scalar()
    if current is None:
        connection.execute(sa.insert(counters).values(prefix=prefix, last_number=1))
        return f"{prefix}-000001"
    connection.execute(sa.update(counters).where(counters.c.prefix == prefix).values(last_number=current + 1))
    return f"{prefix}-{current + 1:06d}"


def seed_demo(compiled: CompiledDesk, engine: sa.Engine) -> int:
    """Add the sample data when the desk has no tickets yet; return the number of tickets created."""
    data = YAML(typ="safe").load(SAMPLE.read_text(encoding="utf-8"))
    desk = compiled.definitions
    now = dt.datetime.now(dt.UTC)
    stamps = {"created_at": now, "updated_at": now}
    tables = compiled.metadata.tables
    clocks = clocks_for(compiled)
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(tables["tickets"])).scalar():
            return 0
        orgs = {o["name"]: _insert(connection, tables["organizations"], {**o, **stamps}) for o in data["organizations"]}
        contacts = {}
        for c in data["contacts"]:
            row = {k: v for k, v in c.items() if k != "organization"} | stamps
            row["organization_id"] = orgs.get(c.get("organization", ""))
            contacts[c["email"]] = _insert(connection, tables["contacts"], row)
        teams = {t["name"]: _insert(connection, tables["teams"], {**t, **stamps}) for t in data["teams"]}
        agents = {}
        for a in data["agents"]:
            row = {k: v for k, v in a.items() if k != "teams"} | stamps | {"away": False, "active": True}
            agents[a["username"]] = _insert(connection, tables["agents"], row)
            for team in a.get("teams", []):
                connection.execute(sa.insert(tables["team_members"]).values(team_id=teams[team],
                                                                            agent_id=agents[a["username"]]))
        refs: dict[str, dict[str, int]] = {}
        for name in ("locations", "assets"):
            table = tables[f"ref_{name}"]
            refs[name] = {}
            for item in data["collections"][name]:
                row = {k: (dt.date.fromisoformat(v) if k == "commissioned_on" else v) for k, v in item.items()}
                refs[name][next(iter(item.values()))] = _insert(connection, table, row | stamps | {"active": True})
        created = 0
        for ticket in data["tickets"]:
            ticket_type = desk.ticket_type(ticket["type"])
            workflow = desk.workflow(ticket_type.workflow) if ticket_type else None
            if ticket_type is None or workflow is None:
                continue
            state = workflow.state(ticket["status"]) or workflow.state(workflow.initial)
            assert state is not None
            master = {
                "number": _next_number(connection, tables["ticket_counters"], ticket_type.number_prefix),
                "type": ticket_type.name, "title": ticket["title"], "description": ticket["description"],
                "status": state.name, "status_category": state.category, "priority": ticket["priority"],
                "category": ticket.get("category"), "source": "manual", "requester_id": contacts[ticket["requester"]],
                "assignee_id": agents.get(ticket.get("assignee", "")), "team_id": teams.get(ticket.get("team", "")),
                "language": "en", "tags": [], "version": 1, "status_changed_at": now, **stamps,
            }
            ticket_id = _insert(connection, tables["tickets"], master)
            extension = {"ticket_id": ticket_id}
            kinds = {f.name: f for f in ticket_type.fields}
            for name, value in ticket.get("fields", {}).items():
                field = kinds[name]
                if field.kind == "relation":
                    value = refs[str(field.to)][value] if field.to in refs else agents[value]
                elif field.kind == "date":
                    value = dt.date.fromisoformat(value)
                elif field.kind == "decimal":
                    value = Decimal(str(value))
                extension[name] = value
            connection.execute(sa.insert(tables[ticket_type.table_name]).values(**extension))
            clocks.ticket_created(connection, {**master, **extension, "id": ticket_id}, now)
            created += 1
    return created
