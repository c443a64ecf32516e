"""Signing in and out of the desk from a browser: /api/v1/auth/{login,logout,session}.

Sign-in takes JSON only: a cross-site HTML form cannot send it without the browser asking first (CORS), which
keeps other sites from signing a visitor into an account of theirs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from pydantic import BaseModel, ConfigDict, StringConstraints

from runtime.auth.sessions import ABSOLUTE_TIMEOUT, check_password, end_session, start_session
from runtime.auth.throttle import LoginThrottle
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.actors import Actor
from runtime.web.auth import CSRF_HEADER, SESSION_COOKIE, Credentials, credentials_for, session_scopes
from runtime.web.problems import problem, problem_responses

SESSION_SCHEME = "SessionCookie"  # its OpenAPI security scheme, declared by the app


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Annotated[str, StringConstraints(min_length=1, max_length=320, strip_whitespace=True)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class SessionOut(BaseModel):
    kind: str
    id: int
    name: str
    roles: list[str]
    scopes: list[str]
    csrf_token: str
    csrf_header: str
    expires_at: dt.datetime


def _view(actor: Actor, csrf: str, expires_at: dt.datetime) -> SessionOut:
    assert actor.id is not None
    return SessionOut(kind=actor.kind, id=actor.id, name=actor.name, roles=sorted(actor.roles),
                      scopes=sorted(session_scopes(actor)), csrf_token=csrf, csrf_header=CSRF_HEADER,
                      expires_at=expires_at)


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=value, path="/", httponly=True, samesite="lax",
                  secure=request.url.scheme == "https", max_age=max_age)


def session_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    credentials: Credentials = credentials_for(compiled, engine)
    throttle = LoginThrottle()

    @post("/api/v1/auth/login", tags=["auth"], sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 422, 429))
    def login(request: Request[Any, Any, Any], data: JSONBody[LoginIn]) -> Response[Any]:
        """Sign in with a password (agents by username or email, requesters by email). Sets the session cookie
        and answers with the CSRF token that every later POST, PATCH, PUT or DELETE must send in the
        X-CSRF-Token header."""
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(data.login, address)
        if wait:
            return problem(429, "Too Many Requests", f"too many failed sign-ins; try again in {wait} s",
                           headers={"Retry-After": str(wait)})
        with write_transaction(engine) as connection:
            principal = check_password(connection, compiled, data.login, data.password)
            if principal is not None:
                secret, grant = start_session(connection, compiled, principal, request.headers.get("user-agent"))
        if principal is None:
            throttle.failed(data.login, address)
            return problem(401, "Unauthorized", "the login or the password is wrong")
        throttle.succeeded(data.login)
        found = credentials.session(secret)
        if found is None:  # the account was deactivated between the password check and now
            return problem(401, "Unauthorized", "the login or the password is wrong")
        return Response(_view(found[1], grant.csrf_token, grant.expires_at), status_code=200,
                        cookies=[_cookie(request, secret, int(ABSOLUTE_TIMEOUT.total_seconds()))])

    @get("/api/v1/auth/session", tags=["auth"], sync_to_thread=True, responses=problem_responses(401),
         security=[{SESSION_SCHEME: []}])
    def current(request: Request[Any, Any, Any]) -> SessionOut:
        """Who is signed in with this browser, and the session's CSRF token."""
        secret = request.cookies.get(SESSION_COOKIE, "")
        found = credentials.session(secret) if secret else None
        if found is None:
            msg = "not signed in"
            raise NotAuthorizedException(msg)
        return _view(found[1], found[0].csrf_token, found[0].expires_at)

    @post("/api/v1/auth/logout", tags=["auth"], sync_to_thread=True, status_code=200,
          responses=problem_responses(401, 403), security=[{SESSION_SCHEME: []}])
    def logout(request: Request[Any, Any, Any]) -> Response[dict[str, bool]]:
        """End this browser's session (the CSRF token is required, so another site cannot sign you out)."""
        secret = request.cookies.get(SESSION_COOKIE, "")
        if not secret:
            msg = "not signed in"
            raise NotAuthorizedException(msg)
        credentials.resolve(request)  # refuses an ended session or a missing CSRF token
        with write_transaction(engine) as connection:
            end_session(connection, compiled, secret)
        credentials.forget("s:", secret)
        return Response({"signed_out": True}, status_code=200, cookies=[_cookie(request, "", 0)])

    return [login, current, logout]
