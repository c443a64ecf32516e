"""Who is calling the API: a bearer token (scripts, integrations) or a signed-in browser's session cookie,
checked for revocation and expiry, the scope the route needs and, for a cookie, the CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from runtime.auth.sessions import SessionGrant, find_session
from runtime.auth.tokens import ADMIN, PEOPLE_READ, TICKETS_READ, TICKETS_WRITE, authenticate
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.observe.context import note_actor
from runtime.tickets.actors import Actor, agent_actor, contact_actor
from runtime.tickets.errors import Forbidden

# How long a process reuses a credential's grant and its actor (roles, teams) instead of reading them for every
# request, where those lookups cost about as much as the rest of a simple request: revoking or expiring a token,
# deactivating an agent or changing their roles or teams takes effect within this time in other processes.
# Signing out takes effect at once in the process that served it.
ACTOR_TTL = 5.0  # seconds
ACTOR_CACHE_SIZE = 10_000  # credentials per process; the cache starts over when full
SESSION_COOKIE = "tessera_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN, SESSION = "t:", "s:"  # the kinds of credential, as the cache's keys begin


@dataclass(frozen=True)
class Grant:
    """What a credential allows, whichever kind it is."""

    scopes: frozenset[str]
    csrf_token: str | None = None  # set for sessions: unsafe requests must echo it


def session_scopes(actor: Actor) -> frozenset[str]:
    """A browser session may do what its person may: requesters work on tickets only (the access rules in the
    service say which); agents also read people; administrators do everything."""
    if actor.kind == "contact":
        return frozenset({TICKETS_READ, TICKETS_WRITE})
    if actor.has("admin"):
        return frozenset({ADMIN})
    return frozenset({TICKETS_READ, TICKETS_WRITE, PEOPLE_READ})


class Credentials:
    """Resolves requests to actors, with the short-lived per-process cache; one per app."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled, self.engine = compiled, engine
        # "t:" or "s:" + SHA-256 of the secret → (valid until, on time.monotonic(), grant, actor).
        self._cache: dict[str, tuple[float, Grant, Actor]] = {}

    def resolve(self, request: Request[Any, Any, Any]) -> tuple[Grant, Actor]:
        kind, secret = self._credential(request)
        found = self._cached(kind, secret, self._token if kind == TOKEN else self._session)
        self._check_csrf(request, kind, found[0])
        return found

    async def resolve_async(self, request: Request[Any, Any, Any]) -> tuple[Grant, Actor]:
        """``resolve`` on the event loop: a credential read within ``ACTOR_TTL`` costs no thread; only looking one up
        in the database goes to a worker thread."""
        kind, secret = self._credential(request)
        found = self._fresh(self._key(kind, secret), time.monotonic())
        if found is None:
            found = await sync_to_thread(self._cached, kind, secret, self._token if kind == TOKEN else self._session)
        self._check_csrf(request, kind, found[0])
        return found

    @staticmethod
    def _credential(request: Request[Any, Any, Any]) -> tuple[str, str]:
        """Which kind of credential the request carries (``TOKEN`` or ``SESSION``) and its secret."""
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                msg = "send an API token as 'Authorization: Bearer <token>'"
                raise NotAuthorizedException(msg, headers={"WWW-Authenticate": "Bearer"})
            return TOKEN, token.strip()
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return SESSION, cookie
        msg = "send an API token as 'Authorization: Bearer <token>', or sign in at /api/v1/auth/login"
        raise NotAuthorizedException(msg, headers={"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _check_csrf(request: Request[Any, Any, Any], kind: str, grant: Grant) -> None:
        if kind == SESSION and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or grant.csrf_token is None or not hmac.compare_digest(sent, grant.csrf_token):
                msg = f"a signed-in browser must send its CSRF token in the {CSRF_HEADER} header"
                raise PermissionDeniedException(msg)

    def browser(self, secret: str) -> tuple[Grant, Actor] | None:
        """The grant and person of a session cookie, through the same cache as ``resolve``; None when the session
        has ended (the pages then ask to sign in instead of answering 401)."""
        try:
            return self._cached(SESSION, secret, self._session)
        except (NotAuthorizedException, PermissionDeniedException):
            return None

    def forget(self, kind: str, secret: str) -> None:
        self._cache.pop(self._key(kind, secret), None)

    @staticmethod
    def _key(kind: str, secret: str) -> str:
        return kind + hashlib.sha256(secret.encode()).hexdigest()

    def _fresh(self, key: str, now: float) -> tuple[Grant, Actor] | None:
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            note_actor(cached[2].kind, cached[2].id)  # for the request's log line
            return cached[1], cached[2]
        return None

    def _cached(self, kind: str, secret: str, lookup: Callable[[str], tuple[Grant, Actor]]) -> tuple[Grant, Actor]:
        key, now = self._key(kind, secret), time.monotonic()
        found = self._fresh(key, now)
        if found is not None:
            return found
        grant, actor = lookup(secret)
        note_actor(actor.kind, actor.id)
        if len(self._cache) >= ACTOR_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (now + ACTOR_TTL, grant, actor)
        return grant, actor

    def _token(self, token: str) -> tuple[Grant, Actor]:
        try:
            with self.engine.begin() as connection:
                found = authenticate(connection, self.compiled, token)
        except sa.exc.OperationalError:
            # On SQLite the once-a-minute last_used_at stamp can lose the race for the write lock when
            # it follows a read in a deferred transaction; retry once in a transaction that writes.
            with write_transaction(self.engine) as connection:
                found = authenticate(connection, self.compiled, token)
        if found is None:
            msg = "the token is unknown, revoked or expired"
            raise NotAuthorizedException(msg, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        with self.engine.connect() as connection:
            try:
                return Grant(found.scopes), agent_actor(connection, self.compiled, found.agent_id)
            except Forbidden as exc:
                raise PermissionDeniedException(exc.detail) from None

    def session(self, secret: str) -> tuple[SessionGrant, Actor] | None:
        """The live session behind a cookie and its person, read afresh (no cache); None when signed out."""
        try:
            with self.engine.begin() as connection:
                found = find_session(connection, self.compiled, secret)
        except sa.exc.OperationalError:
            with write_transaction(self.engine) as connection:
                found = find_session(connection, self.compiled, secret)
        if found is None:
            return None
        with self.engine.connect() as connection:
            try:
                if found.principal.kind == "agent":
                    return found, agent_actor(connection, self.compiled, found.principal.id)
                return found, contact_actor(connection, self.compiled, found.principal.id)
            except Forbidden:
                return None

    def _session(self, secret: str) -> tuple[Grant, Actor]:
        found = self.session(secret)
        if found is None:
            msg = "the session has ended or expired; sign in again at /api/v1/auth/login"
            raise NotAuthorizedException(msg, headers={"WWW-Authenticate": "Bearer"})
        session, actor = found
        return Grant(session_scopes(actor), session.csrf_token), actor


_SHARED: weakref.WeakKeyDictionary[sa.Engine, Credentials] = weakref.WeakKeyDictionary()


def credentials_for(compiled: CompiledDesk, engine: sa.Engine) -> Credentials:
    """The one ``Credentials`` of an app's engine, shared by all its routes, so that signing out clears the
    cache that every route reads."""
    found = _SHARED.get(engine)
    if found is None or found.compiled is not compiled:
        found = _SHARED[engine] = Credentials(compiled, engine)
    return found


def actor_provider(compiled: CompiledDesk, engine: sa.Engine, scope_prefix: str = "tickets",
                   credentials: Credentials | None = None) -> Callable[[Request[Any, Any, Any]], Actor]:
    """A dependency giving the caller, or refusing with 401/403 problem details; reads need the
    ``<prefix>:read`` scope and writes ``<prefix>:write`` (``admin`` grants both)."""
    credentials = credentials or credentials_for(compiled, engine)

    def provide_actor(request: Request[Any, Any, Any]) -> Actor:
        grant, actor = credentials.resolve(request)
        return _allowed(request, grant, actor, scope_prefix)

    return provide_actor


def actor_dependency(compiled: CompiledDesk, engine: sa.Engine, scope_prefix: str = "tickets") -> Provide:
    """``actor_provider`` as the routes' ``actor`` dependency, resolved on the event loop: a synchronous one would
    take a trip to a worker thread of its own before the handler's, on every request."""
    credentials = credentials_for(compiled, engine)

    async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
        grant, actor = await credentials.resolve_async(request)
        return _allowed(request, grant, actor, scope_prefix)

    return Provide(provide_actor)


def _allowed(request: Request[Any, Any, Any], grant: Grant, actor: Actor, scope_prefix: str) -> Actor:
    needed = f"{scope_prefix}:{'read' if request.method in SAFE_METHODS else 'write'}"
    if needed not in grant.scopes and ADMIN not in grant.scopes:
        what = "the token" if grant.csrf_token is None else "a browser session of this person"
        msg = f"{what} lacks the scope {needed}"
        raise PermissionDeniedException(msg)
    return actor
