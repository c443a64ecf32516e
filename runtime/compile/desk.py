"""The compiled desk: every artifact built once at startup from the validated definitions."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from runtime.compile.models import TicketInput, create_model_for, update_model_for
from runtime.compile.tables import build_metadata
from runtime.compile.type_schemas import type_schema
from runtime.compile.workflows import CompiledWorkflow, compile_workflow
from runtime.config import ir
from runtime.config.desk import load_desk
from runtime.db.snapshot import snapshot

T = TypeVar("T")


@dataclass(frozen=True)
class CompiledDesk:
    root: Path
    definitions: ir.Desk
    metadata: sa.MetaData
    type_schemas: dict[str, dict[str, Any]]
    # What the runtime derives from these tables on first use and reuses after (see ``memo``). Kept here rather
    # than in module globals so that each desk has its own: tests build many desks in one process.
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def schema_snapshot(self) -> dict[str, Any]:
        return snapshot(self.metadata)

    def table(self, name: str) -> sa.Table:
        return self.metadata.tables[name]

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` the first time ``key`` is asked for on this desk, the same object every time after.

        For SQLAlchemy statements on the request paths: building a statement costs more than executing it, and
        a statement built once also keeps its cache key, which SQLAlchemy otherwise computes on every execute.
        What ``build`` returns must not depend on the database (the desk may serve SQLite and PostgreSQL
        engines), and the key must say everything it does depend on. Two threads may both build it the first
        time; one result is kept."""
        try:
            return cast(T, self._memo[key])
        except KeyError:
            return cast(T, self._memo.setdefault(key, build()))

    # Built on first use, once per process: the CLI's schema commands never need them.
    @cached_property
    def workflows(self) -> dict[str, CompiledWorkflow]:
        return {w.name: compile_workflow(w) for w in self.definitions.workflows}

    @cached_property
    def create_models(self) -> dict[str, type[TicketInput]]:
        return {t.name: create_model_for(self.definitions, t) for t in self.definitions.types}

    @cached_property
    def update_models(self) -> dict[str, type[TicketInput]]:
        return {t.name: update_model_for(self.definitions, t) for t in self.definitions.types}

    def workflow_for(self, type_name: str) -> CompiledWorkflow:
        ticket_type = self.definitions.ticket_type(type_name)
        assert ticket_type is not None, type_name
        return self.workflows[ticket_type.workflow]


def compile_desk(desk: ir.Desk, root: Path) -> CompiledDesk:
    """Pure: the same definitions always give the same artifacts."""
    return CompiledDesk(
        root=root,
        definitions=desk,
        metadata=build_metadata(desk),
        type_schemas={t.name: type_schema(desk, t) for t in desk.types},
    )


def load_compiled(root: Path) -> CompiledDesk:
    """Validate and compile the desk at ``root``; raises ConfigInvalid with the full report."""
    return compile_desk(load_desk(root), root)
