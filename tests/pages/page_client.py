"""Signing in to the pages like a browser does, for tests that drive them through Litestar's TestClient."""

from __future__ import annotations

import re

import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.auth.accounts import set_password
from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor, agent_actor, contact_actor

PASSWORD = "correct horse battery staple"
AGENT = "alex"  # agent and supervisor of the service desk in the demo's sample people
REQUESTER = "maria.lopez@northwind.example.org"


def give_passwords(compiled: CompiledDesk, engine: sa.Engine, *logins: tuple[str, str]) -> None:
    """``logins``: (kind, login) pairs, kind 'agent' or 'contact'; each gets PASSWORD."""
    with engine.begin() as connection:
        for kind, login in logins:
            assert set_password(connection, compiled, kind, login, PASSWORD)


def hidden(html: str, name: str) -> str:
    """The value of the hidden input ``name`` in a page."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"no hidden field {name} in the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> str:  # type: ignore[type-arg]
    """Sign in through the form and return the session's CSRF token, which every page form sends back."""
    form = client.get("/login")
    answer = client.post("/login", data={"login": login, "password": password,
                                         "login_token": hidden(form.text, "login_token")}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    session = client.get("/api/v1/auth/session")
    assert session.status_code == 200, session.text
    return str(session.json()["csrf_token"])


def agent_named(compiled: CompiledDesk, engine: sa.Engine, username: str = AGENT) -> Actor:
    """The agent with ``username`` as the service sees them (roles, teams), to act outside the pages."""
    agents = compiled.table("agents")
    with engine.connect() as connection:
        agent_id = connection.execute(sa.select(agents.c.id).where(agents.c.username == username)).scalar_one()
        return agent_actor(connection, compiled, agent_id)


def contact_named(compiled: CompiledDesk, engine: sa.Engine, email: str = REQUESTER) -> Actor:
    contacts = compiled.table("contacts")
    with engine.connect() as connection:
        contact_id = connection.execute(sa.select(contacts.c.id).where(contacts.c.email == email)).scalar_one()
        return contact_actor(connection, compiled, contact_id)
