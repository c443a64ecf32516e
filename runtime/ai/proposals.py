"""What a provider is given (a ticket's text and current values) and what it gives back (a validated answer with a
confidence per field and the words that explain it). Providers read no database and change nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.ai.answers import TriageBase


@dataclass(frozen=True)
class TicketText:
    ticket_id: int
    type: str
    title: str
    description: str
    current: Mapping[str, Any]  # category, priority, language, status … as the ticket has them now
    requester: str | None = None

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.description}"

    def inputs_hash(self) -> str:
        """The SHA-256 of what a provider reads: two decisions with the same hash were made from the same input."""
        body = json.dumps([self.type, self.title, self.description, dict(self.current)], sort_keys=True,
                          default=str, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Proposal:
    answer: TriageBase
    provider: str  # local | llm
    model: str
    # How sure the provider is of each field it proposes; a field it has no basis for is absent.
    confidence: Mapping[str, float]
    # Why, per field, in words a person reads ("'vpn', 'tunnel'", "rule-free model guess").
    reasons: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    tokens: int | None = None
    fallback: str | None = None  # why the configured provider was not the one that answered

    def value(self, name: str) -> Any:
        return getattr(self.answer, name, None)
