"""Enrichment: a new ticket's draft filled in by the desk before it is created, in stages.

1. the desk's rules (``rules``): type, category, priority and tags from what the text and sender say;
2. any further stages given (an AI classifier, later): each sees what the rules set in ``draft.inferred`` and
   may revise those values, never the channel's own;
3. the language of the text (``language``), when the channel did not give one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from runtime.compile.desk import CompiledDesk
from runtime.intake.draft import Draft
from runtime.intake.language import detect_language
from runtime.intake.mail.quotes import new_text
from runtime.intake.rules import RuleStage

TEXT_CHARS = 8000  # what detection reads of a long description: its start tells the language


class Stage(Protocol):
    def apply(self, draft: Draft) -> Draft: ...


class LanguageStage:
    def apply(self, draft: Draft) -> Draft:
        if draft.payload.get("language"):
            return draft
        # Quoted history and signatures may be in another language than what the sender wrote now.
        description = str(draft.payload.get("description") or "")[:TEXT_CHARS]
        language = detect_language(f"{draft.payload.get('title') or ''}\n{new_text(description)}")
        if language is None:
            return draft
        return replace(draft, payload={**draft.payload, "language": language},
                       inferred=draft.inferred | {"language"})


class Enricher:
    def __init__(self, compiled: CompiledDesk, stages: Sequence[Stage] = ()) -> None:
        self.stages: tuple[Stage, ...] = (RuleStage(compiled), *stages, LanguageStage())

    def apply(self, draft: Draft) -> Draft:
        for stage in self.stages:
            draft = stage.apply(draft)
        return draft
