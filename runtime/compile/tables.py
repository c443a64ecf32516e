"""IR → SQLAlchemy tables: the T-shaped model (master, one extension per type), references, runtime."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import Id, Json, column_for
from runtime.compile.runtime_tables import TS, add_conversation, add_operations, add_people
from runtime.config import ir
from runtime.db.naming import new_metadata


def _master(md: sa.MetaData, desk: ir.Desk) -> sa.Table:
    def fk(name: str, target: str) -> sa.Column[Any]:
        return sa.Column(name, Id(), sa.ForeignKey(f"{target}.id", ondelete="SET NULL"), nullable=True)

    return sa.Table(
        "tickets", md,
        sa.Column("id", Id(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("status_category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("source", sa.String(16), nullable=False),
        # Where within the channel it came from (a mailbox, a webhook source, a form) and the sender's own
        # reference for it (a Message-ID, a delivery or external id): support follows a ticket back with these.
        sa.Column("source_name", sa.String(200)),
        sa.Column("external_ref", sa.String(500)),
        fk("requester_id", "contacts"), fk("organization_id", "organizations"), fk("assignee_id", "agents"),
        fk("team_id", "teams"),
        sa.Column("language", sa.String(16)),
        sa.Column("tags", Json(), nullable=False),
        fk("duplicate_of_id", "tickets"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        # When the status last changed: timed transitions count from here.
        sa.Column("status_changed_at", TS),
        sa.Column("first_response_at", TS),
        sa.Column("resolved_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("version", sa.Integer(), nullable=False),
        *(column_for(f) for f in desk.master_fields),
        # The filters every queue view uses: by state and urgency, by owner, by age. The state-and-urgency index ends
        # in updated_at so that a narrow view ("closed P0, last updated first") reads its page in index order
        # instead of sorting every match: 70 ms -> about 1 ms over 1,000,000 tickets.
        sa.Index(None, "status_category", "priority", "updated_at"),
        sa.Index(None, "type", "status"),
        sa.Index(None, "assignee_id", "status_category"),
        sa.Index(None, "team_id", "status_category"),
        sa.Index(None, "requester_id"),
        sa.Index(None, "created_at"),
        sa.Index(None, "updated_at"),
        sa.Index(None, "status", "status_changed_at"),
        # A webhook's later delivery about the same thing finds its ticket by the sender's reference.
        sa.Index(None, "external_ref"),
        # Full-text search (runtime/db/search.py): the reference weighs most, then the title, then the text.
        info={"role": "master", "search": {"number": "A", "title": "B", "description": "C"}},
    )


def _extension(md: sa.MetaData, ticket_type: ir.TicketType) -> sa.Table:
    info: dict[str, Any] = {"role": "extension", "ticket_type": ticket_type.name}
    if ticket_type.renamed_from:
        info["renamed_from"] = f"ticket_{ticket_type.renamed_from}"
    return sa.Table(
        ticket_type.table_name, md,
        sa.Column("ticket_id", Id(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        *(column_for(f) for f in ticket_type.fields),
        info=info,
    )


def _reference(md: sa.MetaData, collection: ir.Collection) -> sa.Table:
    info: dict[str, Any] = {"role": "reference", "collection": collection.name}
    if collection.renamed_from:
        info["renamed_from"] = f"ref_{collection.renamed_from}"
    return sa.Table(
        f"ref_{collection.name}", md,
        sa.Column("id", Id(), primary_key=True, autoincrement=True),
        *(column_for(f) for f in collection.fields),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        info=info,
    )


def build_metadata(desk: ir.Desk) -> sa.MetaData:
    """Every table of the desk, in a deterministic order."""
    md = new_metadata()
    add_people(md)
    for collection in desk.collections:
        _reference(md, collection)
    _master(md, desk)
    for ticket_type in desk.types:
        _extension(md, ticket_type)
    add_conversation(md)
    add_operations(md)
    return md
