"""Setting the password an agent or a requester signs in with; a new password signs them out everywhere."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from runtime.auth.passwords import hash_password
from runtime.auth.sessions import Principal, end_all_sessions
from runtime.compile.desk import CompiledDesk


def set_password(connection: sa.Connection, compiled: CompiledDesk, kind: str, login: str, plain: str) -> bool:
    """Store a new password for the agent with username ``login`` (kind 'agent') or the requester with email
    ``login`` (kind 'contact') and end their sessions; False when there is no such account."""
    table = compiled.table("agents" if kind == "agent" else "contacts")
    key = table.c.username == login if kind == "agent" else sa.func.lower(table.c.email) == login.strip().lower()
    row_id = connection.execute(sa.select(table.c.id).where(key)).scalar()
    if row_id is None:
        return False
    connection.execute(sa.update(table).where(table.c.id == row_id)
                       .values(password_hash=hash_password(plain), updated_at=dt.datetime.now(dt.UTC)))
    end_all_sessions(connection, compiled, Principal(kind, row_id))
    return True
