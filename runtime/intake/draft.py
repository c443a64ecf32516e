"""What every channel hands to the last stages: a proposed ticket, or a reply to an existing one.

Mail, webhooks and forms differ in how they read their input; from here on they are the same: enrichment,
near-duplicate detection, creation, routing and acknowledgement see only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.intake.mail.mime import Attachment


@dataclass(frozen=True)
class Draft:
    """A new ticket as a channel proposes it, before the desk's rules enrich it."""

    channel: str  # email, webhook, form, api: the tickets.source it gets
    ticket_type: str
    payload: dict[str, Any]  # title, description and fields, as the type's create model takes them
    source_name: str | None = None  # the mailbox, webhook source or form
    external_ref: str | None = None  # the sender's id: Message-ID, delivery or external id
    team_id: int | None = None
    related_id: int | None = None  # a ticket the input names but may not write on; the new one links to it
    sender_email: str | None = None
    files: tuple[Attachment, ...] = ()
    html: str | None = None  # the original HTML (sanitized on display), when the channel had one
    applied_rules: tuple[str, ...] = field(default=())
    # The mailbox's type is only where mail lands by default, so rules may change it; a channel whose sender or
    # source chose the type (a form for one type, say) sets this and rules leave the type alone.
    type_fixed: bool = False
    # Payload values enrichment filled in. Everything else in the payload came from the channel and counts as
    # the sender's explicit choice, which no rule overrides; a later stage may revise these.
    inferred: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()  # what enrichment declined to do, and why, for the intake row's record

    @property
    def text(self) -> str:
        """Title and description: what rules and similarity read."""
        return f"{self.payload.get('title') or ''}\n{self.payload.get('description') or ''}"


@dataclass(frozen=True)
class Reply:
    """A message continuing a ticket: a comment from its sender."""

    channel: str
    body: str
    message_id: str | None = None  # kept on the comment so later replies thread to it
    html: str | None = None
    files: tuple[Attachment, ...] = ()
    public: bool = True  # a requester's words are; a system's report on the ticket is an internal note
