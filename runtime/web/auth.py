"""Who is calling the API: a bearer token, checked for revocation, expiry and the scope the route needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from runtime.auth.tokens import authenticate
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.actors import Actor, agent_actor
from runtime.tickets.errors import Forbidden

READ, WRITE = "tickets:read", "tickets:write"


def actor_provider(compiled: CompiledDesk, engine: sa.Engine) -> Callable[[Request[Any, Any, Any]], Actor]:
    """A dependency giving the calling agent, or refusing with 401/403 problem details."""

    def provide_actor(request: Request[Any, Any, Any]) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            msg = "send an API token as 'Authorization: Bearer <token>'"
            raise NotAuthorizedException(msg, headers={"WWW-Authenticate": "Bearer"})
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
            needed = READ if request.method in ("GET", "HEAD", "OPTIONS") else WRITE
            if needed not in grant.scopes and "admin" not in grant.scopes:
                msg = f"the token lacks the scope {needed}"
                raise PermissionDeniedException(msg)
            try:
                return agent_actor(connection, compiled, grant.agent_id)
            except Forbidden as exc:
                raise PermissionDeniedException(exc.detail) from None

    return provide_actor
