"""API tokens: bearer secrets for scripts and integrations, each bound to one agent and a set of scopes.

Only the SHA-256 of a token is stored, so a copy of the database cannot be replayed against the API; the
plaintext exists once, in the return value of ``create_token``. The tokens are long random strings, so a
plain hash (rather than a slow password hash) is enough and keeps every request's lookup cheap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk

TICKETS_READ = "tickets:read"
TICKETS_WRITE = "tickets:write"
PEOPLE_READ = "people:read"
PEOPLE_WRITE = "people:write"
METRICS_READ = "metrics:read"  # /metrics from another machine: a Prometheus scraper needs nothing else
ADMIN = "admin"
SCOPES = (TICKETS_READ, TICKETS_WRITE, PEOPLE_READ, PEOPLE_WRITE, METRICS_READ, ADMIN)
PREFIX = "tsr_"  # makes leaked tokens recognisable to secret scanners and in logs
LABEL_MAX = 200
# last_used_at is for humans auditing tokens; writing it on every request would turn reads into writes.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class TokenGrant:
    """What a valid token lets its bearer do."""

    token_id: int
    agent_id: int
    scopes: frozenset[str]


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def find_agent(connection: sa.Connection, compiled: CompiledDesk, username: str) -> int | None:
    """The id of the agent called ``username``, or None."""
    agents = compiled.table("agents")
    found: int | None = connection.execute(sa.select(agents.c.id).where(agents.c.username == username)).scalar()
    return found


def _checked_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        msg = f"unknown scope {', '.join(unknown)}; allowed: {', '.join(SCOPES)}"
        raise ValueError(msg)
    if not chosen:
        msg = f"a token needs at least one scope; allowed: {', '.join(SCOPES)}"
        raise ValueError(msg)
    return chosen


def create_token(connection: sa.Connection, compiled: CompiledDesk, agent_id: int, label: str,
                 scopes: Iterable[str], expires_in: dt.timedelta | None) -> tuple[int, str]:
    """Issue a token for an active agent; return (token id, plaintext), the only time the plaintext is seen."""
    chosen = _checked_scopes(scopes)
    label = label.strip()
    if not label or len(label) > LABEL_MAX:
        msg = f"the label must be 1 to {LABEL_MAX} characters"
        raise ValueError(msg)
    if expires_in is not None and expires_in <= dt.timedelta():
        msg = "the expiry must lie in the future"
        raise ValueError(msg)
    agents, tokens = compiled.table("agents"), compiled.table("api_tokens")
    active = connection.execute(sa.select(agents.c.active).where(agents.c.id == agent_id)).scalar()
    if not active:
        msg = f"agent {agent_id} is unknown or inactive"
        raise ValueError(msg)
    plaintext = PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    token_id: int = connection.execute(sa.insert(tokens).values(
        agent_id=agent_id, token_hash=_digest(plaintext), label=label, scopes=chosen, created_at=now,
        expires_at=now + expires_in if expires_in is not None else None).returning(tokens.c.id)).scalar_one()
    return token_id, plaintext


def authenticate(connection: sa.Connection, compiled: CompiledDesk, plaintext: str,
                 now: dt.datetime | None = None) -> TokenGrant | None:
    """The grant of a live token; None when it is unknown, revoked, expired or its agent is inactive."""
    if not plaintext.startswith(PREFIX):
        return None
    now = now or dt.datetime.now(dt.UTC)
    digest = _digest(plaintext)
    tokens, agents = compiled.table("api_tokens"), compiled.table("agents")
    row = connection.execute(
        sa.select(tokens.c.id, tokens.c.agent_id, tokens.c.token_hash, tokens.c.scopes, tokens.c.expires_at,
                  tokens.c.last_used_at, tokens.c.revoked_at, agents.c.active)
        .join_from(tokens, agents, tokens.c.agent_id == agents.c.id)
        .where(tokens.c.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or not row.active or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        # Repeated in SQL so that concurrent requests, too, write it at most once a minute.
        connection.execute(sa.update(tokens).where(
            tokens.c.id == row.id,
            sa.or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at <= now - TOUCH_INTERVAL),
        ).values(last_used_at=now))
    return TokenGrant(row.id, row.agent_id, frozenset(row.scopes or ()))


def revoke_token(connection: sa.Connection, compiled: CompiledDesk, token_id: int) -> bool:
    """Revoke a token for good; False when it does not exist or was already revoked."""
    tokens = compiled.table("api_tokens")
    result = connection.execute(sa.update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                                .values(revoked_at=dt.datetime.now(dt.UTC)))
    return result.rowcount == 1


def list_tokens(connection: sa.Connection, compiled: CompiledDesk, agent_id: int | None = None) -> list[dict[str, Any]]:
    """Every token (revoked ones too, for the audit trail), oldest first; hashes are never included."""
    tokens, agents = compiled.table("api_tokens"), compiled.table("agents")
    query = (sa.select(tokens.c.id, tokens.c.agent_id, agents.c.username.label("agent"), tokens.c.label,
                       tokens.c.scopes, tokens.c.created_at, tokens.c.expires_at, tokens.c.last_used_at,
                       tokens.c.revoked_at)
             .join_from(tokens, agents, tokens.c.agent_id == agents.c.id).order_by(tokens.c.id))
    if agent_id is not None:
        query = query.where(tokens.c.agent_id == agent_id)
    return [dict(row._mapping) for row in connection.execute(query)]
