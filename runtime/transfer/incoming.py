"""One ticket on its way in, whatever file it came from: its values, the people and rows it names by their natural
keys (ids are this desk's, found or made later for a whole batch at once), and why it is refused, if it is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# What a reference names: the table it is looked up in.
CONTACT, AGENT, TEAM, ORGANIZATION, TICKET = "contacts", "agents", "teams", "organizations", "tickets"
REJECT, LEAVE_EMPTY, CREATE = "reject", "leave_empty", "create"


@dataclass(eq=False)
class Ref:
    """A row named by one of its columns (an agent by username, a contact by email); ``id`` once found or made.

    Contacts and organizations that do not exist are created (``missing == CREATE``), with ``name`` and, for a
    contact, its ``organization``."""

    table: str
    by: str
    key: Any
    missing: str = REJECT
    name: str | None = None
    organization: Ref | None = None
    id: int | None = None
    absent: bool = False  # looked up and not there (and not to be created)
    written: Any = None  # what the file said, kept where a row that is not there may be named all the same

    def value(self) -> Any:
        """The id, or in an audit event's value what the file wrote when it names nothing here."""
        return self.id if self.id is not None else self.written


@dataclass
class IncomingComment:
    created_at: dt.datetime
    body: str
    public: bool
    direction: str
    channel: str
    author: Ref | None = None
    body_html: str | None = None
    message_id: str | None = None


@dataclass
class IncomingAttachment:
    sha256: str
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime
    comment: int | None = None  # the index of its comment in ``Incoming.comments``


@dataclass
class Ready:
    """A row's inserts, their values converted for the driver, waiting for their ids (runtime/transfer/writer.py)."""

    ticket: list[Any]  # in the order of its table's BulkInsert
    own: list[Any]
    comments: list[list[Any]]
    clocks: list[tuple[list[Any], list[list[Any]]]]  # each clock's row and its ledger's rows


@dataclass
class Incoming:
    line: int
    key: str  # what the report names the row by: the other desk's id, or the number of an exported ticket
    reasons: list[str] = field(default_factory=list)
    type_name: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # what the type's create model validates
    master: dict[str, Any] = field(default_factory=dict)  # the tickets columns the model does not hold
    number: str | None = None  # the number asked for
    refs: dict[str, Ref] = field(default_factory=dict)  # a column or field → the row it names
    organization: Ref | None = None  # the ticket's own organization (an export says it; else the requester's)
    comments: list[IncomingComment] = field(default_factory=list)
    # Only an export carries these; a mapped row gets an 'imported' event and SLA clocks from its timestamps.
    attachments: list[IncomingAttachment] = field(default_factory=list)
    attachment_fields: dict[str, Any] = field(default_factory=dict)  # field → attachment index or indexes
    events: list[dict[str, Any]] | None = None
    clocks: list[dict[str, Any]] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    rating: dict[str, Any] | None = None
    duplicate_of: str | None = None
    imported_from: dict[str, Any] = field(default_factory=dict)  # what the 'imported' event records
    ready: Ready | None = None

    def reject(self, reason: str) -> None:
        self.reasons.append(reason)

    def all_refs(self) -> list[Ref]:
        found = list(self.refs.values())
        if self.organization is not None:
            found.append(self.organization)
        found += [c.author for c in self.comments if c.author is not None]
        found += [r.organization for r in found if r.organization is not None]
        for event in self.events or ():
            found += [v for v in (event["old_value"], event["new_value"]) if isinstance(v, Ref)]
        if self.rating is not None and isinstance(self.rating.get("contact"), Ref):
            found.append(self.rating["contact"])
        return found
