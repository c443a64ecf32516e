"""Running ``cli.py import`` and ``export`` against a test desk, and reading what they wrote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import cli
from runtime.compile.desk import CompiledDesk


@dataclass
class Desk:
    root: Path
    compiled: CompiledDesk
    engine: sa.Engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        """``cli.py --root … --database-url … args``: exit code, stdout, stderr."""
        capsys.readouterr()
        code = cli.main(["--root", str(self.root), "--database-url", self.url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    def rows(self, table: str, *where: Any, order: str = "id") -> list[dict[str, Any]]:
        t = self.compiled.table(table)
        with self.engine.connect() as connection:
            query = sa.select(t).where(*where).order_by(t.c[order])
            return [dict(r._mapping) for r in connection.execute(query)]

    def count(self, table: str) -> int:
        t = self.compiled.table(table)
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in ("tickets", "contacts", "organizations", "comments",
                                                    "ticket_events", "sla_timers", "sla_events", "ticket_counters")}
