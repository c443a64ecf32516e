"""Who is calling the API: a bearer token, checked for revocation, expiry and the scope the route needs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from runtime.auth.tokens import TokenGrant, authenticate
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.actors import Actor, agent_actor
from runtime.tickets.errors import Forbidden

# How long a process reuses a token's grant and its agent (roles, teams) instead of reading them for every request,
# where those lookups cost about as much as the rest of a simple request: revoking or expiring a token, deactivating
# an agent or changing their roles or teams takes effect within this time.
ACTOR_TTL = 5.0  # seconds
ACTOR_CACHE_SIZE = 10_000  # tokens per process; the cache starts over when full


def actor_provider(compiled: CompiledDesk, engine: sa.Engine,
                   scope_prefix: str = "tickets") -> Callable[[Request[Any, Any, Any]], Actor]:
    """A dependency giving the calling agent, or refusing with 401/403 problem details; reads need the
    ``<prefix>:read`` scope and writes ``<prefix>:write`` (``admin`` grants both)."""
    # SHA-256 of a token → (valid until, on time.monotonic(), its grant, its agent); the token itself is not kept.
    cache: dict[str, tuple[float, TokenGrant, Actor]] = {}

    def check_scope(request: Request[Any, Any, Any], grant: TokenGrant) -> None:
        needed = f"{scope_prefix}:{'read' if request.method in ('GET', 'HEAD', 'OPTIONS') else 'write'}"
        if needed not in grant.scopes and "admin" not in grant.scopes:
            msg = f"the token lacks the scope {needed}"
            raise PermissionDeniedException(msg)

    def provide_actor(request: Request[Any, Any, Any]) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            msg = "send an API token as 'Authorization: Bearer <token>'"
            raise NotAuthorizedException(msg, headers={"WWW-Authenticate": "Bearer"})
        key, now = hashlib.sha256(token.strip().encode()).hexdigest(), time.monotonic()
        cached = cache.get(key)
        if cached is not None and cached[0] > now:
            check_scope(request, cached[1])
            return cached[2]
        grant, actor = lookup(request, token)
        if len(cache) >= ACTOR_CACHE_SIZE:
            cache.clear()
        cache[key] = (now + ACTOR_TTL, grant, actor)
        return actor

    def lookup(request: Request[Any, Any, Any], token: str) -> tuple[TokenGrant, Actor]:
        try:
            with engine.begin() as connection:
                grant = authenticate(connection, compiled, token.strip())
        except sa.exc.OperationalError:
            # On SQLite the once-a-minute last_used_at stamp can lose the race for the write lock when
            # it follows a read in a deferred transaction; retry once in a transaction that writes.
            with write_transaction(engine) as connection:
                grant = authenticate(connection, compiled, token.strip())
        with engine.connect() as connection:
            if grant is None:
                msg = "the token is unknown, revoked or expired"
                raise NotAuthorizedException(msg, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            check_scope(request, grant)
            try:
                return grant, agent_actor(connection, compiled, grant.agent_id)
            except Forbidden as exc:
                raise PermissionDeniedException(exc.detail) from None

    return provide_actor
