"""The AI panel of the ticket page: the latest triage decision with its confidence and reasons (and, while it waits
for a person, accept / override / dismiss), the latest suggested reply with what it cites, and similar tickets and
articles. Every call goes through runtime/ai and runtime/kb with the agent's actor, as the JSON API's do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.ai.replies import Replies
from runtime.ai.review import Reviews
from runtime.ai.triage import FIELDS, KIND, QUEUED, Triage, provider_for
from runtime.compile.desk import CompiledDesk
from runtime.config.core_columns import PRIORITIES
from runtime.kb.recommend import Recommender
from runtime.pages.ticket_names import Names, when
from runtime.tickets.actors import Actor
from runtime.tickets.service import TicketService

REPLY = "reply"


@dataclass(frozen=True)
class Proposed:
    field: str
    label: str
    current: str
    proposed: str
    proposed_value: str
    confidence: float | None
    reason: str
    choices: tuple[tuple[str, str], ...]  # what an override may choose instead: (value, label)


@dataclass(frozen=True)
class TriageCard:
    id: int
    provider: str
    model: str
    confidence: float | None
    explanation: str
    review: str | None  # queued, accepted, overridden, dismissed, superseded; None when nobody had to look
    reviewed_by: str
    applied: bool
    when: str
    proposals: tuple[Proposed, ...]
    signals: tuple[tuple[str, str], ...]  # urgency, sentiment, summary as the provider read them

    @property
    def waiting(self) -> bool:
        return self.review == QUEUED


@dataclass(frozen=True)
class Citation:
    kind: str  # ticket | article
    number: str
    title: str
    url: str
    score: float | None


@dataclass(frozen=True)
class ReplyCard:
    id: int
    body: str
    citations: tuple[Citation, ...]
    blocked: bool
    when: str


def citation(raw: Mapping[str, Any]) -> Citation:
    kind = str(raw.get("kind") or "ticket")
    record = raw.get("id")
    url = f"/knowledge/{record}" if kind == "article" else f"/tickets/{record}"
    score = raw.get("score")
    return Citation(kind, str(raw.get("number") or ""), str(raw.get("title") or ""), url,
                    float(score) if isinstance(score, (int, float)) else None)


class AiPanel:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, service: TicketService) -> None:
        self.compiled, self.engine, self.service = compiled, engine, service
        self.reviews = Reviews(compiled, engine, Triage(compiled, provider_for(compiled), service))
        self.replies = Replies(compiled, engine)
        self.recommender = Recommender(compiled, engine)

    def cards(self, actor: Actor, ticket: Mapping[str, Any], names: Names, label: Any
              ) -> tuple[TriageCard | None, ReplyCard | None]:
        """The latest triage decision and the latest reply suggestion on the ticket."""
        decisions = self.reviews.of_ticket(actor, int(ticket["id"]))
        triage = next((d for d in reversed(decisions) if d["kind"] == KIND), None)
        reply = next((d for d in reversed(decisions) if d["kind"] == REPLY), None)
        return (self._triage(triage, ticket, names, label) if triage else None,
                self.reply_card(reply) if reply else None)

    def _triage(self, decision: Mapping[str, Any], ticket: Mapping[str, Any], names: Names, label: Any
                ) -> TriageCard:
        output = decision.get("output") or {}
        confidences = output.get("field_confidence") or {}
        reasons = output.get("reasons") or {}
        proposals = []
        for field, pair in (output.get("changes") or {}).items():
            if field not in FIELDS or not isinstance(pair, list) or len(pair) != 2:
                continue
            confidence = confidences.get(field)
            proposals.append(Proposed(
                field, label(field), names.value(field, ticket.get(field)), names.value(field, pair[1]),
                "" if pair[1] is None else str(pair[1]),
                float(confidence) if isinstance(confidence, (int, float)) else None, str(reasons.get(field) or ""),
                self.choices(field, ticket, names)))
        proposal = output.get("proposal") or {}
        signals = tuple((key, str(proposal[key])) for key in ("urgency", "sentiment", "summary")
                        if proposal.get(key) not in (None, ""))
        confidence = decision.get("confidence")
        return TriageCard(int(decision["id"]), str(decision.get("provider") or ""), str(decision.get("model") or ""),
                          float(confidence) if isinstance(confidence, (int, float)) else None,
                          str(decision.get("explanation") or ""), decision.get("review"),
                          str(decision.get("reviewed_by") or ""), bool(decision.get("applied")),
                          when(decision.get("created_at")), tuple(proposals), signals)

    def choices(self, field: str, ticket: Mapping[str, Any], names: Names) -> tuple[tuple[str, str], ...]:
        """The values a person may pick instead of the proposal."""
        if field == "priority":
            return tuple((p, p) for p in PRIORITIES)
        if field == "language":
            return tuple((lang, names.t(f"common.lang_{lang}")) for lang in self.compiled.definitions.project.languages)
        ticket_type = self.compiled.definitions.ticket_type(str(ticket["type"]))
        allowed = (ticket_type.categories if ticket_type else ()) or tuple(
            c.value for c in self.compiled.definitions.categories)
        return tuple((c, names.category(c)) for c in allowed)

    @staticmethod
    def reply_card(decision: Mapping[str, Any]) -> ReplyCard:
        output = decision.get("output") or {}
        check = output.get("check") or {}
        return ReplyCard(int(decision["id"]), str(output.get("body") or ""),
                         tuple(citation(c) for c in output.get("citations") or ()), bool(check.get("blocked")),
                         when(decision.get("created_at")))

    def suggest(self, actor: Actor, ticket_id: int) -> ReplyCard:
        """A new suggested reply, recorded as a decision so that sending it (edited or not) is its feedback."""
        decision_id, suggestion = self.replies.suggest(actor, ticket_id)
        return ReplyCard(decision_id, suggestion.body, tuple(citation(s.citation()) for s in suggestion.cited),
                         suggestion.check.blocked, "")

    def reply_body(self, actor: Actor, ticket_id: int, decision_id: int) -> str | None:
        """The text of one of this ticket's reply suggestions, to put into the composer."""
        for decision in self.reviews.of_ticket(actor, ticket_id):
            if decision["id"] == decision_id and decision["kind"] == REPLY:
                return str((decision.get("output") or {}).get("body") or "")
        return None

    def belongs(self, actor: Actor, ticket_id: int, decision_id: int) -> bool:
        """Whether the decision is one of this ticket's (a form names both; they must agree)."""
        return any(d["id"] == decision_id for d in self.reviews.of_ticket(actor, ticket_id))

    def review(self, actor: Actor, decision_id: int, verdict: str, values: dict[str, Any] | None,
               version: int | None) -> dict[str, Any]:
        return self.reviews.review(actor, decision_id, verdict, values, version, "web", self.service)

    def similar(self, actor: Actor, ticket_id: int) -> dict[str, Any]:
        return self.recommender.for_ticket(actor, ticket_id)
