"""One seeded desk per test module for the queue and notification pages, with one browser-like client whose
session is switched between agents (each signs in through the form once; their cookies are kept)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor, agent_actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.pages.page_client import give_passwords, sign_in
from tests.tickets.service_fixtures import migrated_desk

AGENTS = ("alex", "bea", "chen")  # service desk (a supervisor), field service (German), customer care


@dataclass
class QueueDesk:
    compiled: CompiledDesk
    engine: sa.Engine
    client: TestClient  # type: ignore[type-arg]
    service: TicketService
    _sessions: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)

    def as_agent(self, login: str) -> str:
        """Make ``login`` the signed-in agent of the client; returns their session's CSRF token."""
        if login not in self._sessions:
            self.client.cookies.clear()
            token = sign_in(self.client, login)
            self._sessions[login] = (dict(self.client.cookies), token)
        cookies, token = self._sessions[login]
        self.client.cookies.clear()
        self.client.cookies.update(cookies)
        return token

    def id_of(self, table: str, column: str, value: str) -> int:
        t = self.compiled.table(table)
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(t.c.id).where(t.c[column] == value)).scalar_one())

    def agent(self, login: str) -> Actor:
        with self.engine.connect() as connection:
            return agent_actor(connection, self.compiled, self.id_of("agents", "username", login))

    def team(self, name: str) -> int:
        return self.id_of("teams", "name", name)

    def new_ticket(self, by: str, title: str, **fields: Any) -> dict[str, Any]:
        payload = {"title": title, "description": f"{title} (written by a test)", **fields}
        return self.service.create(self.agent(by), "it_support", payload)


@contextmanager
def queue_desk(tmp: Path) -> Iterator[QueueDesk]:
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    give_passwords(compiled, engine, *(("agent", login) for login in AGENTS))
    try:
        with TestClient(create_app(compiled, engine)) as client:
            yield QueueDesk(compiled, engine, client, TicketService(compiled, engine))
    finally:
        engine.dispose()


def ticket_numbers(html: str) -> list[str]:
    """The ticket numbers of the queue's rows, in order."""
    return re.findall(r'class="ticket-link" href="/tickets/\d+">([A-Z]+-\d+)</a>', html)


def category_counts(html: str) -> dict[str, str]:
    """The counts fragment's numbers by status category (as shown: "10000+" for an estimate)."""
    return dict(re.findall(r'data-category="(\w+)">([\d+]+)</span>', html))
