"""Browser sessions: signing agents and requesters in with a password, and the cookie that keeps them in.

The cookie carries a random secret of which only the SHA-256 is stored, as for API tokens. Each session has its
own CSRF token, which every state-changing request from the browser must echo in a header: the cookie is sent
by the browser on its own, the header only by our own pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from runtime.auth.passwords import hash_password, needs_rehash, verify_password
from runtime.compile.desk import CompiledDesk

# A session ends after this long without a request, and in any case this long after sign-in.
IDLE_TIMEOUT = dt.timedelta(hours=8)
ABSOLUTE_TIMEOUT = dt.timedelta(days=7)
# last_seen_at only needs minute precision for the idle timeout; writing it on every request would make reads
# into writes.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
SECRET_PREFIX = "tss_"
USER_AGENT_MAX = 300
# Verified when no account matches, so that a wrong login takes as long as a wrong password and the timing does
# not tell which logins exist.
_DUMMY_HASH = hash_password("not-a-real-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Principal:
    """Who signed in: an agent or a requester (contact)."""

    kind: str  # agent | contact
    id: int


@dataclass(frozen=True)
class SessionGrant:
    session_id: int
    principal: Principal
    csrf_token: str
    expires_at: dt.datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password(connection: sa.Connection, compiled: CompiledDesk, login: str, password: str
                   ) -> Principal | None:
    """The agent (by username or email) or else the requester (by email) whose password this is; None when
    no such account has a password or it does not match. Inactive agents cannot sign in."""
    login = login.strip()
    agents, contacts = compiled.table("agents"), compiled.table("contacts")
    candidates: list[tuple[str, sa.Table, int, str]] = []
    agent = connection.execute(
        sa.select(agents.c.id, agents.c.password_hash)
        .where(sa.or_(agents.c.username == login, sa.func.lower(agents.c.email) == login.lower()),
               agents.c.active.is_(True), agents.c.password_hash.is_not(None))).first()
    if agent is not None:
        candidates.append(("agent", agents, agent.id, agent.password_hash))
    contact = connection.execute(
        sa.select(contacts.c.id, contacts.c.password_hash)
        .where(sa.func.lower(contacts.c.email) == login.lower(), contacts.c.password_hash.is_not(None))).first()
    if contact is not None:
        candidates.append(("contact", contacts, contact.id, contact.password_hash))
    if not candidates:
        verify_password(_DUMMY_HASH, password)
        return None
    for kind, table, row_id, hashed in candidates:
        if verify_password(hashed, password):
            if needs_rehash(hashed):
                connection.execute(sa.update(table).where(table.c.id == row_id)
                                   .values(password_hash=hash_password(password)))
            return Principal(kind, row_id)
    return None


def start_session(connection: sa.Connection, compiled: CompiledDesk, principal: Principal,
                  user_agent: str | None = None, now: dt.datetime | None = None) -> tuple[str, SessionGrant]:
    """A new session (never a reused one, so a planted cookie cannot be promoted by signing in): the cookie's
    secret, seen only here, and the grant."""
    now = now or dt.datetime.now(dt.UTC)
    sessions = compiled.table("web_sessions")
    secret, csrf = SECRET_PREFIX + secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + ABSOLUTE_TIMEOUT
    session_id: int = connection.execute(sa.insert(sessions).values(
        secret_hash=_digest(secret), agent_id=principal.id if principal.kind == "agent" else None,
        contact_id=principal.id if principal.kind == "contact" else None, csrf_token=csrf, created_at=now,
        last_seen_at=now, expires_at=expires, user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
    ).returning(sessions.c.id)).scalar_one()
    return secret, SessionGrant(session_id, principal, csrf, expires)


def find_session(connection: sa.Connection, compiled: CompiledDesk, secret: str,
                 now: dt.datetime | None = None) -> SessionGrant | None:
    """The grant of a live session; None when it is unknown, signed out, idle too long, past its absolute
    expiry, or its agent was deactivated."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    now = now or dt.datetime.now(dt.UTC)
    digest = _digest(secret)
    sessions, agents = compiled.table("web_sessions"), compiled.table("agents")
    row = connection.execute(
        sa.select(sessions.c.id, sessions.c.secret_hash, sessions.c.agent_id, sessions.c.contact_id,
                  sessions.c.csrf_token, sessions.c.last_seen_at, sessions.c.expires_at, sessions.c.revoked_at,
                  agents.c.active)
        .join_from(sessions, agents, sessions.c.agent_id == agents.c.id, isouter=True)
        .where(sessions.c.secret_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at is not None:
        return None
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        return None
    if row.agent_id is not None and not row.active:
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        connection.execute(sa.update(sessions).where(sessions.c.id == row.id,
                                                     sessions.c.last_seen_at <= now - TOUCH_INTERVAL)
                           .values(last_seen_at=now))
    principal = Principal("agent", row.agent_id) if row.agent_id is not None else Principal("contact",
                                                                                            row.contact_id)
    return SessionGrant(row.id, principal, row.csrf_token, row.expires_at)


def end_session(connection: sa.Connection, compiled: CompiledDesk, secret: str) -> bool:
    """Sign out: the session is revoked for good; False when it was unknown or already ended."""
    sessions = compiled.table("web_sessions")
    result = connection.execute(sa.update(sessions).where(sessions.c.secret_hash == _digest(secret),
                                                          sessions.c.revoked_at.is_(None))
                                .values(revoked_at=dt.datetime.now(dt.UTC)))
    return result.rowcount == 1


def end_all_sessions(connection: sa.Connection, compiled: CompiledDesk, principal: Principal) -> int:
    """Sign someone out everywhere, as after a password change; the number of sessions ended."""
    sessions = compiled.table("web_sessions")
    column = sessions.c.agent_id if principal.kind == "agent" else sessions.c.contact_id
    result = connection.execute(sa.update(sessions).where(column == principal.id, sessions.c.revoked_at.is_(None))
                                .values(revoked_at=dt.datetime.now(dt.UTC)))
    return int(result.rowcount)
