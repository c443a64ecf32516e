"""The ``local`` provider: offline triage from the desk's own trained model (``cli.py ai train``), with urgency,
sentiment, keywords and summary from ``signals`` and the language from the intake's detector.

Without a trained model the provider still answers (type as it is, signals, language) but claims no confidence in
a category or priority, so triage sets neither and the ticket goes to people: a desk on its first day works, and
learns from what its agents decide."""

from __future__ import annotations

import time
from pathlib import Path

from runtime.ai import signals
from runtime.ai.answers import allowed, triage_answer
from runtime.ai.local_model import TriageModel, cached
from runtime.ai.proposals import Proposal, TicketText
from runtime.compile.desk import CompiledDesk
from runtime.intake.language import detect_language


class LocalProvider:
    name = "local"

    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.folder = Path(compiled.root) / compiled.definitions.project.ai.model_dir

    def model(self) -> TriageModel | None:
        return cached(self.folder)

    def triage(self, ticket: TicketText) -> Proposal:
        start = time.perf_counter()
        answer_model = triage_answer(self.compiled, ticket.type)
        model = self.model()
        read = signals.read(ticket.title, ticket.description)
        values: dict[str, object] = {
            "type": ticket.type, "priority": ticket.current.get("priority") or "P2",
            "category": ticket.current.get("category"), "urgency": read.urgency, "sentiment": read.sentiment,
            "keywords": list(read.keywords), "summary": read.summary,
        }
        confidence: dict[str, float] = {}
        reasons: dict[str, str] = {}
        if model is not None:
            for head in ("type", "category", "priority"):
                # A model trained before the desk dropped a value may still rank it; only today's values count.
                admissible = set(allowed(answer_model, head))
                ranked = [(label, p) for label, p in model.distribution(head, ticket.text) if label in admissible]
                if not ranked:
                    continue
                label, p = ranked[0]
                values[head], confidence[head] = label, p
                words = model.explain(head, ticket.text, label)
                reasons[head] = f"{p:.2f} from history" + (f" ({', '.join(repr(w) for w in words)})" if words else "")
        language = detect_language(ticket.text)
        if language in self.compiled.definitions.project.languages:
            values["language"], confidence["language"] = language, 1.0
            reasons["language"] = "its function words"
        else:
            values["language"] = ticket.current.get("language") \
                if ticket.current.get("language") in self.compiled.definitions.project.languages else None
        cues = [f"urgency {read.urgency}: {', '.join(read.urgency_cues)}"] if read.urgency_cues else []
        if read.sentiment_cues:
            cues.append(f"sentiment {read.sentiment}: {', '.join(read.sentiment_cues)}")
        learnt = [confidence[h] for h in ("category", "priority") if h in confidence]
        values["confidence"] = min(learnt) if learnt else 0.0
        values["reasoning"] = "; ".join(
            [f"{field} {values[field]} {why}" for field, why in reasons.items() if field != "language"] + cues
            or ["no trained model yet: category and priority are left to people"])[:1000]
        answer = answer_model.model_validate(values)
        name = f"tessera-local ({model.meta.get('trained_at', '?')})" if model else "tessera-local (untrained)"
        return Proposal(answer, "local", name, confidence, reasons,
                        latency_ms=(time.perf_counter() - start) * 1000)
