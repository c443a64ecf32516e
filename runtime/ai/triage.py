"""Triage: a provider proposes, rules and people dispose.

For each new ticket the worker asks the desk's provider (``local``, or ``llm`` falling back to ``local``) for a
validated answer, then decides what of it may change the ticket:

- only the fields ``ai.triage.fields`` names (category, priority, language);
- never a field the creator gave: what a person chose or an intake rule set takes precedence over any model;
- never a field a person changed since the ticket was created;
- only when the provider's confidence in every field it would change reaches ``ai.triage.apply_at``; below it
  nothing changes and the ticket waits in the triage queue (a decision with ``review = 'queued'``) for a person;
- never the type: a ticket that reads like another type is queued for a person with that proposal.

Every answer is stored in ``ai_decisions`` with what it was made from (a hash), the provider, model, latency,
tokens, the proposal, what was changed and why, whether or not anything was applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from runtime.ai.answers import allowed
from runtime.ai.proposals import Proposal, TicketText
from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.records import load

KIND = "triage"
QUEUED = "queued"
SUPERSEDED = "superseded"
# Changes triage makes are the system's, told apart from other system changes in the audit by this name.
AI = Actor("system", None, "ai-triage", SYSTEM.roles)
FIELDS = ("category", "priority", "language")


class Provider(Protocol):
    name: str

    def triage(self, ticket: TicketText) -> Proposal: ...


class Updates(Protocol):
    """The ticket service's update inside a transaction (audited, version-checked, SLA re-targeted)."""

    def update_in(self, connection: sa.Connection, actor: Actor, ticket_id: int, payload: dict[str, Any],
                  channel: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Outcome:
    changes: dict[str, tuple[Any, Any]]  # field → (now, proposed)
    confidence: float | None  # the least confidence among the fields it would change
    queued: str | None  # why a person must decide; None when it may apply (or has nothing to apply)
    kept: dict[str, str] = field(default_factory=dict)  # field → why triage left it alone

    @property
    def applies(self) -> bool:
        return self.queued is None and bool(self.changes)


def decide(ticket: TicketText, proposal: Proposal, *, fields: Collection[str], apply_at: float,
           given: Collection[str] = (), initial: Mapping[str, Any] | None = None,
           may_apply: bool = True) -> Outcome:
    """What of ``proposal`` may change ``ticket``; pure, so that every rule above is testable on its own."""
    changes: dict[str, tuple[Any, Any]] = {}
    kept: dict[str, str] = {}
    confidences: list[float] = []
    for name in FIELDS:
        if name not in fields:
            continue
        proposed, now = proposal.value(name), ticket.current.get(name)
        confidence = proposal.confidence.get(name)
        if proposed is None or confidence is None or proposed == now:
            continue
        if name in given:
            kept[name] = "given when the ticket was created"
        elif initial is not None and initial.get(name) != now:
            kept[name] = "changed by a person since"
        else:
            changes[name] = (now, proposed)
            confidences.append(confidence)
    least = min(confidences) if confidences else None
    queued = None
    other_type, type_confidence = proposal.value("type"), proposal.confidence.get("type")
    if other_type and other_type != ticket.type and type_confidence is not None and type_confidence >= apply_at:
        queued = f"reads like a {other_type} ticket ({type_confidence:.2f}); only a person changes the type"
    elif least is not None and least < apply_at:
        queued = f"confidence {least:.2f} is below {apply_at:.2f}"
    elif changes and not may_apply:
        queued = "proposed on request; a person decides"
    elif "category" in fields and ticket.current.get("category") is None and "category" not in changes \
            and has_categories(proposal):
        queued = "no category, and none proposed with confidence"
    return Outcome(changes, least, queued, kept)


def has_categories(proposal: Proposal) -> bool:
    """Whether the ticket's type has categories to choose from (its answer model admits some)."""
    return bool(allowed(type(proposal.answer), "category"))


def explanation(proposal: Proposal, outcome: Outcome) -> str:
    parts: list[str] = []
    if proposal.fallback:
        parts.append(f"{proposal.fallback}; the local provider answered")
    if outcome.changes:
        said = ", ".join(f"{name} {new} ({proposal.reasons.get(name, 'no reason given')})"
                         for name, (_, new) in outcome.changes.items())
        parts.append(("proposed " if outcome.queued else "set ") + said)
    if outcome.queued:
        parts.append(f"queued for a person: {outcome.queued}")
    parts += [f"kept {name}: {why}" for name, why in outcome.kept.items()]
    if not outcome.changes and not outcome.queued:
        parts.append("nothing to change")
    parts.append(f"urgency {proposal.answer.urgency}, sentiment {proposal.answer.sentiment}")
    return "; ".join(parts)


class Triage:
    """Reads a ticket, asks the provider, decides, records and applies; one per compiled desk and service."""

    def __init__(self, compiled: CompiledDesk, provider: Provider, service: Updates) -> None:
        self.compiled = compiled
        self.settings = compiled.definitions.project.ai
        self.provider = provider
        self.service = service
        self.decisions = compiled.table("ai_decisions")

    def read(self, connection: sa.Connection, ticket_id: int, actor: Actor = SYSTEM) -> TicketText:
        row = load(connection, self.compiled, actor, ticket_id)
        current = {k: row.get(k) for k in ("category", "priority", "language", "status", "status_category",
                                          "number", "version")}
        return TicketText(ticket_id, str(row["type"]), str(row.get("title") or ""), str(row.get("description") or ""),
                          current)

    def propose(self, ticket: TicketText) -> Proposal:
        """The provider's answer; no database work, so that a slow endpoint holds no transaction open."""
        return self.provider.triage(ticket)

    def settle(self, connection: sa.Connection, ticket: TicketText, proposal: Proposal, *, now: dt.datetime,
               given: Collection[str] = (), initial: Mapping[str, Any] | None = None,
               may_apply: bool = True) -> tuple[int, Outcome]:
        """Decide on ``proposal`` against the ticket as it is now (re-read in this transaction), record the
        decision and apply it when it may; returns the decision's id and the outcome."""
        fresh = self.read(connection, ticket.ticket_id)
        outcome = decide(fresh, proposal, fields=self.settings.triage_fields, apply_at=self.settings.apply_at,
                         given=given, initial=initial, may_apply=may_apply)
        if outcome.applies:
            values = {name: new for name, (_, new) in outcome.changes.items()}
            self.service.update_in(connection, AI, ticket.ticket_id,
                                   {**values, "version": fresh.current["version"]}, "ai")
        output = {
            "proposal": proposal.answer.model_dump(mode="json"),
            "changes": {name: [old, new] for name, (old, new) in outcome.changes.items()},
            "field_confidence": dict(proposal.confidence), "reasons": dict(proposal.reasons),
            "kept": outcome.kept, "queued_because": outcome.queued, "fallback": proposal.fallback,
        }
        if outcome.queued:
            # One entry per ticket in the queue: a newer proposal replaces one still waiting.
            d = self.decisions
            connection.execute(sa.update(d).where(d.c.ticket_id == ticket.ticket_id, d.c.kind == KIND,
                                                  d.c.review == QUEUED).values(review=SUPERSEDED))
        decision_id = connection.execute(sa.insert(self.decisions).returning(self.decisions.c.id), {
            "ticket_id": ticket.ticket_id, "kind": KIND, "provider": proposal.provider, "model": proposal.model[:200],
            "output": output, "confidence": outcome.confidence if outcome.changes else proposal.answer.confidence,
            "explanation": explanation(proposal, outcome), "applied": outcome.applies,
            "review": QUEUED if outcome.queued else None, "inputs_hash": fresh.inputs_hash(),
            "latency_ms": round(proposal.latency_ms, 3), "tokens": proposal.tokens, "created_at": now,
        }).scalar_one()
        return int(decision_id), outcome

    def record_failure(self, connection: sa.Connection, ticket_id: int, error: str, now: dt.datetime) -> None:
        """Triage gave up on a ticket: people triage it, and the queue says why."""
        connection.execute(sa.insert(self.decisions), {
            "ticket_id": ticket_id, "kind": KIND, "provider": self.provider.name, "model": None,
            "output": {"error": error, "queued_because": "triage failed"}, "confidence": None,
            "explanation": f"queued for a person: triage failed ({error})", "applied": False, "review": QUEUED,
            "created_at": now})


def provider_for(compiled: CompiledDesk) -> Provider:
    """The desk's provider, built once: ``local``, or ``llm`` with ``local`` to fall back on."""

    def build() -> Provider:
        from runtime.ai.local_provider import LocalProvider

        settings = compiled.definitions.project.ai
        local = LocalProvider(compiled)
        if settings.provider == "llm" and settings.llm is not None:
            from runtime.ai.llm_provider import LlmProvider  # instructor and openai load only when used

            return LlmProvider(compiled, settings.llm, local)
        return local

    return compiled.memo("ai.provider", build)
