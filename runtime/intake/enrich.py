"""Enrichment: the desk's rules (tessera.yaml ``intake.rules``) fill in type, category, priority and tags."""

from __future__ import annotations

from runtime.compile.desk import CompiledDesk
from runtime.intake.draft import Draft


class Enricher:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled

    def apply(self, draft: Draft) -> Draft:
        return draft
