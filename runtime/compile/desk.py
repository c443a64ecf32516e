"""The compiled desk: every artifact built once at startup from the validated definitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.tables import build_metadata
from runtime.compile.type_schemas import type_schema
from runtime.config import ir
from runtime.config.desk import load_desk
from runtime.db.snapshot import snapshot


@dataclass(frozen=True)
class CompiledDesk:
    root: Path
    definitions: ir.Desk
    metadata: sa.MetaData
    type_schemas: dict[str, dict[str, Any]]

    @property
    def schema_snapshot(self) -> dict[str, Any]:
        return snapshot(self.metadata)

    def table(self, name: str) -> sa.Table:
        return self.metadata.tables[name]


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
