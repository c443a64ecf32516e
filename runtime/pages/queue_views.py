"""An agent's saved queue views: the canonical query string of the queue under a name of their own. Every read
and write is by the agent's id, so nobody sees, applies or deletes another agent's view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction

NAME_MAX = 80
QUERY_MAX = 2000
VIEWS_MAX = 50  # per agent: the list is shown on every queue page


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    query: str

    @property
    def link(self) -> str:
        return f"/queue?{self.query}" if self.query else "/queue"


class TooManyViews(Exception):
    """The agent already has VIEWS_MAX views and this name is not one of them."""


class SavedViews:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        self.table = compiled.table("saved_views")

    def of(self, connection: sa.Connection, agent_id: int) -> list[SavedView]:
        table = self.table
        rows = connection.execute(sa.select(table.c.id, table.c.name, table.c.query)
                                  .where(table.c.agent_id == agent_id).order_by(table.c.name))
        return [SavedView(r.id, r.name, r.query) for r in rows]

    def save(self, agent_id: int, name: str, query: str) -> None:
        """Store ``query`` under ``name``; a view of that name is replaced (the name is the agent's handle on it)."""
        try:
            self._save(agent_id, name, query)
        except sa.exc.IntegrityError:
            # The same name saved at the same moment from another tab (PostgreSQL; SQLite writers take turns):
            # the other insert won, so this save now finds it and replaces it.
            self._save(agent_id, name, query)

    def _save(self, agent_id: int, name: str, query: str) -> None:
        table = self.table
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            updated = connection.execute(sa.update(table).where(table.c.agent_id == agent_id, table.c.name == name)
                                         .values(query=query, created_at=now)).rowcount
            if updated:
                return
            count = connection.execute(sa.select(sa.func.count()).select_from(table)
                                       .where(table.c.agent_id == agent_id)).scalar_one()
            if count >= VIEWS_MAX:
                raise TooManyViews
            connection.execute(sa.insert(table).values(agent_id=agent_id, name=name, query=query, created_at=now))

    def delete(self, agent_id: int, view_id: int) -> bool:
        """False when the agent has no such view (another agent's is as unknown as a missing one)."""
        table = self.table
        with write_transaction(self.engine) as connection:
            result = connection.execute(sa.delete(table).where(table.c.id == view_id, table.c.agent_id == agent_id))
        return bool(result.rowcount)
